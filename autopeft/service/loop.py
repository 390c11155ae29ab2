"""The search loop: ask the sampler, run trials on Ray workers asynchronously, tell the results.

Asynchronous: whenever a worker is free the next proposal goes out; running trials stay
RUNNING in the store, so samplers see them as pending. The driver records an Optuna heartbeat
for each running trial; a driver that dies (SIGKILL) leaves RUNNING trials whose heartbeat goes
stale, and the next driver on the study (``--resume``, or a second driver sharing it) fails them
through ``optuna.storages.fail_stale_trials`` and re-queues each once.

Budget (``--trials N``): the study's first N *search* trials by number. Baselines, retries
(``retry_of``) and configs rejected without training (``rejected``: over ``--max-params``, or a
proposal another driver beat to the last slot) do not count. A trial whose worker died, whose
driver died or that was interrupted by Ctrl-C is FAIL with its reason and is re-run as a new
trial carrying ``retry_of``; a trial whose objective itself failed is not re-run. A driver stops
when the budget is claimed, nothing is WAITING and no trial of the study is RUNNING, so resuming
finishes exactly the remaining budget: none lost, none duplicated.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from autopeft.service.baselines import build_baseline
from autopeft.service.errors import SearchError
from autopeft.service.prepare import Plan
from autopeft.hypervolume import hypervolume
from autopeft.service.progress import ProgressDisplay, ProgressState
from autopeft.service.ray_pool import WorkerPool, connect, describe_exception
from autopeft.service.samplers import make_sampler
from autopeft.store.batch import batched_params
from autopeft.store.read import non_dominated
from autopeft.store.records import META_KEY, study_metadata
from autopeft.store.storage import open_storage

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
    requeued: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    trial_seconds: list[float] = field(default_factory=list)


def _counts_toward_budget(trial: Any) -> bool:
    attrs = trial.user_attrs
    return "baseline" not in attrs and "retry_of" not in attrs and "rejected" not in attrs


def requeue(study: Any, trial: Any, reason: str, *, force: bool = False) -> bool:
    """Enqueue a re-run of ``trial`` (once; always when ``force``). Returns whether it did."""
    attempt = int(trial.user_attrs.get("attempt", 1))
    if attempt >= 2 and not force:
        logger.warning("trial %d failed again (%s); not re-queued a second time", trial.number, reason)
        return False
    keep = {k: trial.user_attrs[k] for k in ("baseline", "warm_start_from") if k in trial.user_attrs}
    study.enqueue_trial(
        dict(trial.params),
        user_attrs={**keep, "retry_of": trial.user_attrs.get("retry_of", trial.number), "attempt": attempt if force else attempt + 1, "retry_reason": reason},
    )
    return True


class SearchLoop:
    """Runs a validated :class:`Plan` to the end of its budget."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.hb = max(1, int(plan.spec.heartbeat_interval))
        self.grace = 2 * self.hb + 1
        self.outcome = SearchOutcome(plan.study_name, plan.storage_url)
        self.running: dict[int, Any] = {}  # trial number -> optuna.Trial
        self.driver = {"host": socket.gethostname(), "pid": os.getpid()}

    # ------------------------------------------------------------------ setup
    def _on_stale(self, study: Any, trial: Any) -> None:
        if requeue(study, trial, "its driver stopped (no heartbeat)"):
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
        """``callable(params) -> bool``: within ``--max-params`` (None without a limit)."""
        limit = self.plan.max_params
        if limit is None:
            return None
        return lambda p: self.config_params(p) <= limit

    def _sampler(self, warm_trials: list[Any], seed_offset: int = 0) -> tuple[Any, bool]:
        plan = self.plan
        return make_sampler(plan.sampler, seed=plan.seed + seed_offset, known_objectives=self.known_objectives(),
                            constraint=self.params_constraint(), warm_start_trials=warm_trials,
                            search_space=plan.space.distributions(plan.model_config))

    def _warm_start_trials(self, storage: Any) -> list[Any]:
        import optuna

        names = {p.name: set(p.choices) for p in self.plan.parameters}
        found = []
        for name in self.plan.spec.warm_start:
            try:
                other = optuna.load_study(study_name=name, storage=storage)
            except KeyError:
                raise SearchError(f"--warm-start {name!r}: no such study in {self.plan.storage_url}") from None
            for t in other.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
                if "baseline" in t.user_attrs or not t.params:
                    continue
                if set(t.params) == set(names) and all(v in names[k] for k, v in t.params.items()) and len(t.values) == len(self.plan.objectives):
                    found.append((name, t))
        return found

    def _open_study(self) -> tuple[Any, Any]:
        import optuna

        plan = self.plan
        storage = open_storage(plan.storage_url, heartbeat_interval=self.hb, grace_period=self.grace, stale_trial_callback=self._on_stale)
        warm = self._warm_start_trials(storage) if not plan.resume else []
        offset = 0
        if plan.resume:
            # A resumed (or second) driver must not replay the first driver's proposals: the
            # sampler's seed moves on by the number of trials already in the study.
            offset = storage.get_n_trials(storage.get_study_id_from_name(plan.study_name))
        sampler, used_warm = self._sampler([t for _, t in warm], offset)
        if plan.resume:
            study = optuna.load_study(study_name=plan.study_name, storage=storage, sampler=sampler)
            stored = [d.name.lower() for d in study.directions]
            if stored != plan.directions:
                raise SearchError(f"--objectives: study {plan.study_name!r} optimises {plan.existing_meta.get('objectives')}; resume it with the same objectives")
        else:
            study = optuna.create_study(study_name=plan.study_name, storage=storage, sampler=sampler, directions=plan.directions)
            with warnings.catch_warnings():  # experimental in Optuna; names the objectives for Optuna's own CLI and dashboard
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names([o.name for o in plan.objectives])
            if warm and not used_warm:
                directions = plan.directions
                front = [warm[i] for i in non_dominated([t.values for _, t in warm], directions)]
                for name, t in front[: max(1, min(5, plan.trials // 2))]:
                    study.enqueue_trial(dict(t.params), user_attrs={"warm_start_from": f"{name}#{t.number}"})
        present = {t.user_attrs.get("baseline") for t in study.get_trials(deepcopy=False)}
        for name in plan.baselines:
            if name not in present:
                study.enqueue_trial({}, user_attrs={"baseline": name, "attempt": 1})
        if not plan.resume:
            study.set_user_attr(META_KEY, self._metadata(warm))
        return storage, study

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
            },
        )

    # ------------------------------------------------------------------ trials
    def _all(self, study: Any) -> list[Any]:
        return study._storage.get_all_trials(study._study_id, deepcopy=False)

    def _dispatch_one(self, study: Any, pool: Any) -> bool:
        """Send the next trial to a free worker; False when there is nothing left to send."""
        from optuna.trial import TrialState

        plan = self.plan
        trials = self._all(study)
        waiting = any(t.state == TrialState.WAITING for t in trials)
        claimed = sum(1 for t in trials if _counts_toward_budget(t))
        if claimed >= plan.trials and not waiting:
            return False
        trial = study.ask()
        self._dispatching = trial  # so Ctrl-C between ask and submit still marks it
        sent = self._prepare_and_submit(study, pool, trial)
        self._dispatching = None
        return sent

    def _prepare_and_submit(self, study: Any, pool: Any, trial: Any) -> bool:
        from optuna.trial import TrialState

        plan = self.plan
        self.heartbeat.add(trial._trial_id)
        attrs = trial.user_attrs
        baseline = attrs.get("baseline")
        if baseline is None and "retry_of" not in attrs:
            rank = sum(1 for t in self._all(study) if t.number < trial.number and _counts_toward_budget(t))
            if rank >= plan.trials:
                self._reject(study, trial, "over budget: another driver claimed the last trial first")
                return True
        try:
            if baseline is not None:
                config = build_baseline(baseline, plan.num_layers)
            else:
                with batched_params(study):
                    for p in plan.parameters:
                        trial.suggest_categorical(p.name, list(p.choices))
                config = plan.space.build(trial.params, plan.model_config)
        except Exception as exc:  # an invalid proposal is a failed trial, not a dead search
            trial.set_user_attr("error", f"cannot build the config: {exc.__class__.__name__}: {exc}")
            study.tell(trial, state=TrialState.FAIL)
            self.heartbeat.discard(trial._trial_id)
            return True
        n_params = config.num_trainable_params(plan.model_config)
        if plan.max_params is not None and baseline is None and n_params > plan.max_params:
            if hasattr(trial, "set_constraint"):  # optuna >= 5: samplers learn the infeasible region
                trial.set_constraint("max_params", float(n_params - plan.max_params))
            self._reject(study, trial, f"{n_params} trainable params > --max-params {plan.max_params}")
            self._rejections += 1
            if self._rejections > MAX_CONSECUTIVE_REJECTIONS:
                raise SearchError(f"--max-params {plan.max_params_text}: {self._rejections} proposals in a row exceed it; raise the limit or use a smaller space")
            return True
        self._rejections = 0
        trial.set_user_attr("config", config.to_dict())
        self.running[trial.number] = trial
        self._config_params[trial.number] = n_params
        pool.submit(
            {
                "number": trial.number,
                "model": plan.model,
                "task": plan.task_payload,
                "config": config.to_dict(),
                "fidelity": plan.fidelity_detail,
                "seed": plan.seed,
                "data_dir": plan.data_dir,
                "queued": time.time(),
            }
        )
        return True

    def _reject(self, study: Any, trial: Any, reason: str) -> None:
        from optuna.trial import TrialState

        trial.set_user_attr("rejected", reason)
        study.tell(trial, state=TrialState.PRUNED)
        self.heartbeat.discard(trial._trial_id)

    def _finish(self, study: Any, number: int, outcome: dict[str, Any] | None, exc: BaseException | None) -> None:
        import optuna

        trial = self.running[number]
        try:
            self._record(study, number, outcome, exc)
        except optuna.exceptions.UpdateFinishedTrialError:
            # Another driver failed it as stale (this driver stalled past the grace period);
            # its re-run is already queued, so this result is dropped.
            self.state.message = f"trial {number} was failed by another driver (no heartbeat); result dropped"
            logger.warning(self.state.message)
        finally:
            self.running.pop(number, None)
            self._config_params.pop(number, None)
            self.heartbeat.discard(trial._trial_id)

    def _record(self, study: Any, number: int, outcome: dict[str, Any] | None, exc: BaseException | None) -> None:
        from optuna.trial import TrialState

        plan = self.plan
        trial = self.running[number]
        n_params = self._config_params[number]
        self.outcome.trials_run += 1
        if exc is not None:
            error = describe_exception(exc)
            trial.set_user_attr("error", error)
            study.tell(trial, state=TrialState.FAIL)
            self.outcome.failed += 1
            frozen = study._storage.get_trial(trial._trial_id)
            if requeue(study, frozen, error):
                self.outcome.requeued += 1
            self.state.message = f"trial {number}: {error[:80]}"
            return
        result = outcome["result"]
        mismatch = _count_mismatch(result.get("trainable_params"), result.get("percent_params"), n_params, plan.backbone_params)
        if mismatch and result.get("status") == "ok":
            # The sampler learnt, and --max-params checked, the config's own count: a result that
            # counts otherwise (the task head included, another denominator) would put another
            # number in the store, so the trial fails saying so instead.
            result["status"], result["error"] = "failed", f"count_mismatch: {mismatch}"
        # The store keeps the config's count whatever the objective said (the error keeps that).
        result["trainable_params"] = n_params
        result["percent_params"] = 100.0 * n_params / plan.backbone_params
        if result.get("adapter_bytes") is None:
            result["adapter_bytes"] = n_params * 4
        timings = dict(outcome["timings"])
        trial.set_user_attr("result", _jsonable(result))
        trial.set_user_attr("worker", {**outcome["worker"], "driver_host": self.driver["host"], "driver_pid": self.driver["pid"]})
        trial.set_user_attr("timings", timings)
        self.outcome.trial_seconds.append(timings["wall_s"])
        self.state.trial_seconds.append(timings["wall_s"])
        values = [result.get(o.key) for o in plan.objectives]
        bad = [o.name for o, v in zip(plan.objectives, values) if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(float(v))]
        if result.get("status") != "ok" or bad:
            error = result.get("error") or f"the objective returned no value for {bad}"
            trial.set_user_attr("error", str(error))
            study.tell(trial, state=TrialState.FAIL)
            self.outcome.failed += 1
            self.state.message = f"trial {number} failed: {str(error)[:80]}"
            return
        study.tell(trial, [float(v) for v in values])
        self.outcome.completed += 1
        self.state.message = f"trial {number}: score {values[0]:.4f}" + (f" ({trial.user_attrs.get('baseline')})" if "baseline" in trial.user_attrs else "")

    def _interrupt(self, study: Any) -> None:
        from optuna.trial import TrialState

        pending = dict(self.running)
        if self._dispatching is not None:
            pending.setdefault(self._dispatching.number, self._dispatching)
        for number, trial in pending.items():
            try:
                if study._storage.get_trial(trial._trial_id).state != TrialState.RUNNING:
                    continue
                trial.set_user_attr("error", "interrupted (Ctrl-C / SIGTERM) before it finished")
                study.tell(trial, state=TrialState.FAIL)
                requeue(study, study._storage.get_trial(trial._trial_id), "interrupted", force=True)
            except Exception as exc:  # noqa: BLE001 - best effort while stopping
                logger.warning("could not mark trial %d as interrupted: %s", number, exc)
            self.running.pop(number, None)
            self.heartbeat.discard(trial._trial_id)
        self.outcome.interrupted = True

    def _orphans(self, study: Any) -> None:
        """Fail RUNNING trials with no heartbeat at all (a driver killed between ask and its first
        heartbeat) once they are older than the grace period."""
        import datetime as _dt

        import sqlalchemy
        from optuna.trial import TrialState

        candidates = [
            t
            for t in self._all(study)
            if t.state == TrialState.RUNNING and t.number not in self.running and t.datetime_start is not None
            and (_dt.datetime.now() - t.datetime_start).total_seconds() > 2 * self.grace
        ]
        if not candidates:
            return
        storage = study._storage
        engine = getattr(storage, "engine", None) or getattr(getattr(storage, "_backend", None), "engine", None)
        if engine is None:
            return
        with engine.connect() as conn:
            beating = {row[0] for row in conn.execute(sqlalchemy.text("SELECT trial_id FROM trial_heartbeats"))}
        for t in candidates:
            if t._trial_id not in beating and storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                self._on_stale(study, storage.get_trial(t._trial_id))

    def _refresh_state(self, study: Any, force: bool = False) -> None:
        from optuna.trial import TrialState

        if not force and time.time() - self._refreshed < 0.5:
            return
        self._refreshed = time.time()

        plan = self.plan
        trials = self._all(study)
        complete = [t for t in trials if t.state == TrialState.COMPLETE and "baseline" not in t.user_attrs]
        s = self.state
        s.done = sum(1 for t in trials if _counts_toward_budget(t) and t.state in (TrialState.COMPLETE, TrialState.FAIL))
        s.failed = sum(1 for t in trials if t.state == TrialState.FAIL)
        s.running = sum(1 for t in trials if t.state == TrialState.RUNNING)
        s.baselines_done = sum(1 for t in trials if t.state == TrialState.COMPLETE and "baseline" in t.user_attrs)
        points = [t.values for t in complete]
        front = non_dominated(points, plan.directions) if points else []
        s.pareto_size = len({tuple(points[i]) for i in front})
        s.hypervolume = hypervolume([points[i] for i in front], [o.name for o in plan.objectives], plan.directions, plan.backbone_params)
        s.best_score = max((p[0] for p in points), default=None)

    # ------------------------------------------------------------------ main
    def run(self) -> SearchOutcome:
        import optuna

        plan = self.plan
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
        started = time.time()
        self._rejections = 0
        self._config_params: dict[int, int] = {}
        self._refreshed = 0.0
        self._dispatching = None
        self.state = ProgressState(budget=plan.trials, workers=plan.spec.workers)
        if plan.spec.ray_address:
            connect(plan.spec.ray_address)  # an unreachable cluster fails before the study is written
        storage, study = self._open_study()
        optuna.storages.fail_stale_trials(study)
        pool = _LazyPool(plan)  # a local Ray cluster starts only when there is a trial to run
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _raise_interrupt)
        last_stale = time.time()
        display = ProgressDisplay(self.state, plan.study_name, enabled=plan.spec.progress)
        self.heartbeat = _Heartbeat(study._storage, self.hb)
        try:
            with self.heartbeat, display:
                self._refresh_state(study)
                while True:
                    now = time.time()
                    if now - last_stale >= self.hb:
                        optuna.storages.fail_stale_trials(study)
                        self._orphans(study)
                        last_stale = now
                    while pool.has_free and self._dispatch_one(study, pool):
                        pass
                    if not pool.running and not pool.recovering:
                        if not any(t.state.name in ("RUNNING", "WAITING") for t in self._all(study)):
                            break
                        time.sleep(min(1.0, self.hb / 2))  # others' trials, or stale ones not yet failed
                        self._refresh_state(study)
                        display.update()
                        continue
                    for number, outcome, exc in pool.wait(timeout=min(1.0, self.hb / 2)):
                        self._finish(study, number, outcome, exc)
                    self._refresh_state(study)
                    display.update()
                self._refresh_state(study, force=True)
        except KeyboardInterrupt:
            self._interrupt(study)
        finally:
            signal.signal(signal.SIGTERM, previous)
            pool.stop()
        self.outcome.seconds = time.time() - started
        return self.outcome


