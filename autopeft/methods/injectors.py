"""Attach each PEFT method's modules to one transformer layer, as the family table says."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from autopeft.architectures import Dims, Family, FusedSlice
from autopeft.config import LayerConfig, PeftConfig
from autopeft.errors import ArchitectureError
from autopeft.methods.bottleneck import ParallelAdapter, SerialAdapter
from autopeft.methods.ia3 import IA3Vector
from autopeft.methods.lora import LoraBranch
from autopeft.methods.prefix import Prefix, attach


@dataclass
class InjectionContext:
    """What every injector needs: the family table row, sizes, the config and hook handles."""

    family: Family
    dims: Dims
    config: PeftConfig
    handles: list[Any] = field(default_factory=list)


def resolve(root: nn.Module, path: str, where: str) -> nn.Module:
    """``root``'s submodule at dotted ``path``; a missing name raises with the names that exist."""
    module = root
    walked: list[str] = []
    for part in path.split("."):
        children = dict(module.named_children())
        if part not in children:
            inside = ".".join(walked) or "(layer)"
            existing = [name for name, _ in root.named_modules() if name][:40]
            raise ArchitectureError(
                f"{where}: no module {path!r} (missing {part!r} under {inside}, which has {sorted(children)}); "
                f"modules that exist: {existing}"
            )
        module = children[part]
        walked.append(part)
    return module


def _features(module: nn.Module, where: str) -> tuple[int, int]:
    if isinstance(module, nn.Linear):
        return module.in_features, module.out_features
    if type(module).__name__ == "Conv1D":  # transformers' GPT-2 Conv1D stores weight as (in, out)
        return tuple(module.weight.shape)  # type: ignore[return-value]
    raise ArchitectureError(
        f"{where}: resolved to {type(module).__name__}, not a linear projection; the table entry is "
        f"ambiguous for this model (children: {[n for n, _ in module.named_children()]})"
    )


@dataclass
class Target:
    """One module a projection names, with the output slice it owns (fused projections)."""

    module: nn.Module
    in_features: int
    out_features: int
    out_slice: tuple[int, int] | None


def projection_targets(ctx: InjectionContext, layer: nn.Module, index: int, projection: str) -> list[Target]:
    where = f"{ctx.family.name} layer {index} projection {projection!r}"
    paths = ctx.family.projection_paths(projection)
    if isinstance(paths, FusedSlice):
        module = resolve(layer, paths.module, where)
        in_f, out_f = _features(module, where)
        width = out_f // 3
        start = paths.index * width
        return [Target(module, in_f, width, (start, start + width))]
    targets = []
    for path in paths:
        module = resolve(layer, path, where)
        in_f, out_f = _features(module, where)
        targets.append(Target(module, in_f, out_f, None))
    return targets


def _like(new: nn.Module, reference: nn.Module) -> nn.Module:
    weight = next(reference.parameters())
    return new.to(device=weight.device, dtype=weight.dtype)


def inject_lora(ctx: InjectionContext, index: int, layer: nn.Module, layer_config: LayerConfig) -> None:
    for projection, rank in layer_config.lora.items():
        if rank == 0:
            continue
        for number, target in enumerate(projection_targets(ctx, layer, index, projection)):
            branch = LoraBranch(target.in_features, target.out_features, rank, ctx.config.lora_scaling(rank),
                                ctx.config.lora_dropout, target.out_slice)
            suffix = f"_{number}" if number else ""
            target.module.add_module(f"autopeft_lora_{projection}{suffix}", _like(branch, target.module))
            ctx.handles.append(target.module.register_forward_hook(branch.hook))


def inject_ia3(ctx: InjectionContext, index: int, layer: nn.Module, layer_config: LayerConfig) -> None:
    if not layer_config.ia3:
        return
    for projection in ("key", "value"):
        (target,) = projection_targets(ctx, layer, index, projection)
        total = None if target.out_slice is None else 3 * target.out_features
        start = None if target.out_slice is None else target.out_slice[0]
        vector = _like(IA3Vector(target.out_features, start, total), target.module)
        target.module.add_module(f"autopeft_ia3_{projection}", vector)
        ctx.handles.append(target.module.register_forward_hook(vector.output_hook))
    (ffn_out,) = projection_targets(ctx, layer, index, "ffn_out")
    vector = _like(IA3Vector(ffn_out.in_features), ffn_out.module)
    ffn_out.module.add_module("autopeft_ia3_ffn", vector)
    ctx.handles.append(ffn_out.module.register_forward_pre_hook(vector.input_hook))


def inject_parallel_adapter(ctx: InjectionContext, index: int, layer: nn.Module, layer_config: LayerConfig) -> None:
    if not layer_config.parallel_adapter:
        return
    where = f"{ctx.family.name} layer {index} FFN block"
    block = resolve(layer, ctx.family.ffn_block, where)
    (ffn_out,) = projection_targets(ctx, layer, index, "ffn_out")
    adapter = ParallelAdapter(ctx.dims.hidden, layer_config.parallel_adapter, ctx.config.adapter_activation,
                              ctx.config.parallel_adapter_scaling)
    layer.add_module("autopeft_parallel_adapter", _like(adapter, ffn_out.module))
    ctx.handles.append(block.register_forward_pre_hook(adapter.capture_input, with_kwargs=True))
    ctx.handles.append(ffn_out.module.register_forward_hook(adapter.hook))


def _serial(ctx: InjectionContext, index: int, layer: nn.Module, size: int, projection: str, name: str) -> None:
    if not size:
        return
    (target,) = projection_targets(ctx, layer, index, projection)
    adapter = _like(SerialAdapter(ctx.dims.hidden, size, ctx.config.adapter_activation), target.module)
    layer.add_module(name, adapter)
    ctx.handles.append(target.module.register_forward_hook(adapter.hook))


def inject_serial_adapter(ctx: InjectionContext, index: int, layer: nn.Module, layer_config: LayerConfig) -> None:
    _serial(ctx, index, layer, layer_config.serial_adapter, "ffn_out", "autopeft_serial_adapter")


def inject_serial_adapter_attn(ctx: InjectionContext, index: int, layer: nn.Module, layer_config: LayerConfig) -> None:
    _serial(ctx, index, layer, layer_config.serial_adapter_attn, "attn_output", "autopeft_serial_adapter_attn")


def inject_prefix(ctx: InjectionContext, index: int, layer: nn.Module, layer_config: LayerConfig) -> None:
    if not layer_config.prefix_length:
        return
    attention = resolve(layer, ctx.family.attention, f"{ctx.family.name} layer {index} attention")
    d = ctx.dims
    prefix = Prefix(layer_config.prefix_length, d.num_kv_heads, d.head_dim, d.hidden,
                    ctx.config.prefix_reparameterization, ctx.config.prefix_mlp_hidden)
    attach(attention, _like(prefix, attention))
