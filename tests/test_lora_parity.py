"""autopeft's LoRA computes what HF peft computes: same weights, outputs equal within 1e-5."""

import copy

import pytest
import torch
from peft import LoraConfig, get_peft_model

import autopeft
from tests.conftest import batch, tiny_model


def _copy_peft_weights_into_autopeft(peft_model, ours):
    """Give both models the same, non-zero LoRA weights (peft's A, a random B)."""
    peft_params = dict(peft_model.named_parameters())
    copied = 0
    with torch.no_grad():
        for name, param in ours.named_parameters():
            if ".autopeft_lora_" not in name:
                continue
            target, rest = name.split(".autopeft_lora_")
            matrix = rest.split(".", 1)[1]  # lora_A.weight / lora_B.weight
            peft_name = f"base_model.model.{target}.{matrix.replace('.weight', '.default.weight')}"
            if matrix.startswith("lora_B"):
                peft_params[peft_name].normal_(0, 0.5)
            param.copy_(peft_params[peft_name])
            copied += 1
    return copied


@pytest.mark.parametrize(
    "family, peft_targets, modules_per_layer, ours, rule",
    [
        ("bert", ["query", "value"], 2, {"query": 4, "value": 4}, "fixed"),
        # A regex, since "dense" alone would also match RoBERTa's classifier head.
        ("roberta", r".*layer\.\d+\.(attention\.self\.key|attention\.output\.dense|output\.dense)", 3,
         {"key": 2, "attn_output": 2, "ffn_out": 2}, "fixed"),
        ("llama", ["q_proj", "gate_proj", "up_proj", "down_proj"], 4, {"query": 4, "ffn_in": 4, "ffn_out": 4}, "rslora"),
        ("distilbert", ["q_lin", "lin1"], 2, {"query": 8, "ffn_in": 8}, "fixed"),
    ],
)
def test_lora_matches_peft(family, peft_targets, modules_per_layer, ours, rule):
    base = tiny_model(family)
    rank = max(ours.values())
    peft_model = get_peft_model(
        copy.deepcopy(base),
        LoraConfig(r=rank, lora_alpha=16, target_modules=peft_targets, lora_dropout=0.0, use_rslora=rule == "rslora"),
    )
    ours_model = autopeft.apply(copy.deepcopy(base), autopeft.PeftConfig.uniform(3, lora=ours, lora_alpha=16, lora_alpha_rule=rule))
    assert _copy_peft_weights_into_autopeft(peft_model, ours_model) == 2 * 3 * modules_per_layer
    ids, mask = batch()
    theirs = peft_model(input_ids=ids, attention_mask=mask).logits
    mine = ours_model(input_ids=ids, attention_mask=mask).logits
    assert (mine - base(input_ids=ids, attention_mask=mask).logits).abs().max() > 1e-3  # LoRA is active
    torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)
    trainable_peft = sum(p.numel() for n, p in peft_model.named_parameters() if p.requires_grad and "lora_" in n)
    assert autopeft.trainable_summary(ours_model).peft_params == trainable_peft


def test_per_layer_ranks_match_peft_rank_pattern():
    base = tiny_model("bert")
    config = autopeft.PeftConfig(
        layers=[
            autopeft.LayerConfig(lora={"query": 2, "value": 8}),
            autopeft.LayerConfig(lora={"query": 4}),
            autopeft.LayerConfig(lora={"value": 6}),
        ],
        lora_alpha=8,
    )
    pattern = {
        "bert.encoder.layer.0.attention.self.query": 2,
        "bert.encoder.layer.0.attention.self.value": 8,
        "bert.encoder.layer.1.attention.self.query": 4,
        "bert.encoder.layer.2.attention.self.value": 6,
    }
    peft_model = get_peft_model(
        copy.deepcopy(base),
        LoraConfig(r=1, lora_alpha=8, target_modules=list(pattern), rank_pattern=pattern, lora_dropout=0.0),
    )
    ours = autopeft.apply(copy.deepcopy(base), config)
    assert _copy_peft_weights_into_autopeft(peft_model, ours) == 8
    ids, mask = batch(seed=3)
    torch.testing.assert_close(ours(input_ids=ids, attention_mask=mask).logits,
                               peft_model(input_ids=ids, attention_mask=mask).logits, atol=1e-5, rtol=0)


def test_gpt2_fused_query_slice_matches_a_dense_equivalent():
    """On GPT-2's fused c_attn, a query-only LoRA changes the query third of the output only."""
    model = autopeft.apply(tiny_model("gpt2"), autopeft.PeftConfig.uniform(3, lora={"query": 2}))
    c_attn = model.transformer.h[0].attn.c_attn
    branch = c_attn.autopeft_lora_query
    torch.nn.init.normal_(branch.lora_B.weight)
    x = torch.randn(2, 5, 32)
    delta = c_attn(x) - (x @ c_attn.weight + c_attn.bias)
    assert delta[..., :32].abs().max() > 1e-3
    assert delta[..., 32:].abs().max() == 0
    torch.testing.assert_close(delta[..., :32], branch.lora_B(branch.lora_A(x)) * branch.scaling)
