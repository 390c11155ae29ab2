"""Prefix-tuning (Li & Liang 2021): trainable key/value vectors prepended in self-attention.

Field ``prefix_length`` per layer; knobs ``prefix_reparameterization`` (``none`` trains the
key/value vectors directly; ``mlp`` trains an embedding and a per-layer MLP that produces them)
and ``prefix_mlp_hidden`` (that MLP's width).

Every family whose attention goes through transformers' ``AttentionInterface`` passes its
attention module, queries, keys, values and mask to one function. :func:`autopeft.apply` switches
such a model to :data:`IMPLEMENTATION`, a thin wrapper around transformers' SDPA attention that,
for an attention module carrying a ``Prefix``, prepends the prefix keys and values and widens the
mask by as many columns, all visible. Padding stays masked (the original mask columns are kept),
and causal models stay causal over their own tokens while every token sees the whole prefix.
DeBERTa-v2's disentangled attention bypasses that interface, so its family refuses the method.

Exports: peft ``PrefixTuningConfig(prefix_projection=False)`` for one length in every layer (when
the installed peft and transformers can run it); AdapterHub's flat ``PrefixTuningConfig`` for one
length in the prefixed layers. MLP prefixes are refused by both (their MLP is shared by all layers).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from autopeft._lazy import lazy_module
from autopeft.errors import UnsupportedModuleError
from autopeft.methods.injectors import InjectionContext, like, resolve
from autopeft.methods.registry import (
    SIZE,
    ExportRule,
    Knob,
    LayerField,
    ModelShapes,
    PeftMethod,
    TorchClasses,
    register_method,
)

if TYPE_CHECKING:
    import peft
    import torch
    import transformers
    from torch import nn
    from transformers import PretrainedConfig, PreTrainedModel
    from transformers import masking_utils
    from transformers.integrations import sdpa_attention
    from transformers.models.auto import modeling_auto

    from autopeft.config import LayerConfig, PeftConfig
    from autopeft.export.model_info import ModelInfo
else:
    torch = lazy_module("torch")
    peft = lazy_module("peft")
    transformers = lazy_module("transformers")
    sdpa_attention = lazy_module("transformers.integrations.sdpa_attention")
    masking_utils = lazy_module("transformers.masking_utils")
    modeling_auto = lazy_module("transformers.models.auto.modeling_auto")

IMPLEMENTATION = "autopeft_prefix"
_PREFIX_ATTRIBUTE = "autopeft_prefix"
PREFIX_REPARAMETERIZATIONS = ("none", "mlp")


# ----------------------------------------------------------------------------- torch module
def _define() -> dict[str, type]:
    nn = torch.nn

    class Prefix(nn.Module):
        """The prefix of one attention layer: ``length`` key and value vectors per KV head.

        ``reparameterization="mlp"`` produces them from an embedding through a two-layer tanh MLP
        (trained jointly; the MLP can be dropped after training by materialising its output).
        """

        def __init__(self, length: int, num_kv_heads: int, head_dim: int, hidden: int,
                     reparameterization: str = "none", mlp_hidden: int = 512):
            super().__init__()
            self.length, self.num_kv_heads, self.head_dim = length, num_kv_heads, head_dim
            kv = 2 * num_kv_heads * head_dim
            if reparameterization == "none":
                self.prefix_kv = nn.Parameter(torch.randn(length, kv) * 0.02)
                self.embedding = self.mlp = None
            else:
                self.prefix_kv = None
                self.embedding = nn.Parameter(torch.randn(length, hidden) * 0.02)
                self.mlp = nn.Sequential(nn.Linear(hidden, mlp_hidden), nn.Tanh(), nn.Linear(mlp_hidden, kv))

        def key_values(self, batch: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
            kv = self.prefix_kv if self.mlp is None else self.mlp(self.embedding)
            kv = kv.view(self.length, 2, self.num_kv_heads, self.head_dim).permute(1, 2, 0, 3).to(dtype)
            keys = kv[0].unsqueeze(0).expand(batch, -1, -1, -1)
            values = kv[1].unsqueeze(0).expand(batch, -1, -1, -1)
            return keys, values

    return {"Prefix": Prefix}


classes = TorchClasses(__name__, _define, ("Prefix",))
__getattr__ = classes.module_getattr


def attach(attention_module: "nn.Module", prefix: "nn.Module") -> None:
    attention_module.add_module(_PREFIX_ATTRIBUTE, prefix)


def _widen_mask(mask: "torch.Tensor | None", module: "nn.Module", query: "torch.Tensor", key_len: int,
                prefix_len: int) -> "torch.Tensor | None":
    """The attention mask with ``prefix_len`` leading columns that every query may attend."""
    batch, q_len = query.shape[0], query.shape[2]
    if mask is None:
        if not getattr(module, "is_causal", False) or q_len == 1:
            return None  # bidirectional and unpadded: everything, prefix included, is visible
        rows = torch.arange(q_len, device=query.device)[:, None] + (key_len - q_len)
        mask = (torch.arange(key_len, device=query.device)[None, :] <= rows)[None, None]
        mask = mask.expand(batch, 1, q_len, key_len)
    visible = torch.ones(*mask.shape[:-1], prefix_len, dtype=torch.bool, device=mask.device)
    if mask.dtype != torch.bool:
        visible = torch.zeros(*mask.shape[:-1], prefix_len, dtype=mask.dtype, device=mask.device)
    return torch.cat([visible, mask], dim=-1)


def prefix_attention(module: "nn.Module", query: "torch.Tensor", key: "torch.Tensor", value: "torch.Tensor",
                     attention_mask: "torch.Tensor | None", **kwargs: Any) -> tuple["torch.Tensor", "torch.Tensor | None"]:
    """SDPA attention with this module's prefix (if any) prepended to keys and values."""
    prefix = getattr(module, _PREFIX_ATTRIBUTE, None)
    if prefix is not None:
        prefix_keys, prefix_values = prefix.key_values(key.shape[0], key.dtype)
        attention_mask = _widen_mask(attention_mask, module, query, key.shape[2], prefix.length)
        key = torch.cat([prefix_keys, key], dim=2)
        value = torch.cat([prefix_values, value], dim=2)
        if attention_mask is not None:
            kwargs["is_causal"] = False  # the explicit mask carries causality now
    return sdpa_attention.sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def register() -> None:
    """Make :data:`IMPLEMENTATION` known to transformers (idempotent)."""
    transformers.AttentionInterface.register(IMPLEMENTATION, prefix_attention)
    masking_utils.AttentionMaskInterface.register(IMPLEMENTATION, masking_utils.sdpa_mask)


