"""Hypervolume of a study's front on fixed, documented scales (one implementation for the live
search display and the dashboard).

Objectives become losses: a maximised ``v`` becomes ``-v`` with reference 0, the ``params``
objective a fraction of the backbone (reference 1, i.e. 100 %), and any other cost is divided by
its largest value among the given points (reference 1.1). This is for watching a search progress,
not for comparing studies with different cost objectives. numpy and optuna load on first call.
"""

from __future__ import annotations

from typing import Any, Sequence


def objective_losses(values: Sequence[Sequence[float]], objectives: Sequence[str], directions: Sequence[str],
                     backbone_params: int | None) -> tuple[Any, Any]:
    """``(losses, reference point)`` for objective ``values`` (one row per trial)."""
    import numpy as np

    points = np.asarray(values, dtype=float).reshape(len(values), len(objectives))
    losses = np.empty_like(points)
    ref = np.empty(points.shape[1])
    for j, (name, direction) in enumerate(zip(objectives, directions)):
        column = points[:, j]
        if direction == "maximize":
            losses[:, j], ref[j] = -column, 0.0
        elif name == "params" and backbone_params:
            losses[:, j], ref[j] = column / backbone_params, 1.0
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


def dominated_hypervolume(losses: Any, ref: Any) -> float:
    """Hypervolume of minimised ``losses`` below ``ref``: a sweep in 2-D, Optuna's exact
    algorithm in more dimensions."""
    import numpy as np

    losses = np.asarray(losses, dtype=float)
    if len(losses) == 0:
        return 0.0
    if losses.shape[1] == 2:
        return hypervolume_2d(losses, ref)
    inside = np.all(losses < ref, axis=1)
    if not inside.any():
        return 0.0
    from optuna._hypervolume import compute_hypervolume

    return float(compute_hypervolume(losses[inside], np.asarray(ref)))


def hypervolume(points: Sequence[Sequence[float]], objectives: Sequence[str], directions: Sequence[str],
                backbone_params: int | None) -> float:
    """Dominated hypervolume of objective ``points`` on the scales above."""
    if not len(points):
        return 0.0
    return dominated_hypervolume(*objective_losses(points, objectives, directions, backbone_params))
