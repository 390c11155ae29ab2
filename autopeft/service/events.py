"""What a running search tells its observer: it started, where it stands, it finished.

The loop calls ``observer(event)`` with one of the frozen events below and knows nothing of
displays; the CLI attaches the live progress display (:class:`autopeft.service.progress.ProgressDisplay`),
a library caller any callable (or none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

#: ``observer(event)``: called from the driver's thread; it must not block for long.
Observer = Callable[[Any], None]


@dataclass(frozen=True)
class SearchStarted:
    """The study is open and trials are about to run."""

    study: str
    budget: int
    workers: int
    started: float


@dataclass(frozen=True)
class SearchProgress:
    """Where the study stands (counted over every driver's trials).

    ``done``: budget trials COMPLETE or FAIL; ``pareto_size``, ``hypervolume`` and
    ``best_score`` over the COMPLETE search trials; ``trial_seconds`` this driver's trial wall
    times; ``message`` the last thing that happened."""

    budget: int
    workers: int
    started: float
    done: int = 0
    failed: int = 0
    running: int = 0
    baselines_done: int = 0
    pareto_size: int = 0
    hypervolume: float = 0.0
    best_score: float | None = None
    trial_seconds: tuple[float, ...] = field(default_factory=tuple)
    message: str = ""

    def eta_seconds(self) -> float | None:
        remaining = max(0, self.budget - self.done)
        if not self.trial_seconds or remaining == 0:
            return 0.0 if remaining == 0 else None
        recent = self.trial_seconds[-20:]
        return remaining * (sum(recent) / len(recent)) / max(1, self.workers)


@dataclass(frozen=True)
class SearchFinished:
    """The driver stopped (``outcome``: its :class:`~autopeft.service.loop.SearchOutcome`)."""

    outcome: Any


__all__ = ["Observer", "SearchFinished", "SearchProgress", "SearchStarted"]
