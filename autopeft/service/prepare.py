"""Checking a search's inputs before anything is written, and resolving them into a plan.

Every bad input (a missing file, an unknown model, task or sampler, an unreachable database, a
study name clash) raises an :class:`~autopeft.errors.AutoPeftError` with one clear line here,
before the store is opened for writing or Ray is started.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autopeft.backbone import default_model, load_backbone
from autopeft.service import options
from autopeft.service.baselines import parse_baselines
from autopeft.service.errors import SearchError
from autopeft.service.objectives import Objective, parse_objectives
from autopeft.service.preflight import check_param_limit, check_task_examples
from autopeft.service.samplers import check_sampler_name, default_sampler
from autopeft.service.spec import SearchSpec
from autopeft.service.trial_fn import DEFAULT_OBJECTIVE_FN, resolve
from autopeft.store.storage import check_writable, redact_url
from autopeft.store.study import read_metadata

DEFAULT_FIDELITY = "quick"  # autopeft.proxy.fidelity.DEFAULT_PRESET, without importing the proxy
#: ``evaluate``'s staged counterpart, the objective of a multi-fidelity search (``--scheduler
#: asha``): a class built with ``evaluate``'s arguments whose ``advance(step)`` trains to a step
#: and scores there (``total_steps``, ``close()``).
STAGED_OBJECTIVE_FN = "autopeft.proxy.runner:StagedTrial"
#: The objectives that train the real proxy (they get the Fidelity's dict and the task's spec).
PROXY_OBJECTIVES = (DEFAULT_OBJECTIVE_FN, STAGED_OBJECTIVE_FN)


@dataclass
class Plan:
    """A validated search: everything the loop needs, nothing left to guess."""

    spec: SearchSpec
    storage_url: str
    study_name: str
    resume: bool
    model: str
    task: str  # what the study calls the task (a registry name as typed, or the spec's name)
    data_dir: str | None
    space: Any  # SearchSpace
    model_config: Any
    parameters: list[Any]
    objectives: list[Objective]
    sampler: str
    seed: int
    trials: int
    fidelity: str  # the text that names it (the study records it; calibrations are found by it)
    fidelity_detail: Any
    fidelity_value: Any  # the Fidelity
    max_params: int | None
    max_params_text: str | None
    baselines: list[str]
    objective_fn: str
    backbone_params: int
    num_layers: int
    existing_meta: dict[str, Any] | None
    task_spec: dict[str, Any] | None = None  # the complete task spec (None: a plugged-in objective's own task name)
    scheduler: Any = None  # a RungLadder under --scheduler asha (multi-fidelity); None: one run per trial
    rung_steps: tuple[int, ...] | None = None  # the ladder's steps for the fidelity (None: known only to the workers)

    @property
    def scheduler_metadata(self) -> dict[str, Any]:
        """What the study records about its scheduler (``--resume`` reads it back)."""
        if self.scheduler is None:
            return {"scheduler": "none"}
        return {"scheduler": "asha", "eta": self.scheduler.eta, "min_rung_fraction": self.scheduler.min_fraction,
                "rung_steps": None if self.rung_steps is None else list(self.rung_steps)}

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    @property
    def task_payload(self) -> Any:
        """What each trial's worker receives as its task: the spec (it rebuilds the Task from
        it), or the bare name a plugged-in objective knows."""
        return self.task_spec if self.task_spec is not None else self.task


def parse_max_params(text: Any, backbone_params: int) -> int | None:
    """``max_params`` (``150000``, ``"1.5e5"``, ``"0.5%"`` of the backbone, a ParamLimit) -> a parameter count."""
    limit = options.param_limit(text)
    return None if limit is None else limit.resolve(backbone_params)


def _load_backbone(model: str) -> Any:
    """The model's :class:`~autopeft.backbone.Backbone` (its config, family, sizes), read once."""
    from autopeft.errors import ArchitectureError

    try:
        return load_backbone(model)
    except ArchitectureError as exc:
        text, prefix = str(exc), f"model {model!r}: "
        raise SearchError(text[len(prefix):] if text.startswith(prefix) else text, parameter="model", value=model) from None


