"""Running a calibration on the search's Ray workers, and turning its runs into records."""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from autopeft._lazy import lazy_module
from autopeft.backbone import Backbone, default_model, load_backbone
from autopeft.calibration.configs import CalibrationConfig, calibration_configs
from autopeft.calibration.stats import signal_stats
from autopeft.calibration.verdict import verdict
from autopeft.config import PeftConfig
from autopeft.errors import ConfigError
from autopeft.proxy.fidelity import Fidelity
from autopeft.proxy.result import CHANCE_MARGIN, COLLAPSE_SHARE, TrialResult
from autopeft.proxy.train import total_steps
from autopeft.service.messages import TrialOutcome, TrialRequest
from autopeft.service.ray_pool import WorkerPool, connect, describe_exception, shutdown
from autopeft.service.trial_fn import DEFAULT_OBJECTIVE_FN
from autopeft.spaces import load_space
from autopeft.store.calibrations import CalibrationRecord, CalibrationRow, record_calibration
from autopeft.store.storage import check_reachable
from autopeft.tasks import Task, check_task_data, resolve_task, task_label, task_spec

if TYPE_CHECKING:
    import ray
else:
    ray = lazy_module("ray")

#: The reference must train at least this many times the steps of the fidelity it checks.
MIN_REFERENCE_FACTOR = 5.0


@dataclass(frozen=True)
class CalibrationSpec:
    """What to calibrate (validated by :func:`prepare_calibration`).

    Attributes:
        task: a task reference: a registry task (``glue/rte``), ``bbcnews``, ``folder:ROOT``, a task
            file, or a task spec dict (:func:`autopeft.tasks.resolve_task`).
        fidelities: the fidelity texts under test (``quick``, ``tiny:max_eval_examples=800``).
        reference: the longer fidelity they are checked against (>= 5x their steps).
        configs: configurations trained (the baselines, then space samples spread over sizes).
        seeds: seeds per configuration at each fidelity under test (the reference runs seed 0).
        space: the space the samples come from.
        workers, cpus_per_trial, gpus_per_trial, ray_address: the Ray workers, as for a search.
    """

    task: Any
    model: str | None = None
    data_dir: str | None = None
    fidelities: tuple[str, ...] = ("quick",)
    reference: str = "standard"
    configs: int = 12
    seeds: int = 2
    space: str = "autopeft"
    seed: int = 0
    workers: int = 1
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    ray_address: str | None = None


@dataclass(frozen=True)
class CalibrationPlan:
    """A validated calibration: the resolved model, task size, fidelities and configurations."""

    spec: CalibrationSpec
    model: str
    model_config: Backbone  # the model's Backbone (autopeft.backbone.load_backbone)
    fidelities: Mapping[str, dict[str, Any]]  # text -> Fidelity.to_dict()
    reference: dict[str, Any]
    steps: Mapping[str, int]  # fidelity text (and the reference's) -> optimiser steps on this task
    configs: tuple[CalibrationConfig, ...]


@dataclass
class Run:
    """One training run of a calibration."""

    number: int
    name: str
    fidelity: str
    seed: int
    config: PeftConfig
    result: dict[str, Any] = field(default_factory=dict)


def _steps(fidelity: Fidelity, train_rows: int) -> int:
    examples = train_rows if fidelity.max_train_examples is None else min(train_rows, fidelity.max_train_examples)
    return total_steps(examples, fidelity.batch_size, fidelity.epochs, fidelity.max_steps)


def load_task(task: Any, data_dir: str | None) -> Task:
    """The :class:`autopeft.tasks.Task` of any task reference (a registry name, ``bbcnews``,
    ``folder:ROOT``, a task file, a spec dict; see :func:`autopeft.tasks.resolve_task`), its
    local examples read so that a bad row fails before any training."""
    resolved = resolve_task(task, data_dir)
    check_task_data(resolved)
    return resolved


