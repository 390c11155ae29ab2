"""Export: the peft / adapters / autopeft / script formats, the clear refusals, and study selection."""

from __future__ import annotations

import copy
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import autopeft
from autopeft.export import ExportError, InexpressibleError
from autopeft.export.api import export_config, export_trial
from autopeft.export.selection import best_under, knee, parse_budget
from tests.conftest import SHARED_DATA, batch, minilm_path, tiny_model

REPO = Path(__file__).resolve().parents[1]


def _peft_model(base, out_dir):
    from peft import PeftConfig, get_peft_model

    return get_peft_model(copy.deepcopy(base), PeftConfig.from_pretrained(str(out_dir)))


def _trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _study_count(base, config) -> int:
    """What the exported model trains: autopeft.apply's PEFT modules (the study's trainable_params) + task head."""
    return autopeft.trainable_summary(autopeft.apply(copy.deepcopy(base), config)).trainable_params


def _lora_ranks_peft(peft_model) -> dict[str, int]:
    """Module path below base_model -> LoRA rank, as peft built it."""
    backbone = peft_model.base_model.model.base_model  # the task model's own base_model
    return {name: module.r["default"] for name, module in backbone.named_modules()
            if hasattr(module, "lora_A") and "default" in module.lora_A}


def _lora_ranks_autopeft(base, config) -> dict[str, int]:
    from autopeft.architectures import family_for

    family = family_for(base.config)
    return {
        f"{family.layers}.{i}.{path}": rank
        for i, layer in enumerate(config.layers)
        for projection, rank in layer.lora.items()
        if rank
        for path in family.projection_paths(projection)
    }


# ----------------------------------------------------------------------------- peft: LoRA
@pytest.mark.parametrize("family", ["bert", "roberta", "distilbert", "electra", "deberta-v2", "llama", "qwen2"])
def test_every_lora_layerwise_sample_loads_in_peft_with_the_studys_count(family, tmp_path):
    base = tiny_model(family)
    space = autopeft.load_space("lora_layerwise")
    for seed in range(4):
        config = space.sample(base.config, seed)
        result = export_config(config, base, "peft", tmp_path / str(seed))
        peft_model = _peft_model(base, tmp_path / str(seed))
        expected = _study_count(base, config)
        assert _trainable(peft_model) == expected == result.trainable_params
        assert _lora_ranks_peft(peft_model) == _lora_ranks_autopeft(base, config)


def test_gpt2_lora_on_attention_output_and_ffn_exports_but_fused_qkv_is_refused(tmp_path):
    base = tiny_model("gpt2")
    config = autopeft.PeftConfig.uniform(3, lora={"attn_output": 4, "ffn_in": 2, "ffn_out": 8})
    export_config(config, base, "peft", tmp_path / "ok")
    assert _trainable(_peft_model(base, tmp_path / "ok")) == _study_count(base, config)
    with pytest.raises(InexpressibleError) as info:
        export_config(autopeft.PeftConfig.uniform(3, lora={"query": 4, "value": 4}), base, "peft", tmp_path / "no")
    message = str(info.value)
    assert "query/key/value in layers [0, 1, 2]" in message and "c_attn" in message and "--format autopeft" in message
    assert not (tmp_path / "no" / "adapter_config.json").exists()


