"""The ``adapters`` format: an AdapterHub ``adapters`` configuration as JSON.

AdapterHub's ``adapters`` library needs transformers 4.x, so it is not imported here: the JSON
follows its documented config schema (``ConfigUnion.to_dict()``: ``{"architecture": "union",
"configs": [...]}``, each entry the ``asdict`` of a ``SeqBnConfig`` / ``ParBnConfig`` /
``PrefixTuningConfig`` / ``LoRAConfig``) and loads with
``adapters.AdapterConfig.load("adapters_config.json")``.

Mapping (per-layer sizes become a ``reduction_factor`` mapping ``{"<layer>": hidden/size}``,
layers without the module go to ``leave_out``):

* ``serial_adapter``: sequential bottleneck after the FFN output (``output_adapter``), with
  ``original_ln_before=False``, ``residual_before_ln=True``, ``original_ln_after=True``:
  ``LN(h + up(act(down(h))) + x)`` with ``h`` the FFN output projection's output, exactly
  autopeft's placement (dropout aside).
* ``serial_adapter_attn``: the same after the attention output projection (``mh_adapter``).
* ``parallel_adapter``: ``ParBnConfig`` (reads the FFN sub-layer's input, adds ``scaling`` x its
  output to the FFN output) with autopeft's scaling.
* prefix: ``PrefixTuningConfig(flat=True, prefix_length)``: one length for all prefixed layers.
* LoRA: ``LoRAConfig`` with one rank ``r`` and ``alpha``, ``attn_matrices`` from query/key/value,
  ``intermediate_lora`` (ffn_in), ``output_lora`` (ffn_out): the same projections and rank in
  every LoRA layer.

Not expressible (raises :class:`InexpressibleError`): (IA)^3 (AdapterHub scales the FFN's
intermediate projection output before the activation; autopeft and peft scale the activation),
LoRA on ``attn_output``, per-layer LoRA ranks or projections, the rslora rule, MLP prefixes
(AdapterHub shares one MLP across layers), per-layer prefix lengths, a serial and a parallel
adapter on the FFN output of the same layer (one bottleneck per location in a ConfigUnion),
sizes no float ``reduction_factor`` reproduces, and models outside the BERT-like encoder families.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autopeft.architectures import dims_of
from autopeft.config import PeftConfig
from autopeft.export.errors import InexpressibleError
from autopeft.export.model_info import ModelInfo

CONFIG_FILE = "adapters_config.json"
#: Families whose module layout AdapterHub's BERT-style adapter placement matches.
FAMILIES = ("bert", "roberta", "electra", "deberta-v2")
#: autopeft activation -> AdapterHub ``non_linearity`` name.
ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "silu": "swish", "tanh": "tanh"}
_MATRICES = {"query": "q", "key": "k", "value": "v"}


def _bottleneck_defaults() -> dict[str, Any]:
    """The BnConfig fields every exported bottleneck writes (AdapterHub's defaults otherwise)."""
    return {
        "ln_before": False,
        "ln_after": False,
        "init_weights": "bert",
        "use_gating": False,
        "adapter_residual_before_ln": False,
        "inv_adapter": None,
        "inv_adapter_reduction_factor": None,
        "cross_adapter": False,
        "dropout": 0.0,
        "phm_layer": False,
    }


def reduction_factor(hidden: int, size: int) -> float:
    """A ``reduction_factor`` for which AdapterHub builds ``int(hidden // factor) == size``."""
    for factor in (hidden / size, hidden / (size + 0.5)):
        if int(hidden // factor) == size:
            return int(factor) if float(factor).is_integer() else factor
    raise ValueError(f"no reduction factor gives a bottleneck of {size} for hidden size {hidden}")


def problems(config: PeftConfig, info: ModelInfo) -> list[str]:
    """Every part of ``config`` AdapterHub's adapters cannot express exactly."""
    out: list[str] = []
    family = info.family
    if family.name not in FAMILIES:
        out.append(f"the {family.name} family: the adapters export is defined for {list(FAMILIES)} only")
    ia3 = [i for i, layer in enumerate(config.layers) if layer.ia3]
    if ia3:
        out.append(f"ia3 in layers {ia3}: AdapterHub's (IA)^3 scales the FFN input projection's output, "
                   "before the activation, instead of the activation")
    lora_layers = [i for i, layer in enumerate(config.layers) if any(layer.lora.values())]
    if lora_layers:
        shapes = {tuple(sorted((p, r) for p, r in config.layers[i].lora.items() if r)) for i in lora_layers}
        ranks = {r for i in lora_layers for r in config.layers[i].lora.values() if r}
        if len(shapes) != 1 or len(ranks) != 1:
            out.append(f"LoRA ranks per layer and projection in layers {lora_layers}: AdapterHub's LoRA has one "
                       "rank and one set of projections for every layer it is in")
        with_output = [i for i in lora_layers if config.layers[i].lora["attn_output"]]
        if with_output:
            out.append(f"LoRA on attn_output in layers {with_output}: AdapterHub's LoRA does not adapt the "
                       "attention output projection")
        if config.lora_alpha_rule == "rslora":
            out.append("lora_alpha_rule 'rslora': AdapterHub's LoRA scales by alpha / r")
    prefixed = [i for i, layer in enumerate(config.layers) if layer.prefix_length]
    if prefixed:
        if len({config.layers[i].prefix_length for i in prefixed}) != 1:
            out.append(f"prefix lengths {[config.layers[i].prefix_length for i in prefixed]} in layers {prefixed}: "
                       "AdapterHub's prefix-tuning has one length")
        if config.prefix_reparameterization != "none":
            out.append("prefix_reparameterization 'mlp': AdapterHub's MLP is shared by all layers, autopeft's is per layer")
    both = [i for i, layer in enumerate(config.layers) if layer.serial_adapter and layer.parallel_adapter]
    if both:
        out.append(f"serial_adapter and parallel_adapter together in layers {both}: a ConfigUnion holds one "
                   "bottleneck adapter per location")
    hidden = dims_of(info.config).hidden
    for name in ("serial_adapter", "serial_adapter_attn", "parallel_adapter"):
        for i, layer in enumerate(config.layers):
            size = getattr(layer, name)
            if size:
                try:
                    reduction_factor(hidden, size)
                except ValueError:
                    out.append(f"{name}={size} in layer {i}: no reduction_factor gives that size for hidden size {hidden}")
    if all(layer.is_empty for layer in config.layers):
        out.append("the configuration has no PEFT modules")
    return out


def _bottleneck(config: PeftConfig, hidden: int, field: str, *, parallel: bool, attention: bool) -> dict[str, Any] | None:
    sizes = [getattr(layer, field) for layer in config.layers]
    used = [i for i, size in enumerate(sizes) if size]
    if not used:
        return None
    factors: dict[str, Any] = {str(i): reduction_factor(hidden, sizes[i]) for i in used}
    factors["default"] = factors[str(used[0])]
    entry = {
        "mh_adapter": attention,
        "output_adapter": not attention,
        "reduction_factor": factors,
        "non_linearity": ACTIVATIONS[config.adapter_activation],
        "original_ln_before": False,
        "original_ln_after": True,
        "residual_before_ln": True,
        "is_parallel": parallel,
        "scaling": config.parallel_adapter_scaling if parallel else 1.0,
        **_bottleneck_defaults(),
        "leave_out": [i for i in range(config.num_layers) if i not in used],
    }
    if parallel:
        entry["init_weights"] = "mam_adapter"
    return entry


def _prefix(config: PeftConfig) -> dict[str, Any] | None:
    used = [i for i, layer in enumerate(config.layers) if layer.prefix_length]
    if not used:
        return None
    return {
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
    }


def _lora(config: PeftConfig) -> dict[str, Any] | None:
    used = [i for i, layer in enumerate(config.layers) if any(layer.lora.values())]
    if not used:
        return None
    ranks = config.layers[used[0]].lora
    r = max(ranks.values())
    alpha = config.lora_alpha * r if config.lora_alpha_rule == "proportional" else config.lora_alpha
    return {
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
    }


def to_adapters(config: PeftConfig, info: ModelInfo) -> dict[str, Any]:
    """The AdapterHub ``ConfigUnion`` dict of ``config`` (raises :class:`InexpressibleError`)."""
    config.check_compatible(info.config)
    found = problems(config, info)
    if found:
        raise InexpressibleError("adapters", found, ["autopeft"])
    hidden = dims_of(info.config).hidden
    parts = [
        _bottleneck(config, hidden, "serial_adapter", parallel=False, attention=False),
        _bottleneck(config, hidden, "serial_adapter_attn", parallel=False, attention=True),
        _bottleneck(config, hidden, "parallel_adapter", parallel=True, attention=False),
        _prefix(config),
        _lora(config),
    ]
    return {"architecture": "union", "configs": [part for part in parts if part is not None]}


def write(config: PeftConfig, info: ModelInfo, out_dir: str) -> list[str]:
    data = to_adapters(config, info)
    Path(out_dir, CONFIG_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return [CONFIG_FILE]
