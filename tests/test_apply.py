"""`autopeft.apply` on tiny random-weight models of every supported family."""

import copy
import dataclasses

import pytest
import torch

import autopeft
from autopeft import ArchitectureError, ConfigError, PeftConfig, UnsupportedModuleError
from autopeft.architectures import FAMILIES as TABLE
from autopeft.architectures import family_for
from tests.conftest import batch, tiny_config, tiny_model

ALL_BUT_PREFIX = dict(
    serial_adapter=5,
    serial_adapter_attn=3,
    parallel_adapter=4,
    lora={"query": 2, "key": 3, "value": 4, "attn_output": 2, "ffn_in": 3, "ffn_out": 2},
    ia3=True,
)


def _every_module_config(num_layers: int, prefix: int) -> PeftConfig:
    config = PeftConfig.uniform(num_layers, adapter_activation="gelu", **ALL_BUT_PREFIX)
    config.layers[1].prefix_length = prefix
    config.layers[2] = autopeft.LayerConfig(lora={"value": 5}, prefix_length=prefix)
    return config


def _logits(model, ids, mask):
    return model(input_ids=ids, attention_mask=mask).logits


def test_outputs_equal_backbone_at_initialisation(family):
    model = tiny_model(family)
    ids, mask = batch()
    before = _logits(model, ids, mask)
    autopeft.apply(model, _every_module_config(3, prefix=0))
    after = _logits(model, ids, mask)
    assert before.abs().max() > 1e-3  # the comparison is not between zeros
    torch.testing.assert_close(after, before, atol=1e-6, rtol=0)


def test_analytic_count_equals_built_count_and_head_is_separate(family):
    model = tiny_model(family, num_labels=3)
    prefix = 2 if family_for(model.config).supports_prefix else 0
    config = _every_module_config(3, prefix=prefix)
    head = sum(p.numel() for n, p in model.named_parameters() if not n.startswith(model.base_model_prefix + "."))
    autopeft.apply(model, config)
    summary = autopeft.trainable_summary(model)
    assert summary.peft_params == config.num_trainable_params(model.config) > 0
    assert summary.head_params == head > 0
    assert summary.peft_params + summary.head_params + summary.frozen_params == sum(p.numel() for p in model.parameters())


def test_forward_backward_only_peft_and_head_get_gradients(family):
    model = tiny_model(family).train()
    prefix = 2 if family_for(model.config).supports_prefix else 0
    autopeft.apply(model, _every_module_config(3, prefix=prefix))
    # Move every zero-initialised weight off zero so that every PEFT parameter gets a gradient.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "autopeft_" in name:
                param.add_(0.05 * torch.randn_like(param))
    ids, mask = batch()
    loss = torch.nn.functional.cross_entropy(_logits(model, ids, mask), torch.tensor([0, 2]))
    loss.backward()
    for name, param in model.named_parameters():
        if "autopeft_" in name or not name.startswith(model.base_model_prefix + "."):
            assert param.requires_grad, name
            assert param.grad is not None and param.grad.abs().sum() > 0, name
        else:
            assert not param.requires_grad and param.grad is None, name
    kinds = {name.split("autopeft_")[1].split(".")[0].split("_")[0] for name, _ in model.named_parameters() if "autopeft_" in name}
    assert {"lora", "ia3", "parallel", "serial"} <= kinds
    assert ("prefix" in kinds) == bool(prefix)


PREFIX_FAMILIES = [name for name in ["bert", "roberta", "electra", "distilbert", "gpt2", "llama", "qwen2", "mistral"]]


