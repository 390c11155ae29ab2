"""The ``adapters`` format: an AdapterHub ``adapters`` configuration as JSON.

AdapterHub's ``adapters`` library needs transformers 4.x, so it is not imported here: the JSON
follows its documented config schema (``ConfigUnion.to_dict()``: ``{"architecture": "union",
"configs": [...]}``, each entry the ``asdict`` of a ``SeqBnConfig`` / ``ParBnConfig`` /
``PrefixTuningConfig`` / ``LoRAConfig``) and loads with
``adapters.AdapterConfig.load("adapters_config.json")``.

Each method's adapters rule (``PeftMethod.adapters`` in ``autopeft/methods/<name>.py``) says
what it cannot express and builds its entries of the union; the union lists them in registry
order (serial adapters, parallel adapter, prefix, LoRA). Per-layer sizes become a
``reduction_factor`` mapping ``{"<layer>": hidden/size}``, layers without the module go to
``leave_out``. What a method cannot express exactly raises :class:`InexpressibleError` naming it
((IA)^3, LoRA on ``attn_output`` or with per-layer ranks, the rslora rule, MLP or per-layer
prefixes, a serial and a parallel adapter on the same FFN output, sizes no float
``reduction_factor`` reproduces...), as do models outside the BERT-like encoder families.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autopeft.config import PeftConfig
from autopeft.export.errors import InexpressibleError
from autopeft.export.model_info import ModelInfo
from autopeft.methods.registry import REGISTRY

CONFIG_FILE = "adapters_config.json"
#: Families whose module layout AdapterHub's BERT-style adapter placement matches.
FAMILIES = ("bert", "roberta", "electra", "deberta-v2")


def problems(config: PeftConfig, info: ModelInfo) -> list[str]:
    """Every part of ``config`` AdapterHub's adapters cannot express exactly."""
    out: list[str] = []
    family = info.family
    if family.name not in FAMILIES:
        out.append(f"the {family.name} family: the adapters export is defined for {list(FAMILIES)} only")
    used = REGISTRY.used(config)
    out.extend(REGISTRY.export_problems(config, info, used, "adapters", "AdapterHub's adapters have no"))
    if not used:
        out.append("the configuration has no PEFT modules")
    return out


def to_adapters(config: PeftConfig, info: ModelInfo) -> dict[str, Any]:
    """The AdapterHub ``ConfigUnion`` dict of ``config`` (raises :class:`InexpressibleError`)."""
    config.check_compatible(info.backbone)
    found = problems(config, info)
    if found:
        raise InexpressibleError("adapters", found, ["autopeft"])
    parts = [entry for name in REGISTRY.used(config) for entry in REGISTRY.get(name).adapters.build(config, info)]
    return {"architecture": "union", "configs": parts}


def write(config: PeftConfig, info: ModelInfo, out_dir: str) -> list[str]:
    data = to_adapters(config, info)
    Path(out_dir, CONFIG_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return [CONFIG_FILE]