# ----------------------------------------------------------------------------- count, injection
def prefix_params(length: int, hidden: int, kv_dim: int, reparameterization: str, mlp_hidden: int) -> int:
    """Trainable parameters of one layer's prefix of ``length`` key/value vectors."""
    if length == 0:
        return 0
    if reparameterization == "none":
        return length * 2 * kv_dim
    # embedding (length x hidden) -> Linear(hidden, mlp_hidden) -> tanh -> Linear(mlp_hidden, 2 kv)
    return length * hidden + hidden * mlp_hidden + mlp_hidden + mlp_hidden * 2 * kv_dim + 2 * kv_dim


def _count(layer: "LayerConfig", config: "PeftConfig", shapes: ModelShapes) -> int:
    d = shapes.dims
    return prefix_params(layer.prefix_length, d.hidden, d.kv_dim, config.prefix_reparameterization, config.prefix_mlp_hidden)


def _inject(ctx: InjectionContext, index: int, layer: "nn.Module", layer_config: "LayerConfig") -> None:
    attention = resolve(layer, ctx.family.attention, f"{ctx.family.name} layer {index} attention")
    d = ctx.dims
    prefix = classes.Prefix(layer_config.prefix_length, d.num_kv_heads, d.head_dim, d.hidden,
                            ctx.config.prefix_reparameterization, ctx.config.prefix_mlp_hidden)
    attach(attention, like(prefix, attention))


def _finish(model: "PreTrainedModel", ctx: InjectionContext) -> None:
    """Switch the model to the prefix-aware attention implementation."""
    register()
    model.set_attn_implementation(IMPLEMENTATION)
    if model.config._attn_implementation != IMPLEMENTATION:
        raise UnsupportedModuleError(
            f"prefix_length: {type(model).__name__} does not let transformers switch its attention "
            "implementation, so prefix-tuning cannot be attached; set prefix_length to 0"
        )