@pytest.mark.parametrize("rule", ["fixed", "proportional", "rslora"])
def test_exported_lora_computes_what_autopeft_computes(rule, tmp_path):
    base = tiny_model("bert")
    config = autopeft.PeftConfig(
        layers=[autopeft.LayerConfig(lora={"query": 2, "ffn_out": 8}), autopeft.LayerConfig(lora={"value": 4}),
                autopeft.LayerConfig(lora={"attn_output": 2, "ffn_in": 16})],
        lora_alpha=8, lora_alpha_rule=rule,
    )
    export_config(config, base, "peft", tmp_path)
    theirs = _peft_model(base, tmp_path).eval()
    ours = autopeft.apply(copy.deepcopy(base), config).eval()
    peft_params = dict(theirs.named_parameters())
    with torch.no_grad():
        for name, param in ours.named_parameters():
            if ".autopeft_lora_" in name:
                target, rest = name.split(".autopeft_lora_")
                matrix = rest.split(".", 1)[1].replace(".weight", ".default.weight")
                source = peft_params[f"base_model.model.{target}.{matrix}"]
                if matrix.startswith("lora_B"):
                    source.normal_(0, 0.5)
                param.copy_(source)
        ours.classifier.load_state_dict(theirs.base_model.model.classifier.modules_to_save["default"].state_dict())
    ids, mask = batch(seed=1)
    mine = ours(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(mine, theirs(input_ids=ids, attention_mask=mask).logits, atol=1e-5, rtol=0)
    assert (mine - base(input_ids=ids, attention_mask=mask).logits).abs().max() > 1e-3


def test_uniform_lora_uses_layers_to_transform(tmp_path):
    base = tiny_model("llama")
    config = autopeft.PeftConfig.uniform(3, layers=[0, 2], lora={"query": 8, "ffn_in": 4})
    export_config(config, base, "peft", tmp_path)
    saved = json.loads((tmp_path / "adapter_config.json").read_text())
    assert sorted(saved["target_modules"]) == ["mlp.gate_proj", "mlp.up_proj", "self_attn.q_proj"]
    assert saved["layers_to_transform"] == [0, 2] and saved["r"] in (4, 8) and saved["task_type"] == "SEQ_CLS"
    assert saved["modules_to_save"] == ["score"]
    assert _trainable(_peft_model(base, tmp_path)) == _study_count(base, config)


# ----------------------------------------------------------------------------- peft: IA3, prefix
@pytest.mark.parametrize("family", ["bert", "llama"])
def test_ia3_exports_to_peft_with_the_studys_count(family, tmp_path):
    base = tiny_model(family)
    config = autopeft.PeftConfig.uniform(3, layers=[1, 2], ia3=True)
    export_config(config, base, "peft", tmp_path)
    peft_model = _peft_model(base, tmp_path)
    assert _trainable(peft_model) == _study_count(base, config)
    assert sum(1 for n, _ in peft_model.named_parameters() if "ia3_l" in n) == 2 * 3


@pytest.mark.parametrize("family", ["bert", "roberta", "llama"])
def test_uniform_prefix_exports_to_peft_or_is_refused_naming_the_versions(family, tmp_path):
    """With the installed peft and transformers, the peft prefix export either trains (a forward
    and a backward pass, the study's count) or is refused naming both versions; the refusal is
    only right when peft itself cannot run prefix-tuning on the model."""
    import peft
    import transformers
    from peft import PrefixTuningConfig, get_peft_model

    from autopeft.export.peft_format import prefix_version_problems

    base = tiny_model(family)
    config = autopeft.PeftConfig.uniform(3, prefix_length=5)
    ids, mask = batch()
    if prefix_version_problems(base.config):
        with pytest.raises(InexpressibleError) as info:
            export_config(config, base, "peft", tmp_path)
        assert f"peft {peft.__version__}" in str(info.value) and f"transformers {transformers.__version__}" in str(info.value)
        assert "autopeft" in info.value.alternatives
        direct = get_peft_model(copy.deepcopy(base), PrefixTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=5))
        with pytest.raises(ValueError, match="past key values"):
            direct(input_ids=ids, attention_mask=mask)
        return
    export_config(config, base, "peft", tmp_path)
    peft_model = _peft_model(base, tmp_path)
    assert _trainable(peft_model) == _study_count(base, config)
    logits = peft_model(input_ids=ids, attention_mask=mask).logits
    assert logits.shape == (2, 3)
    logits.sum().backward()
    grads = [p.grad for n, p in peft_model.named_parameters() if p.requires_grad and "prompt_encoder" in n]
    assert grads and all(g is not None and bool(g.abs().sum() > 0) for g in grads)


