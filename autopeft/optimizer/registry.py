"""Samplers by name: ``make_sampler("mobo", seed=0)``.

The baselines are Optuna's own samplers, configured for multi-objective studies: TPE with
``multivariate=True``, NSGA-II, uniform random, and Optuna's ``GPSampler``. Every factory takes
``seed`` plus keyword arguments passed to the sampler's constructor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from autopeft._lazy import lazy_module
from autopeft.optimizer.errors import UnknownSamplerError

if TYPE_CHECKING:
    import optuna
    from optuna.samplers import BaseSampler

    from autopeft.optimizer import mobo
else:
    optuna = lazy_module("optuna")
    mobo = lazy_module("autopeft.optimizer.mobo")


def _mobo(seed: int | None, **kwargs: Any) -> "mobo.MOBOSampler":
    return mobo.MOBOSampler(seed=seed, **kwargs)


def _random(seed: int | None, **kwargs: Any) -> "BaseSampler":
    return optuna.samplers.RandomSampler(seed=seed, **kwargs)


def _tpe(seed: int | None, **kwargs: Any) -> "BaseSampler":
    kwargs.setdefault("multivariate", True)
    return optuna.samplers.TPESampler(seed=seed, **kwargs)


def _nsga2(seed: int | None, **kwargs: Any) -> "BaseSampler":
    return optuna.samplers.NSGAIISampler(seed=seed, **kwargs)


def _gp(seed: int | None, **kwargs: Any) -> "BaseSampler":
    return optuna.samplers.GPSampler(seed=seed, **kwargs)


#: Sampler name -> factory ``(seed, **kwargs) -> optuna.samplers.BaseSampler``.
SAMPLERS: dict[str, Callable[..., "BaseSampler"]] = {
    "mobo": _mobo,
    "random": _random,
    "nsga2": _nsga2,
    "tpe": _tpe,
    "gp": _gp,
}


def sampler_names() -> list[str]:
    """The names `make_sampler` accepts."""
    return list(SAMPLERS)


def make_sampler(name: str, seed: int | None = 0, **kwargs: Any) -> "BaseSampler":
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
