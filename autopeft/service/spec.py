"""What a search is asked to do (the ``autopeft search`` options as one dataclass)."""

from __future__ import annotations

from dataclasses import dataclass, field

from autopeft.store.storage import DEFAULT_STORAGE


@dataclass
class SearchSpec:
    """Options of one search. ``None`` means "the default", or on ``resume`` "what the study stored"."""

    model: str | None = None
    task: str | None = None
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
