"""What a search is asked to do (the ``autopeft search`` options as one dataclass)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autopeft.store.storage import DEFAULT_STORAGE


@dataclass
class SearchSpec:
    """Options of one search. ``None`` means "the default", or on ``resume`` "what the study stored".

    ``task`` is any task reference :func:`autopeft.tasks.resolve_task` takes: a registry name
    (``glue/rte``, with ``data_dir`` for local files), ``bbcnews``, ``folder:ROOT``, a task file,
    a dict of task-file keys (``{"train": "my.csv", "columns": ["text", "label"]}``), a complete
    task spec, or a :class:`autopeft.tasks.Task`. The study records its complete spec.
    """

    model: str | None = None
    task: Any = None
    data_dir: str | None = None
    space: str | None = None
    trials: int | None = None
    workers: int = 1
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    fidelity: str | None = None
    sampler: str | None = None
    objectives: str | None = None
    max_params: str | None = None
    storage: str = DEFAULT_STORAGE
    study: str | None = None
    resume: bool = False
    ray_address: str | None = None
    seed: int | None = None
    baselines: str | None = None
    warm_start: list[str] = field(default_factory=list)
    objective_fn: str | None = None
    heartbeat_interval: int = 10
    progress: bool = True
