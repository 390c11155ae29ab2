"""The ``peft`` format: an HF peft ``adapter_config.json`` that builds exactly the study's modules.

Mapping (every case below gives the same modules, shapes and parameter count as
:func:`autopeft.apply`, and for LoRA the same function, see ``tests/test_lora_parity.py``):

* LoRA only: ``LoraConfig``. Each (layer, projection) with a rank is one target module, named by
  its path below ``model.base_model`` (``encoder.layer.3.attention.self.query``), a suffix peft
  matches whether the adapter is loaded on the task model or the bare encoder. When every LoRA
  layer has the same ranks and the projection names are unambiguous, the compact form is used
  instead: ``target_modules`` = projection paths, ``layers_to_transform`` = those layers.
  ``r`` is the most common rank, ``rank_pattern`` gives the others; the alpha rule maps to
  ``lora_alpha`` (fixed), ``use_rslora`` (rslora) or ``alpha_pattern`` = alpha x rank
  (proportional: scaling alpha for every rank).
* (IA)^3 only: ``IA3Config`` on the key, value and FFN output projections of the chosen layers,
  the FFN output projection in ``feedforward_modules`` (its input is scaled).
* Prefix only, same length in every layer, ``prefix_reparameterization="none"``:
  ``PrefixTuningConfig(num_virtual_tokens=length, prefix_projection=False)``.

The task head is listed in ``modules_to_save`` so it trains, as in the study. What peft cannot
express raises :class:`InexpressibleError` naming each part: bottleneck adapters (peft has none),
GPT-2's query/key/value (slices of the fused ``c_attn``: a peft LoRA on ``c_attn`` has one ``A``
for all three and a ``B`` of width 3h, so another function and count), per-layer or MLP
prefixes, and mixtures of methods (a peft adapter is one method).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from autopeft.architectures import PROJECTIONS, FusedSlice
from autopeft.config import PeftConfig
from autopeft.export.errors import InexpressibleError
from autopeft.export.model_info import ModelInfo

ADAPTER_CONFIG = "adapter_config.json"
ALTERNATIVES = ["autopeft"]


def _layers_with(config: PeftConfig, predicate) -> list[int]:
    return [i for i, layer in enumerate(config.layers) if predicate(layer)]


def _methods(config: PeftConfig) -> dict[str, list[int]]:
    """Method name -> layers that use it (only methods present)."""
    found = {
        "serial_adapter": _layers_with(config, lambda l: l.serial_adapter),
        "serial_adapter_attn": _layers_with(config, lambda l: l.serial_adapter_attn),
        "parallel_adapter": _layers_with(config, lambda l: l.parallel_adapter),
        "prefix": _layers_with(config, lambda l: l.prefix_length),
        "lora": _layers_with(config, lambda l: any(l.lora.values())),
        "ia3": _layers_with(config, lambda l: l.ia3),
    }
    return {name: layers for name, layers in found.items() if layers}


def problems(config: PeftConfig, info: ModelInfo) -> list[str]:
    """Every part of ``config`` that peft cannot express (empty when it can express it all)."""
    family = info.family
    methods = _methods(config)
    out = []
    for name in ("serial_adapter", "serial_adapter_attn", "parallel_adapter"):
        if name in methods:
            out.append(f"{name} (bottleneck adapter) in layers {methods[name]}: peft has no bottleneck adapters; "
                       "the adapters format expresses them")
    if "prefix" in methods:
        lengths = sorted({layer.prefix_length for layer in config.layers})
        if len(methods["prefix"]) != config.num_layers or len(lengths) != 1:
            out.append(f"prefix_length {[layer.prefix_length for layer in config.layers]}: peft's prefix-tuning "
                       "has one length for every layer")
        if config.prefix_reparameterization != "none":
            out.append("prefix_reparameterization 'mlp': autopeft trains one MLP per layer, peft's "
                       "prefix_projection one MLP shared by all layers (another count)")
        if not family.supports_prefix:
            out.append(f"prefix_length: the {family.name} family does not support prefix-tuning")
        else:
            out.extend(prefix_version_problems(info.config))
    if isinstance(family.projections.get("query"), FusedSlice):
        sliced = [p for p in PROJECTIONS if isinstance(family.projections.get(p), FusedSlice)]
        lora_sliced = sorted({i for i, layer in enumerate(config.layers) for p in sliced if layer.lora.get(p)})
        if lora_sliced:
            out.append(f"LoRA on {'/'.join(sliced)} in layers {lora_sliced}: in {family.name} they are slices of the "
                       "fused c_attn; a peft LoRA on c_attn has one A for all three and a B of width 3*hidden "
                       "(another function and parameter count)")
        if "ia3" in methods:
            out.append(f"ia3 in layers {methods['ia3']}: {family.name}'s key and value are slices of the fused "
                       "c_attn; peft's (IA)^3 on c_attn would scale the queries too (another count)")
    kinds = [name for name in ("lora", "ia3", "prefix") if name in methods]
    if len(kinds) > 1:
        out.append(f"the mixture of {' + '.join(kinds)}: a peft adapter is one method")
    if not methods:
        out.append("the configuration has no PEFT modules")
    return out


def prefix_version_problems(model_config: Any) -> list[str]:
    """Why the installed peft cannot run prefix-tuning on this model's classes, or nothing.

    peft's prefix-tuning hands the prefix to the model as ``past_key_values``, and refuses
    ("Model does not support past key values") when neither the sequence-classification model
    nor its backbone takes that argument. transformers 5.24 renamed it (``cache``) in every
    family, so peft 0.21.2 cannot run prefix-tuning beside it: the export is refused then,
    naming both versions, rather than written for a model that cannot load it.
    """
    import inspect

    import peft
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING, MODEL_MAPPING

    classes = []
    for mapping in (MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING, MODEL_MAPPING):
        try:
            classes.append(mapping[type(model_config)])
        except KeyError:
            continue
    if any("past_key_values" in inspect.signature(cls.forward).parameters for cls in classes):
        return []
    names = " and ".join(f"{cls.__name__}.forward" for cls in classes) or "the model"
    return [f"prefix_length: peft {peft.__version__} passes the prefix as past_key_values, which {names} of "
            f"transformers {transformers.__version__} do not accept; peft's prefix-tuning cannot run with this pair "
            "of versions"]


def check(config: PeftConfig, info: ModelInfo) -> None:
    found = problems(config, info)
    if found:
        alternatives = list(ALTERNATIVES)
        from autopeft.export.adapters_format import problems as adapters_problems

        if not adapters_problems(config, info):
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


def _plan(info: ModelInfo, modules: dict[tuple[int, str], int], num_layers: int,
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


def _layers_pattern(info: ModelInfo) -> str:
    return info.family.layers.split(".")[-1]


def _lora(config: PeftConfig, info: ModelInfo) -> Any:
    from peft import LoraConfig

    modules = {(i, p): r for i, layer in enumerate(config.layers) for p, r in layer.lora.items() if r}
    targets, layers, ranks = _plan(info, modules, config.num_layers)
    r = Counter(ranks.values()).most_common(1)[0][0]
    rank_pattern = {name: rank for name, rank in ranks.items() if rank != r}
    alpha = config.lora_alpha
    alpha_pattern: dict[str, float] = {}
    if config.lora_alpha_rule == "proportional":
        alpha = config.lora_alpha * r
        alpha_pattern = {name: config.lora_alpha * rank for name, rank in ranks.items() if rank != r}
    return LoraConfig(
        task_type="SEQ_CLS",
        r=r,
        lora_alpha=alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        layers_to_transform=layers,
        layers_pattern=_layers_pattern(info) if layers else None,
        rank_pattern=rank_pattern,
        alpha_pattern=alpha_pattern,
        use_rslora=config.lora_alpha_rule == "rslora",
        fan_in_fan_out=info.family.conv1d,
        bias="none",
        init_lora_weights=True,
        modules_to_save=list(info.head_modules),
        base_model_name_or_path=info.name,
    )


def _ia3(config: PeftConfig, info: ModelInfo) -> Any:
    from peft import IA3Config

    modules = {(i, p): 1 for i, layer in enumerate(config.layers) if layer.ia3 for p in ("key", "value", "ffn_out")}
    targets, _, _ = _plan(info, modules, config.num_layers, layer_subsets=False)
    ffn_paths = set(info.family.projection_paths("ffn_out"))
    feedforward = [t for t in targets if any(t == f or t.endswith("." + f) for f in ffn_paths)]
    return IA3Config(
        task_type="SEQ_CLS",
        target_modules=targets,
        feedforward_modules=feedforward,
        fan_in_fan_out=info.family.conv1d,
        modules_to_save=list(info.head_modules),
        base_model_name_or_path=info.name,
    )


def _prefix(config: PeftConfig, info: ModelInfo) -> Any:
    from peft import PrefixTuningConfig

    from autopeft.architectures import dims_of

    d = dims_of(info.config)
    extra: dict[str, Any] = {}
    if info.family.name == "distilbert":  # peft cannot read these from DistilBERT's config keys
        extra = {"token_dim": d.hidden, "num_layers": d.num_layers, "num_attention_heads": d.num_heads,
                 "num_transformer_submodules": 1}
    return PrefixTuningConfig(
        task_type="SEQ_CLS",
        num_virtual_tokens=config.layers[0].prefix_length,
        prefix_projection=False,
        modules_to_save=list(info.head_modules),
        base_model_name_or_path=info.name,
        **extra,
    )


#: Method -> builder of the peft config for a configuration using only that method.
BUILDERS = {"lora": _lora, "ia3": _ia3, "prefix": _prefix}


def to_peft(config: PeftConfig, info: ModelInfo) -> Any:
    """The ``peft`` config object for ``config`` (raises :class:`InexpressibleError`)."""
    config.check_compatible(info.config)
    check(config, info)
    (method,) = _methods(config)
    return BUILDERS[method](config, info)


def write(config: PeftConfig, info: ModelInfo, out_dir: str) -> list[str]:
    """Write ``adapter_config.json`` with peft's ``save_pretrained``; returns the file names."""
    to_peft(config, info).save_pretrained(out_dir)
    return [ADAPTER_CONFIG]
