"""Calibration: signal statistics with hand-computed numbers, the verdict's thresholds, the
configurations chosen, chance scores, the fidelity presets, the store round trip and the
search's warning, and one real `autopeft calibrate` on a tiny model through Ray."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autopeft.calibration import signal_stats, verdict
from autopeft.calibration.verdict import next_fidelity
from autopeft.errors import ConfigError
from autopeft.proxy.fidelity import DEFAULT_PRESET, PRESETS, Fidelity
from autopeft.proxy.result import TrialResult
from autopeft.store.calibrations import CalibrationRecord, CalibrationRow, find_calibrations, record_calibration

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- statistics and verdict
def test_signal_stats_by_hand():
    scores = [[0.5, 0.6], [0.7, 0.7], [0.9, 0.8]]
    stats = signal_stats(scores, [0.55, 0.70, 0.95])
    assert stats.spearman == pytest.approx(1.0) and stats.kendall == pytest.approx(1.0)
    # seed variances 0.005, 0, 0.005 -> pooled sd sqrt(0.01 / 3); means 0.55, 0.70, 0.85 -> sd 0.15
    assert stats.noise == pytest.approx(math.sqrt(0.01 / 3))
    assert stats.spread == pytest.approx(0.15)
    assert stats.noise_ratio == pytest.approx(math.sqrt(0.01 / 3) / 0.15)
    reversed_stats = signal_stats(scores, [0.95, 0.70, 0.55])
    assert reversed_stats.spearman == pytest.approx(-1.0)


def test_failed_runs_are_left_out_and_ties_are_blind():
    stats = signal_stats([[0.5, None], [None, None], [0.7, 0.7], [0.6, 0.6]], [0.5, 0.9, 0.8, None])
    assert stats.configs == 2  # one config never scored, one has no reference
    tied = signal_stats([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], [0.6, 0.7, 0.8])
    assert tied.spread == 0 and math.isinf(tied.noise_ratio) and tied.spearman is None
    ranks, line = verdict("tiny", "standard", tied, baselines_at_chance=3)
    assert not ranks
    assert line == "tiny is blind on this task (rho undefined < 0.6; noise/spread inf > 0.5; 3 baseline(s) at chance): try quick"


def test_verdict_thresholds():
    good = signal_stats([[0.5, 0.52], [0.7, 0.69], [0.9, 0.91]], [0.6, 0.7, 0.8])
    assert verdict("quick", "standard", good, 0) == (True, f"quick ranks like standard: use it (rho 1.00, noise/spread {good.noise_ratio:.2f})")
    assert verdict("quick", "standard", good, 1)[0] is False  # a baseline at chance is enough to refuse
    noisy = signal_stats([[0.5, 0.9], [0.9, 0.5], [0.7, 0.72]], [0.6, 0.7, 0.8])
    assert not verdict("quick", "standard", noisy, 0)[0]
    assert next_fidelity("quick:max_eval_examples=64") == "standard" and next_fidelity("full") == "full with more steps"


# --------------------------------------------------------------------------- chance and collapse
def test_chance_score_is_the_best_constant_predictor():
    from autopeft.proxy.runner import prediction_spread

    class Task:  # the three things prediction_spread reads, with a real metric underneath
        def __init__(self, metrics, main):
            from autopeft.tasks import metrics as metric_functions

            self.kind, self.num_labels, self.main_metric = "classification", 2, main
            self.compute_metrics = lambda p, r: metric_functions.compute(metrics, np.asarray(p), np.asarray(r))

    references = np.array([1] * 68 + [0] * 32)  # MRPC-like: 68 % positive
    share, chance = prediction_spread(Task(("f1", "accuracy"), "f1"), np.ones(100, dtype=int), references)
    assert share == 1.0
    assert chance == pytest.approx(2 * 0.68 / (1 + 0.68))  # F1 of "always positive" = 0.8095
    share, chance = prediction_spread(Task(("accuracy",), "accuracy"), np.array([0] * 60 + [1] * 40), references)
    assert share == pytest.approx(0.6) and chance == pytest.approx(0.68)
    share, chance = prediction_spread(Task(("matthews_correlation",), "matthews_correlation"), np.array([0, 1] * 50), references)
    assert chance == 0.0


def test_collapse_and_chance_flags():
    assert TrialResult(score=0.812, majority_share=1.0, chance_score=0.812).collapsed
    assert TrialResult(score=0.83, majority_share=0.6, chance_score=0.812).at_chance  # within 2 points
    learned = TrialResult(score=0.86, majority_share=0.6, chance_score=0.812)
    assert not learned.collapsed and not learned.at_chance
    assert TrialResult.from_dict(learned.to_dict()) == learned


# --------------------------------------------------------------------------- presets
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_takes_overrides(name):
    fidelity = Fidelity.parse(f"{name}:max_train_examples=64,learning_rate=3e-3,max_eval_examples=null")
    assert fidelity == Fidelity(**{**PRESETS[name].to_dict(), "max_train_examples": 64, "learning_rate": 3e-3, "max_eval_examples": None})
    assert Fidelity.resolve(name) == PRESETS[name]


def test_fidelity_errors_name_the_key():
    with pytest.raises(ConfigError, match="unknown preset 'fast'"):
        Fidelity.parse("fast")
    with pytest.raises(ConfigError, match="unknown key 'max_trian_examples'"):
        Fidelity.parse("tiny:max_trian_examples=64")
    with pytest.raises(ConfigError, match="max_steps: expected a positive integer"):
        Fidelity.parse("quick:max_steps=-3")
    with pytest.raises(ConfigError, match="expected PRESET or PRESET:key=value"):
        Fidelity.parse("quick:max_steps")
    assert Fidelity.resolve(None) == PRESETS[DEFAULT_PRESET]


def test_the_reference_trains_five_times_the_default():
    from autopeft.proxy.train import total_steps

    quick, standard = PRESETS["quick"], PRESETS["standard"]
    quick_steps = total_steps(quick.max_train_examples, quick.batch_size, quick.epochs, quick.max_steps)
    assert standard.max_steps >= 5 * quick_steps


# --------------------------------------------------------------------------- configurations
def test_calibration_configs_are_the_baselines_then_spread_samples():
    from transformers import AutoConfig

    from autopeft.calibration.configs import calibration_configs
    from autopeft.service.baselines import BASELINES
    from autopeft.spaces import load_space
    from tests.conftest import minilm_path

    model_config = AutoConfig.from_pretrained(minilm_path())
    configs = calibration_configs(load_space("autopeft"), model_config, 12)
    assert [c.name for c in configs[:6]] == list(BASELINES) and all(c.baseline for c in configs[:6])
    samples = [c.config.num_trainable_params(model_config) for c in configs[6:]]
    assert len(samples) == 6 and samples == sorted(samples) and len(set(samples)) == 6
    assert samples[-1] / samples[0] > 10  # spread over sizes, not six of a kind
    with pytest.raises(ConfigError, match="expected an integer >= 3"):
        calibration_configs(load_space("autopeft"), model_config, 2)


# --------------------------------------------------------------------------- store and search warning
def _record(task: str, fidelity: str, ranks: bool) -> CalibrationRecord:
    rows = (CalibrationRow("lora8_qv", 73728, (0.7, 0.72), 0.8, False, True),)
    return CalibrationRecord(task=task, model="m", data_dir=None, fidelity=fidelity, reference="standard", spearman=0.7 if ranks else 0.1,
                             kendall=0.5, noise=0.01, spread=0.1 if ranks else 0.0, noise_ratio=0.1 if ranks else math.inf,
                             configs_at_chance=0, baselines_at_chance=0, ranks=ranks, verdict="ranks" if ranks else "blind", rows=rows)


def test_calibrations_round_trip_and_search_warns_on_a_blind_fidelity(tmp_path):
    from autopeft.commands.search import calibration_warning
    from autopeft.store import list_studies

    url = f"sqlite:///{tmp_path / 's.db'}"
    assert find_calibrations(url) == []  # no database yet: nothing, and nothing created
    assert not (tmp_path / "s.db").exists()
    run = {"name": "lora8_qv", "fidelity": "tiny", "seed": 0, "result": TrialResult(score=0.7).to_dict()}
    blind = record_calibration(url, _record("glue/rte", "tiny", False), [run, {**run, "seed": 1, "result": TrialResult(status="failed").to_dict()}])
    record_calibration(url, _record("glue/sst2", "tiny", True))
    found = find_calibrations(url, task="glue/rte")
    assert [r.study_name for r in found] == [blind.study_name] and math.isinf(found[0].noise_ratio)
    assert found[0].rows == blind.rows
    assert calibration_warning(url, "glue/rte", "m", "tiny").startswith(f"warning: calibration {blind.study_name} found fidelity 'tiny' blind")
    assert calibration_warning(url, "glue/sst2", "m", "tiny") is None  # it ranks
    assert calibration_warning(url, "glue/rte", "m", "quick") is None  # never calibrated
    assert list_studies(url) == []  # calibrations are not searches

    import optuna

    study = optuna.load_study(study_name=blind.study_name, storage=url)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL"] and study.trials[0].value == 0.7


# --------------------------------------------------------------------------- the command, for real
def test_calibrate_command_trains_on_ray_and_records(tmp_path):
    """A real `autopeft calibrate` on a tiny random model and a folder task: it trains 4
    configurations x (2 seeds + the reference) on Ray workers, prints the verdict, and the
    calibration lands in the store."""
    from tests.conftest import save_tiny_bert

    model_dir = save_tiny_bert(tmp_path / "tiny-bert")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO),
           "AUTOPEFT_CACHE_DIR": str(tmp_path / "cache")}
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    for label in ("red", "green", "blue"):
        (task_dir / label).mkdir()
        for i in range(20):
            (task_dir / label / f"{i}.txt").write_text(f"{label} item number {i}")
    url = f"sqlite:///{tmp_path / 'cal.db'}"

    def calibrate(reference: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "autopeft.cli", "calibrate", "--task", f"folder:{task_dir}", "--model", model_dir,
             "--fidelity", "tiny:max_train_examples=16,max_eval_examples=12", "--reference", reference, "--configs", "4", "--storage", url],
            capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
        )

    short = calibrate("tiny:max_train_examples=80,max_eval_examples=12")  # 48 training rows: 3 steps, not 5
    assert short.returncode == 2 and short.stderr.strip().endswith("under 5x the 1 of fidelity 'tiny:max_train_examples=16,max_eval_examples=12'; choose a longer reference, e.g. tiny:max_steps=5")
    assert not (tmp_path / "cal.db").exists()  # refused before anything was written
    out = calibrate("tiny:max_steps=5,max_eval_examples=12")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "spearman rho" in out.stdout and ("ranks like" in out.stdout or "is blind on this task" in out.stdout)
    (record,) = find_calibrations(url)
    assert len(record.rows) == 4 and all(len(row.scores) == 2 for row in record.rows)
    assert record.extra["steps"] == 1 and record.extra["reference_steps"] == 5
    assert all(row.reference is not None for row in record.rows)
