"""Search spaces: shipped YAML files, scaling with the model, and errors naming file and key."""

import textwrap

import pytest

import autopeft
from autopeft import SearchSpace, SpaceError
from tests.conftest import tiny_config

AUTOPEFT_SIZES = [0, 1, 3, 6, 12, 24, 48, 96, 192, 384, 768]


def _minilm_shaped():
    from transformers import BertConfig

    return BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)


def test_autopeft_space_scales_sizes_to_hidden_and_has_layer_switches():
    space = SearchSpace.from_yaml("autopeft")
    params = {p.name: p for p in space.parameters(_minilm_shaped())}
    assert list(params) == ["serial_adapter", "parallel_adapter", "prefix_length"] + [f"L{i}.on" for i in range(6)]
    # hidden 384 halves the 768-reference sizes; 1 -> 1 (never rounded to absent), 3 -> 2
    assert params["serial_adapter"].choices == (0, 1, 2, 3, 6, 12, 24, 48, 96, 192, 384)
    assert params["serial_adapter"].kind == "ordinal"
    assert params["L3.on"].kind == "binary"
    from transformers import BertConfig

    base = BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
    assert {p.name: p for p in space.parameters(base)}["prefix_length"].choices == tuple(AUTOPEFT_SIZES)


def test_build_applies_shared_sizes_and_layer_switches():
    space = SearchSpace.from_yaml("autopeft")
    mc = _minilm_shaped()
    assignment = {"serial_adapter": 48, "parallel_adapter": 0, "prefix_length": 3}
    assignment.update({f"L{i}.on": i % 2 == 0 for i in range(6)})
    config = space.build(assignment, mc)
    assert [layer.serial_adapter for layer in config.layers] == [48, 0, 48, 0, 48, 0]
    assert [layer.prefix_length for layer in config.layers] == [3, 0, 3, 0, 3, 0]
    assert config.num_trainable_params(mc) == 3 * (2 * 384 * 48 + 48 + 384) + 3 * (3 * 2 * 384)


def test_lora_layerwise_space_has_a_rank_per_layer_and_projection():
    space = SearchSpace.from_yaml("lora_layerwise")
    params = space.parameters(_minilm_shaped())
    assert len(params) == 6 * 6
    assert all(p.choices == (0, 2, 4, 8, 16) for p in params)
    config = space.sample(_minilm_shaped(), seed=7)
    assert config == space.sample(_minilm_shaped(), seed=7)
    assert config != space.sample(_minilm_shaped(), seed=8)
    assert {r for layer in config.layers for r in layer.lora.values()} <= {0, 2, 4, 8, 16}


def test_mixed_space_mixes_module_types_across_layers():
    space = SearchSpace.from_yaml("mixed")
    kinds = {p.kind for p in space.parameters(_minilm_shaped())}
    assert kinds == {"ordinal", "binary", "categorical"}
    seen = set()
    for seed in range(20):
        for layer in space.sample(_minilm_shaped(), seed).layers:
            seen.add(layer.summary())
    assert len(seen) > 50


def test_spaces_scale_with_layer_count():
    space = SearchSpace.from_yaml("lora_layerwise")
    assert len(space.parameters(tiny_config("bert"))) == 3 * 6
    assert space.sample(tiny_config("gpt2"), 0).num_layers == 3


def test_deberta_space_drops_prefix():
    space = SearchSpace.from_yaml("mixed")
    names = [p.name for p in space.parameters(tiny_config("deberta-v2"))]
    assert not any("prefix" in n for n in names)
    assert not space.sample(tiny_config("deberta-v2"), 1).has_prefix


def test_distributions_are_optuna_categoricals():
    dists = SearchSpace.from_yaml("autopeft").distributions(tiny_config("bert"))
    assert dists["L0.on"].choices == (False, True)


def _write(tmp_path, body):
    path = tmp_path / "space.yaml"
    path.write_text(textwrap.dedent(body))
    return path