def prepare_calibration(spec: CalibrationSpec) -> CalibrationPlan:
    """Check every input and resolve the plan; raises an AutoPeftError naming the bad one."""
    if not spec.fidelities:
        raise ConfigError("fidelities: give at least one fidelity to calibrate, e.g. quick")
    if isinstance(spec.seeds, bool) or not isinstance(spec.seeds, int) or spec.seeds < 2:
        raise ConfigError(f"seeds: expected an integer >= 2 (seed noise needs two), got {spec.seeds!r}")
    if spec.workers < 1 or spec.cpus_per_trial <= 0 or spec.gpus_per_trial < 0:
        raise ConfigError(f"workers {spec.workers} / cpus_per_trial {spec.cpus_per_trial} / gpus_per_trial {spec.gpus_per_trial}: expected >= 1 worker, > 0 CPUs, >= 0 GPUs")
    model = spec.model or default_model()
    model_config = load_backbone(model)
    task = load_task(spec.task, spec.data_dir)
    train_rows = len(task.load_split("train"))
    fidelities = {text: Fidelity.parse(text) for text in spec.fidelities}
    reference = Fidelity.parse(spec.reference)
    steps = {text: _steps(f, train_rows) for text, f in fidelities.items()}
    steps[spec.reference] = _steps(reference, train_rows)
    for text, count in steps.items():
        if text != spec.reference and steps[spec.reference] < MIN_REFERENCE_FACTOR * count:
            raise ConfigError(
                f"reference {spec.reference!r}: trains {steps[spec.reference]} steps on {task.name}, under "
                f"{MIN_REFERENCE_FACTOR:g}x the {count} of fidelity {text!r}; choose a longer reference, "
                f"e.g. {spec.reference.partition(':')[0]}:max_steps={math.ceil(MIN_REFERENCE_FACTOR * count)}"
            )
    configs = calibration_configs(load_space(spec.space), model_config, spec.configs, seed=spec.seed)
    return CalibrationPlan(spec, model, model_config, {t: f.to_dict() for t, f in fidelities.items()}, reference.to_dict(), steps, tuple(configs))


def plan_runs(plan: CalibrationPlan) -> list[Run]:
    """Every run: each configuration at the reference (seed 0), then at each fidelity per seed."""
    runs: list[Run] = []
    for item in plan.configs:
        runs.append(Run(len(runs), item.name, plan.spec.reference, 0, item.config))
    for text in plan.fidelities:
        for seed in range(plan.spec.seeds):
            for item in plan.configs:
                runs.append(Run(len(runs), item.name, text, seed, item.config))
    return runs


def execute(plan: CalibrationPlan, runs: Sequence[Run], on_run: Callable[[Run, int, int], None] | None = None) -> None:
    """Train ``runs`` on a pool of Ray trial workers (a local cluster unless ``ray_address``),
    filling each run's ``result``. A worker that dies fails its run with the reason."""
    spec = plan.spec
    details = {**plan.fidelities, spec.reference: plan.reference}
    task = task_spec(spec.task, spec.data_dir)  # workers rebuild the task from its spec
    started_here = not ray.is_initialized()
    num_cpus = None if spec.ray_address else max(os.cpu_count() or 1, math.ceil(spec.workers * spec.cpus_per_trial))
    connect(spec.ray_address, num_cpus=num_cpus)
    pool = WorkerPool(spec.workers, DEFAULT_OBJECTIVE_FN, cpus_per_trial=spec.cpus_per_trial, gpus_per_trial=spec.gpus_per_trial)
    queue = list(runs)
    by_number = {run.number: run for run in runs}
    finished = 0
    try:
        while queue or pool.running_numbers():
            while queue and pool.has_free:
                run = queue.pop(0)
                pool.submit(TrialRequest(number=run.number, model=plan.model, task=task, config=run.config,
                                         fidelity=details[run.fidelity], seed=run.seed, data_dir=spec.data_dir))
            for number, outcome, error in pool.wait(timeout=1.0):
                run = by_number[number]
                run.result = _stored(outcome, error)
                finished += 1
                if on_run is not None:
                    on_run(run, finished, len(runs))
    finally:
        pool.stop()
        if started_here:
            shutdown()


