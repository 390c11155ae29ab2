"""LoRA (Hu et al. 2022): a low-rank update of chosen projections, a rank per layer and projection.

``y = base(x) + B(A(dropout(x))) * scaling``, with ``A`` Kaiming-uniform and ``B`` zero at
initialisation, exactly as HF peft's ``lora.Linear`` computes it (tested to 1e-5). The branch is
a forward hook on the frozen projection, which stays where it is, so the backbone's state-dict
keys do not change. For a fused projection (GPT-2's ``c_attn``) a branch writes only its slice
of the output.

Field ``lora``: ``{projection: rank}`` over :data:`autopeft.architectures.PROJECTIONS`. Knobs:
``lora_alpha`` with ``lora_alpha_rule`` (``fixed``: alpha / r as in HF peft; ``proportional``:
alpha whatever the rank; ``rslora``: alpha / sqrt(r)), and ``lora_dropout`` on LoRA's input.
Exports: peft ``LoraConfig`` (per-layer ranks through ``rank_pattern``), AdapterHub
``LoRAConfig`` (one rank and one set of projections). LoRA variants reuse this module's scaling,
slice helper and peft export (:func:`peft_lora_config` takes the field and extra arguments).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable, Mapping

from autopeft._lazy import lazy_module
from autopeft.architectures import PROJECTIONS, FusedSlice, ProjectionShape, projection_shape
from autopeft.methods.injectors import InjectionContext, Target, like, projection_targets
from autopeft.methods.registry import (
    RANKS,
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
    from torch import nn
    from transformers import PretrainedConfig

    from autopeft.backbone import Backbone
    from autopeft.config import LayerConfig, PeftConfig
    from autopeft.export.model_info import ModelInfo
else:
    torch = lazy_module("torch")
    peft = lazy_module("peft")

LORA_ALPHA_RULES = ("fixed", "proportional", "rslora")


# ----------------------------------------------------------------------------- torch module
def _define() -> dict[str, type]:
    nn = torch.nn

    class LoraBranch(nn.Module):
        """The low-rank update of one projection (or one slice of a fused projection)."""

        def __init__(self, in_features: int, out_features: int, rank: int, scaling: float, dropout: float,
                     out_slice: tuple[int, int] | None = None):
            super().__init__()
            self.lora_A = nn.Linear(in_features, rank, bias=False)
            self.lora_B = nn.Linear(rank, out_features, bias=False)
            self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
            self.scaling = scaling
            self.out_slice = out_slice
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)

        def delta(self, x: torch.Tensor) -> torch.Tensor:
            return self.lora_B(self.lora_A(self.dropout(x.to(self.lora_A.weight.dtype)))) * self.scaling

        def hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            return add_to_slice(output, self.delta(args[0]).to(output.dtype), self.out_slice)

    return {"LoraBranch": LoraBranch}


classes = TorchClasses(__name__, _define, ("LoraBranch",))
__getattr__ = classes.module_getattr


def add_to_slice(output: "torch.Tensor", delta: "torch.Tensor", out_slice: tuple[int, int] | None) -> "torch.Tensor":
    """``output + delta``, with ``delta`` covering only ``out_slice`` of the last dimension if given."""
    if out_slice is None:
        return output + delta
    start, end = out_slice
    return output + torch.nn.functional.pad(delta, (start, output.shape[-1] - end))


# ----------------------------------------------------------------------------- scaling and counts
def scaling(config: "PeftConfig", rank: int) -> float:
    """LoRA's output scale for ``rank`` under ``config``'s alpha rule."""
    if config.lora_alpha_rule == "fixed":
        return config.lora_alpha / rank
    if config.lora_alpha_rule == "proportional":
        return config.lora_alpha
    return config.lora_alpha / rank**0.5


def lora_params(model_config: "Backbone | PretrainedConfig | Mapping[str, Any]", projection: str, rank: int) -> int:
    """``A`` (rank x in) plus ``B`` (out x rank) for each module the projection names."""
    return rank_params(projection_shape(model_config, projection), rank) if rank else 0


def rank_params(shape: ProjectionShape, rank: int) -> int:
    """``A`` (rank x in) plus ``B`` (out x rank) for each module of a projection of ``shape``."""
    return shape.copies * rank * (shape.in_features + shape.out_features)


def ranks_count(ranks: Mapping[str, int], shapes: ModelShapes, per_module: Callable[[ProjectionShape, int], int]) -> int:
    """One layer's count of a rank-per-projection field (LoRA and its variants): ``per_module``
    of each projection's shape and rank, summed over the projections with a rank."""
    return sum(per_module(shapes.projection(p), r) for p, r in ranks.items() if r)


