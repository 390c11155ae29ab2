"""The hypervolume of a study's front after each finished search trial.

Scales are those of :mod:`autopeft.hypervolume` (shared with the live display of a search), so the two agree
on the last value: a maximised objective ``v`` becomes the loss ``-v`` with reference 0, the
``params`` objective is a fraction of the backbone (reference 1, i.e. 100 %), and any other cost
is divided by its largest value **over the whole study** (reference 1.1). Using the whole
study's maximum (rather than the maximum seen so far, which the live display has to use) keeps
the curve non-decreasing, so a flat stretch really means "no better trade-off found".
Baselines, failed and running trials do not count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from autopeft._lazy import lazy_module
from autopeft.hypervolume import dominated_hypervolume, objective_losses
from autopeft.store import TrialRecord

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


def hypervolume_curve(records: Sequence[TrialRecord], objectives: Sequence[str], directions: Sequence[str],
                      metadata: Mapping[str, Any] | None = None) -> "pd.DataFrame":
    """A DataFrame ``number, hypervolume`` with one row per COMPLETE search trial, in trial order."""
    return hypervolume_curve_of(((r.number, r.state, r.is_baseline, r.values) for r in records), objectives, directions, metadata)


def hypervolume_curve_of(trials: Iterable[tuple[int, str, bool, Mapping[str, float] | None]], objectives: Sequence[str],
                         directions: Sequence[str], metadata: Mapping[str, Any] | None = None) -> "pd.DataFrame":
    """:func:`hypervolume_curve` from ``(number, state, is_baseline, values)`` per trial (e.g. the
    columns :func:`autopeft.store.pageread.read_study_rows` gives), without the records."""
    done = sorted(
        ((number, values) for number, state, baseline, values in trials
         if state == "COMPLETE" and not baseline and values and all(values.get(o) is not None for o in objectives)),
        key=lambda t: t[0],
    )
    if not done:
        return pd.DataFrame({"number": pd.Series(dtype=int), "hypervolume": pd.Series(dtype=float)})
    backbone = (metadata or {}).get("backbone_params")
    losses, ref = objective_losses([[values[o] for o in objectives] for _, values in done], objectives, directions, backbone)
    losses = np.asarray(losses, dtype=np.float64)
    front = np.empty((0,), dtype=np.int64)  # indices into ``losses``, in the order they joined
    current = 0.0
    curve = np.empty(len(done), dtype=np.float64)
    rows = losses.tolist()
    # A point dominated by any earlier point is dominated by a member of the front (dominance is
    # transitive), so the front stays: the earlier point that last dominated one is tried first, in
    # plain Python (most trials of a long study are dominated, and mostly by the same few points).
    last: list[float] | None = None
    for i in range(len(done)):
        row = rows[i]
        if last is not None and last != row and all(a <= b for a, b in zip(last, row)):
            curve[i] = current
            continue
        point = losses[i]
        if len(front):
            members = losses[front]
            # dominated by a front member (no worse everywhere, better somewhere): the front stays
            beaten = (members <= point).all(axis=1) & (members < point).any(axis=1)
            if bool(beaten.any()):
                last = rows[int(front[int(beaten.argmax())])]
                curve[i] = current
                continue
            # the new point joins; members it dominates leave (equal points both stay)
            front = front[~((point <= members).all(axis=1) & (point < members).any(axis=1))]
        front = np.append(front, i)
        current = dominated_hypervolume(losses[front], ref)
        curve[i] = current
    return pd.DataFrame({"number": [number for number, _ in done], "hypervolume": curve.tolist()})


def study_hypervolume(rows: Any, objectives: Sequence[str], directions: Sequence[str],
                      metadata: Mapping[str, Any] | None = None) -> "pd.DataFrame":
    """:func:`hypervolume_curve` of a :class:`autopeft.store.pageread.StudyRows` (from its columns when it has them)."""
    columns = rows.columns
    if columns is None:
        return hypervolume_curve(list(rows.records.values()), objectives, directions, metadata)
    baselines = (b is not None for b in columns["baseline"])
    return hypervolume_curve_of(zip(columns["number"], columns["state"], baselines, columns["values"]), objectives, directions, metadata)
