"""The exported train.py trains each module type at the proxy's rates: its parameter groups (names,
learning rates, parameter counts) equal ``autopeft.proxy.train.parameter_groups``'s at full fidelity,
including the lower rate of a bottleneck adapter wider than ``ADAPTER_REFERENCE_SIZE``."""

from __future__ import annotations

import copy
import runpy

import pytest

import autopeft
from autopeft.export.api import export_config
from autopeft.proxy.fidelity import PRESETS
from autopeft.proxy.train import ADAPTER_RATE_POWER, ADAPTER_REFERENCE_SIZE, DEFAULT_LEARNING_RATES, parameter_groups
from tests.conftest import save_tiny_bert


def _groups(groups: list[dict]) -> dict[str, tuple[float, int]]:
    return {g["name"]: (g["lr"], sum(p.numel() for p in g["params"])) for g in groups}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rates")
    model = save_tiny_bert(folder / "model")
    data = folder / "mine.csv"
    data.write_text("".join(f"text number {i},{['cat', 'dog'][i % 2]}\n" for i in range(12)), encoding="utf-8")
    return folder, model, {"train": str(data), "columns": "text,label"}


@pytest.mark.parametrize("study_rate", [None, 1e-3])
def test_script_groups_match_the_proxys_with_a_small_serial_and_a_large_parallel_adapter(tiny, study_rate):
    from transformers import AutoModelForSequenceClassification

    folder, model_dir, task = tiny
    config = autopeft.PeftConfig.uniform(2, serial_adapter=8, parallel_adapter=256)
    out = folder / f"script-{study_rate}"
    result = export_config(config, model_dir, "script", out, task=task, fidelity={"learning_rate": study_rate})
    assert result.backend == "autopeft"  # peft cannot express bottleneck adapters
    script = runpy.run_path(str(out / "train.py"), run_name="train")
    settings = script["SETTINGS"]
    exported, _ = script["build_model"](settings, model_dir, settings["task"])  # the model exactly as train.py builds it
    script_groups = _groups(script["parameter_groups"](exported, settings["hyperparameters"]))

    proxy_model = autopeft.apply(AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2), config)
    full = PRESETS["full"]
    proxy_groups = _groups(parameter_groups(copy.deepcopy(proxy_model), study_rate, full.learning_rate_scale))

    assert script_groups.keys() == proxy_groups.keys()
    for name, (rate, count) in proxy_groups.items():
        assert script_groups[name][0] == pytest.approx(rate, rel=1e-12) and script_groups[name][1] == count, name
    if study_rate is None:  # the two adapters train apart: 8 at the adapter rate, 256 at (64 / 256) ** 1.5 of it
        assert set(proxy_groups) == {"adapter", "adapter:256", "head"}
        adapter = full.learning_rate_scale * DEFAULT_LEARNING_RATES["adapter"]
        assert proxy_groups["adapter"][0] == pytest.approx(adapter)
        assert proxy_groups["adapter:256"][0] == pytest.approx(adapter * (ADAPTER_REFERENCE_SIZE / 256) ** ADAPTER_RATE_POWER)
        assert proxy_groups["adapter"][1] + proxy_groups["adapter:256"][1] == config.num_trainable_params(exported.config)
    else:  # one rate for all, unscaled, as the proxy does
        assert set(proxy_groups) == {"adapter", "head"} and {rate for rate, _ in script_groups.values()} == {study_rate}
    # The rule's constants reach the script from autopeft.proxy.train, not from a copy.
    rule = settings["hyperparameters"]["adapter_rate_rule"]
    assert rule == (None if study_rate is not None else {"reference_size": ADAPTER_REFERENCE_SIZE, "power": ADAPTER_RATE_POWER})
