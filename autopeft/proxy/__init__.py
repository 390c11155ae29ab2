"""Proxy evaluation: train one PEFT configuration cheaply on a task and measure it.

``evaluate(model, task, config, fidelity, seed)`` returns a :class:`TrialResult` (score, all
metrics, parameter counts, bytes, peak memory, timings, status). :class:`Fidelity` sets the
training budget; :class:`BackboneCache` keeps loaded backbones and tokenised data for the life
of a worker process. Importing this package does not import torch or transformers: the names
that need them load on first access.
"""

from __future__ import annotations


from autopeft._lazy import lazy_exports

from autopeft.proxy.fidelity import PRESETS, Fidelity
from autopeft.proxy.result import TrialResult

#: Public names loaded on first access: name -> (module, attribute).
_LAZY = {
    "evaluate": ("autopeft.proxy.runner", "evaluate"),
    "resolve_device": ("autopeft.proxy.runner", "resolve_device"),
    "BackboneCache": ("autopeft.proxy.cache", "BackboneCache"),
    "default_cache": ("autopeft.proxy.cache", "default_cache"),
    "default_model": ("autopeft.backbone", "default_model"),
    "default_cache_dir": ("autopeft.proxy.cache", "default_cache_dir"),
    "TrialFailure": ("autopeft.proxy.train", "TrialFailure"),
    "DEFAULT_LEARNING_RATES": ("autopeft.proxy.train", "DEFAULT_LEARNING_RATES"),
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)


__all__ = ["PRESETS", "Fidelity", "TrialResult", *_LAZY]
