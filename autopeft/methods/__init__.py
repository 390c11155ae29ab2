"""PEFT methods: one module each, each registering one :class:`PeftMethod` (bottleneck.py: three).

Importing this package registers the built-in methods in :data:`REGISTRY`; the import order
below is the registry's order (of a layer's fields, the global knobs, summaries, heatmap columns,
``param_breakdown`` keys and export parts). To add a method, write ``autopeft/methods/<name>.py``
(declare its fields, count, injector, exports and knobs, then call :func:`register_method`) and
import it here. See :mod:`autopeft.methods.registry`.

No module here imports torch when imported: ``autopeft.config`` reads the declarations.
"""

from __future__ import annotations

from autopeft.methods.registry import (
    FLAG,
    RANKS,
    REGISTRY,
    SIZE,
    ExportRule,
    Knob,
    LayerField,
    MethodRegistry,
    PeftMethod,
    refused,
    register_method,
)

# Registration order (see the module docstring).
from autopeft.methods import bottleneck  # noqa: E402,F401  serial_adapter, serial_adapter_attn, parallel_adapter
from autopeft.methods import prefix  # noqa: E402,F401
from autopeft.methods import lora  # noqa: E402,F401
from autopeft.methods import ia3  # noqa: E402,F401
from autopeft.methods import dora  # noqa: E402,F401

__all__ = ["FLAG", "RANKS", "REGISTRY", "SIZE", "ExportRule", "Knob", "LayerField", "MethodRegistry", "PeftMethod",
           "refused", "register_method"]