# ----------------------------------------------------------------------------- peft export
def peft_version_problems(model_config: "PretrainedConfig") -> list[str]:
    """Why the installed peft cannot run prefix-tuning on this model's classes, or nothing.

    peft's prefix-tuning hands the prefix to the model as ``past_key_values``, and refuses
    ("Model does not support past key values") when neither the sequence-classification model
    nor its backbone takes that argument. transformers 5.24 renamed it (``cache``) in every
    family, so peft 0.21.2 cannot run prefix-tuning beside it: the export is refused then,
    naming both versions, rather than written for a model that cannot load it.
    """
    found = []
    for mapping in (modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING, modeling_auto.MODEL_MAPPING):
        try:
            found.append(mapping[type(model_config)])
        except KeyError:
            continue
    if any("past_key_values" in inspect.signature(cls.forward).parameters for cls in found):
        return []
    names = " and ".join(f"{cls.__name__}.forward" for cls in found) or "the model"
    return [f"prefix_length: peft {peft.__version__} passes the prefix as past_key_values, which {names} of "
            f"transformers {transformers.__version__} do not accept; peft's prefix-tuning cannot run with this pair "
            "of versions"]


def _peft_problems(config: "PeftConfig", info: "ModelInfo", layers: list[int]) -> list[str]:
    out = []
    lengths = sorted({layer.prefix_length for layer in config.layers})
    if len(layers) != config.num_layers or len(lengths) != 1:
        out.append(f"prefix_length {[layer.prefix_length for layer in config.layers]}: peft's prefix-tuning "
                   "has one length for every layer")
    if config.prefix_reparameterization != "none":
        out.append("prefix_reparameterization 'mlp': autopeft trains one MLP per layer, peft's "
                   "prefix_projection one MLP shared by all layers (another count)")
    if not info.family.supports_prefix:
        out.append(f"prefix_length: the {info.family.name} family does not support prefix-tuning")
    else:
        out.extend(peft_version_problems(info.config))
    return out


def _peft_config(config: "PeftConfig", info: "ModelInfo") -> "peft.PrefixTuningConfig":
    d = info.dims
    extra: dict[str, Any] = {}
    if info.family.name == "distilbert":  # peft cannot read these from DistilBERT's config keys
        extra = {"token_dim": d.hidden, "num_layers": d.num_layers, "num_attention_heads": d.num_heads,
                 "num_transformer_submodules": 1}
    return peft.PrefixTuningConfig(
        task_type="SEQ_CLS",
        num_virtual_tokens=config.layers[0].prefix_length,
        prefix_projection=False,
        modules_to_save=list(info.head_modules),
        base_model_name_or_path=info.name,
        **extra,
    )


# ----------------------------------------------------------------------------- adapters export
def _adapters_problems(config: "PeftConfig", info: "ModelInfo", layers: list[int]) -> list[str]:
    out = []
    if len({config.layers[i].prefix_length for i in layers}) != 1:
        out.append(f"prefix lengths {[config.layers[i].prefix_length for i in layers]} in layers {layers}: "
                   "AdapterHub's prefix-tuning has one length")
    if config.prefix_reparameterization != "none":
        out.append("prefix_reparameterization 'mlp': AdapterHub's MLP is shared by all layers, autopeft's is per layer")
    return out


def _adapters_entries(config: "PeftConfig", info: "ModelInfo") -> list[dict[str, Any]]:
    used = [i for i, layer in enumerate(config.layers) if layer.prefix_length]
    return [{
        "architecture": "prefix_tuning",
        "encoder_prefix": True,
        "cross_prefix": True,
        "leave_out": [i for i in range(config.num_layers) if i not in used],
        "flat": True,
        "prefix_length": config.layers[used[0]].prefix_length,
        "bottleneck_size": config.prefix_mlp_hidden,
        "non_linearity": "tanh",
        "dropout": 0.0,
        "use_gating": False,
        "shared_gating": True,
    }]


METHOD = register_method(PeftMethod(
    name="prefix",
    title="prefix-tuning",
    description="prefix-tuning (Li & Liang 2021): trainable key/value vectors prepended in self-attention.",
    fields=(LayerField("prefix_length", SIZE, label="P", column="prefix length", scalable=True,
                       description="number of trainable key/value vectors prepended in self-attention"),),
    knobs=(
        Knob("prefix_reparameterization", "none",
             "none: train the key/value vectors; mlp: train an embedding and a per-layer MLP that produces them",
             choices=PREFIX_REPARAMETERIZATIONS),
        Knob("prefix_mlp_hidden", 512, "hidden width of the prefix MLP", integer=True, positive=True),
    ),
    count=_count,
    inject=_inject,
    hook_order=50,
    unavailable=lambda family: None if family.supports_prefix else family.notes,
    finish=_finish,
    peft=ExportRule(problems=_peft_problems, build=_peft_config),
    adapters=ExportRule(problems=_adapters_problems, build=_adapters_entries),
))
