"""The study store and its read API on a real SQLite file: metadata round trip, trial records,
the Pareto front, DataFrames, batched parameter writes, WAL mode and clear errors."""

from __future__ import annotations

import sqlite3

import pytest

optuna = pytest.importorskip("optuna")

from autopeft import PeftConfig  # noqa: E402
from autopeft.store import (  # noqa: E402
    META_KEY,
    StoreError,
    check_reachable,
    list_studies,
    load_study_summary,
    load_trial,
    load_trials,
    non_dominated,
    normalize_url,
    open_storage,
    pareto_front,
)
from autopeft.store.batch import batched_params  # noqa: E402

#: (score, params) of five search trials: 0, 1 and 3 are the front; 2 is dominated by 1; 4 duplicates 3.
POINTS = [(0.70, 1000), (0.80, 5000), (0.75, 6000), (0.90, 20000), (0.90, 20000)]


def _make_study(url: str, name: str = "s") -> None:
    storage = open_storage(url)
    study = optuna.create_study(study_name=name, storage=storage, directions=["maximize", "minimize"])
    study.set_user_attr(META_KEY, {"model": "m", "task": "t", "objectives": ["score", "params"], "trials": 5, "space_yaml": "x: 1"})
    config = PeftConfig.uniform(2, lora={"query": 4}).to_dict()
    for i, (score, params) in enumerate(POINTS):
        trial = study.ask()
        trial.suggest_categorical("rank", [0, 4, 8])
        trial.set_user_attr("config", config)
        trial.set_user_attr("result", {"score": score, "trainable_params": params, "percent_params": params / 1e5, "metrics": {"accuracy": score}})
        trial.set_user_attr("worker", {"host": f"h{i}", "pid": 100 + i})
        study.tell(trial, [score, params])
    # A baseline better than everything (kept out of the front by default), and a failed trial.
    study.enqueue_trial({}, user_attrs={"baseline": "lora8_qv"})
    trial = study.ask()
    study.tell(trial, [0.99, 10])
    trial = study.ask()
    trial.set_user_attr("error", "worker died mid-trial (RayActorError: boom)")
    study.tell(trial, state=optuna.trial.TrialState.FAIL)


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _make_study(url)
    return url


def test_summary_counts_and_metadata(url):
    summary = load_study_summary(url, "s")
    assert (summary.n_trials, summary.n_complete, summary.n_failed, summary.n_baselines) == (7, 6, 1, 1)
    assert summary.n_search_complete == 5
    assert summary.objectives == ["score", "params"]
    assert summary.directions == ["maximize", "minimize"]
    assert summary.model == "m" and summary.task == "t" and summary.budget == 5
    assert summary.best_score == pytest.approx(0.99)
    assert [s.name for s in list_studies(url)] == ["s"]


def test_trial_records_carry_everything(url):
    records = load_trials(url, "s")
    first = records[0]
    assert first.values == {"score": 0.70, "params": 1000}
    assert first.params == {"rank": first.params["rank"]}
    assert first.trial_result.metrics == {"accuracy": 0.70}
    assert first.worker.host == "h0"
    assert first.peft.layers[0].lora["query"] == 4
    assert first.duration_s is not None and first.duration_s >= 0
    baseline = records[5]
    assert baseline.baseline == "lora8_qv" and baseline.params == {} and baseline.is_baseline
    failed = load_trial(url, "s", 6)
    assert failed.state == "FAIL" and failed.values is None and "worker died" in failed.error
    assert [r.number for r in load_trials(url, "s", states=["FAIL"])] == [6]


def test_pareto_front_ranks_non_dominated_points(url):
    front = pareto_front(url, "s")
    assert [r.number for r in front] == [3, 1, 0]  # best score first; 2 dominated, 4 duplicates 3
    with_baselines = pareto_front(url, "s", include_baselines=True)
    assert [r.number for r in with_baselines] == [5]  # the baseline dominates every search trial


def test_non_dominated_respects_directions():
    points = [(1.0, 5.0), (2.0, 3.0), (0.5, 1.0)]
    assert non_dominated(points, ["maximize", "minimize"]) == [1, 2]  # (2, 3) beats (1, 5)
    assert non_dominated(points, ["minimize", "minimize"]) == [2]
    assert non_dominated(points, ["maximize", "maximize"]) == [0, 1]


def test_dataframe_has_one_row_per_trial(url):
    frame = load_trials(url, "s", as_frame=True)
    assert len(frame) == 7
    assert {"number", "state", "score", "params", "baseline", "trainable_params", "config", "error"} <= set(frame.columns)
    assert frame.loc[frame.number == 3, "score"].item() == pytest.approx(0.90)


