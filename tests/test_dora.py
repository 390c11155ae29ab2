"""DoRA, the method added through the registry alone: config, exact count, identity at
initialisation, search spaces, and a peft export that computes what autopeft computes."""

import copy
import json
import textwrap

import pytest
import torch

import autopeft
from autopeft import ConfigError, LayerConfig, PeftConfig
from autopeft.export import InexpressibleError
from autopeft.export.api import export_config
from autopeft.methods.registry import REGISTRY
from tests.conftest import batch, tiny_config, tiny_model

ALL_PROJECTIONS = {"query": 2, "key": 3, "value": 4, "attn_output": 2, "ffn_in": 3, "ffn_out": 2}


def _logits(model, ids, mask):
    return model(input_ids=ids, attention_mask=mask).logits


# ----------------------------------------------------------------------------- config
def test_peft_config_accepts_dora_and_round_trips():
    config = PeftConfig(layers=[LayerConfig(dora={"query": 4, "value": 4}), LayerConfig(),
                                LayerConfig(dora={"ffn_out": 8}, lora={"query": 2})], lora_alpha=8)
    data = config.to_dict()
    assert data["layers"][0]["dora"] == {"query": 4, "key": 0, "value": 4, "attn_output": 0, "ffn_in": 0, "ffn_out": 0}
    assert PeftConfig.from_json(config.to_json()) == config
    assert config.summary() == "L0: DoRA[q4 v4]\nL2: LoRA[q2] DoRA[fo8]"
    assert PeftConfig.uniform(2, dora={"key": 2}).layers[1].dora["key"] == 2
    assert config.uses("dora") and not PeftConfig.uniform(3, lora={"query": 2}).uses("dora")
    # A dict written before DoRA existed has no "dora" key: it reads as absent.
    del data["layers"][1]["dora"]
    assert PeftConfig.from_dict(data) == config


@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda d: d["layers"][0]["dora"].update(value=-1), "layers[0].dora.value"),
        (lambda d: d["layers"][0]["dora"].update(value=2.5), "layers[0].dora.value"),
        (lambda d: d["layers"][0]["dora"].update(qeury=4), "layers[0].dora: unknown key 'qeury'"),
        (lambda d: d["layers"][0].update(dora=4), "layers[0].dora: expected a mapping of projection -> rank"),
    ],
)
def test_bad_dora_values_raise_naming_the_field(mutate, needle):
    data = PeftConfig.uniform(2, dora={"value": 4}).to_dict()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        PeftConfig.from_dict(data)
    assert needle in str(err.value)


# ----------------------------------------------------------------------------- apply and count
def _mixed(num_layers=3):
    config = PeftConfig.uniform(num_layers, dora=ALL_PROJECTIONS, lora={"query": 2}, ia3=True, serial_adapter=3)
    config.layers[1] = LayerConfig(dora={"value": 5})
    return config


def test_analytic_count_equals_what_apply_makes_trainable(family):
    model = tiny_model(family)
    config = _mixed()
    autopeft.apply(model, config)
    summary = autopeft.trainable_summary(model)
    assert summary.peft_params == config.num_trainable_params(model.config) > 0
    assert config.param_breakdown(model.config)["dora"] == sum(
        p.numel() for n, p in model.named_parameters() if "autopeft_dora_" in n and p.requires_grad)


def test_dora_count_by_hand():
    # BERT, hidden 32, intermediate 48: A (r x in) + B (out x r) + magnitude (out) per module.
    config = PeftConfig.uniform(3, dora={"query": 4, "ffn_in": 2})
    assert config.num_trainable_params(tiny_config("bert")) == 3 * ((4 * (32 + 32) + 32) + (2 * (32 + 48) + 48))
    # Llama: ffn_in is gate and up (two modules), key is 16 wide (2 of 4 heads).
    config = PeftConfig.uniform(3, dora={"key": 2, "ffn_in": 1})
    assert config.num_trainable_params(tiny_config("llama")) == 3 * ((2 * (32 + 16) + 16) + 2 * ((32 + 48) + 48))


def test_outputs_equal_backbone_at_initialisation(family):
    model = tiny_model(family)
    ids, mask = batch()
    before = _logits(model, ids, mask)
    autopeft.apply(model, _mixed())
    assert before.abs().max() > 1e-3
    torch.testing.assert_close(_logits(model, ids, mask), before, atol=1e-6, rtol=0)


