"""The live progress display of a search (rich): trials done, running and failed, the Pareto set
size, the hypervolume (see :mod:`autopeft.hypervolume` for its scales) and an ETA.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ProgressState:
    budget: int
    workers: int
    done: int = 0
    failed: int = 0
    running: int = 0
    baselines_done: int = 0
    pareto_size: int = 0
    hypervolume: float = 0.0
    best_score: float | None = None
    started: float = field(default_factory=time.time)
    trial_seconds: list[float] = field(default_factory=list)
    message: str = ""

    def eta_seconds(self) -> float | None:
        remaining = max(0, self.budget - self.done) 
        if not self.trial_seconds or remaining == 0:
            return 0.0 if remaining == 0 else None
        mean = sum(self.trial_seconds[-20:]) / len(self.trial_seconds[-20:])
        return remaining * mean / max(1, self.workers)


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class ProgressDisplay:
    """A rich Live panel on stderr; a no-op when ``enabled`` is False."""

    def __init__(self, state: ProgressState, study: str, enabled: bool = True):
        self.state = state
        self.study = study
        self.enabled = enabled
        self._live = None
        self._last = 0.0

    def render(self) -> Any:
        from rich.table import Table

        s = self.state
        table = Table(title=f"autopeft search: {self.study}", show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        table.add_row("trials", f"{s.done}/{s.budget} done, {s.running} running, {s.failed} failed" + (f", {s.baselines_done} baselines" if s.baselines_done else ""))
        table.add_row("pareto set", str(s.pareto_size))
        table.add_row("hypervolume", f"{s.hypervolume:.4f}")
        table.add_row("best score", "-" if s.best_score is None else f"{s.best_score:.4f}")
        table.add_row("elapsed / eta", f"{_fmt_seconds(time.time() - s.started)} / {_fmt_seconds(s.eta_seconds())}")
        if s.message:
            table.add_row("last", s.message)
        return table

    def __enter__(self) -> "ProgressDisplay":
        if self.enabled:
            from rich.console import Console
            from rich.live import Live

            console = Console(stderr=True)
            self._live = Live(self.render(), console=console, auto_refresh=False, transient=not console.is_terminal)
            self._live.__enter__()
        return self

    def update(self, force: bool = False) -> None:
        if self._live is None:
            return
        now = time.time()
        if force or now - self._last > 0.25:
            self._last = now
            self._live.update(self.render(), refresh=True)

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
            self._live.__exit__(*exc)
            self._live = None