def _count(layer: "LayerConfig", config: "PeftConfig", shapes: ModelShapes) -> int:
    return ranks_count(layer.lora, shapes, rank_params)


# ----------------------------------------------------------------------------- injection
def inject_rank_branches(ctx: InjectionContext, index: int, layer: "nn.Module", field: str, ranks: Mapping[str, int],
                         make_branch: Callable[[Target, int], "nn.Module"]) -> None:
    """The injector of a rank-per-projection field (LoRA and its variants): for each projection
    with a rank, ``make_branch(target, rank)`` for every module the projection names, added to it
    as ``autopeft_<field>_<projection>[_<n>]`` and run as a forward hook on its output (the
    branch's ``hook``)."""
    for projection, rank in ranks.items():
        if rank == 0:
            continue
        for number, target in enumerate(projection_targets(ctx, layer, index, projection)):
            branch = make_branch(target, rank)
            suffix = f"_{number}" if number else ""
            target.module.add_module(f"autopeft_{field}_{projection}{suffix}", like(branch, target.module))
            ctx.handles.append(target.module.register_forward_hook(branch.hook))


def _inject(ctx: InjectionContext, index: int, layer: "nn.Module", layer_config: "LayerConfig") -> None:
    inject_rank_branches(ctx, index, layer, "lora", layer_config.lora, lambda target, rank: classes.LoraBranch(
        target.in_features, target.out_features, rank, scaling(ctx.config, rank), ctx.config.lora_dropout, target.out_slice))


# ----------------------------------------------------------------------------- peft export
def fused_slice_problems(config: "PeftConfig", info: "ModelInfo", field: str, label: str) -> list[str]:
    """Why peft cannot express a rank-per-projection field on GPT-2's fused query/key/value."""
    family = info.family
    sliced = [p for p in PROJECTIONS if isinstance(family.projections.get(p), FusedSlice)]
    used = sorted({i for i, layer in enumerate(config.layers) for p in sliced if getattr(layer, field).get(p)})
    if not used:
        return []
    return [f"{label} on {'/'.join(sliced)} in layers {used}: in {family.name} they are slices of the fused c_attn; "
            f"a peft {label} on c_attn has one A for all three and a B of width 3*hidden (another function and "
            "parameter count)"]


def peft_lora_config(config: "PeftConfig", info: "ModelInfo", field: str = "lora", **extra: Any) -> "peft.LoraConfig":
    """peft's ``LoraConfig`` for the ranks in ``field`` (``extra``: more ``LoraConfig`` arguments, for variants)."""
    from autopeft.export.peft_format import layers_pattern, plan_targets  # export imports the methods

    modules = {(i, p): r for i, layer in enumerate(config.layers) for p, r in getattr(layer, field).items() if r}
    targets, layers, ranks = plan_targets(info, modules, config.num_layers)
    r = Counter(ranks.values()).most_common(1)[0][0]
    rank_pattern = {name: rank for name, rank in ranks.items() if rank != r}
    alpha = config.lora_alpha
    alpha_pattern: dict[str, float] = {}
    if config.lora_alpha_rule == "proportional":
        alpha = config.lora_alpha * r
        alpha_pattern = {name: config.lora_alpha * rank for name, rank in ranks.items() if rank != r}
    return peft.LoraConfig(
        task_type="SEQ_CLS",
        r=r,
        lora_alpha=alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        layers_to_transform=layers,
        layers_pattern=layers_pattern(info) if layers else None,
        rank_pattern=rank_pattern,
        alpha_pattern=alpha_pattern,
        use_rslora=config.lora_alpha_rule == "rslora",
        fan_in_fan_out=info.family.conv1d,
        bias="none",
        init_lora_weights=True,
        modules_to_save=list(info.head_modules),
        base_model_name_or_path=info.name,
        **extra,
    )


