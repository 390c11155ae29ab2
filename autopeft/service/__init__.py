"""The search service: validation (:mod:`.prepare`), the asynchronous search loop on Ray workers
(:mod:`.loop`, :mod:`.ray_pool`, :mod:`.worker`, the typed messages of :mod:`.messages`), the
baselines registry (:mod:`.baselines`), the objectives (:mod:`.objectives`), sampler selection
(:mod:`.samplers`), the one parser of option text (:mod:`.options`), and the events a search
emits (:mod:`.events`) with the progress display the CLI attaches to them (:mod:`.progress`).
Orchestration only: every read and write of a study is :class:`autopeft.store.study.StudyStore`'s.
Importing this package imports neither ray nor optuna.

From Python, a search on your own data is a :class:`SearchSpec` whose ``task`` is a dict of
task-file keys, a task spec, a task file or a :class:`autopeft.tasks.Task`::

    from autopeft.service import SearchSpec, run_search

    run_search(SearchSpec(task={"train": "my.csv", "columns": ["text", "label"]}, trials=8, storage="sqlite:///my.db"))
"""

from __future__ import annotations

from autopeft.service.baselines import BASELINES, DEFAULT_BASELINES
from autopeft.service.errors import SearchError
from autopeft.service.events import SearchFinished, SearchProgress, SearchStarted
from autopeft.service.objectives import DEFAULT_OBJECTIVES, OBJECTIVES
from autopeft.service.options import ParamLimit
from autopeft.service.spec import SearchSpec


def run_search(spec: SearchSpec, observer=None):  # noqa: ANN001,ANN201 - see autopeft.service.loop.run_search
    """Validate ``spec`` and run the search (returns a :class:`~autopeft.service.loop.SearchOutcome`).

    Every input is checked (the task's files read) before the study store is written; the
    study records the task's complete spec, so ``export`` and ``--resume`` need nothing more.
    ``observer(event)`` is told where the search stands (:mod:`autopeft.service.events`);
    without one, ``spec.progress`` attaches the live display the CLI shows.
    """
    from autopeft.service.loop import run_search as _run

    if observer is None and spec.progress:
        from autopeft.service.progress import ProgressDisplay

        observer = ProgressDisplay()
    return _run(spec, observer)


__all__ = ["BASELINES", "DEFAULT_BASELINES", "DEFAULT_OBJECTIVES", "OBJECTIVES", "ParamLimit", "SearchError", "SearchFinished",
           "SearchProgress", "SearchSpec", "SearchStarted", "run_search"]
