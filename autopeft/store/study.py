"""One search study in the store: every read and write the search driver makes.

:class:`StudyStore` owns the study's schema: its metadata, the trial lifecycle (enqueue, ask,
suggest, record a result, fail, reject, re-queue), heartbeats and the failing of trials whose
driver died. The search loop never touches Optuna's storage, trial ids or tables; it holds
Optuna ``Trial`` objects only to hand them back here. Each write is one Optuna storage call (one
scoped session); a trial's suggested parameters are written in one session
(:class:`~autopeft.store.batch.BatchingRDBStorage`).

Staleness is judged by the database clock, as Optuna's heartbeat does: a RUNNING trial whose
driver stopped beating for the grace period is failed by ``optuna.storages.fail_stale_trials``,
and a RUNNING trial that never got a first heartbeat (its driver was killed between asking for
it and its first beat) is given one, stamped by the database, when a sweep finds it a second
time, so the same heartbeat rule fails it a grace period later if no driver claims it.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from autopeft.store import keys
from autopeft.store.errors import StoreError
from autopeft.store.storage import redact_url
from autopeft.store.trial import Lineage, Timings, WorkerInfo, counts_toward_budget, encode_config, encode_lineage, encode_result

logger = logging.getLogger(__name__)


class TrialClosedError(StoreError):
    """The trial was already finished by someone else (another driver failed it as stale)."""


@contextlib.contextmanager
def _open_trial() -> Iterator[None]:
    import optuna

    try:
        yield
    except optuna.exceptions.UpdateFinishedTrialError as exc:
        raise TrialClosedError(str(exc)) from None


@dataclass(frozen=True)
class StudyTally:
    """Counts over every trial of a study (all drivers'), read at one moment.

    ``claimed``: trials of the search budget in any state (baselines, re-runs and rejected
    proposals are not); ``done``: those COMPLETE or FAIL, or stopped at a rung by the
    multi-fidelity scheduler; ``failed``: every FAIL;
    ``baselines_done``: COMPLETE baselines; ``search_points``: objective values of the COMPLETE
    search trials."""

    claimed: int
    waiting: int
    running: int
    done: int
    failed: int
    baselines_done: int
    search_points: tuple[tuple[float, ...], ...]

    @property
    def active(self) -> bool:
        """Some trial is still RUNNING or WAITING."""
        return bool(self.running or self.waiting)


def quiet_optuna() -> None:
    """Optuna's per-trial logging and its warnings about the heartbeat outside ``optimize``
    and experimental APIs off (a search prints its own progress)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")


def read_metadata(url: str, study: str) -> dict[str, Any] | None:
    """The stored metadata of ``study`` (``{}`` when it has none), or None when the study (or
    the store) does not exist. Reads only: never creates the database or its tables."""
    from autopeft.store.storage import sqlite_path

    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    import json

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
                {"i": row[0], "k": keys.META_KEY},
            ).first()
    finally:
        engine.dispose()
    return json.loads(meta[0]) if meta else {}


def _opened(url: str) -> Any:
    from autopeft.store.storage import check_reachable, open_storage

    return open_storage(check_reachable(url, must_exist=True), create=False)


def count_trials(url: str, study: str) -> int:
    """How many trials ``study`` holds; :class:`StoreError` naming the store's studies when it
    holds no such study (never creates a database)."""
    storage = _opened(url)
    names = [s.study_name for s in storage.get_all_studies()]
    if study not in names:
        raise StoreError(f"--study {study!r}: no such study in {redact_url(url)}; studies: {names or 'none'}")
    return storage.get_n_trials(storage.get_study_id_from_name(study))


def delete_study(url: str, study: str) -> int:
    """Delete ``study`` and its trials with Optuna's own deletion (the store stays as Optuna
    expects it); returns how many trials it held."""
    import optuna

    n_trials = count_trials(url, study)
    optuna.delete_study(study_name=study, storage=_opened(url))
    return n_trials


