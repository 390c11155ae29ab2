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

from autopeft.service.baselines import parse_baselines
from autopeft.service.errors import SearchError
from autopeft.service.objectives import Objective, parse_objectives
from autopeft.service.samplers import check_sampler_name, default_sampler
from autopeft.service.spec import SearchSpec
from autopeft.service.trial_fn import DEFAULT_OBJECTIVE_FN, resolve
from autopeft.store.records import META_KEY
from autopeft.store.storage import check_reachable, sqlite_path

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
    fidelity: str
    fidelity_detail: Any
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


def parse_max_params(text: str | None, backbone_params: int) -> int | None:
    """``"150000"``, ``"1.5e5"`` or ``"0.5%"`` (of the backbone) -> a parameter count."""
    if text is None or str(text).strip() in ("", "none"):
        return None
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100.0 * backbone_params
        else:
            value = float(raw)
    except ValueError:
        raise SearchError(f"--max-params {text!r}: expected a count (150000, 1.5e5) or a percent of the backbone (0.5%)") from None
    if value <= 0:
        raise SearchError(f"--max-params {text!r}: expected a positive limit")
    return int(value)


def _load_model_config(model: str) -> Any:
    from autopeft.architectures import family_for
    from autopeft.errors import ArchitectureError

    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ArchitectureError(f"--model {model!r}: unknown model or no config to load ({first[:200]})") from None
    family_for(config)  # raises ArchitectureError for an unsupported family
    return config


def _check_task(task: Any, data_dir: str | None, objective_fn: str) -> tuple[str, dict[str, Any] | None]:
    """Resolve the task reference into (its label, its complete spec) and read the examples of a
    task on local files (so a bad row fails here, before the store is written, not in every trial).

    A name no registry knows is passed on as is (spec None) to a plugged-in objective, which
    defines its own tasks; the default objective raises naming the known tasks.
    """
    if data_dir is not None and not Path(data_dir).exists():
        raise SearchError(f"--data-dir {data_dir!r}: no such file or folder")
    from autopeft.tasks import UnknownTaskError, check_task_data, resolve_task, task_label

    try:
        resolved = resolve_task(task, data_dir)
    except UnknownTaskError:
        if objective_fn != DEFAULT_OBJECTIVE_FN and isinstance(task, str):
            return task, None
        raise
    spec = resolved.to_spec()
    check_task_data(resolved)
    return task_label(task, spec), spec


def _fidelity_detail(name: str, objective_fn: str) -> Any:
    """``quick`` or ``quick:max_train_examples=400,max_seq_length=96`` -> the Fidelity's dict
    (what workers receive and the store records). Plugged-in objectives get the text as is."""
    if objective_fn != DEFAULT_OBJECTIVE_FN:
        return name
    from autopeft.errors import ConfigError
    from autopeft.proxy.fidelity import Fidelity

    try:
        return Fidelity.parse(name).to_dict()
    except ConfigError as exc:
        raise SearchError(f"--fidelity {name!r}: {exc}") from None