def test_inexpressible_configs_name_each_part(tmp_path):
    base = tiny_model("bert")
    config = autopeft.PeftConfig.uniform(3, serial_adapter=8, lora={"query": 4})
    config.layers[2].parallel_adapter = 4
    config.layers[1].prefix_length = 3
    with pytest.raises(InexpressibleError) as info:
        export_config(config, base, "peft", tmp_path)
    error = info.value
    assert any(p.startswith("serial_adapter (bottleneck adapter) in layers [0, 1, 2]") for p in error.parts)
    assert any(p.startswith("parallel_adapter (bottleneck adapter) in layers [2]") for p in error.parts)
    assert any("prefix_length [0, 3, 0]" in p for p in error.parts)
    assert any("mixture of lora + prefix" in p for p in error.parts)
    assert error.alternatives == ["autopeft"]
    with pytest.raises(InexpressibleError, match="'mlp'"):
        export_config(autopeft.PeftConfig.uniform(3, prefix_length=4, prefix_reparameterization="mlp"), base, "peft", tmp_path)
    adapters_only = autopeft.PeftConfig.uniform(3, serial_adapter=8)
    with pytest.raises(InexpressibleError) as info:
        export_config(adapters_only, base, "peft", tmp_path)
    assert info.value.alternatives == ["autopeft", "adapters"] and "--format adapters" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_mixed_space_samples_export_or_refuse(tmp_path):
    base = tiny_model("bert")
    space = autopeft.load_space("mixed")
    refused = 0
    for seed in range(3):
        config = space.sample(base.config, seed)
        try:
            export_config(config, base, "peft", tmp_path / str(seed))
        except InexpressibleError as exc:
            refused += 1
            assert exc.parts and "autopeft" in exc.alternatives
        else:
            assert _trainable(_peft_model(base, tmp_path / str(seed))) == _study_count(base, config)
        export_config(config, base, "autopeft", tmp_path / f"a{seed}")
        assert autopeft.load_config(str(tmp_path / f"a{seed}" / "autopeft_config.json")) == config
    assert refused >= 1


# ----------------------------------------------------------------------------- adapters, autopeft
def test_adapters_json_follows_adapterhub_schema(tmp_path):
    base = tiny_model("bert")  # hidden 32
    config = autopeft.PeftConfig.uniform(3, layers=[0, 1], serial_adapter=8, lora={"query": 4, "value": 4, "ffn_in": 4},
                                         adapter_activation="silu")
    config.layers[2].parallel_adapter = 16
    config.layers[1].serial_adapter = 4
    export_config(config, base, "adapters", tmp_path)
    data = json.loads((tmp_path / "adapters_config.json").read_text())
    assert data["architecture"] == "union"
    serial, parallel, lora = data["configs"]
    assert serial["output_adapter"] and not serial["mh_adapter"] and not serial["is_parallel"]
    assert {k: 32 // v for k, v in serial["reduction_factor"].items() if k != "default"} == {"0": 8, "1": 4}
    assert serial["leave_out"] == [2] and serial["non_linearity"] == "swish"
    assert parallel["is_parallel"] and parallel["reduction_factor"]["2"] == 2 and parallel["scaling"] == 4.0
    assert parallel["leave_out"] == [0, 1]
    assert lora["architecture"] == "lora" and lora["r"] == 4 and lora["attn_matrices"] == ["q", "v"]
    assert lora["intermediate_lora"] and not lora["output_lora"] and lora["leave_out"] == [2]
    assert "transformers 4.x" in (tmp_path / "README.md").read_text()
    with pytest.raises(InexpressibleError, match="ia3 in layers"):
        export_config(autopeft.PeftConfig.uniform(3, ia3=True), base, "adapters", tmp_path / "x")
    with pytest.raises(InexpressibleError, match="attn_output"):
        export_config(autopeft.PeftConfig.uniform(3, lora={"attn_output": 2}), base, "adapters", tmp_path / "x")


# ----------------------------------------------------------------------------- MiniLM
@pytest.mark.minilm
def test_minilm_lora_layerwise_samples_export_with_the_studys_count(tmp_path):
    from transformers import AutoConfig, AutoModelForSequenceClassification

    path = minilm_path()
    model_config = AutoConfig.from_pretrained(path)
    head = 384 * 2 + 2
    space = autopeft.load_space("lora_layerwise")
    for seed in range(5):
        config = space.sample(model_config, seed)
        result = export_config(config, path, "peft", tmp_path / str(seed), task="glue/rte")
        assert result.peft_params == config.num_trainable_params(model_config) and result.head_params == head
        assert result.trainable_params == result.peft_params + head
    base = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    peft_model = _peft_model(base, tmp_path / "4")
    assert _trainable(peft_model) == result.trainable_params == _study_count(base, config)
    readme = (tmp_path / "4" / "README.md").read_text()
    said = f"{result.trainable_params} trainable = {result.peft_params} PEFT params + {head} head params"
    assert said in readme and "get_peft_model" in readme


def _run_script(folder: Path, *extra: str) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="2", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, str(folder / "train.py"), "--max-steps", "5", "--batch-size", "4", "--max-seq-length", "64",
         "--max-train-examples", "32", "--max-eval-examples", "8", "--cpu", *extra],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{\n"):])
    assert summary["steps"] == 5 and 0.0 <= summary["score"] <= 1.0
    return summary


@pytest.mark.minilm
def test_script_trains_five_steps_with_peft_on_rte(tmp_path):
    if not (SHARED_DATA / "glue" / "rte").is_dir():
        pytest.skip("shared RTE data not present")
    path = minilm_path()
    config = autopeft.PeftConfig.uniform(6, lora={"query": 4, "value": 2})
    config.layers[5].lora["ffn_out"] = 8
    result = export_config(config, path, "script", tmp_path, task="glue/rte", data_dir=str(SHARED_DATA))
    assert result.backend == "peft" and result.files == ["adapter_config.json", "train.py", "README.md"]
    assert "import autopeft" not in (tmp_path / "train.py").read_text().replace("        import autopeft\n", "")
    summary = _run_script(tmp_path, "--output-dir", str(tmp_path / "out"))
    assert summary["trainable_params"] == result.trainable_params
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()


@pytest.mark.minilm
def test_script_uses_autopeft_for_what_peft_cannot_express(tmp_path, capsys):
    if not (SHARED_DATA / "glue" / "rte").is_dir():
        pytest.skip("shared RTE data not present")
    config = autopeft.PeftConfig.uniform(6, layers=[4, 5], serial_adapter=16, ia3=True)
    result = export_config(config, minilm_path(), "script", tmp_path, task="glue/rte", data_dir=str(SHARED_DATA))
    assert result.backend == "autopeft" and "autopeft_config.json" in result.files
    # In-process (the peft test above runs train.py as its own process): main(argv) of the script.
    script = runpy.run_path(str(tmp_path / "train.py"), run_name="train")
    assert script["main"](["--max-steps", "5", "--batch-size", "4", "--max-seq-length", "64", "--max-train-examples", "32",
                           "--max-eval-examples", "8", "--cpu", "--output-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{\n"):])
    assert summary["steps"] == 5 and summary["trainable_params"] == result.trainable_params
    assert (tmp_path / "out" / "autopeft_weights.pt").is_file()