def test_batched_params_match_unbatched(tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    storage = open_storage(url)
    study = optuna.create_study(study_name="b", storage=storage, sampler=optuna.samplers.RandomSampler(seed=3))
    names = [f"p{i}" for i in range(12)]
    trial = study.ask()
    with batched_params(study):
        chosen = {n: trial.suggest_categorical(n, [1, 2, 3]) for n in names}
        # inside the block nothing is written yet, but the trial sees its own params
        assert trial.params == chosen
    study.tell(trial, 1.0)
    reread = optuna.load_study(study_name="b", storage=open_storage(url)).trials[0]
    assert reread.params == chosen
    assert set(reread.distributions) == set(names)


def test_sqlite_store_uses_wal(tmp_path):
    path = tmp_path / "w.db"
    optuna.create_study(study_name="w", storage=open_storage(f"sqlite:///{path}"))
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_bad_urls_and_names_fail_clearly(tmp_path, url):
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(StoreError, match="expected a database URL"):
        normalize_url("autopeft.db")
    with pytest.raises(StoreError, match="does not exist"):
        check_reachable(f"sqlite:///{tmp_path}/missing/dir/x.db")
    with pytest.raises(StoreError, match="no such database file"):
        check_reachable(f"sqlite:///{tmp_path}/absent.db", must_exist=True)
    assert not (tmp_path / "absent.db").exists()
    with pytest.raises(StoreError, match="no such study.*'s'"):
        load_study_summary(url, "nope")
    with pytest.raises(StoreError, match="no trial with that number"):
        load_trial(url, "s", 99)


def test_unreachable_postgres_is_one_line():
    pytest.importorskip("psycopg")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError, match="cannot connect") as info:
        check_reachable(f"postgresql+psycopg://nobody@127.0.0.1:{port}/x")
    assert "\n" not in str(info.value)


def test_readers_never_create_tables(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(StoreError, match="holds no study tables yet"):
        list_studies(f"sqlite:///{path}")
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert tables == []


def test_open_storage_retries_when_another_process_initialises_the_database(tmp_path, monkeypatch):
    """Losing the race to insert Optuna's version rows (a search creating the database while a
    reader opens it) is retried, for writers and readers alike."""
    import optuna

    from autopeft.store import open_storage

    from autopeft.store import batch

    real = batch.BatchingRDBStorage
    calls = []

    def racing(*args, **kwargs):
        calls.append(kwargs.get("skip_table_creation"))
        if len(calls) == 1:
            raise RuntimeError("(sqlite3.IntegrityError) UNIQUE constraint failed: alembic_version.version_num")
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "BatchingRDBStorage", racing)
    url = f"sqlite:///{tmp_path / 'race.db'}"
    assert open_storage(url) is not None
    assert calls == [False, False]
    calls.clear()
    assert open_storage(url, create=False) is not None
    assert calls == [True, True]


def _calibration(task: str = "t", fidelity: str = "quick", ranks: bool = True, verdict: str = "quick ranks like standard"):
    from autopeft.store.calibrations import CalibrationRecord

    return CalibrationRecord(task=task, model="m", data_dir=None, fidelity=fidelity, reference="standard", spearman=0.9,
                             kendall=0.8, noise=0.01, spread=0.05, noise_ratio=0.2, configs_at_chance=0,
                             baselines_at_chance=0, ranks=ranks, verdict=verdict)


def test_calibrations_are_not_listed_as_studies(url):
    from autopeft.store import open_readonly, read_studies
    from autopeft.store.calibrations import find_calibrations, record_calibration

    record_calibration(url, _calibration())
    assert [s.name for s in list_studies(url)] == ["s"]
    assert [s.name for s in read_studies(open_readonly(url))] == ["s"]  # the dashboard's light read agrees
    assert [c.verdict for c in find_calibrations(url, task="t", fidelity="quick")] == ["quick ranks like standard"]


def test_collapsed_trials_are_flagged_from_the_stored_result(tmp_path):
    """``TrialRecord.collapsed``: the stored majority share reaches COLLAPSE_SHARE; trials stored
    without one (older studies, regression) are not flagged."""
    from autopeft.proxy.result import COLLAPSE_SHARE

    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = optuna.create_study(study_name="c", storage=open_storage(url), directions=["maximize", "minimize"])
    study.set_user_attr(META_KEY, {"objectives": ["score", "params"]})
    for i, share in enumerate((COLLAPSE_SHARE, COLLAPSE_SHARE - 0.01, None)):
        score = 0.5 + 0.1 * i
        result = {"score": score, "trainable_params": 10 + i, "majority_share": share, "chance_score": 0.5, "head_params": 3}
        study.add_trial(optuna.trial.create_trial(values=[score, 10 + i], user_attrs={"result": result}))
    records = load_trials(url, "c")
    assert [r.collapsed for r in records] == [True, False, False]
    assert records[0].chance_score == 0.5 and records[0].head_params == 3 and records[0].to_dict()["collapsed"] is True
    assert list(load_trials(url, "c", as_frame=True)["collapsed"]) == [True, False, False]

    from rich.console import Console

    from autopeft.service.report import COLLAPSED_MARK, front_rows, print_pareto

    console = Console(record=True, width=200)
    print_pareto(url, "c", console=console)
    text = console.export_text()
    assert f"0.5000 {COLLAPSED_MARK}" in text and f"0.6000 {COLLAPSED_MARK}" not in text
    assert [row["collapsed"] for row in front_rows(pareto_front(url, "c"), ["score", "params"])] == [False, False, True]


def test_non_dominated_agrees_with_botorch():
    """The one filter the CLI, dashboard and loop use gives BoTorch's front, ties and duplicates
    included, for 2 and 3 objectives in mixed directions."""
    import numpy as np
    import torch
    from botorch.utils.multi_objective.pareto import is_non_dominated

    rng = np.random.default_rng(0)
    for n, directions in ((300, ["maximize", "minimize"]), (700, ["minimize", "maximize", "minimize"]), (5, ["maximize", "minimize"])):
        points = rng.integers(0, 12, size=(n, len(directions))).astype(float)  # small integers: many ties
        points[1] = points[0]  # an exact duplicate
        signs = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
        expected = torch.nonzero(is_non_dominated(torch.tensor(points * signs), deduplicate=False)).flatten().tolist()
        assert non_dominated(points.tolist(), directions) == expected
    assert non_dominated([], ["maximize"]) == []
