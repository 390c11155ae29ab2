"""Multi-fidelity search (``--scheduler asha``, MO-ASHA): the rung ladder and the decision with
real numbers, the options' validation, and whole searches on local Ray workers (SQLite and
PostgreSQL) with the staged fake objective (``tests.fake_objectives:StagedCurve``, whose score
follows a known learning curve) and with a real tiny BERT: stopped trials are PRUNED with their
rung and rung scores, complete ones reached the top rung, the Pareto table holds only those, and
a driver killed mid-search is resumed without losing or double-counting a rung."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("ray")

from autopeft.service.asha import RungLadder, RungPoint, decide, front_ranks, hypervolume_contributions, promotion_order  # noqa: E402
from autopeft.service.errors import SearchError  # noqa: E402
from autopeft.store import keys, load_trials  # noqa: E402
from tests.conftest import minilm_path, wait_for_study  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STAGED = "tests.fake_objectives:StagedCurve"


def _env(extra: dict | None = None) -> dict:
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(REPO), **(extra or {})}


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autopeft.cli", *args], capture_output=True, text=True, env=_env(env), timeout=timeout, cwd=REPO)


def _search(url: str, study: str, *extra: str) -> list[str]:
    return ["search", "--model", minilm_path(), "--task", "zero", "--space", "lora_layerwise", "--storage", url, "--study", study,
            "--objective-fn", STAGED, "--scheduler", "asha", "--no-progress", *extra]


# --------------------------------------------------------------------------- the ladder and the decision
def test_ladder_rungs_for_the_quick_budget():
    ladder = RungLadder()
    assert ladder.fractions == pytest.approx((1 / 9, 1 / 3, 1.0))
    assert ladder.steps(32) == (4, 11, 32)  # quick: 32 steps
    assert RungLadder(3, 0.11).steps(32) == (4, 11, 32)  # the CLI's 0.11 is 1/9 rounded
    assert RungLadder(2, 0.2).steps(32) == (8, 16, 32)
    assert RungLadder(3, 0.3).steps(160) == (54, 160)
    assert ladder.steps(3) == (1, 3)  # rungs that round to the same step collapse


@pytest.mark.parametrize(("eta", "fraction", "field", "fix"), [
    (1, 0.11, "eta", "at least 2"),
    (2.5, 0.11, "eta", "integer"),
    (3, 0.0, "min_rung_fraction", "(0, 1)"),
    (3, 1.2, "min_rung_fraction", "(0, 1)"),
    (3, 0.5, "min_rung_fraction", "fraction <= 0.3333"),
])
def test_ladder_refuses_bad_values_naming_field_value_and_fix(eta, fraction, field, fix):
    with pytest.raises(SearchError) as info:
        RungLadder(eta, fraction)
    assert info.value.parameter == field and fix in str(info.value) and repr(eta if field == "eta" else fraction) in str(info.value)


def test_a_budget_too_small_for_two_rungs_is_refused():
    with pytest.raises(SearchError, match="1 training step.*2 steps or more"):
        RungLadder(3, 0.11).steps(1)


# Six trials at a rung: (number, score at the rung, trainable params).
RUNG = [RungPoint(0, 0.80, (1_000,)), RungPoint(1, 0.70, (100,)), RungPoint(2, 0.60, (5_000,)),
        RungPoint(3, 0.85, (20_000,)), RungPoint(4, 0.50, (50,)), RungPoint(5, 0.55, (3_000,))]


def test_non_dominated_sorting_and_hypervolume_tie_break():
    # 0, 1, 3 and 4 trade score against size (front 0); 2 (0.60, 5000) is dominated by 0, and
    # 5 (0.55, 3000) by 0; 2 and 5 do not dominate each other (front 1).
    ranks = front_ranks([[-p.score, *p.costs] for p in RUNG])
    assert ranks == [0, 0, 1, 0, 0, 1]
    # Losses scaled over the rung (score span 0.35, params span 19,950), front 0 sorted by the
    # score loss: 3 (0, 1), 0 (1/7, 950/19950), 1 (3/7, 50/19950), 4 (1, 0). In 2-D a point's
    # contribution is its own staircase box: (next x - x) * (previous y - y), reference 1.1.
    x = {3: 0.0, 0: 0.05 / 0.35, 1: 0.15 / 0.35, 4: 1.0}
    y = {3: 1.0, 0: 950 / 19_950, 1: 50 / 19_950, 4: 0.0}
    contribution = hypervolume_contributions([[x[n], y[n]] for n in (0, 1, 3, 4)])
    assert contribution == pytest.approx([
        (x[1] - x[0]) * (y[3] - y[0]),  # 0.2721
        (x[4] - x[1]) * (y[0] - y[1]),  # 0.0258
        (x[0] - x[3]) * (1.1 - y[3]),  # 0.0143
        (1.1 - x[4]) * (y[1] - y[4]),  # 0.00025
    ], rel=1e-9)
    # The first front straddles a cut of 2: ordered by contribution; front 1 by number.
    assert promotion_order(RUNG, 2) == [0, 1, 3, 4, 2, 5]


def test_decide_keeps_the_top_third_and_continues_below_eta():
    decisions = {p.number: decide(p.number, RUNG, 3) for p in RUNG}
    assert [n for n, d in decisions.items() if d.promote] == [0, 1]  # floor(6 / 3) = 2 continue
    assert decisions[3].place == 2 and not decisions[3].promote and "place 3 of 6" in decisions[3].reason
    # Two trials at the rung (< eta): the worse one still continues; nothing is known yet.
    early = decide(4, RUNG[4:5] + RUNG[0:1], 3)
    assert early.promote and "< eta=3" in early.reason
    # Score alone (no known cost): the best floor(n/eta) by score.
    by_score = [RungPoint(p.number, p.score) for p in RUNG]
    assert [p.number for p in RUNG if decide(p.number, by_score, 3).promote] == [0, 3]
    with pytest.raises(SearchError, match="one of the rung's points"):
        decide(99, RUNG, 3)


# --------------------------------------------------------------------------- options
def test_search_spec_validates_the_scheduler_options():
    from autopeft.commands.search import flag
    from autopeft.service import SearchSpec

    assert SearchSpec(scheduler="ASHA").scheduler == "asha" and SearchSpec().scheduler is None
    with pytest.raises(SearchError) as info:
        SearchSpec(scheduler="hyperband")
    assert info.value.parameter == "scheduler" and "none, asha" in str(info.value)
    with pytest.raises(SearchError) as info:
        SearchSpec(scheduler="asha", eta=1)
    assert info.value.render(flag).startswith("--eta 1: expected an integer of at least 2")
    with pytest.raises(SearchError) as info:
        SearchSpec(scheduler="none", min_rung_fraction=0.2)
    assert info.value.render(flag) == "--min-rung-fraction 0.2 applies to the multi-fidelity scheduler only; add --scheduler asha or drop it"


def test_cli_refuses_bad_scheduler_options_before_writing(tmp_path):
    base = _search(f"sqlite:///{tmp_path}/s.db", "bad")
    run = cli(*base, "--eta", "1")
    assert run.returncode == 2 and "--eta 1: expected an integer of at least 2" in run.stderr
    run = cli(*base, "--fidelity", "quick:max_steps=1")
    assert run.returncode == 2 and "--fidelity 'quick:max_steps=1': 1 training step(s) leave no rung below the whole budget" in run.stderr
    run = cli(*[a for a in base if a not in ("--scheduler", "asha")], "--eta", "2")
    assert run.returncode == 2 and "--eta 2 applies to the multi-fidelity scheduler only" in run.stderr
    plain = [a for a in base if a not in ("--scheduler", "asha")]
    run = cli(*plain)  # a staged class without the scheduler
    assert run.returncode == 2 and "staged trial class; use it with --scheduler asha" in run.stderr
    assert not (tmp_path / "s.db").exists()


# --------------------------------------------------------------------------- whole searches
def _check_rungs(url: str, study: str, steps=(4, 11, 32)) -> dict:
    """Every trial of a finished asha study obeys the contract; returns the records by number."""
    from autopeft.store import open_storage

    records = {r.number: r for r in load_trials(url, study)}
    frozen = {t.number: t for t in optuna.load_study(study_name=study, storage=open_storage(url)).get_trials(deepcopy=False)}
    for number, r in records.items():
        t = frozen[number]
        if r.state == "COMPLETE":
            assert sorted(t.intermediate_values) == list(steps), number  # reached the top rung through every rung
            assert t.user_attrs[keys.RUNG] == len(steps) - 1 and t.user_attrs[keys.TOTAL_STEPS] == steps[-1]
            assert t.intermediate_values[steps[-1]] == pytest.approx(r.values["score"])
        elif r.state == "PRUNED" and r.rejected is None:
            assert r.stopped and r.rung is not None and r.rung < len(steps) - 1
            assert sorted(t.intermediate_values) == list(steps[: r.rung + 1]), number
            assert r.trial_result.score == pytest.approx(t.intermediate_values[steps[r.rung]])
            assert r.total_steps == steps[-1] and r.values is None
    return records


def _replayed_decisions(records: dict, steps=(4, 11, 32), eta: int = 3) -> dict[int, int]:
    """With one worker trials run one after another: replay MO-ASHA over the stored rung scores
    (the staged fake's curve) in trial order; returns number -> the rung it should stop at (the
    top rung for those that complete). Baselines always continue."""
    from transformers import AutoConfig

    from tests.fake_objectives import curve_score

    mc = AutoConfig.from_pretrained(minilm_path())
    reached: dict[int, list[RungPoint]] = {s: [] for s in steps}
    expected = {}
    for number in sorted(records):
        r = records[number]
        if r.peft is None or r.state == "FAIL":
            continue
        for k, step in enumerate(steps):
            point = RungPoint(number, curve_score(r.peft, step, steps[-1]), (float(r.peft.num_trainable_params(mc)),))
            reached[step].append(point)
            if k == len(steps) - 1 or (r.baseline is None and not decide(number, reached[step], eta).promote):
                expected[number] = k
                break
    return expected


@pytest.fixture(scope="module")
def asha_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("asha")
    url = f"sqlite:///{folder}/s.db"
    run = cli(*_search(url, "m", "--trials", "12", "--workers", "1", "--sampler", "random", "--baselines", "lora8_qv", "--seed", "5"))
    return url, run


def test_asha_search_stops_exactly_the_trials_mo_asha_stops(asha_study):
    url, run = asha_study
    assert run.returncode == 0, run.stderr[-2000:]
    assert "MO-ASHA eta 3 rungs at steps [4, 11, 32]" in run.stderr and "stopped at a rung" in run.stderr
    records = _check_rungs(url, "m")
    search = [r for r in records.values() if r.baseline is None and r.rejected is None]
    assert len(search) == 12
    stopped = {r.number: r.rung for r in records.values() if r.stopped}
    completed = {r.number for r in records.values() if r.state == "COMPLETE"}
    assert stopped and len(completed) >= 2
    expected = _replayed_decisions(records)
    assert {n: k for n, k in expected.items() if k < 2} == stopped
    assert {n for n, k in expected.items() if k == 2} == completed
    assert records[0].baseline == "lora8_qv" and records[0].state == "COMPLETE"  # baselines are never stopped


def test_only_top_rung_trials_reach_the_front_and_the_tables(asha_study, capsys):
    from autopeft.cli import main
    from autopeft.store import pareto_front
    from autopeft.store.fastread import read_front

    url, _ = asha_study
    assert main(["pareto", "--study", "m", "--storage", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    complete = {r.number for r in load_trials(url, "m", states=["COMPLETE"])}
    assert {row["trial"] for row in out["front"]} <= complete and out["front"]
    assert {r.number for r in pareto_front(url, "m", count_baselines=True)} <= complete
    _, front, baselines, _ = read_front(url, "m")
    assert {r.number for r in front} <= complete and {r.number for r in baselines} <= complete
    stopped = next(r for r in load_trials(url, "m") if r.stopped)
    assert main(["show", "--study", "m", "--trial", str(stopped.number), "--storage", url, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "PRUNED" and shown["rung"] in (0, 1) and shown["total_steps"] == 32 and "rung" in shown["stopped"]
    assert shown["values"] is None and shown["result"]["score"] == pytest.approx(stopped.rung_score)
    # export refuses a stopped trial (no whole-budget score) and says where it stopped
    from autopeft.export.api import ExportError, export_trial

    with pytest.raises(ExportError, match=rf"trial {stopped.number} .* is PRUNED \(rung {stopped.rung} \(step"):
        export_trial(url, "m", "autopeft", Path(url[len("sqlite:///"):]).parent / "x", trial=stopped.number)


def test_the_dashboard_greys_stopped_trials_with_their_rung(asha_study):
    from autopeft.store import load_trials as load
    from autopeft.viz.frames import trials_table

    from autopeft.store.pageread import read_study_rows
    from autopeft.store.readonly import open_readonly
    from autopeft.viz.figures import pareto_figure
    from autopeft.viz.frames import front_points, stopped_points, study_table

    url, _ = asha_study
    table = trials_table(load(url, "m"))
    stopped = table[table["state"] == "PRUNED"]
    assert len(stopped) and stopped["rung"].notna().all() and stopped["rung_score"].notna().all()
    assert table[table["state"] == "COMPLETE"]["rung"].eq(2).all()
    # the page's own read (SQLite columns, no record decoded) gives the same rung columns
    page = study_table(read_study_rows(open_readonly(url), "m", ["score", "params"]))
    assert page["rung"].tolist() == table["rung"].tolist()
    assert page["rung_score"].fillna(-1).tolist() == pytest.approx(table["rung_score"].fillna(-1).tolist())
    points, greyed = front_points(page), stopped_points(page)
    assert set(greyed["number"]) == set(stopped["number"]) and not set(greyed["number"]) & set(points["number"])
    fig = pareto_figure(points, stopped=greyed)
    trace = next(t for t in fig.data if t.name.startswith("stopped at a rung"))
    assert len(trace.x) == len(greyed) and "stopped at rung" in trace.hovertemplate


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "mobo"])
def test_optuna_samplers_work_under_the_scheduler(tmp_path, sampler):
    url = f"sqlite:///{tmp_path}/s.db"
    run = cli(*_search(url, sampler, "--trials", "9", "--workers", "2", "--sampler", sampler, "--baselines", "none", "--seed", "1"))
    assert run.returncode == 0, run.stderr[-2000:]
    records = _check_rungs(url, sampler)
    search = [r for r in records.values() if r.rejected is None]
    assert len(search) == 9 and all(r.state in ("COMPLETE", "PRUNED") for r in search)
    assert any(r.state == "COMPLETE" for r in search)


def test_resumed_driver_neither_loses_nor_double_counts_a_rung(tmp_path):
    """A driver SIGKILLed while trials sit between rungs: the resumed driver fails them through
    the heartbeat and re-runs each once from its first rung; a FAIL trial's rung scores are not
    in any rung's population, so no configuration is counted twice at a rung."""
    url = f"sqlite:///{tmp_path}/r.db"
    env = {"AUTOPEFT_TEST_STEP_SECONDS": "0.25"}  # rungs at 1, 2.75 and 8 s of a trial
    args = _search(url, "r", "--trials", "8", "--workers", "2", "--sampler", "random", "--baselines", "none", "--heartbeat", "1", "--seed", "2")
    driver = subprocess.Popen([sys.executable, "-m", "autopeft.cli", *args], env=_env(env), cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def mid_rungs() -> bool:
        try:
            records = load_trials(url, "r")
        except Exception:  # noqa: BLE001 - the study is not created yet
            return False
        return any(r.state == "RUNNING" and r.rung is not None for r in records)  # a trial between two rungs

    deadline = time.time() + 180
    while not mid_rungs():
        assert driver.poll() is None, driver.communicate()[1][-2000:]
        assert time.time() < deadline, "no trial was seen between rungs"
        time.sleep(0.1)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(30)
    orphans = [r.number for r in load_trials(url, "r") if r.state == "RUNNING"]
    assert orphans
    resumed = cli("search", "--resume", "--study", "r", "--storage", url, "--no-progress", "--heartbeat", "1", env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    records = _check_rungs(url, "r")
    assert not [r for r in records.values() if r.state in ("RUNNING", "WAITING")]
    for number in orphans:
        assert records[number].state == "FAIL"
        retry = [r for r in records.values() if r.retry_of == number]
        assert len(retry) == 1 and retry[0].state in ("COMPLETE", "PRUNED") and retry[0].peft == records[number].peft
    counted = [r for r in records.values() if r.baseline is None and r.retry_of is None and r.rejected is None]
    assert len(counted) == 8  # exactly the budget
    # Each configuration stands at most once in every rung's population (FAIL trials are out).
    from autopeft.store.study import StudyStore

    store = StudyStore(url, "r")
    store.load(None)
    for step in (4, 11, 32):
        entries = store.rung_entries(step)
        configs = [json.dumps(config, sort_keys=True) for _, _, config, _ in entries]
        assert len(configs) == len(set(configs)), step
        assert not {n for n, *_ in entries} & set(orphans)


postgres = pytest.mark.skipif(not os.environ.get("AUTOPEFT_TEST_POSTGRES_URL"), reason="AUTOPEFT_TEST_POSTGRES_URL is not set (source .ci/services.sh)")


@postgres
def test_two_drivers_share_an_asha_study_on_postgres():
    """Two drivers on one PostgreSQL study: each decides from every trial (both drivers') that
    reached a rung; the budget is spent once and every rung contract holds."""
    from autopeft.store import load_study_summary
    from autopeft.store.study import delete_study

    url = os.environ["AUTOPEFT_TEST_POSTGRES_URL"]
    study = f"asha-{os.getpid()}-{int(time.time())}"
    env = {"AUTOPEFT_TEST_STEP_SECONDS": "0.03"}
    common = ["--workers", "1", "--heartbeat", "2"]
    first = subprocess.Popen([sys.executable, "-m", "autopeft.cli", *_search(url, study, "--trials", "9", "--sampler", "random",
                                                                             "--baselines", "none", "--seed", "4", *common)],
                             env=_env(env), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_study(url, study, first)  # the second driver joins once the study and its metadata exist
        second = cli("search", "--resume", "--study", study, "--storage", url, "--no-progress", *common, env=env)
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-2000:]
        assert second.returncode == 0, second.stderr[-2000:]
        records = _check_rungs(url, study)
        counted = [r for r in records.values() if r.baseline is None and r.retry_of is None and r.rejected is None]
        assert len(counted) == 9 and all(r.state in ("COMPLETE", "PRUNED") for r in counted)
        assert any(r.stopped for r in counted) and any(r.state == "COMPLETE" for r in counted)
        assert len({r.worker.driver_pid for r in counted}) == 2  # both drivers ran trials of the study
        assert load_study_summary(url, study).metadata["scheduler"] == "asha"
    finally:
        if first.poll() is None:
            first.kill()
        delete_study(url, study)


# --------------------------------------------------------------------------- the real proxy
def test_real_tiny_bert_staged_search(bert, tmp_path):
    """The default objective under asha is StagedTrial: a tiny BERT trains rung by rung; a
    completed trial scores what an uninterrupted ``evaluate`` scores."""
    from autopeft.proxy import evaluate

    rows = [json.dumps({"text": f"{['good', 'bad'][i % 2]} thing {i}", "label": ["pos", "neg"][i % 2]}) for i in range(64)]
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path}/b.db"
    fidelity = "tiny:max_train_examples=64,batch_size=8,max_steps=9,max_eval_examples=32,max_seq_length=16"
    run = cli("search", "--model", bert, "--train", str(data), "--text-fields", "text", "--label-field", "label", "--space", "lora_layerwise",
              "--trials", "4", "--workers", "1", "--sampler", "random", "--baselines", "lora8_qv", "--storage", url, "--study", "b",
              "--fidelity", fidelity, "--scheduler", "asha", "--no-progress", "--seed", "0")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "rungs at steps [1, 3, 9]" in run.stderr
    records = _check_rungs(url, "b", steps=(1, 3, 9))
    done = [r for r in records.values() if r.state == "COMPLETE"]
    assert done and all(r.trial_result.status == "ok" for r in done)
    import torch

    from autopeft.proxy.fidelity import Fidelity
    from autopeft.store import load_study_summary
    from autopeft.tasks import resolve_task

    task = resolve_task(load_study_summary(url, "b").metadata["task_spec"])  # the split the search trained on
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the worker (--cpus-per-trial 1)
    try:
        for r in done:
            whole = evaluate(bert, task, r.peft, Fidelity.parse(fidelity), 0, device="cpu")
            assert whole.score == pytest.approx(r.values["score"], abs=1e-9), r.number
    finally:
        torch.set_num_threads(threads)


def test_a_resumed_study_keeps_its_scheduler(asha_study):
    url, _ = asha_study
    run = cli("search", "--resume", "--study", "m", "--storage", url, "--scheduler", "none", "--no-progress")
    assert run.returncode == 2 and "--scheduler 'none': the study was searched with --scheduler asha" in run.stderr
    run = cli("search", "--resume", "--study", "m", "--storage", url, "--eta", "2", "--no-progress")
    assert run.returncode == 2 and "--eta 2: the study's rungs use eta 3" in run.stderr
    before = len(load_trials(url, "m"))
    run = cli("search", "--resume", "--study", "m", "--storage", url, "--no-progress")  # budget spent: nothing to add
    assert run.returncode == 0, run.stderr[-2000:]
    assert "MO-ASHA eta 3" in run.stderr and len(load_trials(url, "m")) == before
