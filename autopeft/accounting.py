"""Exact, analytic parameter accounting of a `PeftConfig` from a transformers config alone.

Each method declares its own formula (``PeftMethod.count`` in ``autopeft/methods/<name>.py``),
mirroring the modules its injector builds; this module sums them over the layers and checks that
the model can take the configuration. The test-suite checks the counts against built models for
every family and shipped search space.
No torch import: counting a million configurations costs microseconds each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from autopeft.backbone import Backbone
from autopeft.errors import ConfigError, UnsupportedModuleError
from autopeft.methods.registry import REGISTRY

# The per-method formulas live in their methods' modules; these stay importable from here.
from autopeft.methods.bottleneck import bottleneck_params  # noqa: E402,F401
from autopeft.methods.ia3 import ia3_params  # noqa: E402,F401
from autopeft.methods.lora import lora_params  # noqa: E402,F401
from autopeft.methods.prefix import prefix_params  # noqa: E402,F401

if TYPE_CHECKING:
    import torch
    from transformers import PretrainedConfig

    from autopeft.config import PeftConfig

_DTYPE_BYTES = {
    "float64": 8, "double": 8,
    "float32": 4, "float": 4,
    "float16": 2, "half": 2, "bfloat16": 2,
    "float8_e4m3fn": 1, "float8_e5m2": 1, "int8": 1, "uint8": 1,
}


def dtype_size(dtype: "str | torch.dtype") -> int:
    """Bytes per element of a dtype given by name (``"bfloat16"``) or as a torch dtype."""
    name = str(dtype).removeprefix("torch.")
    try:
        return _DTYPE_BYTES[name]
    except KeyError:
        raise ConfigError(f"dtype: unknown dtype {dtype!r}; use one of {sorted(_DTYPE_BYTES)}") from None


def check_compatible(config: "PeftConfig", model_config: "Backbone | PretrainedConfig | Mapping[str, Any]") -> Backbone:
    """Raise if ``config`` cannot be applied to a model with ``model_config`` (a
    :class:`~autopeft.backbone.Backbone`, a transformers config or a dict of one): another layer
    count, or a method the family cannot have (the method's ``unavailable`` says why). Returns the
    resolved Backbone."""
    backbone = Backbone.of(model_config)
    family = backbone.family
    if config.num_layers != backbone.num_layers:
        raise ConfigError(
            f"num_layers: the config describes {config.num_layers} layers but the model "
            f"({backbone.describe()}) has {backbone.num_layers}; build the config for this model"
        )
    for method in REGISTRY.methods():
        reason = method.unavailable(family) if method.unavailable else None
        layers = method.layers_using(config) if reason is not None else []
        if layers:
            fields = "/".join(f.name for f in method.fields)
            fixes = "; ".join(f.absent for f in method.fields)
            raise UnsupportedModuleError(
                f"{fields}: {method.title} is not available for the {family.name} family "
                f"(set in layers {layers}). {reason} {fixes[0].upper() + fixes[1:]}."
            )
    return backbone


def model_config_name(model_config: "Backbone | PretrainedConfig | Mapping[str, Any]") -> str:
    """``"bert NAME"``: the model type and name of a model, for messages."""
    return Backbone.of(model_config).describe()


def param_breakdown(config: "PeftConfig", model_config: "Backbone | PretrainedConfig | Mapping[str, Any]") -> dict[str, int]:
    """Trainable PEFT parameters per method, one key per registered method (registry order);
    each method's ``count`` gives one layer's, reading the sizes from the model's
    :class:`~autopeft.backbone.Backbone` (resolved once here)."""
    shapes = check_compatible(config, model_config)
    methods = REGISTRY.methods()
    out = {method.name: 0 for method in methods}
    for layer in config.layers:
        for method in methods:
            if method.used_in_layer(layer):
                out[method.name] += method.count(layer, config, shapes)
    return out
