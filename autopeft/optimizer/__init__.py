"""Samplers for the PEFT search: multi-objective Bayesian optimisation and Optuna baselines.

``MOBOSampler`` is an ``optuna.samplers.BaseSampler`` that runs qLogNEHVI (BoTorch) over the
discrete PEFT space; ``make_sampler(name)`` picks any sampler by name (``mobo``, ``random``,
``nsga2``, ``tpe``, ``gp``). Importing this package is cheap: optuna, torch and botorch are
imported only when a sampler is built.
"""

from __future__ import annotations

import importlib
from typing import Any

from autopeft.optimizer.errors import OptimizerError, UnknownSamplerError
from autopeft.optimizer.registry import SAMPLERS, make_sampler, sampler_names

#: Public names loaded on first access: name -> (module, attribute).
_LAZY = {
    "MOBOSampler": ("autopeft.optimizer.mobo", "MOBOSampler"),
    "SpaceEncoding": ("autopeft.optimizer.encoding", "SpaceEncoding"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'autopeft.optimizer' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "MOBOSampler",
    "SpaceEncoding",
    "SAMPLERS",
    "make_sampler",
    "sampler_names",
    "OptimizerError",
    "UnknownSamplerError",
]