def _stored(outcome: TrialOutcome | None, error: BaseException | None) -> dict[str, Any]:
    """A run's result as the store keeps it: every TrialResult field plus the objective's other
    fields (a failed run's ``traceback``); a worker that died fails the run with the reason."""
    if outcome is None:
        return TrialResult(status="failed", error=describe_exception(error) if error is not None else "worker died mid-run (no answer)").to_dict()
    return {**outcome.result.to_dict(), **dict(outcome.extra)}


def _at_chance(results: Sequence[Mapping[str, Any]]) -> bool:
    """The seed mean scores within the chance margin of the constant predictor, or the
    predictions mostly collapse to one class, or no seed produced a score."""
    scored = [r for r in results if r.get("score") is not None]
    if not scored:
        return True
    score = statistics.fmean(r["score"] for r in scored)
    chance = [r["chance_score"] for r in scored if r.get("chance_score") is not None]
    shares = [r["majority_share"] for r in scored if r.get("majority_share") is not None]
    if shares and statistics.fmean(shares) >= COLLAPSE_SHARE:
        return True
    return bool(chance) and score <= statistics.fmean(chance) + CHANCE_MARGIN


def summarize(plan: CalibrationPlan, runs: Sequence[Run]) -> list[CalibrationRecord]:
    """One record per fidelity under test, from the finished ``runs``."""
    spec = plan.spec
    task_name = task_label(spec.task, task_spec(spec.task, spec.data_dir))  # what `autopeft search` calls it
    reference = {run.name: run.result.get("score") for run in runs if run.fidelity == spec.reference}
    records = []
    for text in plan.fidelities:
        rows = []
        for item in plan.configs:
            mine = sorted((r for r in runs if r.fidelity == text and r.name == item.name), key=lambda r: r.seed)
            rows.append(CalibrationRow(
                name=item.name,
                params=int(item.config.num_trainable_params(plan.model_config)),
                scores=tuple(r.result.get("score") for r in mine),
                reference=reference.get(item.name),
                at_chance=_at_chance([r.result for r in mine]),
                baseline=item.baseline,
            ))
        stats = signal_stats([row.scores for row in rows], [row.reference for row in rows])
        baselines_at_chance = sum(1 for row in rows if row.baseline and row.at_chance)
        ranks, line = verdict(text, spec.reference, stats, baselines_at_chance)
        records.append(CalibrationRecord(
            task=task_name, model=plan.model, data_dir=spec.data_dir, fidelity=text, reference=spec.reference,
            spearman=stats.spearman, kendall=stats.kendall, noise=stats.noise, spread=stats.spread,
            noise_ratio=stats.noise_ratio, configs_at_chance=sum(1 for row in rows if row.at_chance),
            baselines_at_chance=baselines_at_chance, ranks=ranks, verdict=line, rows=tuple(rows),
            extra={"steps": plan.steps[text], "reference_steps": plan.steps[spec.reference], "seeds": spec.seeds,
                   "space": spec.space, "fidelity_detail": plan.fidelities[text], "reference_detail": plan.reference},
        ))
    return records


def run_calibration(spec: CalibrationSpec, *, storage: str | None = None,
                    on_run: Callable[[Run, int, int], None] | None = None) -> list[CalibrationRecord]:
    """Validate, train every run on Ray workers, and return one record per fidelity; with
    ``storage`` each record is written to the study store (see
    :func:`autopeft.store.calibrations.record_calibration`)."""
    url = check_reachable(storage) if storage else None
    plan = prepare_calibration(spec)
    runs = plan_runs(plan)
    execute(plan, runs, on_run)
    records = summarize(plan, runs)
    if url is None:
        return records
    stored = []
    for record in records:
        mine = [{"name": r.name, "fidelity": r.fidelity, "seed": r.seed, "result": r.result}
                for r in runs if r.fidelity in (record.fidelity, spec.reference)]
        stored.append(record_calibration(url, record, mine))
    return stored
