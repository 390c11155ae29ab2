"""(IA)^3 (Liu et al. 2022): learned rescaling vectors, initialised to ones (identity).

Keys and values are rescaled at the output of their projections; the FFN is rescaled at the
input of its output projection (its intermediate activation), as HF peft does. Field ``ia3``: a
flag per layer. Exports: peft ``IA3Config`` (the FFN output projection in
``feedforward_modules``); AdapterHub's (IA)^3 scales another tensor, so that export refuses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from autopeft._lazy import lazy_module
from autopeft.architectures import Dims, FusedSlice, dims_of
from autopeft.methods.injectors import InjectionContext, like, projection_targets
from autopeft.methods.registry import FLAG, ExportRule, LayerField, PeftMethod, TorchClasses, refused, register_method

if TYPE_CHECKING:
    import peft
    import torch
    from torch import nn
    from transformers import PretrainedConfig

    from autopeft.backbone import Backbone
    from autopeft.config import LayerConfig, PeftConfig
    from autopeft.export.model_info import ModelInfo
else:
    torch = lazy_module("torch")
    peft = lazy_module("peft")

#: The projections whose output (key, value) or input (ffn_out) is rescaled.
SCALED = ("key", "value", "ffn_out")


# ----------------------------------------------------------------------------- torch module
def _define() -> dict[str, type]:
    nn = torch.nn

    class IA3Vector(nn.Module):
        """A trainable vector ``l`` of ``size`` ones; scales the slice ``[start, start+size)`` of a tensor."""

        def __init__(self, size: int, start: int | None = None, total: int | None = None):
            super().__init__()
            self.ia3_l = nn.Parameter(torch.ones(size))
            self.start = start
            self.total = total

        def scale(self, x: torch.Tensor) -> torch.Tensor:
            l = self.ia3_l.to(x.dtype)
            if self.start is None:
                return x * l
            ones_before = torch.ones(self.start, dtype=x.dtype, device=x.device)
            ones_after = torch.ones(self.total - self.start - l.shape[0], dtype=x.dtype, device=x.device)
            return x * torch.cat([ones_before, l, ones_after])

        def output_hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            return self.scale(output)

        def input_hook(self, module: nn.Module, args: tuple) -> tuple:
            return (self.scale(args[0]), *args[1:])

    return {"IA3Vector": IA3Vector}


classes = TorchClasses(__name__, _define, ("IA3Vector",))
__getattr__ = classes.module_getattr


def ia3_params(model_config: "Backbone | PretrainedConfig | Mapping[str, Any]") -> int:
    """Key and value rescaling vectors plus the FFN intermediate rescaling vector."""
    return _vector_lengths(dims_of(model_config))


def _vector_lengths(d: Dims) -> int:
    return 2 * d.kv_dim + d.intermediate


def _inject(ctx: InjectionContext, index: int, layer: "nn.Module", layer_config: "LayerConfig") -> None:
    for projection in ("key", "value"):
        (target,) = projection_targets(ctx, layer, index, projection)
        total = None if target.out_slice is None else 3 * target.out_features
        start = None if target.out_slice is None else target.out_slice[0]
        vector = like(classes.IA3Vector(target.out_features, start, total), target.module)
        target.module.add_module(f"autopeft_ia3_{projection}", vector)
        ctx.handles.append(target.module.register_forward_hook(vector.output_hook))
    (ffn_out,) = projection_targets(ctx, layer, index, "ffn_out")
    vector = like(classes.IA3Vector(ffn_out.in_features), ffn_out.module)
    ffn_out.module.add_module("autopeft_ia3_ffn", vector)
    ctx.handles.append(ffn_out.module.register_forward_pre_hook(vector.input_hook))


# ----------------------------------------------------------------------------- exports
def _peft_problems(config: "PeftConfig", info: "ModelInfo", layers: list[int]) -> list[str]:
    family = info.family
    if isinstance(family.projections.get("key"), FusedSlice):
        return [f"ia3 in layers {layers}: {family.name}'s key and value are slices of the fused "
                "c_attn; peft's (IA)^3 on c_attn would scale the queries too (another count)"]
    return []


def _peft_config(config: "PeftConfig", info: "ModelInfo") -> "peft.IA3Config":
    from autopeft.export.peft_format import plan_targets  # export imports the methods

    modules = {(i, p): 1 for i, layer in enumerate(config.layers) if layer.ia3 for p in SCALED}
    targets, _, _ = plan_targets(info, modules, config.num_layers, layer_subsets=False)
    ffn_paths = set(info.family.projection_paths("ffn_out"))
    feedforward = [t for t in targets if any(t == f or t.endswith("." + f) for f in ffn_paths)]
    return peft.IA3Config(
        task_type="SEQ_CLS",
        target_modules=targets,
        feedforward_modules=feedforward,
        fan_in_fan_out=info.family.conv1d,
        modules_to_save=list(info.head_modules),
        base_model_name_or_path=info.name,
    )


METHOD = register_method(PeftMethod(
    name="ia3",
    title="(IA)^3",
    description="(IA)^3 (Liu et al. 2022): learned rescaling of keys, values and the FFN's intermediate activation.",
    fields=(LayerField("ia3", FLAG, label="IA3", column="(IA)^3",
                       description="(IA)^3 rescaling of keys, values and the FFN's intermediate activation"),),
    count=lambda layer, config, shapes: _vector_lengths(shapes.dims),
    inject=_inject,
    hook_order=20,
    peft=ExportRule(problems=_peft_problems, build=_peft_config),
    adapters=refused(lambda config, info, layers: (
        f"ia3 in layers {layers}: AdapterHub's (IA)^3 scales the FFN input projection's output, "
        "before the activation, instead of the activation")),
))
