"""The public read API of the study store: plain dataclasses and pandas DataFrames.

The CLI (``studies``, ``pareto``, ``show``), the dashboard and export read studies only through
these functions, so they never depend on how the search loop lays out Optuna attributes.
``storage`` is a URL (``sqlite:///autopeft.db``) or an already opened Optuna storage.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

from autopeft.store.errors import StoreError
from autopeft.store.keys import META_KEY
from autopeft.store.trial import TrialRecord, decode, is_baseline


@dataclass(frozen=True)
class StudySummary:
    """One study: its name, metadata and trial counts."""

    name: str
    directions: list[str]
    objectives: list[str]
    metadata: dict[str, Any]
    n_trials: int = 0
    n_complete: int = 0
    n_failed: int = 0
    n_running: int = 0
    n_waiting: int = 0
    n_pruned: int = 0
    n_baselines: int = 0
    n_search_complete: int = 0
    best_score: float | None = None
    datetime_start: _dt.datetime | None = None
    datetime_last: _dt.datetime | None = None

    @property
    def model(self) -> str | None:
        return self.metadata.get("model")

    @property
    def task(self) -> str | None:
        return self.metadata.get("task")

    @property
    def space_name(self) -> str | None:
        return self.metadata.get("space_name")

    @property
    def sampler(self) -> str | None:
        return self.metadata.get("sampler")

    @property
    def budget(self) -> int | None:
        return self.metadata.get("trials")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("datetime_start", "datetime_last"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


# --------------------------------------------------------------------------- helpers
def _storage(storage: Any, *, must_exist: bool = True) -> Any:
    if not isinstance(storage, str):
        return storage
    from autopeft.store.storage import check_reachable, open_storage

    return open_storage(check_reachable(storage, must_exist=must_exist), create=False)


def _study(storage: Any, name: str) -> Any:
    import optuna

    storage = _storage(storage)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in storage.get_all_studies()]
        raise StoreError(f"--study {name!r}: no such study in the store; studies: {names or 'none'}") from None


def _objective_names(meta: dict[str, Any], n: int) -> list[str]:
    names = list(meta.get("objectives") or [])
    return names if len(names) == n else [f"objective_{i}" for i in range(n)]


#: A record from a trial's columns and user attributes (the codec of :mod:`autopeft.store.trial`).
build_record = decode


def _record(trial: Any, objectives: list[str]) -> TrialRecord:
    values = dict(zip(objectives, trial.values)) if trial.values is not None else None
    return build_record(trial.number, trial.state.name, values, dict(trial.params), dict(trial.user_attrs),
                        trial.datetime_start, trial.datetime_complete)


# --------------------------------------------------------------------------- public API
def list_studies(storage: Any) -> list[StudySummary]:
    """Every study in the store, oldest first, except calibrations (``autopeft calibrate``
    stores each as a study of its own, :mod:`autopeft.store.calibrations`)."""
    import optuna

    from autopeft.store.calibrations import is_calibration_study

    storage = _storage(storage)
    return [
        _summary(optuna.load_study(study_name=s.study_name, storage=storage))
        for s in storage.get_all_studies()
        if not is_calibration_study(s.user_attrs)
    ]


def load_study_summary(storage: Any, study: str) -> StudySummary:
    """One study's metadata and trial counts."""
    return _summary(_study(storage, study))


def _summary(study: Any) -> StudySummary:
    meta = dict(study.user_attrs.get(META_KEY) or {})
    directions = [d.name.lower() for d in study.directions]
    objectives = _objective_names(meta, len(directions))
    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    scores = [t.values[objectives.index("score")] for t in trials if t.values is not None and "score" in objectives]
    starts = [t.datetime_start for t in trials if t.datetime_start]
    lasts = [t.datetime_complete for t in trials if t.datetime_complete]
    return StudySummary(
        name=study.study_name,
        directions=directions,
        objectives=objectives,
        metadata=meta,
        n_trials=len(trials),
        n_complete=counts.get("COMPLETE", 0),
        n_failed=counts.get("FAIL", 0),
        n_running=counts.get("RUNNING", 0),
        n_waiting=counts.get("WAITING", 0),
        n_pruned=counts.get("PRUNED", 0),
        n_baselines=sum(1 for t in trials if is_baseline(t.user_attrs)),
        n_search_complete=sum(1 for t in trials if t.state.name == "COMPLETE" and not is_baseline(t.user_attrs)),
        best_score=max(scores) if scores else None,
        datetime_start=min(starts) if starts else None,
        datetime_last=max(lasts) if lasts else None,
    )


def load_trials(storage: Any, study: str, *, states: Iterable[str] | None = None, as_frame: bool = False) -> Any:
    """The study's trials as :class:`TrialRecord` (or one DataFrame row each with ``as_frame``).

    ``states``: keep only these Optuna state names (``COMPLETE``, ``FAIL``, ``RUNNING``...).
    """
    loaded = _study(storage, study)
    meta = dict(loaded.user_attrs.get(META_KEY) or {})
    objectives = _objective_names(meta, len(loaded.directions))
    wanted = {s.upper() for s in states} if states else None
    records = [_record(t, objectives) for t in loaded.get_trials(deepcopy=False) if wanted is None or t.state.name in wanted]
    return records_frame(records, objectives) if as_frame else records


