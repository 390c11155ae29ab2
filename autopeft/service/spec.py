"""What a search is asked to do (the ``autopeft search`` options as one frozen dataclass, typed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autopeft.service import options
from autopeft.store.storage import DEFAULT_STORAGE


@dataclass(frozen=True)
class SearchSpec:
    """Options of one search. ``None`` means "the default", or on ``resume`` "what the study stored".

    ``task`` is any task reference :func:`autopeft.tasks.resolve_task` takes: a registry name
    (``glue/rte``, with ``data_dir`` for local files), ``bbcnews``, ``folder:ROOT``, a task file,
    a dict of task-file keys (``{"train": "my.csv", "columns": ["text", "label"]}``), a complete
    task spec, or a :class:`autopeft.tasks.Task`. The study records its complete spec.

    Typed values: ``objectives``, ``baselines`` and ``warm_start`` are tuples of names
    (``("score", "params")``; ``baselines=()`` evaluates none, ``("all",)`` every one);
    ``max_params`` a parameter count (``int``) or an
    :class:`~autopeft.service.options.ParamLimit` (a percent of the backbone); ``fidelity`` a
    :class:`~autopeft.proxy.Fidelity`. The text earlier versions took (``"score,params"``,
    ``"0.5%"``, ``"quick:max_steps=10"``) is still accepted and parsed by
    :mod:`autopeft.service.options`, the parser the CLI uses.

    Multi-fidelity: ``scheduler="asha"`` trains each trial rung by rung and stops those outside
    the best ``1/eta`` (by Pareto rank) at a rung (:mod:`autopeft.service.asha`); ``eta`` and
    ``min_rung_fraction`` shape the ladder and are refused without it.
    """

    model: str | None = None
    task: Any = None
    data_dir: str | None = None
    space: str | None = None
    trials: int | None = None
    workers: int = 1
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    fidelity: Any = None  # Fidelity
    sampler: str | None = None
    objectives: tuple[str, ...] | None = None
    max_params: Any = None  # int or ParamLimit
    storage: str = DEFAULT_STORAGE
    study: str | None = None
    resume: bool = False
    ray_address: str | None = None
    seed: int | None = None
    baselines: tuple[str, ...] | None = None
    warm_start: tuple[str, ...] = ()
    objective_fn: str | None = None
    heartbeat_interval: int = 10
    progress: bool = True  # without an observer, run_search attaches the live display
    scheduler: str | None = None  # "none" (one run per trial) or "asha" (multi-fidelity); None: the default or the study's
    eta: int | None = None  # asha: keep the best 1/eta at each rung (default 3)
    min_rung_fraction: float | None = None  # asha: the lowest rung's share of the budget (default 1/9)

    def __post_init__(self) -> None:
        typed = {
            "objectives": options.names(self.objectives, "objectives"),
            "baselines": options.names(self.baselines, "baselines"),
            "warm_start": options.names(self.warm_start, "warm_start") or (),
            "max_params": options.param_limit(self.max_params),
            "fidelity": options.fidelity(self.fidelity),
            "scheduler": options.scheduler_name(self.scheduler),
        }
        for name, value in typed.items():
            object.__setattr__(self, name, value)
        options.check_scheduler(self.scheduler, self.eta, self.min_rung_fraction)
