"""The search service: validation (:mod:`.prepare`), the asynchronous search loop on Ray workers
(:mod:`.loop`, :mod:`.ray_pool`, :mod:`.worker`), the baselines registry (:mod:`.baselines`), the
objectives (:mod:`.objectives`), sampler selection (:mod:`.samplers`) and the progress display
(:mod:`.progress`). Importing this package imports neither ray nor optuna.

From Python, a search on your own data is a :class:`SearchSpec` whose ``task`` is a dict of
task-file keys, a task spec, a task file or a :class:`autopeft.tasks.Task`::

    from autopeft.service import SearchSpec, run_search

    run_search(SearchSpec(task={"train": "my.csv", "columns": ["text", "label"]}, trials=8, storage="sqlite:///my.db"))
"""

from __future__ import annotations

from autopeft.service.baselines import BASELINES, DEFAULT_BASELINES
from autopeft.service.errors import SearchError
from autopeft.service.objectives import DEFAULT_OBJECTIVES, OBJECTIVES
from autopeft.service.spec import SearchSpec


def run_search(spec: SearchSpec):  # noqa: ANN201 - see autopeft.service.loop.run_search
    """Validate ``spec`` and run the search (returns a :class:`~autopeft.service.loop.SearchOutcome`).

    Every input is checked (the task's files read) before the study store is written; the
    study records the task's complete spec, so ``export`` and ``--resume`` need nothing more.
    """
    from autopeft.service.loop import run_search as _run

    return _run(spec)


__all__ = ["BASELINES", "DEFAULT_BASELINES", "DEFAULT_OBJECTIVES", "OBJECTIVES", "SearchError", "SearchSpec", "run_search"]
