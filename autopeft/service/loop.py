"""The search loop: ask the sampler, run trials on Ray workers asynchronously, tell the results.

Asynchronous: whenever a worker is free the next proposal goes out; running trials stay
RUNNING in the store, so samplers see them as pending. The driver records an Optuna heartbeat
for each running trial; a driver that dies (SIGKILL) leaves RUNNING trials whose heartbeat goes
stale, and the next driver on the study (``--resume``, or a second driver sharing it) fails them
(by the database clock, :meth:`StudyStore.fail_stale`) and re-queues each once.

Budget (``--trials N``): the study's first N *search* trials by number. Baselines, re-runs and
configs rejected without training (over ``--max-params``, or a proposal another driver beat to
the last slot) do not count. A trial whose worker died, whose driver died or that was
interrupted by Ctrl-C is FAIL with its reason and is re-run as a new trial marked as a re-run; a
trial whose objective itself failed is not re-run. A driver stops when the budget is claimed,
nothing is WAITING and no trial of the study is RUNNING, so resuming finishes exactly the
remaining budget: none lost, none duplicated.

Multi-fidelity (``--scheduler asha``, :mod:`autopeft.service.asha`): a trial trains rung by
rung on the worker that holds it; after each rung below the top the driver records the score as
an intermediate value keyed by the step and decides at once, from every trial of the study that
reached that rung, whether the trial continues (the next rung's request goes to the same worker)
or stops (PRUNED with its rung; the worker drops it and takes the next trial). Only trials that
reach the top rung are COMPLETE, so fronts, the Pareto table and export see whole-budget scores.
Baselines are never stopped (they are the reference points), but their rung scores join the
rungs' populations.

Every read and write of the study goes through :class:`~autopeft.store.study.StudyStore`; trials
cross Ray as :class:`~autopeft.service.messages.TrialRequest` / ``TrialOutcome``; progress goes
to an observer as :mod:`autopeft.service.events`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from autopeft.hypervolume import hypervolume
from autopeft.service.baselines import build_baseline
from autopeft.service.errors import SearchError
from autopeft.service.events import Observer, SearchFinished, SearchProgress, SearchStarted
from autopeft.service.messages import Stage, TrialOutcome, TrialRequest
from autopeft.service.prepare import Plan
from autopeft.service.ray_pool import WorkerPool, connect, describe_exception
from autopeft.service.samplers import make_sampler
from autopeft.store.errors import StoreError
from autopeft.store.read import non_dominated
from autopeft.store.records import study_metadata
from autopeft.store.storage import redact_url
from autopeft.store.study import StudyStore, TrialClosedError, quiet_optuna
from autopeft.store.trial import Lineage

logger = logging.getLogger(__name__)
MAX_CONSECUTIVE_REJECTIONS = 200


@dataclass
class SearchOutcome:
    """What one driver did."""

    study: str
    storage: str
    trials_run: int = 0
    completed: int = 0
    failed: int = 0
    stopped: int = 0
    requeued: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    trial_seconds: list[float] = field(default_factory=list)


class SearchLoop:
    """Runs a validated :class:`Plan` to the end of its budget, telling ``observer`` (a callable
    taking :mod:`autopeft.service.events`) where it stands."""

    def __init__(self, plan: Plan, observer: Observer | None = None):
        self.plan = plan
        self.observer: Observer = observer or (lambda event: None)
        self.hb = max(1, int(plan.spec.heartbeat_interval))
        self.grace = 2 * self.hb + 1
        self.outcome = SearchOutcome(plan.study_name, plan.storage_url)
        self.running: dict[int, Any] = {}  # trial number -> the Optuna trial the store handed out
        self.driver = {"host": socket.gethostname(), "pid": os.getpid()}
        self.message = ""
        self._started = time.time()
        self._requests: dict[int, TrialRequest] = {}  # staged trials: the request of their first rung
        self._segments: dict[int, float] = {}  # staged trials: worker seconds of the rungs so far
        self._first_started: dict[int, float | None] = {}  # staged trials: when their first rung started
        self._costs: dict[int, tuple[float, ...]] = {}  # trial number -> its known costs (rung ranking)
        self.pool: Any = _LazyPool(plan)

    # ------------------------------------------------------------------ setup
    def _on_stale(self, store: StudyStore, trial: Any) -> None:
        if store.requeue(trial, "its driver stopped (no heartbeat)"):
            self.outcome.requeued += 1

    def _analytic(self, params: dict[str, Any]) -> Any:
        return self.plan.space.build(params, self.plan.model_config)

    def config_params(self, params: dict[str, Any]) -> int:
        """Trainable PEFT parameters (task head excluded) of the config the space builds from
        ``params``: the one count the sampler's known objective, ``--max-params``, the stored
        ``params`` objective and the stored result share (a trial's is checked in ``_record``)."""
        return self._analytic(params).num_trainable_params(self.plan.model_config)

    def known_objectives(self) -> dict[int, Any]:
        """Objective index -> ``callable(params) -> float`` for the objectives the config alone
        determines (``params``, ``adapter_bytes``), handed to the sampler."""
        mc = self.plan.model_config
        known: dict[int, Any] = {}
        for index, objective in enumerate(self.plan.objectives):
            if objective.name == "params":
                known[index] = lambda p: float(self.config_params(p))
            elif objective.name == "adapter_bytes":
                known[index] = lambda p: float(self._analytic(p).num_bytes(mc))
        return known

    def params_constraint(self) -> Any:
        """``callable(params) -> bool``: a non-empty configuration within ``--max-params``.

        The empty configuration is never trained (the loop rejects it), so the sampler must not
        propose it either. In the ``autopeft`` space every row whose module switches are all off
        builds it, whatever its sizes: without this, mobo on SST-2 proposed 144 such rows (all
        rejected) for 20 trained ones (benchmarks/search_quality.py, 2026-12-02), since their 0
        params looked like the best size to the acquisition.
        """
        limit = self.plan.max_params
        if limit is None:
            return lambda p: self.config_params(p) > 0
        return lambda p: 0 < self.config_params(p) <= limit

    def _sampler(self, warm_trials: list[Any], seed_offset: int = 0) -> tuple[Any, bool]:
        plan = self.plan
        sampler, used_warm = make_sampler(plan.sampler, seed=plan.seed + seed_offset, known_objectives=self.known_objectives(),
                                          constraint=self.params_constraint(), warm_start_trials=warm_trials,
                                          search_space=plan.space.distributions(plan.model_config))
        if plan.scheduler is not None:
            from autopeft.service.rung_sampler import score_direction_sampler

            sampler = score_direction_sampler(sampler)  # TPE reads stopped trials' rung scores
        return sampler, used_warm

    def _warm_start_trials(self, store: StudyStore) -> list[Any]:
        names = {p.name: set(p.choices) for p in self.plan.parameters}
        found = []
        for name in self.plan.spec.warm_start:
            try:
                trials = store.completed_trials_of(name)
            except StoreError:
                raise SearchError(f"no such study in {redact_url(self.plan.storage_url)}", parameter="warm_start", value=name) from None
            for t in trials:
                if not t.params:
                    continue
                if set(t.params) == set(names) and all(v in names[k] for k, v in t.params.items()) and len(t.values) == len(self.plan.objectives):
                    found.append((name, t))
        return found

    def _open_study(self) -> StudyStore:
        """Open (or create) the study with its sampler, enqueue the warm-start front and the
        baselines, and store the metadata of a new study."""
        plan = self.plan
        store = StudyStore(plan.storage_url, plan.study_name, heartbeat_interval=self.hb, grace_period=self.grace, on_stale=self._on_stale)
        warm = self._warm_start_trials(store) if not plan.resume else []
        # A resumed (or second) driver must not replay the first driver's proposals: the
        # sampler's seed moves on by the number of trials already in the study.
        offset = store.count_existing_trials() if plan.resume else 0
        sampler, used_warm = self._sampler([t for _, t in warm], offset)
        if plan.resume:
            store.load(sampler)
            if store.directions != plan.directions:
                raise SearchError(f"study {plan.study_name!r} optimises {plan.existing_meta.get('objectives')}; resume it with the same objectives",
                                  parameter="objectives")
        else:
            store.create(sampler, plan.directions, [o.name for o in plan.objectives])
            if warm and not used_warm:
                front = [warm[i] for i in non_dominated([t.values for _, t in warm], plan.directions)]
                for name, t in front[: max(1, min(5, plan.trials // 2))]:
                    store.enqueue(dict(t.params), Lineage(warm_start_from=f"{name}#{t.number}"))
        present = store.baselines_present()
        for name in plan.baselines:
            if name not in present:
                store.enqueue({}, Lineage(baseline=name, attempt=1))
        if not plan.resume:
            store.set_metadata(self._metadata(warm))
        return store

    def _metadata(self, warm: list[Any]) -> dict[str, Any]:
        plan = self.plan
        return study_metadata(
            model=plan.model,
            task=plan.task,
            data_dir=plan.data_dir,
            space_name=plan.space.name,
            space_text=plan.space.text,
            fidelity=plan.fidelity_detail,
            objectives=[o.name for o in plan.objectives],
            directions=plan.directions,
            sampler=plan.sampler,
            seed=plan.seed,
            trials=plan.trials,
            max_params=plan.max_params_text,
            baselines=plan.baselines,
            objective_fn=plan.objective_fn,
            warm_start=list(plan.spec.warm_start),
            extra={
                "fidelity_name": plan.fidelity,
                "backbone_params": plan.backbone_params,
                "num_layers": plan.num_layers,
                "workers": plan.spec.workers,
                "cpus_per_trial": plan.spec.cpus_per_trial,
                "gpus_per_trial": plan.spec.gpus_per_trial,
                "ray_address": plan.spec.ray_address,
                "warm_start_trials": len(warm),
                "task_spec": plan.task_spec,
                **plan.scheduler_metadata,
            },
        )

    # ------------------------------------------------------------------ trials
    def _dispatch_one(self, store: StudyStore, pool: Any) -> bool:
        """Send the next trial to a free worker; False when there is nothing left to send."""
        tally = store.tally()
        if tally.claimed >= self.plan.trials and not tally.waiting:
            return False
        pool.start()  # the workers exist before a trial is created: a Ray start that fails leaves none RUNNING
        trial = store.ask()
        self._dispatching = trial  # so Ctrl-C between ask and submit still marks it
        sent = self._prepare_and_submit(store, pool, trial)
        self._dispatching = None
        return sent

    def _prepare_and_submit(self, store: StudyStore, pool: Any, trial: Any) -> bool:
        plan = self.plan
        self.heartbeat.add(trial)
        lineage = store.lineage(trial)
        if lineage.counts_toward_budget and store.budget_rank(trial) >= plan.trials:
            self._reject(store, trial, "over budget: another driver claimed the last trial first")
            return True
        try:
            if lineage.baseline is not None:
                config = build_baseline(lineage.baseline, plan.num_layers)
            else:
                config = plan.space.build(store.suggest(trial, plan.parameters), plan.model_config)
        except Exception as exc:  # an invalid proposal is a failed trial, not a dead search
            store.fail(trial, f"cannot build the config: {exc.__class__.__name__}: {exc}")
            self.heartbeat.discard(trial)
            return True
        n_params = config.num_trainable_params(plan.model_config)
        if lineage.baseline is None and n_params == 0:
            # An empty configuration (every module off) is not a PEFT configuration: closed untrained.
            self._reject(store, trial, "empty configuration: no trainable PEFT parameters", violation=1.0 if plan.max_params is not None else None)
            self._rejections += 1
            if self._rejections > MAX_CONSECUTIVE_REJECTIONS:
                raise SearchError(f"{self._rejections} proposals in a row were empty or over the limit; use a smaller space or raise the limit",
                                  parameter="space")
            return True
        if plan.max_params is not None and lineage.baseline is None and n_params > plan.max_params:
            self._reject(store, trial, f"{n_params} trainable params > --max-params {plan.max_params}", violation=n_params - plan.max_params)
            self._rejections += 1
            if self._rejections > MAX_CONSECUTIVE_REJECTIONS:
                raise SearchError(f" {plan.max_params_text}: {self._rejections} proposals in a row exceed it; raise the limit or use a smaller space",
                                  parameter="max_params")
            return True
        self._rejections = 0
        store.set_config(trial, config)
        self.running[trial.number] = trial
        self._config_params[trial.number] = n_params
        request = TrialRequest(number=trial.number, model=plan.model, task=plan.task_payload, config=config,
                               fidelity=plan.fidelity_detail, seed=plan.seed, data_dir=plan.data_dir,
                               stage=None if plan.scheduler is None else Stage(plan.scheduler, 0))
        if request.stage is not None:
            self._requests[trial.number] = request
            self._segments[trial.number] = 0.0
        pool.submit(request)
        return True

    def _reject(self, store: StudyStore, trial: Any, reason: str, violation: float | None = None) -> None:
        store.reject(trial, reason, violation=violation)
        self.heartbeat.discard(trial)

    def _finish(self, store: StudyStore, number: int, outcome: TrialOutcome | None, exc: BaseException | None) -> None:
        if outcome is not None and exc is None and number in self._segments:
            outcome = self._whole_trial_timings(number, outcome)
        try:
            if outcome is not None and exc is None and outcome.held:
                if self._at_rung(store, number, outcome):
                    return  # continues on the worker that holds it
            else:
                self._record(store, number, outcome, exc)
        except TrialClosedError:
            # Another driver failed it as stale (this driver stalled past the grace period);
            # its re-run is already queued, so this result is dropped.
            self.message = f"trial {number} was failed by another driver (no heartbeat); result dropped"
            logger.warning(self.message)
        self._forget(number)

    def _forget(self, number: int) -> None:
        trial = self.running.pop(number, None)
        self._config_params.pop(number, None)
        self._requests.pop(number, None)
        self._segments.pop(number, None)
        self._first_started.pop(number, None)
        self.pool.release(number)  # a held staged trial stopped or dropped: its worker is free again
        if trial is not None:
            self.heartbeat.discard(trial)

    # ------------------------------------------------------------------ rungs (multi-fidelity)
    def _whole_trial_timings(self, number: int, outcome: TrialOutcome) -> TrialOutcome:
        """A staged trial's timings over all its rungs so far: queued and started at its first
        rung, the worker seconds of every rung summed."""
        first = self._requests[number]
        self._segments[number] += outcome.timings.wall_s or 0.0
        started = self._first_started.setdefault(number, outcome.timings.started)
        timings = dataclasses.replace(outcome.timings, queued=first.queued, started=started, wall_s=self._segments[number],
                                      dispatch_s=None if first.queued is None or started is None else started - first.queued)
        return dataclasses.replace(outcome, timings=timings)

    def _costs_of(self, number: int, config: dict[str, Any]) -> tuple[float, ...]:
        """The known costs (``params``, ``adapter_bytes``: what the config alone determines) of a
        trial's stored config, in the study's objective order; cached by trial number."""
        if number not in self._costs:
            from autopeft.config import PeftConfig

            peft = PeftConfig.from_dict(config)
            mc = self.plan.model_config
            by_name = {"params": lambda: float(peft.num_trainable_params(mc)), "adapter_bytes": lambda: float(peft.num_bytes(mc))}
            self._costs[number] = tuple(by_name[o.name]() for o in self.plan.objectives if o.name in by_name)
        return self._costs[number]

    def _at_rung(self, store: StudyStore, number: int, outcome: TrialOutcome) -> bool:
        """A staged trial reached a rung below the top: record its score there and continue it
        (True) or stop it (PRUNED, False). A failed or scoreless rung is recorded as the trial's
        failure (False)."""
        from autopeft.service.asha import RungPoint, decide

        plan = self.plan
        trial = self.running[number]
        result = outcome.result
        score = result.score
        if result.status != "ok" or not isinstance(score, (int, float)) or isinstance(score, bool) or math.isnan(float(score)):
            self._record(store, number, dataclasses.replace(outcome, held=False), None)
            return False
        store.report_rung(trial, rung=outcome.rung, step=outcome.step, score=float(score), total_steps=outcome.total_steps)
        if store.lineage(trial).baseline is not None:
            decision = None  # the reference points run to the whole budget
        else:
            points = [RungPoint(n, value, self._costs_of(n, config))
                      for n, value, config, _ in store.rung_entries(outcome.step) if config]
            decision = decide(number, points, plan.scheduler.eta)
        if decision is None or decision.promote:
            self.message = f"trial {number}: score {score:.4f} at step {outcome.step}/{outcome.total_steps}, continues"
            request = dataclasses.replace(self._requests[number], stage=Stage(plan.scheduler, outcome.rung + 1), queued=time.time())
            self.pool.resume(request)
            return True
        result, worker = self._checked(number, outcome)
        store.stop(trial, result=result, extra=outcome.extra, worker=worker, timings=outcome.timings,
                   reason=f"rung {outcome.rung} (step {outcome.step} of {outcome.total_steps}): {decision.reason}")
        self.outcome.trials_run += 1
        self.outcome.stopped += 1
        self.message = f"trial {number}: stopped at step {outcome.step}/{outcome.total_steps} (score {score:.4f}, {decision.reason})"
        return False

    def _checked(self, number: int, outcome: TrialOutcome) -> tuple[Any, Any]:
        """The outcome's result as the store keeps it (the config's own PEFT count, a count the
        objective got otherwise failing the trial) and the worker with this driver's host."""
        plan = self.plan
        n_params = self._config_params[number]
        result = outcome.result
        status, error = result.status, result.error
        mismatch = _count_mismatch(result.trainable_params, result.percent_params, n_params, plan.backbone_params)
        if mismatch and status == "ok":
            # The sampler learnt, and --max-params checked, the config's own count: a result that
            # counts otherwise (the task head included, another denominator) would put another
            # number in the store, so the trial fails saying so instead.
            status, error = "failed", f"count_mismatch: {mismatch}"
        # The store keeps the config's count whatever the objective said (the error keeps that).
        result = dataclasses.replace(result, status=status, error=error, trainable_params=n_params,
                                     percent_params=100.0 * n_params / plan.backbone_params,
                                     adapter_bytes=n_params * 4 if result.adapter_bytes is None else result.adapter_bytes)
        worker = dataclasses.replace(outcome.worker, driver_host=self.driver["host"], driver_pid=self.driver["pid"])
        return result, worker

    def _record(self, store: StudyStore, number: int, outcome: TrialOutcome | None, exc: BaseException | None) -> None:
        plan = self.plan
        trial = self.running[number]
        self.outcome.trials_run += 1
        if exc is not None or outcome is None:
            error = describe_exception(exc) if exc is not None else "worker died mid-trial (no answer)"
            store.fail(trial, error)
            self.outcome.failed += 1
            if store.requeue(store.fresh(trial), error):
                self.outcome.requeued += 1
            self.message = f"trial {number}: {error[:80]}"
            return
        result, worker = self._checked(number, outcome)
        wall = outcome.timings.wall_s
        self.outcome.trial_seconds.append(wall)
        values = [getattr(result, o.key) for o in plan.objectives]
        bad = [o.name for o, v in zip(plan.objectives, values) if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(float(v))]
        if result.status != "ok" or bad:
            error = str(result.error or f"the objective returned no value for {bad}")
            store.record(trial, result=result, extra=outcome.extra, worker=worker, timings=outcome.timings, values=None, error=error)
            self.outcome.failed += 1
            self.message = f"trial {number} failed: {error[:80]}"
            return
        if outcome.step is not None and outcome.total_steps:  # a staged trial at its top rung
            store.report_rung(trial, rung=outcome.rung, step=outcome.step, score=float(result.score), total_steps=outcome.total_steps)
        store.record(trial, result=result, extra=outcome.extra, worker=worker, timings=outcome.timings, values=values)
        self.outcome.completed += 1
        baseline = store.lineage(trial).baseline
        self.message = f"trial {number}: score {values[0]:.4f}" + (f" ({baseline})" if baseline is not None else "")

    def _interrupt(self, store: StudyStore) -> None:
        pending = dict(self.running)
        if self._dispatching is not None:
            pending.setdefault(self._dispatching.number, self._dispatching)
        for number, trial in pending.items():
            try:
                store.interrupt(trial, "interrupted (Ctrl-C / SIGTERM) before it finished")
            except Exception as exc:  # noqa: BLE001 - best effort while stopping
                logger.warning("could not mark trial %d as interrupted: %s", number, exc)
            self.running.pop(number, None)
            self.heartbeat.discard(trial)
        self.outcome.interrupted = True

    def _progress(self, store: StudyStore, force: bool = False) -> None:
        """Tell the observer where the study stands (at most twice a second unless ``force``)."""
        if not force and time.time() - self._refreshed < 0.5:
            return
        self._refreshed = time.time()
        plan = self.plan
        tally = store.tally()
        points = list(tally.search_points)
        front = non_dominated(points, plan.directions) if points else []
        self.observer(SearchProgress(
            budget=plan.trials, workers=plan.spec.workers, started=self._started,
            done=tally.done, failed=tally.failed, running=tally.running, baselines_done=tally.baselines_done,
            pareto_size=len({tuple(points[i]) for i in front}),
            hypervolume=hypervolume([points[i] for i in front], [o.name for o in plan.objectives], plan.directions, plan.backbone_params),
            best_score=max((p[0] for p in points), default=None),
            trial_seconds=tuple(self.outcome.trial_seconds), message=self.message,
        ))

    # ------------------------------------------------------------------ main
    def run(self) -> SearchOutcome:
        plan = self.plan
        quiet_optuna()
        self._started = time.time()
        self._rejections = 0
        self._config_params: dict[int, int] = {}
        self._refreshed = 0.0
        self._dispatching = None
        if plan.spec.ray_address:
            connect(plan.spec.ray_address)  # an unreachable cluster fails before the study is written
        store = self._open_study()
        store.fail_stale()
        pool = self.pool = _LazyPool(plan)  # a local Ray cluster starts only when there is a trial to run
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _raise_interrupt)
        last_stale = time.time()
        self.heartbeat = store.heartbeats(self.hb)
        self.observer(SearchStarted(plan.study_name, plan.trials, plan.spec.workers, self._started))
        try:
            with self.heartbeat:
                self._progress(store)
                while True:
                    now = time.time()
                    if now - last_stale >= self.hb:
                        store.fail_stale(running=self.running)
                        last_stale = now
                    while pool.has_free and self._dispatch_one(store, pool):
                        pass
                    if not pool.running:
                        tally = store.tally()
                        if not tally.active and (not pool.recovering or tally.claimed >= plan.trials):
                            break  # the budget is done: an actor of a dead node that cannot restart is not waited for
                        if not pool.recovering:
                            time.sleep(min(1.0, self.hb / 2))  # others' trials, or stale ones not yet failed
                            self._progress(store)
                            continue
                    for number, outcome, exc in pool.wait(timeout=min(1.0, self.hb / 2)):
                        self._finish(store, number, outcome, exc)
                    self._progress(store)
                self._progress(store, force=True)
        except KeyboardInterrupt:
            self._interrupt(store)
        finally:
            signal.signal(signal.SIGTERM, previous)
            pool.stop()
            self.outcome.seconds = time.time() - self._started
            self.observer(SearchFinished(self.outcome))
        return self.outcome


class _LazyPool:
    """A :class:`WorkerPool` created (and Ray connected) just before the first trial is asked for
    (:meth:`start`), so a resumed study with nothing left to run, or a driver that only waits for
    others, never starts Ray, and a Ray start that fails leaves no trial RUNNING."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.pool: WorkerPool | None = None

    @property
    def has_free(self) -> bool:
        return self.pool is None or self.pool.has_free

    @property
    def running(self) -> dict[Any, Any]:
        return {} if self.pool is None else self.pool.running

    @property
    def recovering(self) -> dict[Any, Any]:
        return {} if self.pool is None else self.pool.recovering

    def start(self) -> None:
        """Connect Ray and create the workers (once); raises before any trial is asked for."""
        if self.pool is None:
            spec = self.plan.spec
            num_cpus = None if spec.ray_address else max(os.cpu_count() or 1, math.ceil(spec.workers * spec.cpus_per_trial))
            connect(spec.ray_address, num_cpus=num_cpus)
            signal.signal(signal.SIGTERM, _raise_interrupt)  # ray.init installs its own, which aborts
            self.pool = WorkerPool(spec.workers, self.plan.objective_fn, cpus_per_trial=spec.cpus_per_trial, gpus_per_trial=spec.gpus_per_trial)

    def submit(self, request: TrialRequest) -> None:
        self.start()
        self.pool.submit(request)

    def resume(self, request: TrialRequest) -> None:
        """Continue a held staged trial on the worker that holds it."""
        self.pool.resume(request)

    def release(self, number: int) -> None:
        """Free the worker holding staged trial ``number`` (nothing when none holds it)."""
        if self.pool is not None:
            self.pool.release(number)

    def wait(self, timeout: float) -> list[Any]:
        return [] if self.pool is None else self.pool.wait(timeout)

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.stop()


def _count_mismatch(counted: Any, percent: Any, n_params: int, backbone: int) -> str | None:
    """Why a result's ``trainable_params`` / ``percent_params`` differ from the config's PEFT
    count ``n_params`` and ``100 * n_params / backbone``, or None when they agree."""
    if counted is not None and counted != n_params:
        return (f"the objective counted {counted} trainable params, the config has {n_params} PEFT params; "
                "trainable_params must count the PEFT modules only (report the task head as head_params)")
    expected = 100.0 * n_params / backbone
    if isinstance(percent, (int, float)) and not math.isclose(float(percent), expected, rel_tol=1e-9, abs_tol=1e-12):
        return (f"the objective reported percent_params {percent}, the config's PEFT params are {expected} % of the "
                f"backbone's {backbone} (embeddings + layers, autopeft.architectures.backbone_params)")
    return None


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_search(spec: Any, observer: Observer | None = None) -> SearchOutcome:
    """Validate ``spec`` (a :class:`SearchSpec`) and run the search, telling ``observer``."""
    from autopeft.service.prepare import prepare

    return SearchLoop(prepare(spec), observer).run()