# ----------------------------------------------------------------------------- studies
class _Record:
    def __init__(self, number, score, params, percent=None):
        self.number, self.score, self.trainable_params, self.percent_params = number, score, params, percent
        self.state, self.peft = "COMPLETE", autopeft.PeftConfig.uniform(1, lora={"query": 1})


def test_best_under_and_knee_selection():
    records = [_Record(0, 0.60, 1_000, 0.01), _Record(1, 0.70, 10_000, 0.1), _Record(2, 0.74, 100_000, 1.0),
               _Record(3, 0.75, 1_000_000, 10.0)]
    assert best_under(records, "150000").number == 2
    assert best_under(records, "0.5%").number == 1
    assert best_under(records, 1_000_000).number == 3
    with pytest.raises(ExportError, match="smallest has 1000"):
        best_under(records, "999")
    assert parse_budget("0.5%") == ("percent", 0.5)
    with pytest.raises(ExportError, match="--best-under 'abc'"):
        parse_budget("abc")
    # In (log params, score) normalised to [0, 1]: (0, 0), (1/3, 2/3), (2/3, 14/15), (1, 1): the knee is trial 1.
    assert knee(records).number == 1
    assert knee(records[:2]).number == 1


def _make_study(url: str, name: str, model: str, configs: list, scores: list) -> None:
    import optuna
    from transformers import AutoConfig

    model_config = AutoConfig.from_pretrained(model)
    study = optuna.create_study(storage=url, study_name=name, directions=["maximize", "minimize"])
    study.set_user_attr("autopeft", {"model": model, "task": "glue/rte", "data_dir": str(SHARED_DATA), "objectives": ["score", "params"],
                                     "seed": 3, "fidelity": {"learning_rate": None, "batch_size": 16}})
    for config, score in zip(configs, scores):
        params = config.num_trainable_params(model_config)  # the PEFT modules only, as a study stores them
        study.add_trial(optuna.trial.create_trial(
            values=[score, params],
            user_attrs={"config": config.to_dict(), "result": {"score": score, "trainable_params": params,
                                                               "percent_params": 100 * params / 22_565_376, "metrics": {"accuracy": score}}},
        ))


