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

from typing import Any, Mapping, Sequence

from autopeft.hypervolume import dominated_hypervolume, objective_losses


def hypervolume_curve(records: Sequence[Any], objectives: Sequence[str], directions: Sequence[str], metadata: Mapping[str, Any] | None = None) -> Any:
    """A DataFrame ``number, hypervolume`` with one row per COMPLETE search trial, in trial order."""
    import numpy as np
    import pandas as pd

    from autopeft.store import non_dominated

    done = sorted(
        (r for r in records if r.state == "COMPLETE" and not r.is_baseline and r.values and all(r.values.get(o) is not None for o in objectives)),
        key=lambda r: r.number,
    )
    if not done:
        return pd.DataFrame({"number": pd.Series(dtype=int), "hypervolume": pd.Series(dtype=float)})
    backbone = (metadata or {}).get("backbone_params")
    losses, ref = objective_losses([[r.values[o] for o in objectives] for r in done], objectives, directions, backbone)
    minimize = ["minimize"] * len(objectives)
    front: list[int] = []
    current = 0.0
    curve = []
    for i in range(len(done)):
        candidate = front + [i]
        keep = non_dominated([losses[k].tolist() for k in candidate], minimize)
        if (len(candidate) - 1) in keep:  # the new point joined the front: the volume may grow
            front = [candidate[k] for k in keep]
            current = dominated_hypervolume(losses[np.asarray(front)], ref)
        curve.append(current)
    return pd.DataFrame({"number": [r.number for r in done], "hypervolume": curve})