class _Heartbeat:
    """Records an Optuna heartbeat for this driver's RUNNING trials every ``interval / 2`` seconds
    from a thread, so long blocking steps (starting Ray, loading a study) never let another driver
    mistake them for a dead driver's trials."""

    def __init__(self, storage: Any, interval: int):
        import threading

        self.storage = storage
        self.interval = interval
        self.trial_ids: set[int] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="autopeft-heartbeat", daemon=True)

    def add(self, trial_id: int) -> None:
        self.storage.record_heartbeat(trial_id)
        with self.lock:
            self.trial_ids.add(trial_id)

    def discard(self, trial_id: int) -> None:
        with self.lock:
            self.trial_ids.discard(trial_id)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval / 2):
            with self.lock:
                ids = list(self.trial_ids)
            for trial_id in ids:
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception as exc:  # noqa: BLE001 - a lost beat is retried next round
                    logger.warning("heartbeat of trial id %d failed: %s", trial_id, exc)

    def __enter__(self) -> "_Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


class _LazyPool:
    """A :class:`WorkerPool` created (and Ray connected) on the first submit, so a resumed study
    with nothing left to run, or a driver that only waits for others, never starts Ray."""

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

    def submit(self, payload: dict[str, Any]) -> None:
        if self.pool is None:
            spec = self.plan.spec
            num_cpus = None if spec.ray_address else max(os.cpu_count() or 1, math.ceil(spec.workers * spec.cpus_per_trial))
            connect(spec.ray_address, num_cpus=num_cpus)
            signal.signal(signal.SIGTERM, _raise_interrupt)  # ray.init installs its own, which aborts
            self.pool = WorkerPool(spec.workers, self.plan.objective_fn, cpus_per_trial=spec.cpus_per_trial, gpus_per_trial=spec.gpus_per_trial)
        self.pool.submit(payload)

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


def _jsonable(value: Any) -> Any:
    """Result dicts with numpy scalars or NaN made JSON-safe for the store."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def run_search(spec: Any) -> SearchOutcome:
    """Validate ``spec`` (a :class:`SearchSpec`) and run the search; the library entry point."""
    from autopeft.service.prepare import prepare

    return SearchLoop(prepare(spec)).run()