@pytest.mark.parametrize(
    "body, needles",
    [
        ("parameters:\n  - {field: serial_adaptor, choices: [0, 8]}\n", ["parameters[0].field", "serial_adaptor", "did you mean 'serial_adapter'"]),
        ("parameters:\n  - {field: serial_adapter, choices: [0, -8]}\n", ["parameters[0].choices[1]", "-8", "non-negative"]),
        ("parameters:\n  - {field: lora.query, choices: [0, 2.5]}\n", ["parameters[0].choices[1]", "2.5"]),
        ("parameters:\n  - {field: lora.query, choice: [0, 2]}\n", ["parameters[0].choice", "did you mean 'choices'"]),
        ("paramters:\n  - {field: lora.query, choices: [0, 2]}\n", ["paramters", "did you mean 'parameters'"]),
        ("parameters:\n  - {field: ia3, choices: [0, 1]}\n", ["parameters[0].choices[0]", "true/false"]),
        ("parameters:\n  - {field: adapter_activation, choices: [relu, swish]}\n", ["choices[1]", "swish", "gelu"]),
        ("parameters:\n  - {field: lora.query, choices: [0, 2], scale: hidden}\n", ["parameters[0].scale", "remove 'scale'"]),
        ("parameters:\n  - {field: lora_alpha, choices: [8, 16], per_layer: true}\n", ["per_layer", "global knob"]),
        ("parameters: []\n", ["parameters", "non-empty"]),
        ("parameters:\n  - {field: lora.query, choices: [0, 2]}\nfixed: {adapter_activaton: relu}\n", ["fixed.adapter_activaton", "did you mean"]),
        ("parameters: [\n", ["not valid YAML"]),
    ],
)
def test_invalid_spaces_name_file_key_path_and_fix(tmp_path, body, needles):
    path = _write(tmp_path, body)
    with pytest.raises(SpaceError) as err:
        SearchSpace.from_yaml(path)
    message = str(err.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message


def test_layer_index_beyond_model_is_reported_when_expanded(tmp_path):
    path = _write(tmp_path, "layers: [0, 5]\nparameters:\n  - {field: lora.query, choices: [0, 2], per_layer: true}\n")
    space = SearchSpace.from_yaml(path)
    with pytest.raises(SpaceError, match=r"space.yaml: layers: layer index 5 is beyond the model, which has 3 layers"):
        space.parameters(tiny_config("bert"))
    assert [p.name for p in space.parameters(_minilm_shaped())] == ["L0.lora.query", "L5.lora.query"]
    config = space.build({"L0.lora.query": 2, "L5.lora.query": 2}, _minilm_shaped())
    assert [layer.lora["query"] for layer in config.layers] == [2, 0, 0, 0, 0, 2]


def test_missing_space_names_the_shipped_ones():
    with pytest.raises(SpaceError, match=r"shipped spaces: \['autopeft', 'lora_layerwise', 'mixed'\]"):
        SearchSpace.from_yaml("nope")
    with pytest.raises(SpaceError, match="no such search-space file"):
        SearchSpace.from_yaml("nope.yaml")


def test_build_rejects_values_outside_the_choices():
    space = SearchSpace.from_yaml("lora_layerwise")
    mc = tiny_config("bert")
    assignment = {p.name: 0 for p in space.parameters(mc)}
    assignment["L1.lora.key"] = 3
    with pytest.raises(autopeft.ConfigError, match=r"L1.lora.key: 3 is not one of the choices \[0, 2, 4, 8, 16\]"):
        space.build(assignment, mc)


def test_space_and_encoding_agree_on_kinds():
    """One rule: a two-choice string is ``binary`` in the space and one 0/1 feature in the GP encoding."""
    from optuna.distributions import CategoricalDistribution

    from autopeft.optimizer import SpaceEncoding
    from autopeft.spaces.space import parameter_kind

    cases = {
        "two_strings": (("none", "mlp"), "binary"),
        "flags": ((False, True), "binary"),
        "sizes": ((0, 16, 32), "ordinal"),
        "three_strings": (("relu", "gelu", "silu"), "categorical"),
    }
    enc = SpaceEncoding({name: CategoricalDistribution(choices) for name, (choices, _) in cases.items()})
    by_name = {p.name: p for p in enc.params}
    for name, (choices, kind) in cases.items():
        assert parameter_kind(choices) == kind, name
        assert by_name[name].kind == kind, name
    assert by_name["two_strings"].table.shape == (2, 1)
    space = SearchSpace({"format_version": 1, "name": "t", "parameters": [
        {"field": "prefix_reparameterization", "choices": ["none", "mlp"]},
        {"field": "prefix_length", "choices": [0, 4], "per_layer": True}]})
    params = {p.name: p for p in space.parameters(_minilm_shaped())}
    assert params["prefix_reparameterization"].kind == "binary"
