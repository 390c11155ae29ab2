"""Exact, analytic parameter accounting of a `PeftConfig` from a transformers config alone.

The formulas mirror the modules :func:`autopeft.apply` builds (see ``autopeft.methods``); the
test-suite checks them against built models for every family and shipped search space.
No torch import: counting a million configurations costs microseconds each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autopeft.architectures import dims_of, family_for, projection_shape
from autopeft.errors import ConfigError, UnsupportedModuleError

if TYPE_CHECKING:
    from autopeft.config import PeftConfig

_DTYPE_BYTES = {
    "float64": 8, "double": 8,
    "float32": 4, "float": 4,
    "float16": 2, "half": 2, "bfloat16": 2,
    "float8_e4m3fn": 1, "float8_e5m2": 1, "int8": 1, "uint8": 1,
}


def dtype_size(dtype: Any) -> int:
    """Bytes per element of a dtype given by name (``"bfloat16"``) or as a torch dtype."""
    name = str(dtype).removeprefix("torch.")
    try:
        return _DTYPE_BYTES[name]
    except KeyError:
        raise ConfigError(f"dtype: unknown dtype {dtype!r}; use one of {sorted(_DTYPE_BYTES)}") from None


def bottleneck_params(hidden: int, size: int) -> int:
    """Down (hidden -> size, biased) plus up (size -> hidden, biased) projections."""
    return 0 if size == 0 else 2 * hidden * size + size + hidden


def prefix_params(length: int, hidden: int, kv_dim: int, reparameterization: str, mlp_hidden: int) -> int:
    """Trainable parameters of one layer's prefix of ``length`` key/value vectors."""
    if length == 0:
        return 0
    if reparameterization == "none":
        return length * 2 * kv_dim
    # embedding (length x hidden) -> Linear(hidden, mlp_hidden) -> tanh -> Linear(mlp_hidden, 2 kv)
    return length * hidden + hidden * mlp_hidden + mlp_hidden + mlp_hidden * 2 * kv_dim + 2 * kv_dim


def lora_params(model_config: Any, projection: str, rank: int) -> int:
    """``A`` (rank x in) plus ``B`` (out x rank) for each module the projection names."""
    if rank == 0:
        return 0
    shape = projection_shape(model_config, projection)
    return shape.copies * rank * (shape.in_features + shape.out_features)


def ia3_params(model_config: Any) -> int:
    """Key and value rescaling vectors plus the FFN intermediate rescaling vector."""
    d = dims_of(model_config)
    return 2 * d.kv_dim + d.intermediate


def check_compatible(config: "PeftConfig", model_config: Any) -> None:
    """Raise if ``config`` cannot be applied to a model with ``model_config``."""
    family = family_for(model_config)
    d = dims_of(model_config)
    if config.num_layers != d.num_layers:
        raise ConfigError(
            f"num_layers: the config describes {config.num_layers} layers but the model "
            f"({model_config_name(model_config)}) has {d.num_layers}; build the config for this model"
        )
    if config.has_prefix and not family.supports_prefix:
        layers = [i for i, layer in enumerate(config.layers) if layer.prefix_length]
        raise UnsupportedModuleError(
            f"prefix_length: prefix-tuning is not available for the {family.name} family "
            f"(set in layers {layers}). {family.notes} Set prefix_length to 0."
        )


def model_config_name(model_config: Any) -> str:
    name = getattr(model_config, "_name_or_path", "") or getattr(model_config, "name_or_path", "")
    model_type = getattr(model_config, "model_type", None) or (
        model_config.get("model_type") if isinstance(model_config, dict) else None
    )
    return f"{model_type} {name}".strip()


def param_breakdown(config: "PeftConfig", model_config: Any) -> dict[str, int]:
    """Trainable PEFT parameters per module type; keys are the module-type names."""
    check_compatible(config, model_config)
    d = dims_of(model_config)
    out = {
        "serial_adapter": 0,
        "serial_adapter_attn": 0,
        "parallel_adapter": 0,
        "prefix": 0,
        "lora": 0,
        "ia3": 0,
    }
    ia3 = ia3_params(model_config)
    for layer in config.layers:
        out["serial_adapter"] += bottleneck_params(d.hidden, layer.serial_adapter)
        out["serial_adapter_attn"] += bottleneck_params(d.hidden, layer.serial_adapter_attn)
        out["parallel_adapter"] += bottleneck_params(d.hidden, layer.parallel_adapter)
        out["prefix"] += prefix_params(
            layer.prefix_length, d.hidden, d.kv_dim, config.prefix_reparameterization, config.prefix_mlp_hidden
        )
        out["lora"] += sum(lora_params(model_config, p, r) for p, r in layer.lora.items())
        out["ia3"] += ia3 if layer.ia3 else 0
    return out
