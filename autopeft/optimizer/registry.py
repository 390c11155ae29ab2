"""Samplers by name: ``make_sampler("mobo", seed=0)``.

The baselines are Optuna's own samplers, configured for multi-objective studies: TPE with
``multivariate=True``, NSGA-II, uniform random, and Optuna's ``GPSampler``. Every factory takes
``seed`` plus keyword arguments passed to the sampler's constructor.
"""

from __future__ import annotations

from typing import Any, Callable

from autopeft.optimizer.errors import UnknownSamplerError


def _mobo(seed: int | None, **kwargs: Any) -> Any:
    from autopeft.optimizer.mobo import MOBOSampler

    return MOBOSampler(seed=seed, **kwargs)


def _random(seed: int | None, **kwargs: Any) -> Any:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed, **kwargs)


def _tpe(seed: int | None, **kwargs: Any) -> Any:
    import optuna

    kwargs.setdefault("multivariate", True)
    return optuna.samplers.TPESampler(seed=seed, **kwargs)


def _nsga2(seed: int | None, **kwargs: Any) -> Any:
    import optuna

    return optuna.samplers.NSGAIISampler(seed=seed, **kwargs)


def _gp(seed: int | None, **kwargs: Any) -> Any:
    import optuna

    return optuna.samplers.GPSampler(seed=seed, **kwargs)


#: Sampler name -> factory ``(seed, **kwargs) -> optuna.samplers.BaseSampler``.
SAMPLERS: dict[str, Callable[..., Any]] = {
    "mobo": _mobo,
    "random": _random,
    "nsga2": _nsga2,
    "tpe": _tpe,
    "gp": _gp,
}


def sampler_names() -> list[str]:
    """The names `make_sampler` accepts."""
    return list(SAMPLERS)


def make_sampler(name: str, seed: int | None = 0, **kwargs: Any) -> Any:
    """An Optuna sampler by name; ``kwargs`` go to the sampler's constructor.

    Raises `UnknownSamplerError` (an `AutoPeftError`) naming the known samplers.
    """
    try:
        factory = SAMPLERS[name]
    except (KeyError, TypeError):
        raise UnknownSamplerError(
            f"sampler: unknown name {name!r}; choose one of {sampler_names()}"
        ) from None
    return factory(seed, **kwargs)
