"""autopeft: search per-layer parameter-efficient fine-tuning configurations.

``import autopeft`` is cheap: it imports neither torch, transformers, ray nor streamlit. The
names that need them (``apply``, ...) are loaded on first access.
"""

from __future__ import annotations

from pathlib import Path

from autopeft._lazy import lazy_exports

from autopeft._version import __version__
from autopeft.config import FORMAT_VERSION, LayerConfig, PeftConfig
from autopeft.errors import (
    ArchitectureError,
    AutoPeftError,
    ConfigError,
    SpaceError,
    UnsupportedModuleError,
)
from autopeft.spaces import SearchSpace, load_space

#: Public names loaded on first access: name -> (module, attribute); attribute None = the module.
_LAZY: dict[str, tuple[str, str | None]] = {
    "apply": ("autopeft.inject", "apply"),
    "trainable_summary": ("autopeft.inject", "trainable_summary"),
    "TrainableSummary": ("autopeft.inject", "TrainableSummary"),
    "export": ("autopeft.export", None),
    "export_config": ("autopeft.export", "export_config"),
    "export_trial": ("autopeft.export", "export_trial"),
    "proxy": ("autopeft.proxy", None),
    "tasks": ("autopeft.tasks", None),
    "optimizer": ("autopeft.optimizer", None),
    "MOBOSampler": ("autopeft.optimizer", "MOBOSampler"),
    "make_sampler": ("autopeft.optimizer", "make_sampler"),
    "evaluate": ("autopeft.proxy", "evaluate"),
    "Fidelity": ("autopeft.proxy", "Fidelity"),
    "TrialResult": ("autopeft.proxy", "TrialResult"),
    "get_task": ("autopeft.tasks", "get_task"),
    "store": ("autopeft.store", None),
}

def load_config(path: str) -> PeftConfig:
    """Read a `PeftConfig` from a JSON file written by ``PeftConfig.to_json`` or export."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path!r} cannot be read: {exc.strerror}") from None
    try:
        return PeftConfig.from_json(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

__all__ = [
    "__version__",
    "FORMAT_VERSION",
    "LayerConfig",
    "PeftConfig",
    "SearchSpace",
    "load_space",
    "load_config",
    "apply",
    "trainable_summary",
    "TrainableSummary",
    "AutoPeftError",
    "ConfigError",
    "SpaceError",
    "ArchitectureError",
    "UnsupportedModuleError",
]
