"""One function that turns a sampler name into a sampler: autopeft's optimiser when present,
Optuna's samplers otherwise.

``autopeft.optimizer.make_sampler(name, seed, **kwargs)`` (mobo, random, nsga2, tpe, gp) is
preferred; while it is missing (or rejects extra arguments) the same names map to Optuna's
samplers. Running trials are seen as pending: TPE uses ``constant_liar``.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from autopeft.service.errors import SearchError

SAMPLER_NAMES = ("mobo", "random", "nsga2", "tpe", "gp")


def _optuna_samplers() -> dict[str, Callable[..., Any]]:
    import optuna

    return {
        "random": lambda seed, **_: optuna.samplers.RandomSampler(seed=seed),
        "tpe": lambda seed, **_: optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True, n_startup_trials=5),
        "nsga2": lambda seed, **_: optuna.samplers.NSGAIISampler(seed=seed, population_size=10),
        "gp": lambda seed, **_: optuna.samplers.GPSampler(seed=seed, n_startup_trials=5),
    }


def _optimizer_factory() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("autopeft.optimizer")
    except ModuleNotFoundError as exc:
        if exc.name not in ("autopeft.optimizer",):
            raise
        return None
    return getattr(module, "make_sampler", None)


def has_optimizer() -> bool:
    return _optimizer_factory() is not None


def default_sampler() -> str:
    return "mobo" if has_optimizer() else "tpe"


def check_sampler_name(name: str) -> str:
    if name not in SAMPLER_NAMES:
        raise SearchError(f"--sampler {name!r}: unknown sampler; choose from {list(SAMPLER_NAMES)}")
    if name == "mobo" and not has_optimizer():
        raise SearchError("--sampler 'mobo': autopeft.optimizer is not installed in this build; use tpe, nsga2, gp or random")
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

    factory = _optimizer_factory()
    if factory is None:
        return _optuna_samplers()[name](seed), False
    if name == "mobo":
        kwargs = {"known_objectives": known_objectives or None, "constraint": constraint,
                  "warm_start_trials": warm_start_trials or None, "search_space": search_space}
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return factory(name, seed=seed, **kwargs), "warm_start_trials" in kwargs
    return factory(name, seed=seed, **_OPTUNA_KWARGS.get(name, {})), False


#: Extra constructor arguments of Optuna's samplers when built through autopeft.optimizer.
#: Constraints reach them through ``trial.set_constraint`` (optuna >= 5) on rejected trials.
_OPTUNA_KWARGS: dict[str, dict[str, Any]] = {
    "tpe": {"constant_liar": True, "n_startup_trials": 5},
    "nsga2": {"population_size": 10},
    "gp": {"n_startup_trials": 5},
}