def default_study_name(task: str, space: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{task}-{space}-{stamp}")


def _existing_meta(url: str, study: str) -> dict[str, Any] | None:
    """The stored metadata of ``study`` or None when the study does not exist (reads only)."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sqlalchemy.inspect(conn).has_table("studies"):
                return None
            row = conn.execute(sqlalchemy.text("SELECT study_id FROM studies WHERE study_name = :n"), {"n": study}).first()
            if row is None:
                return None
            meta = conn.execute(
                sqlalchemy.text("SELECT value_json FROM study_user_attributes WHERE study_id = :i AND key = :k"),
                {"i": row[0], "k": META_KEY},
            ).first()
    finally:
        engine.dispose()
    import json

    return json.loads(meta[0]) if meta else {}


def prepare(spec: SearchSpec) -> Plan:
    """Validate ``spec`` and resolve defaults (from the stored study on ``resume``)."""
    url = check_reachable(spec.storage)
    existing = _existing_meta(url, spec.study) if spec.study else None
    if spec.resume:
        if not spec.study:
            raise SearchError("--resume needs --study NAME (see `autopeft studies`)")
        if existing is None:
            raise SearchError(f"--resume --study {spec.study!r}: no such study in {url}")
        if not existing:
            raise SearchError(f"--study {spec.study!r}: has no autopeft metadata (not created by `autopeft search`, or its creation is still in progress)")
        meta = existing
    else:
        if existing is not None:
            raise SearchError(f"--study {spec.study!r} already exists in {url}; add --resume to continue it or choose another name")
        meta = {}

    def pick(value: Any, key: str, default: Any = None) -> Any:
        return value if value is not None else meta.get(key, default)

    model = pick(spec.model, "model")
    task = spec.task if spec.task is not None else (meta.get("task_spec") or meta.get("task"))
    if not model:
        from autopeft.service.defaults import default_model

        model = default_model()
    if task is None or (isinstance(task, str) and not task.strip()):
        raise SearchError("--task is required: a task name (sst2, bbcnews, folder:ROOT), a task file (--task FILE.yaml), "
                          "or your own data (--train FILE --text-fields F --label-field L)")
    objective_fn = pick(spec.objective_fn, "objective_fn", DEFAULT_OBJECTIVE_FN)
    resolve(objective_fn)
    data_dir = pick(spec.data_dir, "data_dir")
    sampler = check_sampler_name(pick(spec.sampler, "sampler") or default_sampler())
    objectives = parse_objectives(pick(spec.objectives, "objectives"))
    trials = pick(spec.trials, "trials", 20)
    if not isinstance(trials, int) or trials < 1:
        raise SearchError(f"--trials {trials!r}: expected a positive integer")
    if spec.workers < 1:
        raise SearchError(f"--workers {spec.workers!r}: expected a positive integer")
    if spec.cpus_per_trial <= 0 or spec.gpus_per_trial < 0:
        raise SearchError(f"--cpus-per-trial {spec.cpus_per_trial} / --gpus-per-trial {spec.gpus_per_trial}: expected > 0 CPUs and >= 0 GPUs")
    if spec.baselines is not None:
        baselines = parse_baselines(spec.baselines)
    elif "baselines" in meta:
        baselines = parse_baselines(list(meta["baselines"]) or "none")
    else:
        baselines = parse_baselines(None)
    fidelity = pick(spec.fidelity, "fidelity_name", DEFAULT_FIDELITY)
    fidelity_detail = _fidelity_detail(fidelity, objective_fn)
    seed = pick(spec.seed, "seed", 0)

    from autopeft.spaces import SearchSpace, load_space

    if spec.space is None and meta.get("space_yaml"):
        import yaml

        space = SearchSpace(yaml.safe_load(meta["space_yaml"]), source=f"study {spec.study}", text=meta["space_yaml"])
    else:
        space = load_space(spec.space or "autopeft")

    model_config = _load_model_config(model)
    parameters = list(space.parameters(model_config))
    task_name, task_spec = _check_task(task, data_dir, objective_fn)
    if spec.task is None and meta.get("task"):
        task_name = meta["task"]  # a resumed study keeps the name it was created under
    if task_spec is not None and task_spec["source"] != "registry":
        data_dir = None  # the spec names the files

    from autopeft.architectures import backbone_params, dims_of

    backbone = backbone_params(model_config)
    max_text = pick(spec.max_params, "max_params")
    max_params = parse_max_params(max_text, backbone)
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
        fidelity=fidelity,
        fidelity_detail=fidelity_detail,
        max_params=max_params,
        max_params_text=None if max_text is None else str(max_text),
        baselines=baselines,
        objective_fn=objective_fn,
        backbone_params=backbone,
        num_layers=dims_of(model_config).num_layers,
        existing_meta=existing,
        task_spec=task_spec,
    )
