"""The live progress display of a search (rich): trials done, running and failed, the Pareto set
size, the hypervolume (see :mod:`autopeft.hypervolume` for its scales) and an ETA. An observer of
the loop's events (:mod:`autopeft.service.events`), attached by the CLI.
"""

from __future__ import annotations

import time
from typing import Any

from autopeft.service.events import SearchFinished, SearchProgress, SearchStarted


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class ProgressDisplay:
    """A rich Live panel on stderr, opened on :class:`SearchStarted`, redrawn (at most four
    times a second) on :class:`SearchProgress` and closed on :class:`SearchFinished`."""

    def __init__(self, study: str | None = None):
        self.study = study
        self.state: SearchProgress | None = None
        self._live = None
        self._last = 0.0

    def __call__(self, event: Any) -> None:
        if isinstance(event, SearchStarted):
            self.study = self.study or event.study
            self.state = SearchProgress(budget=event.budget, workers=event.workers, started=event.started)
            self._open()
        elif isinstance(event, SearchProgress):
            self.state = event
            self._update()
        elif isinstance(event, SearchFinished):
            self._close()

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

    def _open(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(stderr=True)
        self._live = Live(self.render(), console=console, auto_refresh=False, transient=not console.is_terminal)
        self._live.__enter__()

    def _update(self) -> None:
        if self._live is None:
            return
        now = time.time()
        if now - self._last > 0.25:
            self._last = now
            self._live.update(self.render(), refresh=True)

    def _close(self) -> None:
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
            self._live.__exit__(None, None, None)
            self._live = None