# ----------------------------------------------------------------------------- adapters export
_MATRICES = {"query": "q", "key": "k", "value": "v"}


def _adapters_problems(config: "PeftConfig", info: "ModelInfo", layers: list[int]) -> list[str]:
    out = []
    shapes = {tuple(sorted((p, r) for p, r in config.layers[i].lora.items() if r)) for i in layers}
    ranks = {r for i in layers for r in config.layers[i].lora.values() if r}
    if len(shapes) != 1 or len(ranks) != 1:
        out.append(f"LoRA ranks per layer and projection in layers {layers}: AdapterHub's LoRA has one "
                   "rank and one set of projections for every layer it is in")
    with_output = [i for i in layers if config.layers[i].lora["attn_output"]]
    if with_output:
        out.append(f"LoRA on attn_output in layers {with_output}: AdapterHub's LoRA does not adapt the "
                   "attention output projection")
    if config.lora_alpha_rule == "rslora":
        out.append("lora_alpha_rule 'rslora': AdapterHub's LoRA scales by alpha / r")
    return out


def _adapters_entries(config: "PeftConfig", info: "ModelInfo") -> list[dict[str, Any]]:
    used = [i for i, layer in enumerate(config.layers) if any(layer.lora.values())]
    ranks = config.layers[used[0]].lora
    r = max(ranks.values())
    alpha = config.lora_alpha * r if config.lora_alpha_rule == "proportional" else config.lora_alpha
    return [{
        "architecture": "lora",
        "selfattn_lora": any(ranks[p] for p in _MATRICES),
        "intermediate_lora": bool(ranks["ffn_in"]),
        "output_lora": bool(ranks["ffn_out"]),
        "leave_out": [i for i in range(config.num_layers) if i not in used],
        "r": r,
        "alpha": int(alpha) if float(alpha).is_integer() else alpha,
        "dropout": config.lora_dropout,
        "attn_matrices": [m for p, m in _MATRICES.items() if ranks[p]],
        "composition_mode": "add",
        "init_weights": "lora",
        "use_gating": False,
    }]


METHOD = register_method(PeftMethod(
    name="lora",
    title="LoRA",
    description="LoRA (Hu et al. 2022): low-rank updates B A of chosen projections, B zero-initialised.",
    fields=(LayerField("lora", RANKS, label="LoRA", column="LoRA",
                       description="LoRA rank per projection (query, key, value, attn_output, ffn_in, ffn_out)"),),
    knobs=(
        Knob("lora_alpha", 16.0, "LoRA's alpha; the scale is alpha / r under the fixed rule", positive=True),
        Knob("lora_alpha_rule", "fixed", "fixed: alpha / r (HF peft); proportional: alpha; rslora: alpha / sqrt(r)",
             choices=LORA_ALPHA_RULES),
        Knob("lora_dropout", 0.0, "dropout on LoRA's input", below=1.0, fix="use 0 for no dropout"),
    ),
    count=_count,
    inject=_inject,
    hook_order=10,
    peft=ExportRule(problems=lambda config, info, layers: fused_slice_problems(config, info, "lora", "LoRA"),
                    build=peft_lora_config),
    adapters=ExportRule(problems=_adapters_problems, build=_adapters_entries),
))
