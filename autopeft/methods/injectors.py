"""What every method's injector shares: the injection context and the family table's lookups.

An injector (``PeftMethod.inject``) receives an :class:`InjectionContext`, a layer index, the
layer module and its ``LayerConfig``, and attaches that method's modules (named ``autopeft_*``)
and hooks. It finds the modules it attaches to through :func:`resolve` and
:func:`projection_targets`, which read the family table (``autopeft/architectures.py``) and raise
with the names that exist when a path does not resolve.

Method modules import this module when they are declared, before any model exists, so torch is a
lazy module here (:func:`autopeft._lazy.lazy_module`): imported on the first injection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autopeft._lazy import lazy_module
from autopeft.architectures import Dims, Family, FusedSlice
from autopeft.errors import ArchitectureError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from torch.utils.hooks import RemovableHandle

    from autopeft.config import PeftConfig
else:
    torch = lazy_module("torch")


@dataclass
class InjectionContext:
    """What every injector needs: the family table row, sizes, the config and hook handles."""

    family: Family
    dims: Dims
    config: "PeftConfig"
    handles: list["RemovableHandle"] = field(default_factory=list)


def resolve(root: "nn.Module", path: str, where: str) -> "nn.Module":
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


def is_conv1d(module: "nn.Module") -> bool:
    """transformers' GPT-2 ``Conv1D``, which stores its weight as (in, out)."""
    return type(module).__name__ == "Conv1D"


def _features(module: "nn.Module", where: str) -> tuple[int, int]:
    if isinstance(module, torch.nn.Linear):
        return module.in_features, module.out_features
    if is_conv1d(module):
        return tuple(module.weight.shape)  # type: ignore[return-value]
    raise ArchitectureError(
        f"{where}: resolved to {type(module).__name__}, not a linear projection; the table entry is "
        f"ambiguous for this model (children: {[n for n, _ in module.named_children()]})"
    )


@dataclass
class Target:
    """One module a projection names, with the output slice it owns (fused projections)."""

    module: "nn.Module"
    in_features: int
    out_features: int
    out_slice: tuple[int, int] | None


def projection_targets(ctx: InjectionContext, layer: "nn.Module", index: int, projection: str) -> list[Target]:
    """The modules that ``projection`` names in one layer (several for Llama's ``ffn_in``)."""
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


def like(new: "nn.Module", reference: "nn.Module") -> "nn.Module":
    """``new`` moved to the device and dtype of ``reference``'s weights."""
    weight = next(reference.parameters())
    return new.to(device=weight.device, dtype=weight.dtype)