@pytest.mark.minilm
def test_export_from_a_study_through_the_cli(tmp_path, capsys):
    from autopeft.cli import main

    path = minilm_path()
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    configs = [autopeft.PeftConfig.uniform(6, layers=[5], lora={"query": 2}),
               autopeft.PeftConfig.uniform(6, lora={"query": 4, "value": 4}),
               autopeft.PeftConfig.uniform(6, lora={"query": 16, "value": 16, "ffn_in": 16}),
               autopeft.PeftConfig.uniform(6, serial_adapter=64)]
    _make_study(url, "rte-lora", path, configs, [0.55, 0.66, 0.67, 0.60])
    assert main(["export", "--study", "rte-lora", "--storage", url, "--knee", "--format", "peft", "--out", str(tmp_path / "knee")]) == 0
    readme = (tmp_path / "knee" / "README.md").read_text()
    assert "- trial: 1" in readme and "- score: 0.66" in readme and "knee" in readme
    assert main(["export", "--study", "rte-lora", "--storage", url, "--best-under", "20000", "--format", "autopeft",
                 "--out", str(tmp_path / "small")]) == 0
    assert autopeft.load_config(str(tmp_path / "small" / "autopeft_config.json")) == configs[0]
    assert main(["export", "--study", "rte-lora", "--storage", url, "--trial", "3", "--format", "peft", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "serial_adapter (bottleneck adapter) in layers [0, 1, 2, 3, 4, 5]" in err and "--format adapters" in err
    result = export_trial(url, "rte-lora", "script", tmp_path / "script", trial=2)
    assert result.backend == "peft"
    text = (tmp_path / "script" / "train.py").read_text()
    assert '"batch_size": 16' in text and '"seed": 3' in text and '"name": "glue/rte"' in text


def test_the_head_and_its_label_names_come_from_the_task_of_any_kind(tmp_path):
    """Registry regression, your own files, or --labels / --num-labels: never a silent 2-class head."""
    from tests.conftest import save_tiny_bert

    model = save_tiny_bert(tmp_path / "model")
    config = autopeft.PeftConfig.uniform(2, lora={"query": 4})
    result = export_config(config, model, "peft", tmp_path / "stsb", task="glue/stsb")
    assert result.head_params == 32 * 1 + 1
    assert 'num_labels=1, problem_type="regression"' in (tmp_path / "stsb" / "README.md").read_text()
    data = tmp_path / "mine.csv"
    data.write_text("".join(f"text number {i},{['cat', 'dog', 'bird'][i % 3]}\n" for i in range(15)), encoding="utf-8")
    result = export_config(config, model, "autopeft", tmp_path / "own", task={"train": str(data), "columns": "text,label"})
    readme = (tmp_path / "own" / "README.md").read_text()
    assert result.head_params == 32 * 3 + 3 and "num_labels=3" in readme and "bird, cat, dog" in readme
    assert export_config(config, model, "peft", tmp_path / "named", label_names="neg,pos,neutral,mixed").head_params == 32 * 4 + 4
    with pytest.raises(ExportError, match="--num-labels 2: task 'glue/stsb' has a 1-output head"):
        export_config(config, model, "peft", tmp_path / "x", task="glue/stsb", num_labels=2)


# ----------------------------------------------------------------------------- export checks (hardening item 6)
def _tiny_study(tmp_path) -> tuple[str, str, "autopeft.PeftConfig"]:
    """A study on a tiny saved BERT: trial 0 COMPLETE, trial 1 FAIL, trial 2 PRUNED (each with a config)."""
    import optuna

    from autopeft.backbone import load_backbone
    from autopeft.proxy.result import TrialResult
    from autopeft.store import keys
    from autopeft.store.trial import Timings, WorkerInfo, encode_config, encode_result
    from tests.conftest import save_tiny_bert

    model = save_tiny_bert(tmp_path / "model")
    url = f"sqlite:///{tmp_path / 'checks.db'}"
    config = autopeft.PeftConfig.uniform(2, lora={"query": 4})
    params = config.num_trainable_params(load_backbone(model))
    study = optuna.create_study(storage=url, study_name="checks", directions=["maximize", "minimize"])
    study.set_user_attr(keys.META_KEY, {"model": model, "task": "glue/rte", "objectives": ["score", "params"], "seed": 0})
    ok = encode_result(TrialResult(score=0.6, trainable_params=params), {}, WorkerInfo(), Timings())
    failed = encode_result(TrialResult(status="failed", error="oom: out of memory"), {}, WorkerInfo(), Timings())
    study.add_trial(optuna.trial.create_trial(values=[0.6, params], user_attrs={**encode_config(config), **ok}))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
                                              user_attrs={**encode_config(config), **failed, keys.ERROR: "oom: out of memory"}))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED, user_attrs=encode_config(config)))
    return url, model, config


