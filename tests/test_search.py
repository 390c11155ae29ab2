"""`autopeft search` and friends on a local Ray cluster and a SQLite store: the whole loop with a
zero-cost objective (baselines, budget, Pareto table, `studies`/`pareto`/`show`), the bad-input
errors (one line, exit 2, nothing written), and the pieces of the loop: registries, parsing,
re-queueing and hypervolume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("ray")

from autopeft.cli import main  # noqa: E402
from autopeft.commands.search import flag  # noqa: E402
from autopeft.service.baselines import BASELINES, build_baseline, parse_baselines  # noqa: E402
from autopeft.service.errors import SearchError  # noqa: E402
from autopeft.service.objectives import parse_objectives  # noqa: E402
from autopeft.service.prepare import parse_max_params  # noqa: E402
from autopeft.hypervolume import hypervolume  # noqa: E402
from autopeft.store import load_study_summary, load_trials, pareto_front  # noqa: E402
from tests.conftest import minilm_path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ZERO = "tests.fake_objectives:zero_cost"


def cli(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "autopeft.cli", *args], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO)


# --------------------------------------------------------------------------- registries and parsing
def test_baselines_have_the_standard_sizes():
    from transformers import AutoConfig

    mc = AutoConfig.from_pretrained(minilm_path())  # 6 layers, hidden 384, FFN 1536
    counts = {name: build_baseline(name, 6).num_trainable_params(mc) for name in BASELINES}
    assert counts["lora8_qv"] == 6 * 2 * 8 * (384 + 384)
    assert counts["ia3"] == 6 * (384 + 384 + 1536)
    assert counts["houlsby64"] > counts["pfeiffer64"] > counts["lora8_qv"]
    assert parse_baselines("none") == [] and parse_baselines("all") == list(BASELINES)
    assert parse_baselines(None) == ["lora8_qv", "pfeiffer64", "ia3"]
    with pytest.raises(SearchError, match="unknown baseline 'lora9'"):
        parse_baselines("lora9")


def test_objectives_and_max_params_parse():
    assert [o.direction for o in parse_objectives("score,params,train_time")] == ["maximize", "minimize", "minimize"]
    with pytest.raises(SearchError, match="unknown objective 'speed'"):
        parse_objectives("score,speed")
    with pytest.raises(SearchError, match="expected 'score'"):
        parse_objectives("params,adapter_bytes")
    assert parse_max_params("0.5%", 22_000_000) == 110_000
    assert parse_max_params("1.5e5", 1) == 150_000
    assert parse_max_params(None, 1) is None
    with pytest.raises(SearchError, match="max_params 'lots'") as raised:  # the library names the parameter,
        parse_max_params("lots", 1)
    assert raised.value.render(flag).startswith("--max-params 'lots'")  # the CLI its flag


def test_hypervolume_of_known_front():
    # score maximised (ref 0), params as a fraction of a 1000-param backbone (ref 1):
    # points (0.8, 0.5) and (0.6, 0.1) -> union of boxes 0.8*0.5 + 0.6*(0.5-0.1) = 0.64
    hv = hypervolume([(0.8, 500), (0.6, 100)], ["score", "params"], ["maximize", "minimize"], 1000)
    assert hv == pytest.approx(0.64)
    assert hypervolume([], ["score", "params"], ["maximize", "minimize"], 1000) == 0.0


def test_requeue_runs_a_failed_trial_once(tmp_path):
    from autopeft.store.study import StudyStore

    store = StudyStore(f"sqlite:///{tmp_path / 'r.db'}", "r")
    study = store.create(optuna.samplers.RandomSampler(seed=0), ["maximize", "minimize"], ["score", "params"])
    requeue = store.requeue
    trial = study.ask()
    trial.suggest_categorical("a", [1, 2])
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    assert requeue(study.trials[0], "worker died")
    retry = study.ask()
    assert retry.user_attrs["retry_of"] == 0 and retry.user_attrs["attempt"] == 2
    assert retry.suggest_categorical("a", [1, 2]) == study.trials[0].params["a"]  # the same config again
    study.tell(retry, state=optuna.trial.TrialState.FAIL)
    assert not requeue(study.trials[1], "died again")  # only once
    assert requeue(study.trials[1], "interrupted", force=True)  # Ctrl-C always re-queues


def test_results_carry_every_trial_result_field():
    """normalize_result keeps every TrialResult field (the dataclass is the list), and the test
    objectives return them counted as a real trial does."""
    from dataclasses import fields

    from transformers import AutoConfig

    from autopeft.architectures import backbone_params
    from autopeft.proxy.result import TrialResult
    from tests.fake_objectives import zero_cost
    from autopeft.service.trial_fn import RESULT_FIELDS, normalize_result

    names = [f.name for f in fields(TrialResult)]
    assert list(RESULT_FIELDS) == names and {"head_params", "majority_share", "chance_score"} <= set(names)
    out = normalize_result(TrialResult(score=0.5, trainable_params=10, head_params=3, majority_share=1.0, chance_score=0.5))
    assert (out["head_params"], out["majority_share"], out["chance_score"]) == (3, 1.0, 0.5)
    assert set(normalize_result({"score": 0.1})) >= set(names)
    mc = AutoConfig.from_pretrained(minilm_path())
    config = build_baseline("lora8_qv", 6)
    fake = normalize_result(zero_cost(minilm_path(), "zero", config))
    assert set(fake) >= set(names)
    assert fake["trainable_params"] == config.num_trainable_params(mc) == 73728 and fake["head_params"] == 770
    assert fake["percent_params"] == 100 * 73728 / backbone_params(mc)


def test_a_count_other_than_the_configs_is_named():
    """The loop fails a trial whose objective counts otherwise than the config (the head
    included, another denominator) instead of storing a second number."""
    from autopeft.service.loop import _count_mismatch

    assert _count_mismatch(73728, 100 * 73728 / 22_565_376, 73728, 22_565_376) is None
    assert _count_mismatch(None, None, 73728, 22_565_376) is None
    with_head = _count_mismatch(74498, None, 73728, 22_565_376)
    assert "counted 74498" in with_head and "73728 PEFT params" in with_head and "head_params" in with_head
    assert "backbone" in _count_mismatch(73728, 100 * 73728 / 22_713_216, 73728, 22_565_376)


# --------------------------------------------------------------------------- bad input: one line, exit 2, nothing written
@pytest.mark.parametrize(
    "args, message",
    [
        (["--sampler", "annealing"], "--sampler 'annealing': unknown sampler"),
        (["--model", "/nonexistent/model"], "--model '/nonexistent/model'"),
        (["--space", "missing.yaml"], "missing.yaml: no such search-space file"),
        (["--data-dir", "/nonexistent/data"], "--data-dir '/nonexistent/data'"),
        (["--objectives", "score,speed"], "unknown objective 'speed'"),
        (["--storage", "sqlite:////nonexistent/dir/x.db"], "folder '/nonexistent/dir' does not exist"),
        (["--storage", "postgresql+psycopg://nobody@127.0.0.1:9/x"], "cannot connect"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    base = ["search", "--model", minilm_path(), "--task", "zero", "--objective-fn", ZERO, "--storage", f"sqlite:///{tmp_path}/s.db"]
    code = main([*base, *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []  # no database file, nothing else


def test_unknown_task_fails_before_writing(tmp_path, capsys):
    code = main(["search", "--model", minilm_path(), "--task", "no_such_task", "--storage", f"sqlite:///{tmp_path}/s.db"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "no_such_task" in err and "\n" not in err
    assert not (tmp_path / "s.db").exists()


# --------------------------------------------------------------------------- the whole loop on local Ray
@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    url = f"sqlite:///{folder}/s.db"
    run = cli(
        "search", "--model", minilm_path(), "--task", "zero", "--space", "lora_layerwise", "--trials", "8", "--workers", "2",
        "--sampler", "tpe", "--baselines", "lora8_qv,ia3", "--storage", url, "--study", "z", "--objective-fn", ZERO,
        "--max-params", "2%", "--no-progress", "--seed", "3",
    )
    return folder, url, run


def test_search_runs_budget_and_baselines(finished_study):
    folder, url, run = finished_study
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Pareto front of z" in run.stdout
    summary = load_study_summary(url, "z")
    records = load_trials(url, "z")
    search = [r for r in records if r.baseline is None and r.rejected is None and r.retry_of is None]
    assert len(search) == 8 and all(r.state == "COMPLETE" for r in search)
    assert sorted(r.baseline for r in records if r.baseline) == ["ia3", "lora8_qv"]
    assert summary.metadata["space_name"] == "lora_layerwise" and "parameters:" in summary.metadata["space_yaml"]
    assert summary.metadata["sampler"] == "tpe" and summary.metadata["trials"] == 8
    backbone = summary.metadata["backbone_params"]
    for r in search:  # the constraint holds and the stored config is what was measured
        assert r.trial_result.trainable_params <= 0.02 * backbone
        assert r.peft.num_trainable_params(__import__("transformers").AutoConfig.from_pretrained(minilm_path())) == r.trial_result.trainable_params
        assert r.values["params"] == r.trial_result.trainable_params and r.trial_result.head_params == 384 * 2 + 2
        assert r.trial_result.percent_params == pytest.approx(100 * r.trial_result.trainable_params / backbone, rel=1e-12)
        assert r.majority_share == 0.5 and r.chance_score == 0.5 and not r.collapsed
        assert r.worker.host and r.timing.wall_s >= 0
    assert all(isinstance(r.user_attrs["worker"]["pid"], int) for r in search)


def test_pareto_json_and_show(finished_study, capsys):
    folder, url, _ = finished_study
    assert main(["pareto", "--study", "z", "--storage", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    front = out["front"]
    assert [row["rank"] for row in front] == list(range(1, len(front) + 1))
    scores = [row["score"] for row in front]
    params = [row["trainable_params"] for row in front]
    assert scores == sorted(scores, reverse=True) and params == sorted(params, reverse=True)  # a real trade-off
    assert {row["baseline"] for row in out["baselines"]} == {"lora8_qv", "ia3"}
    assert [r.number for r in pareto_front(url, "z", count_baselines=True)] == [row["trial"] for row in front]
    assert all(row["layers"] for row in front)
    assert main(["show", "--study", "z", "--trial", str(front[0]["trial"]), "--storage", url]) == 0
    shown = capsys.readouterr().out
    assert "COMPLETE" in shown and "layers:" in shown and f"score={front[0]['score']:.4f}" in shown
    assert f"trainable_params: {front[0]['trainable_params']:,} (PEFT modules; the task head excluded)" in shown
    assert "majority share: 0.500, chance score: 0.5" in shown
    assert all(row["head_params"] == 770 and row["collapsed"] is False for row in front)
    assert main(["studies", "--storage", url]) == 0
    assert " z " in capsys.readouterr().out


def test_existing_study_needs_resume_and_resume_of_done_study_adds_nothing(finished_study):
    folder, url, _ = finished_study
    again = cli("search", "--model", minilm_path(), "--task", "zero", "--storage", url, "--study", "z", "--objective-fn", ZERO)
    assert again.returncode == 2 and "already exists" in again.stderr
    before = len(load_trials(url, "z"))
    resumed = cli("search", "--resume", "--study", "z", "--storage", url, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert len(load_trials(url, "z")) == before  # budget already spent: nothing duplicated


def test_the_loop_tells_its_observer(finished_study):
    """The loop emits events (started, where it stands, finished) to an observer and knows no
    display; a resumed study with its budget spent starts no Ray and runs nothing."""
    from autopeft.service import SearchSpec, run_search
    from autopeft.service.events import SearchFinished, SearchProgress, SearchStarted

    folder, url, _ = finished_study
    events = []
    outcome = run_search(SearchSpec(storage=url, study="z", resume=True, progress=False), observer=events.append)
    assert isinstance(events[0], SearchStarted) and events[0].study == "z" and events[0].budget == 8
    assert isinstance(events[-1], SearchFinished) and events[-1].outcome is outcome and outcome.trials_run == 0
    progress = [e for e in events if isinstance(e, SearchProgress)]
    assert progress and progress[-1].done == 8 and progress[-1].baselines_done == 2 and progress[-1].running == 0


def test_warm_start_enqueues_the_earlier_front(finished_study):
    """Samplers that cannot take earlier trials (tpe here) get the earlier front's configs
    enqueued as the first proposals; they are marked with where they came from."""
    from autopeft.service import SearchSpec
    from autopeft.service.loop import SearchLoop
    from autopeft.service.prepare import prepare

    folder, url, _ = finished_study
    spec = SearchSpec(
        model=minilm_path(), task="other", space="lora_layerwise", trials=4, sampler="tpe", storage=url, study="warm",
        baselines="none", warm_start=["z"], objective_fn=ZERO, progress=False,
    )
    loop = SearchLoop(prepare(spec))
    study = loop._open_study().study  # creates the study; no Ray needed
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    front = {f"z#{r.number}" for r in pareto_front(url, "z")}
    assert 1 <= len(waiting) <= 2  # at most half the budget
    assert {t.user_attrs["warm_start_from"] for t in waiting} <= front
    assert load_study_summary(url, "warm").metadata["warm_start"] == ["z"]
    with pytest.raises(SearchError, match="warm_start 'nope'") as raised:
        SearchLoop(prepare(SearchSpec(**{**spec.__dict__, "study": "warm2", "warm_start": ["nope"]})))._open_study()
    assert raised.value.render(flag).startswith("--warm-start 'nope'")


def test_unreachable_ray_address_fails_before_writing(tmp_path):
    port = __import__("socket").socket()
    port.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{port.getsockname()[1]}"
    port.close()
    run = cli(
        "search", "--model", minilm_path(), "--task", "zero", "--objective-fn", ZERO, "--storage", f"sqlite:///{tmp_path}/s.db",
        "--ray-address", address, "--no-progress", timeout=120,
    )
    assert run.returncode == 2, run.stderr[-1500:]
    assert f"--ray-address '{address}': cannot connect" in run.stderr
    assert not (tmp_path / "s.db").exists()
