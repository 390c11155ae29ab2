"""The ``peft`` format: an HF peft ``adapter_config.json`` that builds exactly the study's modules.

A peft adapter is one method, so a configuration exports when exactly one registered method is
used and that method's peft rule (``PeftMethod.peft`` in ``autopeft/methods/<name>.py``) finds
no problem; its ``build`` makes the peft config object (``LoraConfig``, ``IA3Config``,
``PrefixTuningConfig``...), with the same modules, shapes and parameter count as
:func:`autopeft.apply` (and for the LoRA family the same function: ``tests/test_lora_parity.py``
and each method's own tests). The task head is listed in ``modules_to_save`` so it trains, as in
the study.

What peft cannot express raises :class:`InexpressibleError` naming each part: every method's
problems (a method peft has no counterpart for says so), mixtures of methods, and an empty
configuration. This module also names peft's target modules for the methods' builders
(:func:`plan_targets`): each (layer, projection) is one target module, named by its path below
``model.base_model`` (``encoder.layer.3.attention.self.query``), a suffix peft matches whether the
adapter is loaded on the task model or the bare encoder; when every layer has the same values and
the projection names are unambiguous, the compact form ``target_modules`` = projection paths,
``layers_to_transform`` = those layers is used instead.
"""

from __future__ import annotations

from typing import Any

from autopeft.architectures import PROJECTIONS, FusedSlice
from autopeft.config import PeftConfig
from autopeft.export import adapters_format
from autopeft.export.errors import InexpressibleError
from autopeft.export.model_info import ModelInfo
from autopeft.methods import prefix as _prefix_method
from autopeft.methods.registry import REGISTRY

ADAPTER_CONFIG = "adapter_config.json"
ALTERNATIVES = ["autopeft"]


def _methods(config: PeftConfig) -> dict[str, list[int]]:
    """Method name -> layers that use it (only methods present), registry order."""
    return REGISTRY.used(config)


def problems(config: PeftConfig, info: ModelInfo) -> list[str]:
    """Every part of ``config`` that peft cannot express (empty when it can express it all)."""
    used = _methods(config)
    out = REGISTRY.export_problems(config, info, used, "peft", "peft has no")
    exportable = [m.name for m in REGISTRY.in_hook_order() if m.name in used and m.peft.build is not None]
    if len(exportable) > 1:
        out.append(f"the mixture of {' + '.join(exportable)}: a peft adapter is one method")
    if not used:
        out.append("the configuration has no PEFT modules")
    return out


#: Kept importable from here; it belongs to the prefix method.
prefix_version_problems = _prefix_method.peft_version_problems


def check(config: PeftConfig, info: ModelInfo) -> None:
    found = problems(config, info)
    if found:
        alternatives = list(ALTERNATIVES)
        if not adapters_format.problems(config, info):
            alternatives.append("adapters")
        raise InexpressibleError("peft", found, alternatives)


# ----------------------------------------------------------------------------- naming
def module_paths(info: ModelInfo, layer: int, projection: str) -> list[str]:
    """Paths of the modules a projection names in one layer, relative to ``model.base_model``."""
    paths = info.family.projection_paths(projection)
    return [f"{info.family.layers}.{layer}.{path}" for path in paths]


def _table_paths(info: ModelInfo) -> list[str]:
    family = info.family
    paths = [family.attention, family.ffn_block]
    for value in family.projections.values():
        paths.extend([value.module] if isinstance(value, FusedSlice) else value)
    return paths


def _unambiguous(info: ModelInfo, suffixes: list[str]) -> bool:
    """No other module of a layer ends with ``.<suffix>`` (BERT's ``output.dense`` would
    also match ``attention.output.dense``)."""
    table = _table_paths(info)
    return all(not (other != suffix and other.endswith("." + suffix)) for suffix in suffixes for other in table)


def plan_targets(info: ModelInfo, modules: dict[tuple[int, str], int], num_layers: int,
                 *, layer_subsets: bool = True) -> tuple[Any, list[int] | None, dict[str, int]]:
    """(target_modules, layers_to_transform, {target name: value}) for (layer, projection) -> value.

    ``layer_subsets=False``: the config class has no ``layers_to_transform`` (IA3Config), so the
    compact form is used only when every layer is targeted."""
    layers = sorted({layer for layer, _ in modules})
    projections = sorted({p for _, p in modules}, key=PROJECTIONS.index)
    per_layer = {layer: {p: v for (l, p), v in modules.items() if l == layer} for layer in layers}
    uniform = all(per_layer[layer] == per_layer[layers[0]] for layer in layers)
    suffixes = {p: list(info.family.projection_paths(p)) for p in projections}
    flat = [s for p in projections for s in suffixes[p]]
    if uniform and _unambiguous(info, flat) and (layer_subsets or len(layers) == num_layers):
        values = {s: per_layer[layers[0]][p] for p in projections for s in suffixes[p]}
        return flat, (layers if len(layers) < num_layers else None), values
    values = {}
    for (layer, projection), value in sorted(modules.items(), key=lambda kv: (kv[0][0], PROJECTIONS.index(kv[0][1]))):
        for path in module_paths(info, layer, projection):
            values[path] = value
    return list(values), None, values


def layers_pattern(info: ModelInfo) -> str:
    return info.family.layers.split(".")[-1]


def to_peft(config: PeftConfig, info: ModelInfo) -> Any:
    """The ``peft`` config object for ``config`` (raises :class:`InexpressibleError`)."""
    config.check_compatible(info.backbone)
    check(config, info)
    (method,) = _methods(config)
    return REGISTRY.get(method).peft.build(config, info)


def write(config: PeftConfig, info: ModelInfo, out_dir: str) -> list[str]:
    """Write ``adapter_config.json`` with peft's ``save_pretrained``; returns the file names."""
    to_peft(config, info).save_pretrained(out_dir)
    return [ADAPTER_CONFIG]
