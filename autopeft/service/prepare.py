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
        if objective_fn != DEFAULT_OBJECTIVE_FN and isinstance(task, str):
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
    objective_fn = pick(spec.objective_fn, "objective_fn", DEFAULT_OBJECTIVE_FN)
    resolve(objective_fn)
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
        fidelity_detail=fidelity.to_dict() if objective_fn == DEFAULT_OBJECTIVE_FN else fidelity_name,
        fidelity_value=fidelity,
        max_params=None if limit is None else limit.resolve(backbone.backbone_params),
        max_params_text=None if limit is None else limit.text,
        baselines=baselines,
        objective_fn=objective_fn,
        backbone_params=backbone.backbone_params,
        num_layers=backbone.num_layers,
        existing_meta=existing,
        task_spec=task_spec,
    )