@pytest.mark.parametrize("family", PREFIX_FAMILIES)
@pytest.mark.parametrize("reparameterization", ["none", "mlp"])
def test_prefix_changes_outputs_and_respects_padding(family, reparameterization):
    model = tiny_model(family)
    ids, mask = batch(pad_from=5)
    before = _logits(model, ids, mask)
    config = PeftConfig.uniform(3, prefix_length=4, prefix_reparameterization=reparameterization, prefix_mlp_hidden=16)
    autopeft.apply(model, config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "autopeft_prefix" in name:
                param.normal_(0, 1.0)
    padded = _logits(model, ids, mask)
    assert (padded - before).abs().max() > 0.01 * before.abs().max()  # the prefix is really attended
    alone = _logits(model, ids[-1:, :5], mask[-1:, :5])
    torch.testing.assert_close(padded[-1:], alone, atol=1e-5, rtol=1e-5)
    # With no mask at all (the fast path transformers takes for unpadded input) the prefix is
    # still visible and causal models stay causal.
    full_ids, full_mask = batch(pad_from=None)
    torch.testing.assert_close(_logits(model, full_ids, None), _logits(model, full_ids, full_mask), atol=1e-5, rtol=1e-5)


def test_prefix_on_causal_model_keeps_causality():
    model = autopeft.apply(tiny_model("llama"), PeftConfig.uniform(3, prefix_length=3))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "autopeft_prefix" in name:
                param.normal_(0, 1.0)
    ids, _ = batch(pad_from=None, size=1, length=8)
    hidden = model.base_model(input_ids=ids).last_hidden_state
    changed = ids.clone()
    changed[0, 6:] = 5
    hidden_changed = model.base_model(input_ids=changed).last_hidden_state
    torch.testing.assert_close(hidden[:, :6], hidden_changed[:, :6], atol=1e-5, rtol=1e-5)
    assert (hidden[:, 6:] - hidden_changed[:, 6:]).abs().max() > 1e-3


def test_deberta_prefix_is_refused_with_the_reason():
    model = tiny_model("deberta-v2")
    with pytest.raises(UnsupportedModuleError, match=r"prefix_length.*deberta-v2.*Set prefix_length to 0"):
        autopeft.apply(model, PeftConfig.uniform(3, prefix_length=2))


def test_applying_twice_raises():
    model = autopeft.apply(tiny_model("bert"), PeftConfig.uniform(3, lora={"query": 2}))
    with pytest.raises(ConfigError, match="already applied"):
        autopeft.apply(model, PeftConfig.uniform(3, lora={"query": 2}))
    fresh = copy.deepcopy(tiny_model("bert"))
    autopeft.apply(fresh, PeftConfig.uniform(3, lora={"query": 2}))


def test_layer_count_mismatch_raises():
    with pytest.raises(ConfigError, match=r"num_layers.*4 layers.*has 3"):
        autopeft.apply(tiny_model("bert"), PeftConfig.uniform(4, lora={"query": 2}))


def test_unknown_family_lists_supported_types():
    from transformers import T5Config

    config = T5Config(vocab_size=50, d_model=16, d_ff=32, num_layers=1, num_heads=2)
    with pytest.raises(ArchitectureError, match=r"model_type 't5' is not supported.*'bert'.*'llama'"):
        PeftConfig.uniform(1, lora={"query": 2}).num_trainable_params(config)


def test_unmatched_target_lists_existing_module_names(monkeypatch):
    broken = dataclasses.replace(TABLE["bert"], projections={**TABLE["bert"].projections, "query": ("attention.self.qeury",)})
    monkeypatch.setitem(TABLE, "bert", broken)
    monkeypatch.setattr("autopeft.architectures._BY_MODEL_TYPE", {"bert": broken})
    with pytest.raises(ArchitectureError) as err:
        autopeft.apply(tiny_model("bert"), PeftConfig.uniform(3, lora={"query": 2}))
    message = str(err.value)
    assert "'qeury'" in message and "'query'" in message and "attention.self.key" in message


def test_ambiguous_target_that_is_not_a_projection_raises(monkeypatch):
    broken = dataclasses.replace(TABLE["bert"], projections={**TABLE["bert"].projections, "query": ("attention.self",)})
    monkeypatch.setattr("autopeft.architectures._BY_MODEL_TYPE", {"bert": broken})
    with pytest.raises(ArchitectureError, match=r"not a linear projection.*\['query', 'key', 'value'"):
        autopeft.apply(tiny_model("bert"), PeftConfig.uniform(3, lora={"query": 2}))


def test_percent_of_backbone_and_bytes():
    model = tiny_model("bert")
    config = PeftConfig.uniform(3, lora={"query": 2, "value": 2})
    backbone = sum(p.numel() for p in model.base_model.parameters())
    params = config.num_trainable_params(model.config)
    assert params == 3 * 2 * 2 * (32 + 32)
    # The analytic backbone size counts embeddings and layers (BERT's pooler is not counted).
    pooler = 32 * 32 + 32
    assert config.percent_of_backbone(model.config) == pytest.approx(100 * params / (backbone - pooler))
    assert config.num_bytes(model.config, "bfloat16") == 2 * params
    assert config.num_bytes(model.config, torch.float32) == 4 * params
    with pytest.raises(ConfigError, match="dtype"):
        config.num_bytes(model.config, "float13")


@pytest.mark.parametrize("family", ["llama", "qwen2", "gpt2", "distilbert", "deberta-v2", "electra"])
def test_backbone_size_from_config_is_close_to_built(family):
    from autopeft.architectures import backbone_params

    model = tiny_model(family)
    built = sum(p.numel() for p in model.base_model.parameters())
    assert backbone_params(tiny_config(family)) == pytest.approx(built, rel=0.06)
