"""MO-ASHA: the rung ladder of a multi-fidelity search and the decision at a rung (pure logic).

Schmucker et al. (2021), "Multi-objective asynchronous successive halving": asynchronous
successive halving (Li et al. 2020, ASHA) whose ranking of the trials at a rung is Pareto
ranking instead of sorting one score.

**The ladder** (:class:`RungLadder`): a trial of ``total`` training steps reports a score at
``ceil(total / eta**k)`` steps for ``k = K, ..., 1, 0``, where ``eta**-K`` is the smallest
power of ``1/eta`` not below ``min_fraction`` (``eta=3``, ``min_fraction=1/9``: steps 4, 11
and 32 of a 32-step budget). Rungs are anchored at the top, as in Hyperband, so the last rung is
always the whole budget and its score is what single-fidelity ``evaluate`` gives.

**The decision** (:func:`decide`): a trial that reached rung ``k`` (not the top) continues when
it is among the best ``floor(n / eta)`` of the ``n`` trials that reached rung ``k`` so far (itself
included), ranked by non-dominated sorting of (task score at the rung, maximised; the exact
known costs, e.g. trainable PEFT parameters, minimised), ties inside the front that straddles the
cut broken by hypervolume contribution (larger first), then by trial number (earlier first).
With fewer than ``eta`` trials at the rung, the trial continues: nothing can be said yet about
its top ``1/eta``, and ASHA's promise (no worker waits for a rung to fill) forbids waiting.

**Why the stopping variant.** Asynchronous ASHA comes in two forms: *promotion* (a worker that
becomes free resumes the best paused trial of the highest rung that has a promotable one, else
starts a new trial) and *stopping* (a trial that reaches a rung is either continued at once or
stopped for good; Ray Tune's ``ASHAScheduler``). The search keeps a trial's model, optimiser
and schedule in the memory of the worker that trains it; in the stopping variant the worker
holding the trial is the one that continues it, right after the driver's decision, so nothing is
checkpointed or moved and no worker idles. The promotion variant would park many paused trials
(one model copy each) on workers, or move them through checkpoints, and a trial parked at a rung
may wait forever. The price of stopping is that an early trial that later turns out mediocre was
continued (the population is judged as it stands when the trial arrives), which the first
``eta - 1`` arrivals at each rung accept by design.

Nothing here imports Ray, torch or the store: the loop feeds :func:`decide` the points of a rung
read from the study, and the benchmark feeds it replayed learning curves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from autopeft.service.errors import SearchError

#: The scheduler names ``--scheduler`` takes.
SCHEDULERS = ("none", "asha")
DEFAULT_ETA = 3
DEFAULT_MIN_FRACTION = 1 / 9


@dataclass(frozen=True)
class RungLadder:
    """The rungs of one fidelity: ``eta`` (the reduction factor, an integer >= 2) and
    ``min_fraction`` (the lowest rung's share of the budget, in (0, 1))."""

    eta: int = DEFAULT_ETA
    min_fraction: float = DEFAULT_MIN_FRACTION

    def __post_init__(self) -> None:
        if isinstance(self.eta, bool) or not isinstance(self.eta, int) or self.eta < 2:
            raise SearchError("expected an integer of at least 2 (3 keeps the best third at each rung)", parameter="eta", value=self.eta)
        f = self.min_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f) or not 0 < f < 1:
            raise SearchError("expected a fraction of the budget in (0, 1), e.g. 0.11 for rungs at 1/9, 1/3 and 1 with eta 3",
                              parameter="min_rung_fraction", value=self.min_fraction)
        if len(self.fractions) < 2:
            raise SearchError(f"with eta {self.eta} there is no rung below the whole budget; use a fraction <= {1 / self.eta:.4g}",
                              parameter="min_rung_fraction", value=self.min_fraction)

    @property
    def fractions(self) -> tuple[float, ...]:
        """The rungs as shares of the budget, ascending, the last 1.0."""
        out = [1.0]
        while out[-1] / self.eta >= self.min_fraction * (1 - 1e-9):
            out.append(out[-1] / self.eta)
        return tuple(reversed(out))

    def steps(self, total: int) -> tuple[int, ...]:
        """The rungs of a ``total``-step budget as step counts, ascending and distinct, the last
        ``total``; raises :class:`SearchError` when fewer than two remain (a budget too small)."""
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise SearchError("expected a positive number of training steps", parameter="fidelity", value=total)
        steps = tuple(sorted({max(1, math.ceil(total * f - 1e-9)) for f in self.fractions}))
        if len(steps) < 2:
            raise SearchError(f"{total} training step(s) leave no rung below the whole budget with eta {self.eta} and "
                              f"min_rung_fraction {self.min_fraction:.4g}; use a fidelity of 2 steps or more ({math.ceil(1 / self.min_fraction)} or more "
                              "for a lowest rung of its own)",
                              parameter="fidelity", value=total)
        return steps

    def to_dict(self) -> dict[str, float]:
        return {"eta": self.eta, "min_rung_fraction": self.min_fraction}