def test_exporting_a_failed_or_pruned_trial_is_refused_naming_its_state(tmp_path, capsys):
    from autopeft.cli import main

    url, _, config = _tiny_study(tmp_path)
    for number, state in ((1, "FAIL"), (2, "PRUNED")):
        out = tmp_path / f"out{number}"
        with pytest.raises(ExportError, match=rf"trial {number} of study 'checks' is {state}\b.*--allow-failed"):
            export_trial(url, "checks", "autopeft", out, trial=number)
        assert not out.exists()  # nothing written, not even the folder
        result = export_trial(url, "checks", "autopeft", out, trial=number, allow_failed=True)
        assert autopeft.load_config(str(out / "autopeft_config.json")) == config and result.source["state"] == state
        assert f"- state: {state}" in (out / "README.md").read_text()
    assert main(["export", "--study", "checks", "--storage", url, "--trial", "1", "--format", "autopeft",
                 "--out", str(tmp_path / "cli")]) == 2
    err = capsys.readouterr().err
    assert "trial 1 of study 'checks' is FAIL" in err and "oom: out of memory" in err and "--allow-failed" in err
    assert not (tmp_path / "cli").exists()
    assert main(["export", "--study", "checks", "--storage", url, "--trial", "1", "--format", "autopeft",
                 "--out", str(tmp_path / "cli"), "--allow-failed"]) == 0
    assert (tmp_path / "cli" / "autopeft_config.json").is_file()
    export_trial(url, "checks", "autopeft", tmp_path / "ok", trial=0)  # a COMPLETE trial needs no flag


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_export_that_fails_half_way_leaves_no_partial_files(tmp_path, monkeypatch, error):
    """The config file is written before the README: a failure in between must not leave it behind, in a
    new folder or in an existing one (whose files stay as they were), nor leave the temporary folder."""
    from autopeft.export import readme

    url, _, _ = _tiny_study(tmp_path)
    exports = tmp_path / "exports"
    existing = exports / "existing"
    existing.mkdir(parents=True)
    (existing / "autopeft_config.json").write_text("old config\n")
    (existing / "notes.txt").write_text("mine\n")

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(readme, "render", broken)
    for target in (exports / "new", existing):
        with pytest.raises(type(error)):
            export_trial(url, "checks", "autopeft", target, trial=0)
    assert sorted(p.name for p in exports.iterdir()) == ["existing"]  # no new folder, no temporary folder left
    assert sorted(p.name for p in existing.iterdir()) == ["autopeft_config.json", "notes.txt"]
    assert (existing / "autopeft_config.json").read_text() == "old config\n" and (existing / "notes.txt").read_text() == "mine\n"


def test_an_export_into_an_existing_folder_replaces_its_files_and_keeps_the_others(tmp_path):
    url, _, config = _tiny_study(tmp_path)
    target = tmp_path / "exports" / "existing"
    target.mkdir(parents=True)
    (target / "autopeft_config.json").write_text("old config\n")
    (target / "notes.txt").write_text("mine\n")
    result = export_trial(url, "checks", "autopeft", target, trial=0)
    assert result.out_dir == str(target) and result.files == ["autopeft_config.json", "README.md"]
    assert autopeft.load_config(str(target / "autopeft_config.json")) == config
    assert (target / "notes.txt").read_text() == "mine\n" and "- trial: 0" in (target / "README.md").read_text()
    assert sorted(p.name for p in target.parent.iterdir()) == ["existing"]  # the temporary folder is gone
    new = export_config(config, str(tmp_path / "model"), "autopeft", tmp_path / "exports" / "a" / "b", num_labels=2)
    assert sorted(os.listdir(new.out_dir)) == ["README.md", "autopeft_config.json"]
    assert sorted(p.name for p in (tmp_path / "exports" / "a").iterdir()) == ["b"]