def _check_task(task: Any, data_dir: str | None, objective_fn: str) -> tuple[str, dict[str, Any] | None]:
    """Resolve the task reference into (its label, its complete spec) and read the examples of a
    task on local files (so a bad row fails here, before the store is written, not in every trial).

    A name no registry knows is passed on as is (spec None) to a plugged-in objective, which
    defines its own tasks; the default objective raises naming the known tasks.
    """
    if data_dir is not None and not Path(data_dir).exists():
        raise SearchError("no such file or folder", parameter="data_dir", value=data_dir)
    from autopeft.tasks import UnknownTaskError, resolve_task, task_label

    try:
        resolved = resolve_task(task, data_dir)
    except UnknownTaskError:
        if objective_fn not in PROXY_OBJECTIVES and isinstance(task, str):
            return task, None
        raise
    spec = resolved.to_spec()
    # Your own files, and a registry task on local files (--data-dir), are read now: a missing
    # column, a bad label or an empty split exits 2 here, naming the file, instead of failing
    # inside every trial.
    check_task_examples(resolved)
    return task_label(task, spec), spec


def default_study_name(task: str, space: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{task}-{space}-{stamp}")


def prepare(spec: SearchSpec) -> Plan:
    """Validate ``spec`` and resolve defaults (from the stored study on ``resume``)."""
    url = check_writable(spec.storage)  # reachable, and a SQLite file and folder that can be written
    existing = read_metadata(url, spec.study) if spec.study else None
    if spec.resume:
        if not spec.study:
            raise SearchError(" needs {study} NAME (see `autopeft studies`)", parameter="resume")
        if existing is None:
            raise SearchError(f"no such study in {redact_url(url)}", parameter="study", value=spec.study)
        if not existing:
            raise SearchError("has no autopeft metadata (not created by `autopeft search`, or its creation is still in progress)",
                              parameter="study", value=spec.study)
        meta = existing
    else:
        if existing is not None:
            raise SearchError(f" already exists in {redact_url(url)}; add {{resume}} to continue it or choose another name", parameter="study", value=spec.study)
        meta = {}

    def pick(value: Any, key: str, default: Any = None) -> Any:
        return value if value is not None else meta.get(key, default)

    model = pick(spec.model, "model")
    task = spec.task if spec.task is not None else (meta.get("task_spec") or meta.get("task"))
    if not model:
        model = default_model()  # the embedded MiniLM when its package is installed, else its hub id
    if task is None or (isinstance(task, str) and not task.strip()):
        raise SearchError(" is required: a task name (sst2, bbcnews, folder:ROOT), a task file ({task} FILE.yaml), "
                          "or your own data (--train FILE --text-fields F --label-field L)", parameter="task")
    scheduler_name = spec.scheduler or meta.get("scheduler") or "none"
    options.check_scheduler(scheduler_name, spec.eta, spec.min_rung_fraction)
    scheduler = None
    if scheduler_name == "asha":
        scheduler = options.ladder(pick(spec.eta, "eta"), pick(spec.min_rung_fraction, "min_rung_fraction"))
    if spec.resume:
        _check_same_scheduler(meta, scheduler_name, scheduler)
    objective_fn = pick(spec.objective_fn, "objective_fn", DEFAULT_OBJECTIVE_FN)
    if scheduler is not None and objective_fn == DEFAULT_OBJECTIVE_FN:
        objective_fn = STAGED_OBJECTIVE_FN  # evaluate's staged counterpart
    _check_objective(resolve(objective_fn), objective_fn, scheduler is not None)
    data_dir = pick(spec.data_dir, "data_dir")
    sampler = check_sampler_name(pick(spec.sampler, "sampler") or default_sampler())
    objectives = parse_objectives(pick(spec.objectives, "objectives"))
    trials = pick(spec.trials, "trials", 20)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise SearchError("expected a positive integer", parameter="trials", value=trials)
    if isinstance(spec.workers, bool) or not isinstance(spec.workers, int) or spec.workers < 1:
        raise SearchError("expected a positive integer", parameter="workers", value=spec.workers)
    if not spec.cpus_per_trial > 0:
        raise SearchError("expected more than 0 CPUs", parameter="cpus_per_trial", value=spec.cpus_per_trial)
    if not spec.gpus_per_trial >= 0:
        raise SearchError("expected 0 or more GPUs", parameter="gpus_per_trial", value=spec.gpus_per_trial)
    if spec.baselines is not None:
        baselines = parse_baselines(spec.baselines)
    elif "baselines" in meta:
        baselines = parse_baselines(list(meta["baselines"]) or "none")
    else:
        baselines = parse_baselines(None)
    fidelity = spec.fidelity or options.fidelity(meta.get("fidelity_name") or DEFAULT_FIDELITY)
    fidelity_name = options.fidelity_text(fidelity)
    seed = pick(spec.seed, "seed", 0)

    from autopeft.spaces import SearchSpace, load_space

    if spec.space is None and meta.get("space_yaml"):
        import yaml

        space = SearchSpace(yaml.safe_load(meta["space_yaml"]), source=f"study {spec.study}", text=meta["space_yaml"])
    else:
        space = load_space(spec.space or "autopeft")

    backbone = _load_backbone(model)
    model_config = backbone.config
    parameters = list(space.parameters(model_config))
    task_name, task_spec = _check_task(task, data_dir, objective_fn)
    if spec.task is None and meta.get("task"):
        task_name = meta["task"]  # a resumed study keeps the name it was created under
    if task_spec is not None and task_spec["source"] != "registry":
        data_dir = None  # the spec names the files

    limit = spec.max_params if spec.max_params is not None else options.param_limit(meta.get("max_params"))
    if limit is not None:  # a limit only the empty configuration meets is no search
        check_param_limit(space, model_config, limit.resolve(backbone.backbone_params), limit.text, backbone.backbone_params)
    study_name = spec.study or default_study_name(task_name, space.name)
    return Plan(
        spec=spec,
        storage_url=url,
        study_name=study_name,
        resume=spec.resume,
        model=model,
        task=task_name,
        data_dir=data_dir,
        space=space,
        model_config=model_config,
        parameters=parameters,
        objectives=objectives,
        sampler=sampler,
        seed=seed,
        trials=trials,
        fidelity=fidelity_name,
        # what workers receive and the store records: the Fidelity's dict; a plugged-in
        # objective gets the text
        fidelity_detail=fidelity.to_dict() if objective_fn in PROXY_OBJECTIVES else fidelity_name,
        fidelity_value=fidelity,
        max_params=None if limit is None else limit.resolve(backbone.backbone_params),
        max_params_text=None if limit is None else limit.text,
        baselines=baselines,
        objective_fn=objective_fn,
        backbone_params=backbone.backbone_params,
        num_layers=backbone.num_layers,
        existing_meta=existing,
        task_spec=task_spec,
        scheduler=scheduler,
        rung_steps=None if scheduler is None else _rung_steps(scheduler, fidelity),
    )


def _check_same_scheduler(meta: dict[str, Any], name: str, ladder: Any) -> None:
    """A resumed study keeps its scheduler and rungs: rung populations of two ladders would mix."""
    stored = meta.get("scheduler") or "none"
    if stored != name:
        raise SearchError(f"the study was searched with {{scheduler}} {stored}; resume it with the same scheduler (or leave it out)",
                          parameter="scheduler", value=name)
    if ladder is not None:
        for field, value in (("eta", ladder.eta), ("min_rung_fraction", ladder.min_fraction)):
            if meta.get(field) is not None and meta[field] != value:
                raise SearchError(f"the study's rungs use {field} {meta[field]!r}; resume it with the same value (or leave it out)",
                                  parameter=field, value=value)


def _check_objective(fn: Any, path: str, staged: bool) -> None:
    """Under a multi-fidelity scheduler the objective must be staged (a class with
    ``StagedTrial``'s ``advance``); without one, a plain function."""
    is_staged = isinstance(fn, type) and callable(getattr(fn, "advance", None))
    if staged and not is_staged:
        raise SearchError(f"{{scheduler}} asha trains trials rung by rung: name a staged trial class with StagedTrial's interface "
                          f"(e.g. {STAGED_OBJECTIVE_FN}), not a function", parameter="objective_fn", value=path)
    if not staged and is_staged:
        raise SearchError("names a staged trial class; use it with {scheduler} asha, or name a function like autopeft.proxy:evaluate",
                          parameter="objective_fn", value=path)


def _rung_steps(ladder: Any, fidelity: Any) -> tuple[int, ...] | None:
    """The ladder's step counts for ``fidelity`` when its budget is known before any data is
    read (``max_steps``, or ``max_train_examples`` with a split at least that large); raises
    :class:`SearchError` for a budget too small to have two rungs."""
    from autopeft.proxy.train import total_steps

    if fidelity.max_steps is None and fidelity.max_train_examples is None:
        return None  # the whole training split: its size is known to the workers
    total = total_steps(fidelity.max_train_examples or 0, fidelity.batch_size, fidelity.epochs, fidelity.max_steps)
    try:
        return ladder.steps(total)
    except SearchError as exc:
        raise SearchError(exc.detail, parameter="fidelity", value=options.fidelity_text(fidelity)) from None