def load_trial(storage: Any, study: str, number: int) -> TrialRecord:
    """One trial by number."""
    for record in load_trials(storage, study):
        if record.number == number:
            return record
    raise StoreError(f"--trial {number}: study {study!r} has no trial with that number")


def records_frame(records: Sequence[TrialRecord], objectives: Sequence[str] = ()) -> Any:
    """A pandas DataFrame with one row per record: number, state, objective values, params, config..."""
    import pandas as pd

    rows = []
    for r in records:
        row: dict[str, Any] = {"number": r.number, "state": r.state, "baseline": r.baseline}
        for name in objectives:
            row[name] = (r.values or {}).get(name)
        measured, worker = r.trial_result, r.worker
        row.update(
            trainable_params=r.trainable_params,
            percent_params=r.percent_params,
            head_params=r.head_params,
            majority_share=r.majority_share,
            chance_score=r.chance_score,
            collapsed=r.collapsed,
            adapter_bytes=None if measured is None else measured.adapter_bytes,
            peak_memory_mb=None if measured is None else measured.peak_memory_mb,
            time_train_s=None if measured is None else measured.time_train_s,
            duration_s=r.duration_s,
            worker_host=None if worker is None else worker.host,
            retry_of=r.retry_of,
            error=r.error,
            config=None if r.peft is None else r.peft.to_dict(),
            metrics={} if measured is None else dict(measured.metrics),
            params=r.params,
        )
        rows.append(row)
    return pd.DataFrame(rows)


def non_dominated(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """Indices of the points no other point dominates (``directions``: minimize/maximize each).

    The project's one non-dominated filter: numpy, no torch, so the CLI and the dashboard read
    fronts without loading BoTorch; tests/test_store.py checks it against BoTorch's
    ``is_non_dominated`` (``deduplicate=False``: equal points both stay).
    """
    import numpy as np

    if len(points) == 0:
        return []
    signs = np.array([1.0 if d.lower().startswith("min") else -1.0 for d in directions])
    losses = np.asarray(points, dtype=np.float64) * signs
    if losses.ndim == 2 and losses.shape[1] == 2:
        return _non_dominated_2d(losses)
    keep = []
    for start in range(0, len(losses), 512):  # bounded memory: 512 x n comparisons at a time
        block = losses[start:start + 512, None, :]
        no_worse = (losses[None, :, :] <= block).all(axis=-1)
        better = (losses[None, :, :] < block).any(axis=-1)
        dominated = (no_worse & better).any(axis=1)
        keep.extend(int(i) + start for i in np.flatnonzero(~dominated))
    return keep


def _non_dominated_2d(losses: Any) -> list[int]:
    """:func:`non_dominated` of two minimised objectives in O(n log n) (a sort and a sweep),
    instead of comparing every pair: 10,000 points in milliseconds. A point is dominated when
    another is no worse on both and better on one; equal points both stay."""
    import numpy as np

    order = np.lexsort((losses[:, 1], losses[:, 0]))  # by the first loss, then the second
    first, second = losses[order, 0], losses[order, 1]
    keep = np.zeros(len(order), dtype=bool)
    best_before = np.inf  # least second loss among points with a smaller first loss
    start = 0
    n = len(order)
    while start < n:
        end = start
        while end < n and first[end] == first[start]:
            end += 1
        group = second[start:end]
        group_min = group[0]  # sorted by the second loss within a group
        keep[start:end] = (group <= group_min) & (group < best_before)
        best_before = min(best_before, group_min)
        start = end
    return sorted(int(i) for i in order[keep])


def pareto_front(storage: Any, study: str, *, include_baselines: bool = False, count_baselines: bool = False) -> list[TrialRecord]:
    """The non-dominated COMPLETE trials, best score first.

    Baselines are left out by default (they are the standard recipes the front is compared
    with); ``include_baselines`` computes the front over both and returns both.
    ``count_baselines`` computes the front over both but returns only search trials: a search
    configuration a baseline dominates is not on it (what the Pareto table, ``autopeft pareto``
    and the dashboard rank, since a hand-designed recipe already does better than it).
    """
    loaded = _study(storage, study)
    meta = dict(loaded.user_attrs.get(META_KEY) or {})
    objectives = _objective_names(meta, len(loaded.directions))
    directions = [d.name.lower() for d in loaded.directions]
    counted = include_baselines or count_baselines
    trials = [t for t in loaded.get_trials(deepcopy=False, states=_complete()) if counted or not is_baseline(t.user_attrs)]
    front = [_record(trials[i], objectives) for i in non_dominated([t.values for t in trials], directions)]
    if not include_baselines:
        front = [r for r in front if r.baseline is None]
    key = objectives[0]
    reverse = directions[0] == "maximize"
    front.sort(key=lambda r: (r.values or {}).get(key, 0.0), reverse=reverse)
    # Equal points (the same config proposed twice) are one point of the front.
    seen, unique = set(), []
    for r in front:
        point = tuple((r.values or {}).values())
        if point not in seen:
            seen.add(point)
            unique.append(r)
    return unique


def _complete() -> tuple[Any, ...]:
    from optuna.trial import TrialState

    return (TrialState.COMPLETE,)
