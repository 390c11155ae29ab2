"""PeftConfig: exact dict/JSON round trips and errors that name the key."""

import json

import pytest

from autopeft import FORMAT_VERSION, ConfigError, LayerConfig, PeftConfig, load_config


def _mixed_config() -> PeftConfig:
    return PeftConfig(
        layers=[
            LayerConfig(serial_adapter=64, lora={"query": 8, "value": 4}),
            LayerConfig(),
            LayerConfig(parallel_adapter=16, prefix_length=10, ia3=True, serial_adapter_attn=3),
        ],
        lora_alpha=32,
        lora_alpha_rule="rslora",
        adapter_activation="gelu",
        prefix_reparameterization="mlp",
        prefix_mlp_hidden=64,
    )


def test_dict_and_json_round_trip_exactly():
    config = _mixed_config()
    data = config.to_dict()
    assert data["format_version"] == FORMAT_VERSION
    assert data["num_layers"] == 3
    assert data["layers"][0]["lora"] == {"query": 8, "key": 0, "value": 4, "attn_output": 0, "ffn_in": 0, "ffn_out": 0}
    again = PeftConfig.from_dict(json.loads(json.dumps(data)))
    assert again == config
    assert again.to_dict() == data
    assert PeftConfig.from_json(config.to_json()) == config


def test_uniform_places_modules_in_chosen_layers():
    config = PeftConfig.uniform(4, layers=[1, 3], lora={"query": 8, "value": 8}, lora_alpha=8)
    assert [layer.lora["query"] for layer in config.layers] == [0, 8, 0, 8]
    assert config.lora_alpha == 8
    assert config.summary() == "L1: LoRA[q8 v8]\nL3: LoRA[q8 v8]"


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda d: d.update(lora_alhpa=3), "lora_alhpa"),
        (lambda d: d["layers"][2].update(prefix_lenght=3), "layers[2]"),
        (lambda d: d["layers"][0]["lora"].update(qeury=4), "layers[0].lora"),
        (lambda d: d["layers"][1].update(serial_adapter="64"), "layers[1].serial_adapter"),
        (lambda d: d["layers"][1].update(serial_adapter=-1), "layers[1].serial_adapter"),
        (lambda d: d["layers"][1].update(ia3=1), "layers[1].ia3"),
        (lambda d: d["layers"][1].update(parallel_adapter=2.5), "layers[1].parallel_adapter"),
        (lambda d: d.update(adapter_activation="swishy"), "adapter_activation"),
        (lambda d: d.update(format_version=99), "format_version"),
        (lambda d: d.update(num_layers=7), "num_layers"),
        (lambda d: d.update(lora_dropout=1.5), "lora_dropout"),
    ],
)
def test_bad_dicts_raise_naming_the_key(mutate, needle):
    data = _mixed_config().to_dict()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        PeftConfig.from_dict(data)
    assert needle in str(err.value)


def test_unknown_key_error_mentions_both_key_and_known_keys():
    data = _mixed_config().to_dict()
    data["layers"][0]["lora"]["qeury"] = 4
    with pytest.raises(ConfigError, match=r"qeury.*known keys.*query"):
        PeftConfig.from_dict(data)


def test_missing_format_version_is_rejected():
    data = _mixed_config().to_dict()
    del data["format_version"]
    with pytest.raises(ConfigError, match="format_version"):
        PeftConfig.from_dict(data)


def test_load_config_reads_file_and_names_it_on_error(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(_mixed_config().to_json())
    assert load_config(str(path)) == _mixed_config()
    path.write_text('{"format_version": 1, "layers": []}')
    with pytest.raises(ConfigError, match="cfg.json.*layers"):
        load_config(str(path))
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(str(tmp_path / "missing.json"))


def test_lora_scaling_rules():
    assert PeftConfig.uniform(1, lora_alpha=16).lora_scaling(8) == 2.0
    assert PeftConfig.uniform(1, lora_alpha=2, lora_alpha_rule="proportional").lora_scaling(8) == 2.0
    assert PeftConfig.uniform(1, lora_alpha=16, lora_alpha_rule="rslora").lora_scaling(4) == 8.0
