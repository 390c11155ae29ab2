"""Samplers for the PEFT search: multi-objective Bayesian optimisation and Optuna baselines.

``MOBOSampler`` is an ``optuna.samplers.BaseSampler`` that runs qLogNEHVI (BoTorch) over the
discrete PEFT space; ``make_sampler(name)`` picks any sampler by name (``mobo``, ``random``,
``nsga2``, ``tpe``, ``gp``). Importing this package is cheap: optuna, torch and botorch are
imported only when a sampler is built.
"""

from __future__ import annotations


from autopeft._lazy import lazy_exports

from autopeft.optimizer.errors import OptimizerError, UnknownSamplerError
from autopeft.optimizer.registry import SAMPLERS, make_sampler, sampler_names

#: Public names loaded on first access: name -> (module, attribute).
_LAZY = {
    "MOBOSampler": ("autopeft.optimizer.mobo", "MOBOSampler"),
    "SpaceEncoding": ("autopeft.optimizer.encoding", "SpaceEncoding"),
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)


__all__ = [
    "MOBOSampler",
    "SpaceEncoding",
    "SAMPLERS",
    "make_sampler",
    "sampler_names",
    "OptimizerError",
    "UnknownSamplerError",
]
