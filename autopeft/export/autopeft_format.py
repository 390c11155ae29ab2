"""The ``autopeft`` format: the `PeftConfig` JSON that ``autopeft.apply`` and
``autopeft.load_config`` take. It expresses every configuration."""

from __future__ import annotations

from pathlib import Path

from autopeft.config import PeftConfig
from autopeft.export.model_info import ModelInfo

CONFIG_FILE = "autopeft_config.json"


def problems(config: PeftConfig, info: ModelInfo) -> list[str]:
    return []


def write(config: PeftConfig, info: ModelInfo, out_dir: str) -> list[str]:
    config.check_compatible(info.backbone)
    Path(out_dir, CONFIG_FILE).write_text(config.to_json(indent=2) + "\n", encoding="utf-8")
    return [CONFIG_FILE]
