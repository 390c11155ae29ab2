"""Building a search's sampler from the one sampler registry, :data:`autopeft.optimizer.SAMPLERS`.

The search adds what a registry entry does not know: the running trials are pending points (TPE
with ``constant_liar``), Optuna's samplers start from a few random trials on a small budget, and
autopeft's ``mobo`` gets the objectives the config alone determines, the ``--max-params``
constraint, the warm-start trials and the space's distributions.
"""

from __future__ import annotations

from typing import Any, Callable

from autopeft.optimizer.registry import SAMPLERS, make_sampler as _registry_sampler, sampler_names
from autopeft.service.errors import SearchError

#: The sampler names a search takes (the registry's).
SAMPLER_NAMES = tuple(sampler_names())
DEFAULT_SAMPLER = "mobo"

#: Extra constructor arguments the search gives Optuna's samplers. Constraints reach them
#: through ``trial.set_constraint`` (optuna >= 5) on rejected trials.
_SEARCH_KWARGS: dict[str, dict[str, Any]] = {
    "tpe": {"constant_liar": True, "n_startup_trials": 5},
    "nsga2": {"population_size": 10},
    "gp": {"n_startup_trials": 5},
}


def default_sampler() -> str:
    return DEFAULT_SAMPLER


def check_sampler_name(name: str) -> str:
    """``name`` when the registry has it; else a :class:`SearchError` naming the choices."""
    if name not in SAMPLERS:
        raise SearchError(f"unknown sampler; choose from {list(SAMPLER_NAMES)}", parameter="sampler", value=name)
    return name


def make_sampler(
    name: str,
    seed: int = 0,
    *,
    known_objectives: dict[int, Callable[[dict], float]] | None = None,
    constraint: Callable[[dict], bool] | None = None,
    warm_start_trials: list[Any] | None = None,
    search_space: dict[str, Any] | None = None,
) -> tuple[Any, bool]:
    """``(sampler, used_warm_start)``. ``used_warm_start`` is False when the sampler cannot take
    ``warm_start_trials``; the loop then enqueues the earlier fronts' params instead."""
    check_sampler_name(name)
    if name == "mobo":
        kwargs = {"known_objectives": known_objectives or None, "constraint": constraint,
                  "warm_start_trials": warm_start_trials or None, "search_space": search_space}
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return _registry_sampler(name, seed=seed, **kwargs), "warm_start_trials" in kwargs
    return _registry_sampler(name, seed=seed, **_SEARCH_KWARGS.get(name, {})), False