class StudyStore:
    """A study of the store opened for a search driver.

    ``heartbeat_interval`` / ``grace_period`` turn on Optuna's heartbeat; ``on_stale(store,
    trial)`` is called with each trial failed because its driver stopped (the loop re-queues it).
    Open with :meth:`create` or :meth:`load`; :attr:`study` is the ``optuna.Study`` (for its
    sampler's ``ask``), :attr:`storage` the opened storage.
    """

    def __init__(self, url: str, name: str, *, heartbeat_interval: int | None = None, grace_period: int | None = None,
                 on_stale: Callable[["StudyStore", Any], None] | None = None):
        from autopeft.store.storage import open_storage

        self.url = url
        self.name = name
        self._on_stale = on_stale
        callback = None if on_stale is None else (lambda study, trial: on_stale(self, trial))
        self.grace_period = grace_period
        self.storage = open_storage(url, heartbeat_interval=heartbeat_interval, grace_period=grace_period, stale_trial_callback=callback)
        self.study: Any = None
        self._unclaimed: set[int] = set()  # RUNNING trials without a heartbeat at the last sweep

    # ------------------------------------------------------------------ opening
    def count_existing_trials(self) -> int:
        """How many trials the study holds already (0 when it does not exist)."""
        try:
            return self.storage.get_n_trials(self.storage.get_study_id_from_name(self.name))
        except KeyError:
            return 0

    def create(self, sampler: Any, directions: Sequence[str], metric_names: Sequence[str]) -> Any:
        """Create the study (its objectives named for Optuna's own CLI and dashboard)."""
        import optuna

        self.study = optuna.create_study(study_name=self.name, storage=self.storage, sampler=sampler, directions=list(directions))
        with warnings.catch_warnings():  # experimental in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study.set_metric_names(list(metric_names))
        return self.study

    def load(self, sampler: Any) -> Any:
        """Open the existing study with ``sampler``."""
        import optuna

        try:
            self.study = optuna.load_study(study_name=self.name, storage=self.storage, sampler=sampler)
        except KeyError:
            raise StoreError(f"--study {self.name!r}: no such study in {redact_url(self.url)}") from None
        return self.study

    @property
    def directions(self) -> list[str]:
        return [d.name.lower() for d in self.study.directions]

    def set_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Store the study's metadata (:data:`autopeft.store.keys.META_KEY`)."""
        self.study.set_user_attr(keys.META_KEY, dict(metadata))

    def metadata(self) -> dict[str, Any]:
        """The study's metadata (``{}`` before :meth:`set_metadata`)."""
        return dict(self.study.user_attrs.get(keys.META_KEY) or {})

    def records(self) -> list[Any]:
        """Every trial as a :class:`~autopeft.store.trial.TrialRecord`, by the fast read of
        :mod:`autopeft.store.fastread` (Optuna's parameter objects are not built: ``params`` is empty)."""
        from autopeft.store.fastread import read_trials

        return read_trials(self.storage, self.name)

    def completed_trials_of(self, other: str) -> list[Any]:
        """The COMPLETE trials of another study in the same store (for warm starts); raises
        :class:`StoreError` naming the study when it does not exist."""
        import optuna

        try:
            loaded = optuna.load_study(study_name=other, storage=self.storage)
        except KeyError:
            raise StoreError(f"--warm-start {other!r}: no such study in {redact_url(self.url)}") from None
        return [t for t in loaded.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                if keys.BASELINE not in t.user_attrs]

    # ------------------------------------------------------------------ reads
    def trials(self) -> list[Any]:
        """Every trial of the study (Optuna ``FrozenTrial``, not copied: read, never change)."""
        return self.study.get_trials(deepcopy=False)

    def fresh(self, trial: Any) -> Any:
        """The stored state of ``trial`` (an Optuna ``Trial`` or ``FrozenTrial``), read again."""
        return self.storage.get_trial(trial._trial_id)

    def tally(self) -> StudyTally:
        """The study's counts now (see :class:`StudyTally`)."""
        from optuna.trial import TrialState

        trials = self.trials()
        budget = [t for t in trials if counts_toward_budget(t.user_attrs)]
        return StudyTally(
            claimed=len(budget),
            waiting=sum(1 for t in trials if t.state == TrialState.WAITING),
            running=sum(1 for t in trials if t.state == TrialState.RUNNING),
            done=sum(1 for t in budget if t.state in (TrialState.COMPLETE, TrialState.FAIL)
                     or (t.state == TrialState.PRUNED and keys.STOPPED in t.user_attrs)),
            failed=sum(1 for t in trials if t.state == TrialState.FAIL),
            baselines_done=sum(1 for t in trials if t.state == TrialState.COMPLETE and keys.BASELINE in t.user_attrs),
            search_points=tuple(tuple(t.values) for t in trials if t.state == TrialState.COMPLETE and keys.BASELINE not in t.user_attrs),
        )

    def rung_entries(self, step: int) -> list[tuple[int, float, dict[str, Any], bool]]:
        """Every trial that reached the rung of ``step`` training steps and still stands
        (RUNNING, COMPLETE, or stopped there or later): ``(number, score at the rung, stored
        config, is baseline)``. A FAIL trial (its re-run reports its own rungs) and a trial
        rejected untrained are left out, so a re-run never counts twice."""
        from optuna.trial import TrialState

        out = []
        for t in self.trials():
            if t.state not in (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED) or keys.REJECTED in t.user_attrs:
                continue
            value = t.intermediate_values.get(step)
            if value is None:
                continue
            out.append((t.number, float(value), dict(t.user_attrs.get(keys.CONFIG) or {}), keys.BASELINE in t.user_attrs))
        return out

    def budget_rank(self, trial: Any) -> int:
        """How many budget trials come before ``trial`` by number (over budget when >= the budget)."""
        return sum(1 for t in self.trials() if t.number < trial.number and counts_toward_budget(t.user_attrs))

    def baselines_present(self) -> set[str]:
        return {t.user_attrs[keys.BASELINE] for t in self.trials() if keys.BASELINE in t.user_attrs}

    @staticmethod
    def lineage(trial: Any) -> Lineage:
        from autopeft.store.trial import decode_lineage

        return decode_lineage(trial.user_attrs)

    @staticmethod
    def counts_toward_budget(trial: Any) -> bool:
        return counts_toward_budget(trial.user_attrs)

    # ------------------------------------------------------------------ writes
    def enqueue(self, params: Mapping[str, Any], lineage: Lineage = Lineage()) -> None:
        """Queue a trial with fixed ``params`` and its lifecycle flags."""
        self.study.enqueue_trial(dict(params), user_attrs=encode_lineage(lineage))

    def ask(self) -> Any:
        """The next trial (a WAITING one first), RUNNING from now on."""
        return self.study.ask()

    def suggest(self, trial: Any, parameters: Iterable[Any]) -> dict[str, Any]:
        """Let the sampler choose every parameter (``.name``, ``.choices``) of ``trial``; the
        choices are written in one session. Returns the trial's params."""
        from autopeft.store.batch import backend

        with backend(self.storage).batched_params():
            for p in parameters:
                trial.suggest_categorical(p.name, list(p.choices))
        return dict(trial.params)

    def set_config(self, trial: Any, config: Any) -> None:
        """Record the :class:`~autopeft.PeftConfig` the trial evaluates."""
        for key, value in encode_config(config).items():
            trial.set_user_attr(key, value)

    def record(self, trial: Any, *, result: Any, extra: Mapping[str, Any], worker: WorkerInfo, timings: Timings,
               values: Sequence[float] | None, error: str | None = None) -> None:
        """Store a worker's answer: the result, worker and timings, then COMPLETE with
        ``values`` or, when ``values`` is None, FAIL with ``error``. Raises
        :class:`TrialClosedError` when another driver failed the trial first."""
        with _open_trial():
            for key, value in encode_result(result, extra, worker, timings).items():
                trial.set_user_attr(key, value)
            if values is None:
                self.fail(trial, error or "failed")
            else:
                self.study.tell(trial, [float(v) for v in values])

    def report_rung(self, trial: Any, *, rung: int, step: int, score: float, total_steps: int) -> None:
        """Record the score of ``trial`` at rung ``rung`` (``step`` training steps of
        ``total_steps``): an Optuna intermediate value keyed by the step (writing a step twice
        keeps one value) and the :data:`~autopeft.store.keys.RUNG` /
        :data:`~autopeft.store.keys.TOTAL_STEPS` attributes. Optuna's ``Trial.report`` refuses
        multi-objective studies, so the value goes through the storage (the same row it writes)."""
        with _open_trial():
            self.storage.set_trial_intermediate_value(trial._trial_id, int(step), float(score))
            trial.set_user_attr(keys.TOTAL_STEPS, int(total_steps))
            trial.set_user_attr(keys.RUNG, int(rung))

    def stop(self, trial: Any, *, result: Any, extra: Mapping[str, Any], worker: WorkerInfo, timings: Timings, reason: str) -> None:
        """Close ``trial`` PRUNED at its rung (the multi-fidelity scheduler stopped it): its result
        there, worker and timings are stored, with ``reason`` under
        :data:`~autopeft.store.keys.STOPPED`; its rung scores stay as intermediate values."""
        import optuna

        with _open_trial():
            for key, value in encode_result(result, extra, worker, timings).items():
                trial.set_user_attr(key, value)
            trial.set_user_attr(keys.STOPPED, str(reason))
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)

    def fail(self, trial: Any, error: str) -> None:
        """FAIL ``trial`` with the reason (:class:`TrialClosedError` when it was closed already)."""
        import optuna

        with _open_trial():
            trial.set_user_attr(keys.ERROR, str(error))
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)

    def reject(self, trial: Any, reason: str, *, violation: float | None = None) -> None:
        """Close ``trial`` untrained (PRUNED, with the reason); ``violation``: how far it is over
        a constraint, for samplers that learn the infeasible region (optuna >= 5)."""
        import optuna

        if violation is not None and hasattr(trial, "set_constraint"):
            trial.set_constraint("max_params", float(violation))
        trial.set_user_attr(keys.REJECTED, reason)
        self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)

    def requeue(self, trial: Any, reason: str, *, force: bool = False) -> bool:
        """Enqueue a re-run of the failed ``trial`` (a ``FrozenTrial``): once, or always when
        ``force`` (an interrupted trial). Returns whether it did."""
        attempt = int(trial.user_attrs.get(keys.ATTEMPT, 1))
        if attempt >= 2 and not force:
            logger.warning("trial %d failed again (%s); not re-queued a second time", trial.number, reason)
            return False
        kept = self.lineage(trial)
        self.enqueue(dict(trial.params), Lineage(baseline=kept.baseline, warm_start_from=kept.warm_start_from,
                                                 retry_of=trial.user_attrs.get(keys.RETRY_OF, trial.number),
                                                 attempt=attempt if force else attempt + 1, retry_reason=reason))
        return True

    def interrupt(self, trial: Any, reason: str) -> bool:
        """Fail a still RUNNING ``trial`` with ``reason`` and re-queue it (always); False when it
        was no longer RUNNING."""
        import optuna

        if self.fresh(trial).state != optuna.trial.TrialState.RUNNING:
            return False
        self.fail(trial, reason)
        self.requeue(self.fresh(trial), "interrupted", force=True)
        return True

    # ------------------------------------------------------------------ heartbeats and dead drivers
    def heartbeats(self, interval: int) -> Any:
        """A :class:`~autopeft.store.heartbeat.Heartbeat` for this driver's RUNNING trials (a
        context manager: ``add`` / ``discard`` trials inside it)."""
        from autopeft.store.heartbeat import Heartbeat

        return Heartbeat(self.storage, interval)

    def fail_stale(self, running: Iterable[int] = ()) -> None:
        """Fail the RUNNING trials whose driver stopped beating (Optuna's heartbeat; each goes to
        ``on_stale``), and give a first heartbeat to those no driver ever beat for (not in
        ``running``, this driver's trial numbers) when seen without one twice in a row."""
        import optuna

        self._fail_stale_trials()
        mine = set(running)
        orphans = {t._trial_id for t in self.trials() if t.state == optuna.trial.TrialState.RUNNING and t.number not in mine}
        if not orphans:
            self._unclaimed = set()
            return
        beating = self._with_heartbeat(orphans)
        unclaimed = orphans - beating
        for trial_id in unclaimed & self._unclaimed:
            self._adopt(trial_id)
        self._unclaimed = unclaimed

    @property
    def stale_reason(self) -> str:
        """The ``error`` of a trial failed because its driver stopped beating."""
        return f"its driver stopped: no heartbeat for {self.grace_period} s (failed as stale by another driver)"

    def _fail_stale_trials(self) -> None:
        """``optuna.storages.fail_stale_trials``, except that each trial failed also gets its
        ``error`` (the reason), written by the driver that won the FAIL (only the winner
        writes, so a trial whose own driver finished it meanwhile is left as it is)."""
        import copy

        import optuna

        storage = self.storage
        from optuna.storages._heartbeat import is_heartbeat_enabled

        if self.grace_period is None or not is_heartbeat_enabled(storage):
            return
        failed = []
        for trial_id in storage._get_stale_trial_ids(self.study._study_id):
            try:
                if storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL):
                    failed.append(trial_id)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another driver failed it first (and wrote the reason)
        for trial_id in failed:
            self._set_finished_attr(trial_id, keys.ERROR, self.stale_reason)
        callback = storage.get_heartbeat_stale_trial_callback()
        if callback is not None:
            for trial_id in failed:
                callback(self.study, copy.deepcopy(storage.get_trial(trial_id)))

    def _set_finished_attr(self, trial_id: int, key: str, value: Any) -> None:
        """Set a user attribute of a finished trial (Optuna refuses to change a finished trial
        through its API): one transaction on Optuna's ``trial_user_attributes`` table."""
        import json

        import sqlalchemy

        from autopeft.store.batch import backend

        with backend(self.storage).engine.begin() as conn:
            conn.execute(sqlalchemy.text("DELETE FROM trial_user_attributes WHERE trial_id = :t AND key = :k"), {"t": trial_id, "k": key})
            conn.execute(sqlalchemy.text("INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (:t, :k, :v)"),
                         {"t": trial_id, "k": key, "v": json.dumps(value)})

    def _with_heartbeat(self, trial_ids: set[int]) -> set[int]:
        import sqlalchemy

        from autopeft.store.batch import backend

        with backend(self.storage).engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text("SELECT trial_id FROM trial_heartbeats"))
            return {row[0] for row in rows} & trial_ids

    def _adopt(self, trial_id: int) -> None:
        """A first heartbeat (database time) for a trial whose driver never beat; another
        driver recording one at the same moment wins, which is as good."""
        try:
            self.storage.record_heartbeat(trial_id)
        except Exception as exc:  # noqa: BLE001 - a unique-key race with the trial's own driver
            logger.debug("first heartbeat of trial id %d not recorded: %s", trial_id, exc)


__all__ = ["StudyStore", "StudyTally", "TrialClosedError", "count_trials", "delete_study", "quiet_optuna", "read_metadata"]
