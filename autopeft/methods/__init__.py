"""PEFT methods, one module each, and the registry :func:`autopeft.apply` walks.

Each injector takes the injection context, a layer index, the layer module and its
`LayerConfig`, and attaches that method's modules (named ``autopeft_*``) and hooks. The order of
:data:`INJECTORS` is the order hooks run on a shared module: LoRA adds to the projection output
first, then the parallel adapter, then the serial adapter transforms the result.
"""

from __future__ import annotations

from autopeft.methods.injectors import (
    inject_ia3,
    inject_lora,
    inject_parallel_adapter,
    inject_prefix,
    inject_serial_adapter,
    inject_serial_adapter_attn,
)

INJECTORS = {
    "lora": inject_lora,
    "ia3": inject_ia3,
    "parallel_adapter": inject_parallel_adapter,
    "serial_adapter": inject_serial_adapter,
    "serial_adapter_attn": inject_serial_adapter_attn,
    "prefix": inject_prefix,
}

__all__ = ["INJECTORS"]