def test_every_dora_parameter_gets_a_gradient():
    model = autopeft.apply(tiny_model("llama").train(), PeftConfig.uniform(3, dora=ALL_PROJECTIONS))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "autopeft_dora_" in name and "lora_B" in name:
                param.normal_(0, 0.1)
    ids, mask = batch()
    torch.nn.functional.cross_entropy(_logits(model, ids, mask), torch.tensor([0, 2])).backward()
    dora = {n: p for n, p in model.named_parameters() if "autopeft_dora_" in n}
    assert {n.rsplit(".", 2)[-2] if n.endswith("weight") else n.rsplit(".", 1)[-1] for n in dora} == {"lora_A", "lora_B", "magnitude"}
    for name, param in dora.items():
        assert param.requires_grad and param.grad is not None and param.grad.abs().sum() > 0, name


def test_gpt2_fused_query_slice_changes_only_the_query_third():
    model = autopeft.apply(tiny_model("gpt2"), PeftConfig.uniform(3, dora={"query": 2}))
    c_attn = model.transformer.h[0].attn.c_attn
    branch = c_attn.autopeft_dora_query
    assert branch.magnitude.shape == (32,)
    with torch.no_grad():
        branch.lora_B.weight.normal_()
        branch.magnitude.mul_(1.5)
    x = torch.randn(2, 5, 32)
    delta = c_attn(x) - (x @ c_attn.weight + c_attn.bias)
    assert delta[..., :32].abs().max() > 1e-3
    assert delta[..., 32:].abs().max() == 0


# ----------------------------------------------------------------------------- search spaces
def test_a_space_can_search_dora(tmp_path):
    path = tmp_path / "dora.yaml"
    path.write_text(textwrap.dedent("""\
        format_version: 1
        name: dora
        parameters:
          - {field: dora.value, choices: [0, 4, 8]}
          - {field: dora.query, choices: [0, 2], per_layer: true}
          - {field: lora_alpha, choices: [8, 16]}
        """))
    space = autopeft.SearchSpace.from_yaml(path)
    mc = tiny_config("bert")
    params = {p.name: p for p in space.parameters(mc)}
    assert list(params) == ["dora.value", "L0.dora.query", "L1.dora.query", "L2.dora.query", "lora_alpha"]
    assert params["dora.value"].choices == (0, 4, 8) and params["dora.value"].kind == "ordinal"
    config = space.build({"dora.value": 8, "L0.dora.query": 2, "L1.dora.query": 0, "L2.dora.query": 2, "lora_alpha": 8}, mc)
    assert [layer.dora["value"] for layer in config.layers] == [8, 8, 8]
    assert [layer.dora["query"] for layer in config.layers] == [2, 0, 2]
    base = tiny_model("bert")
    for seed in range(5):
        sample = space.sample(mc, seed)
        built = autopeft.trainable_summary(autopeft.apply(copy.deepcopy(base), sample)).peft_params
        assert built == sample.num_trainable_params(mc)


def test_space_errors_for_dora_name_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("parameters:\n  - {field: dora.valeu, choices: [0, 4]}\n")
    with pytest.raises(autopeft.SpaceError, match=r"parameters\[0\].field.*did you mean 'dora.value'"):
        autopeft.SearchSpace.from_yaml(path)
    path.write_text("parameters:\n  - {field: dora.value, choices: [0, 4], scale: hidden}\n")
    with pytest.raises(autopeft.SpaceError, match=r"parameters\[0\].scale.*remove 'scale'"):
        autopeft.SearchSpace.from_yaml(path)


# ----------------------------------------------------------------------------- peft export
_PEFT_NAMES = {"lora_A.weight": "lora_A.default.weight", "lora_B.weight": "lora_B.default.weight",
               "magnitude": "lora_magnitude_vector.default.weight"}


def _exported_pair(base, config, out_dir):
    """(peft model built from the exported adapter_config.json, autopeft's model), same weights:
    peft's A, random B and magnitudes (so DoRA is active), and peft's task head."""
    from peft import PeftConfig as HFPeftConfig
    from peft import get_peft_model

    export_config(config, base, "peft", out_dir)
    saved = json.loads((out_dir / "adapter_config.json").read_text())
    theirs = get_peft_model(copy.deepcopy(base), HFPeftConfig.from_pretrained(str(out_dir))).eval()
    ours = autopeft.apply(copy.deepcopy(base), config).eval()
    peft_params = dict(theirs.named_parameters())
    copied = 0
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in ours.named_parameters():
            if ".autopeft_dora_" not in name:
                continue
            target, rest = name.split(".autopeft_dora_")
            source = peft_params[f"base_model.model.{target}.{_PEFT_NAMES[rest.split('.', 1)[1]]}"]
            if "lora_B" in name:
                source.copy_(torch.randn(source.shape, generator=generator))
            if "magnitude" in name:
                source.mul_(1 + 0.5 * torch.rand(source.shape, generator=generator))
            param.copy_(source)
            copied += 1
        for head in saved["modules_to_save"]:
            getattr(ours, head).load_state_dict(getattr(theirs.base_model.model, head).modules_to_save["default"].state_dict())
    return saved, theirs, ours, copied


