"""DoRA (Liu et al. 2024): weight-decomposed LoRA, a rank per layer and projection.

DoRA splits a projection's weight ``W`` (out x in) into a magnitude and a direction and adapts the
direction with LoRA: ``W' = m * (W + s B A) / ||W + s B A||``, the norm taken per output row, ``m``
a trainable vector of one value per output feature, initialised to ``||W||`` so that ``W' = W``
while ``B`` is zero. As HF peft's ``LoraConfig(use_dora=True)`` (and section 4.3 of the paper),
the norm is treated as a constant: it follows ``B A`` but gets no gradient. The forward hook adds

    (m / ||W + s B A|| - 1) * (x W^T) + (m / ||W + s B A||) * s * B A x

to the projection's output, ``x`` after LoRA's dropout; the bias is left as it is. ``x W^T`` is
recomputed from the frozen weight, so what other hooks add to the output is not rescaled.

Field ``dora``: ``{projection: rank}`` like ``lora``; it reads LoRA's knobs (``lora_alpha``,
``lora_alpha_rule``, ``lora_dropout``), so ``s`` is LoRA's scale for the rank. Parameters per
adapted module: ``rank * (in + out)`` for ``A`` and ``B`` plus ``out`` for ``m``. Exports: peft
``LoraConfig(use_dora=True)`` with LoRA's targets and rank pattern (tested to 1e-5 against
:func:`autopeft.apply`); AdapterHub's export refuses it (see ``_ADAPTERS_REASON``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from autopeft._lazy import lazy_module
from autopeft.architectures import ProjectionShape, projection_shape
from autopeft.methods import lora
from autopeft.methods.injectors import InjectionContext, is_conv1d
from autopeft.methods.registry import (
    RANKS,
    ExportRule,
    LayerField,
    ModelShapes,
    PeftMethod,
    TorchClasses,
    refused,
    register_method,
)

if TYPE_CHECKING:
    import torch
    from torch import nn
    from transformers import PretrainedConfig

    from autopeft.backbone import Backbone
    from autopeft.config import LayerConfig, PeftConfig
else:
    torch = lazy_module("torch")


def _weight_rows(module: "nn.Module", out_slice: tuple[int, int] | None) -> "torch.Tensor":
    """The (out x in) weight of ``module`` (GPT-2's Conv1D stores in x out), only the rows of ``out_slice``."""
    weight = module.weight.t() if is_conv1d(module) else module.weight
    return weight if out_slice is None else weight[out_slice[0]:out_slice[1]]


# ----------------------------------------------------------------------------- torch module
def _define() -> dict[str, type]:
    nn = torch.nn

    class DoraBranch(lora.classes.LoraBranch):
        """DoRA's update of one projection (or one slice of a fused projection): LoRA's ``A``,
        ``B`` and dropout, initialised as LoRA's, plus the magnitude vector."""

        def __init__(self, base: nn.Module, in_features: int, out_features: int, rank: int, scaling: float,
                     dropout: float, out_slice: tuple[int, int] | None = None):
            super().__init__(in_features, out_features, rank, scaling, dropout, out_slice)
            with torch.no_grad():  # in the weight's dtype, as the hook computes it: m / norm is 1 at init
                norm = torch.linalg.norm(_weight_rows(base, out_slice), dim=1)
            self.magnitude = nn.Parameter(norm.clone())

        def hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            x = self.dropout(args[0].to(self.lora_A.weight.dtype))
            weight = _weight_rows(module, self.out_slice).to(x.dtype)
            update = (self.lora_B.weight @ self.lora_A.weight).detach()
            norm = torch.linalg.norm(weight + self.scaling * update, dim=1).detach()
            scale = self.magnitude / norm
            delta = (scale - 1) * nn.functional.linear(x, weight) + scale * self.lora_B(self.lora_A(x)) * self.scaling
            return lora.add_to_slice(output, delta.to(output.dtype), self.out_slice)

    return {"DoraBranch": DoraBranch}


classes = TorchClasses(__name__, _define, ("DoraBranch",))
__getattr__ = classes.module_getattr


# ----------------------------------------------------------------------------- count, injection
def _params(shape: ProjectionShape, rank: int) -> int:
    """LoRA's ``A`` and ``B`` plus the magnitude vector (one per output feature), per module."""
    return lora.rank_params(shape, rank) + shape.copies * shape.out_features


def dora_params(model_config: "Backbone | PretrainedConfig | Mapping[str, Any]", projection: str, rank: int) -> int:
    """DoRA's parameters on one projection of rank ``rank``, from the transformers config."""
    return _params(projection_shape(model_config, projection), rank) if rank else 0


def _count(layer: "LayerConfig", config: "PeftConfig", shapes: ModelShapes) -> int:
    return lora.ranks_count(layer.dora, shapes, _params)


def _inject(ctx: InjectionContext, index: int, layer: "nn.Module", layer_config: "LayerConfig") -> None:
    lora.inject_rank_branches(ctx, index, layer, "dora", layer_config.dora, lambda target, rank: classes.DoraBranch(
        target.module, target.in_features, target.out_features, rank, lora.scaling(ctx.config, rank),
        ctx.config.lora_dropout, target.out_slice))


_ADAPTERS_REASON = (
    "AdapterHub's DoRA (LoRAConfig(use_dora=True), new in adapters 1.3 for transformers 4.57) is not mapped: "
    "autopeft has not checked that it computes this function and count; export it with peft"
)

METHOD = register_method(PeftMethod(
    name="dora",
    title="DoRA",
    description="DoRA (Liu et al. 2024): LoRA on the direction of a projection's weight plus a learnable magnitude vector.",
    fields=(LayerField("dora", RANKS, label="DoRA", column="DoRA",
                       description="DoRA rank per projection (query, key, value, attn_output, ffn_in, ffn_out)"),),
    uses_knobs=("lora_alpha", "lora_alpha_rule", "lora_dropout"),
    count=_count,
    inject=_inject,
    hook_order=10,
    peft=ExportRule(problems=lambda config, info, layers: lora.fused_slice_problems(config, info, "dora", "DoRA"),
                    build=lambda config, info: lora.peft_lora_config(config, info, field="dora", use_dora=True)),
    adapters=refused(lambda config, info, layers: f"dora in layers {layers}: {_ADAPTERS_REASON}"),
))
