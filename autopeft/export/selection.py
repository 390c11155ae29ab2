"""Choosing the trial to export from a study: by number, best under a size, or the knee.

Everything is read through the store's public API (:mod:`autopeft.store`).

Knee point: the Pareto front of (trainable parameters, score) is put in normalised
(log10 parameters, score) space (each axis scaled to [0, 1] over the front); the knee is the
front point farthest from the straight line between the front's two extremes (the smallest
and the best-scoring configuration). Fronts of one or two points give their best score.
"""

from __future__ import annotations

import math
from typing import Any

from autopeft.export.errors import ExportError
from autopeft.store import load_trial, load_trials, pareto_front


def parse_budget(text: str | int | float) -> tuple[str, float]:
    """``"120000"`` -> ("params", 120000); ``"0.5%"`` -> ("percent", 0.5)."""
    raw = str(text).strip().replace("_", "").replace(",", "")
    try:
        if raw.endswith("%"):
            value = float(raw[:-1])
            kind = "percent"
        else:
            value = float(raw)
            kind = "params"
    except ValueError:
        raise ExportError(f"--best-under {text!r}: expected a parameter count (120000) or a percent of the backbone (0.5%)") from None
    if not math.isfinite(value) or value <= 0:
        raise ExportError(f"--best-under {text!r}: expected a positive budget")
    return kind, value


def _usable(records: list[Any]) -> list[Any]:
    return [r for r in records if r.state == "COMPLETE" and r.score is not None and r.trainable_params is not None and r.peft is not None]


def best_under(records: list[Any], budget: str | int | float) -> Any:
    """The best-scoring COMPLETE trial whose trainable parameters fit ``budget``."""
    kind, value = parse_budget(budget)
    usable = _usable(records)
    if kind == "params":
        fits = [r for r in usable if r.trainable_params <= value]
    else:
        fits = [r for r in usable if r.percent_params is not None and r.percent_params <= value]
    if not fits:
        smallest = min((r.trainable_params for r in usable), default=None)
        raise ExportError(f"--best-under {budget}: no complete trial fits; the smallest has {smallest} trainable parameters")
    return max(fits, key=lambda r: (r.score, -r.trainable_params, -r.number))


def knee(front: list[Any]) -> Any:
    """The knee of a Pareto front of records (see module docstring)."""
    points = sorted(_usable(front), key=lambda r: (r.trainable_params, -r.score))
    if not points:
        raise ExportError("--knee: the study has no complete trial on its Pareto front")
    if len(points) <= 2:
        return max(points, key=lambda r: r.score)
    xs = [math.log10(max(1, r.trainable_params)) for r in points]
    ys = [r.score for r in points]

    def scale(values: list[float]) -> list[float]:
        low, high = min(values), max(values)
        return [0.0 if high == low else (v - low) / (high - low) for v in values]

    xs, ys = scale(xs), scale(ys)
    best = max(range(len(points)), key=lambda i: ys[i])
    (x0, y0), (x1, y1) = (xs[0], ys[0]), (xs[best], ys[best])
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    distance = [abs((x1 - x0) * (y0 - y) - (x0 - x) * (y1 - y0)) / length for x, y in zip(xs, ys)]
    return points[max(range(len(points)), key=lambda i: (distance[i], ys[i]))]


def select(storage: Any, study: str, *, trial: int | None = None, best_under_budget: Any = None, use_knee: bool = False) -> tuple[Any, str]:
    """(record, how it was chosen) for exactly one of ``trial``, ``best_under_budget``, ``use_knee``."""
    chosen = [trial is not None, best_under_budget is not None, bool(use_knee)]
    if sum(chosen) != 1:
        raise ExportError("choose the trial with exactly one of --trial N, --best-under PARAMS, --knee")
    if trial is not None:
        record = load_trial(storage, study, trial)
        if record.peft is None:
            raise ExportError(f"--trial {trial}: the trial has no configuration (state {record.state}); choose another")
        return record, f"trial {trial}"
    if best_under_budget is not None:
        return best_under(load_trials(storage, study, states=["COMPLETE"]), best_under_budget), f"best under {best_under_budget}"
    return knee(pareto_front(storage, study)), "knee of the Pareto front (max distance to the extremes' line in normalised log-params/score space)"