@pytest.mark.parametrize(
    "family, config, modules",
    [
        ("bert", PeftConfig(layers=[LayerConfig(dora={"query": 2, "ffn_out": 8}), LayerConfig(dora={"value": 4}),
                                    LayerConfig(dora={"attn_output": 2, "ffn_in": 16})], lora_alpha=8), 5),
        ("bert", PeftConfig.uniform(3, layers=[0, 2], dora={"key": 4, "value": 2}, lora_alpha=2,
                                    lora_alpha_rule="proportional"), 4),
        ("llama", PeftConfig.uniform(3, dora={"query": 4, "ffn_in": 4, "ffn_out": 4}, lora_alpha_rule="rslora"), 12),
        ("roberta", PeftConfig.uniform(3, dora={"value": 4, "ffn_in": 2}), 6),
        ("gpt2", PeftConfig.uniform(3, dora={"attn_output": 4, "ffn_in": 2, "ffn_out": 8}), 9),
    ],
)
def test_peft_export_round_trips_count_and_logits(family, config, modules, tmp_path):
    base = tiny_model(family)
    saved, theirs, ours, copied = _exported_pair(base, config, tmp_path)
    assert saved["peft_type"] == "LORA" and saved["use_dora"] is True
    assert copied == 3 * modules  # A, B and the magnitude of every adapted module
    trainable = sum(p.numel() for p in theirs.parameters() if p.requires_grad)
    ours_counts = autopeft.trainable_summary(ours)
    assert trainable == ours_counts.trainable_params == config.num_trainable_params(base.config) + ours_counts.head_params
    ids, mask = batch(seed=1)
    mine = _logits(ours, ids, mask)
    torch.testing.assert_close(mine, _logits(theirs, ids, mask), atol=1e-5, rtol=0)
    hidden = ours.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
    assert (hidden - base.base_model(input_ids=ids, attention_mask=mask).last_hidden_state).abs().max() > 1e-2  # DoRA is active
    # The same gradients too: the weight norm is a constant for backprop in both.
    _logits(ours, ids, mask).sum().backward()
    _logits(theirs, ids, mask).sum().backward()
    peft_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        if ".autopeft_dora_" in name:
            target, rest = name.split(".autopeft_dora_")
            other = peft_params[f"base_model.model.{target}.{_PEFT_NAMES[rest.split('.', 1)[1]]}"]
            torch.testing.assert_close(param.grad, other.grad, atol=1e-5, rtol=1e-4)


def test_exports_refuse_what_they_cannot_express(tmp_path):
    bert = tiny_model("bert")
    with pytest.raises(InexpressibleError) as info:
        export_config(PeftConfig.uniform(3, dora={"query": 2}, lora={"value": 2}), bert, "peft", tmp_path / "mix")
    assert "the mixture of lora + dora" in str(info.value)
    with pytest.raises(InexpressibleError) as info:
        export_config(PeftConfig.uniform(3, dora={"query": 2}), bert, "adapters", tmp_path / "adapters")
    assert "dora in layers [0, 1, 2]" in str(info.value) and "--format autopeft" in str(info.value)
    with pytest.raises(InexpressibleError, match=r"DoRA on query/key/value in layers \[1\].*c_attn"):
        export_config(PeftConfig.uniform(3, layers=[1], dora={"value": 2}), tiny_model("gpt2"), "peft", tmp_path / "gpt2")
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------------------------- what iterates the registry
def test_dashboard_heatmap_and_registry_know_dora():
    from autopeft.viz.frames import layer_matrix

    config = PeftConfig(layers=[LayerConfig(dora={"query": 8}), LayerConfig(serial_adapter=4, dora={"ffn_out": 2})])
    _, columns, values = layer_matrix(config.to_dict())
    assert columns == ["serial adapter (FFN)", "DoRA query", "DoRA FFN out"]
    assert values == [[0.0, 8.0, 0.0], [4.0, 0.0, 2.0]]
    method = REGISTRY.get("dora")
    assert method.uses_knobs == ("lora_alpha", "lora_alpha_rule", "lora_dropout") and not method.knobs
    order = [m.name for m in REGISTRY.in_hook_order()]
    assert order.index("dora") < order.index("ia3") < order.index("serial_adapter")
