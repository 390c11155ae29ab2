"""Which configurations a calibration trains: the baselines, then space samples spread over sizes."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from autopeft.backbone import Backbone
from autopeft.config import PeftConfig
from autopeft.errors import ConfigError
from autopeft.service.baselines import BASELINES, build_baseline

if TYPE_CHECKING:
    from transformers import PretrainedConfig

    from autopeft.spaces import SearchSpace

#: Space samples drawn to pick the spread-out ones from.
SAMPLE_POOL = 200


@dataclass(frozen=True)
class CalibrationConfig:
    """One configuration of a calibration: ``name`` is the baseline's or ``sample<seed>``."""

    name: str
    config: PeftConfig
    baseline: bool


def calibration_configs(space: "SearchSpace", model_config: "Backbone | PretrainedConfig | Mapping[str, Any]", count: int, *,
                        seed: int = 0) -> list[CalibrationConfig]:
    """``count`` configurations: every hand-designed baseline the model supports (at most
    ``count``), then samples of ``space`` at evenly spaced quantiles of log(trainable params),
    so the set covers the sizes the search will compare."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 3:
        raise ConfigError(f"configs: expected an integer >= 3 (rank correlation needs 3 points), got {count!r}")
    backbone = Backbone.of(model_config)
    num_layers = backbone.num_layers
    supports_prefix = backbone.family.supports_prefix
    chosen: list[CalibrationConfig] = []
    for name in BASELINES:
        config = build_baseline(name, num_layers)
        if not supports_prefix and any(layer.prefix_length for layer in config.layers):
            continue
        chosen.append(CalibrationConfig(name, config, True))
    chosen = chosen[: min(len(chosen), count)]
    wanted = count - len(chosen)
    if wanted <= 0:
        return chosen
    rng = random.Random(seed)
    pool: dict[str, tuple[int, int, Any]] = {}
    for _ in range(SAMPLE_POOL):
        sample_seed = rng.randrange(2**31)
        config = space.sample(backbone, sample_seed)
        params = config.num_trainable_params(backbone)
        if params > 0:
            pool.setdefault(config.summary(), (params, sample_seed, config))
    ranked = sorted(pool.values(), key=lambda item: item[0])
    if len(ranked) < wanted:
        raise ConfigError(f"configs: the space {space.name!r} gave {len(ranked)} distinct configurations; ask for at most {len(chosen) + len(ranked)}")
    logs = [math.log(item[0]) for item in ranked]
    picked: list[int] = []
    for k in range(wanted):
        target = logs[0] + (logs[-1] - logs[0]) * (k / max(1, wanted - 1))
        index = min((i for i in range(len(ranked)) if i not in picked), key=lambda i: abs(logs[i] - target))
        picked.append(index)
    for index in sorted(picked):
        params, sample_seed, config = ranked[index]
        chosen.append(CalibrationConfig(f"sample{sample_seed}", config, False))
    return chosen