@dataclass(frozen=True)
class RungPoint:
    """One trial at a rung: its number, its task score there (maximised) and its known costs
    (minimised, e.g. ``(trainable_params,)``)."""

    number: int
    score: float
    costs: tuple[float, ...] = ()


@dataclass(frozen=True)
class Decision:
    """What happens to a trial at a rung: ``promote`` (continue training) or stop, its place in
    the rung's order (0 = best), how many continue (``slots``) of the ``peers`` at the rung."""

    promote: bool
    place: int
    slots: int
    peers: int
    reason: str


def _losses(points: Sequence[RungPoint]) -> list[list[float]]:
    """Each point as losses: ``-score``, then the costs, every column scaled to [0, 1] over the
    rung's points (so the hypervolume tie-break weighs score and size alike)."""
    rows = [[-float(p.score), *map(float, p.costs)] for p in points]
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise SearchError("every point of a rung needs the same number of costs", parameter="costs")
    for j in range(width):
        column = [r[j] for r in rows]
        low, high = min(column), max(column)
        span = (high - low) or 1.0
        for r in rows:
            r[j] = (r[j] - low) / span
    return rows


def front_ranks(losses: Sequence[Sequence[float]]) -> list[int]:
    """Non-dominated sorting: the front index (0 = the Pareto front) of each row of ``losses``
    (minimised). Optuna's fast non-dominated sort (what its NSGA-II uses)."""
    import numpy as np
    from optuna.study._multi_objective import _fast_non_domination_rank

    if not len(losses):
        return []
    return [int(r) for r in _fast_non_domination_rank(np.asarray(losses, dtype=float))]


def hypervolume_contributions(losses: Sequence[Sequence[float]], reference: float = 1.1) -> list[float]:
    """The hypervolume each row of ``losses`` (one front, minimised, scaled to [0, 1]) adds to
    the others', against the reference point ``reference`` in every dimension."""
    from autopeft.hypervolume import dominated_hypervolume

    if not len(losses):
        return []
    ref = [reference] * len(losses[0])
    whole = dominated_hypervolume(list(losses), ref)
    return [whole - dominated_hypervolume([row for j, row in enumerate(losses) if j != i], ref) for i in range(len(losses))]


def promotion_order(points: Sequence[RungPoint], slots: int | None = None) -> list[int]:
    """The numbers of ``points`` best first: by front, then (inside the front that straddles the
    first ``slots``, every front when ``slots`` is None) by hypervolume contribution, larger
    first, then by trial number."""
    if not points:
        return []
    losses = _losses(points)
    ranks = front_ranks(losses)
    order: list[int] = []
    for front in sorted(set(ranks)):
        members = [i for i, r in enumerate(ranks) if r == front]
        straddles = slots is None or len(order) < slots < len(order) + len(members)
        if straddles and len(members) > 1:
            contribution = hypervolume_contributions([losses[i] for i in members])
            members = [m for _, m in sorted(zip(contribution, members), key=lambda cm: (-cm[0], points[cm[1]].number))]
        else:
            members.sort(key=lambda i: points[i].number)
        order.extend(members)
    return [points[i].number for i in order]


def decide(number: int, points: Sequence[RungPoint], eta: int) -> Decision:
    """Whether trial ``number`` (one of ``points``: every trial that reached this rung so far,
    itself included) continues past the rung: it is among the best ``floor(n / eta)`` of the
    ``n`` points, or fewer than ``eta`` trials reached the rung yet."""
    if not any(p.number == number for p in points):
        raise SearchError("the trial must be one of the rung's points", parameter="number", value=number)
    n = len(points)
    if n < eta:
        return Decision(True, 0, n, n, f"{n} < eta={eta} trials at the rung: continues")
    slots = n // eta
    place = promotion_order(points, slots).index(number)
    promote = place < slots
    verb = "continues" if promote else "stopped"
    return Decision(promote, place, slots, n, f"place {place + 1} of {n} at the rung, top {slots} continue: {verb}")


__all__ = ["DEFAULT_ETA", "DEFAULT_MIN_FRACTION", "SCHEDULERS", "Decision", "RungLadder", "RungPoint", "decide", "front_ranks",
           "hypervolume_contributions", "promotion_order"]
