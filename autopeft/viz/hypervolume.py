"""The hypervolume of a study's front after each finished search trial.

Scales follow :mod:`autopeft.service.progress` (the live display of a search), so the two agree
on the last value: a maximised objective ``v`` becomes the loss ``-v`` with reference 0, the
``params`` objective is a fraction of the backbone (reference 1, i.e. 100 %), and any other cost
is divided by its largest value **over the whole study** (reference 1.1). Using the whole
study's maximum (rather than the maximum seen so far, which the live display has to use) keeps
the curve non-decreasing, so a flat stretch really means "no better trade-off found".
Baselines, failed and running trials do not count.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence


def _losses(values: Sequence[Sequence[float]], objectives: Sequence[str], directions: Sequence[str], backbone: int | None) -> tuple[Any, Any]:
    import numpy as np

    points = np.asarray(values, dtype=float).reshape(len(values), len(objectives))
    losses = np.empty_like(points)
    ref = np.empty(points.shape[1])
    for j, (name, direction) in enumerate(zip(objectives, directions)):
        column = points[:, j]
        if direction == "maximize":
            losses[:, j], ref[j] = -column, 0.0
        elif name == "params" and backbone:
            losses[:, j], ref[j] = column / backbone, 1.0
        else:
            top = float(np.max(np.abs(column))) if len(column) else 1.0
            losses[:, j], ref[j] = column / (top or 1.0), 1.1
    return losses, ref


def hypervolume_2d(losses: Any, ref: Sequence[float]) -> float:
    """Exact area dominated by 2-D ``losses`` (minimised) and bounded by ``ref``."""
    pts = sorted((float(a), float(b)) for a, b in losses if a < ref[0] and b < ref[1])
    # sweep by the first loss; each point that lowers the staircase adds a strip to the reference
    area, prev_b = 0.0, float(ref[1])
    for a, b in pts:
        if b < prev_b:
            area += (float(ref[0]) - a) * (prev_b - b)
            prev_b = b
    return area


def _hypervolume(losses: Any, ref: Any) -> float:
    if losses.shape[1] == 2:
        return hypervolume_2d(losses, ref)
    import numpy as np

    inside = np.all(losses < ref, axis=1)
    if not inside.any():
        return 0.0
    from optuna._hypervolume import compute_hypervolume  # exact for any dimension

    return float(compute_hypervolume(losses[inside], ref))


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
    losses, ref = _losses([[r.values[o] for o in objectives] for r in done], objectives, directions, backbone)
    minimize = ["minimize"] * len(objectives)
    front: list[int] = []
    current = 0.0
    curve = []
    for i in range(len(done)):
        candidate = front + [i]
        keep = non_dominated([losses[k].tolist() for k in candidate], minimize)
        if (len(candidate) - 1) in keep:  # the new point joined the front: the volume may grow
            front = [candidate[k] for k in keep]
            current = _hypervolume(losses[np.asarray(front)], ref)
        curve.append(current)
    return pd.DataFrame({"number": [r.number for r in done], "hypervolume": curve})
