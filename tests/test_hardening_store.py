"""Hardening (#18), items 3 and 7: a store that cannot be written, and secrets in messages.

Item 3: a read-only or immutable SQLite file (or folder) is one line naming the file and the fix,
before anything is written: no traceback, no ``-wal`` / ``-shm`` left behind, the file unchanged.
Item 7: the password of a database URL appears in no message and no log line."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autopeft.cli import main

REPO = Path(__file__).resolve().parents[1]
ZERO = "tests.fake_objectives:zero_cost"
SECRET = "s3cr3t-Pa55"


@pytest.fixture()
def data(tmp_path) -> Path:
    path = tmp_path / "train.csv"
    path.write_text("text,label\n" + "".join(f"story {i},{'a' if i % 2 else 'b'}\n" for i in range(10)), encoding="utf-8")
    return path


def _store(path: Path) -> None:
    """A store as autopeft writes it (WAL mode), holding one finished study."""
    import optuna

    from autopeft.store.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(f"sqlite:///{path}")
    study = optuna.create_study(study_name="kept", storage=storage, directions=["maximize"])
    study.tell(study.ask(), 1.0)
    storage.engine.dispose()
    for suffix in ("-wal", "-shm"):  # a closed store: only the database file
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _chattr(flag: str, path: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def _search_args(bert: str, data: Path, url: str, study: str = "new") -> list[str]:
    return ["search", "--model", bert, "--train", str(data), "--objective-fn", ZERO, "--trials", "1", "--baselines", "none",
            "--storage", url, "--study", study, "--no-progress"]


def _cli(*args: str, user: int | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    prefix = [] if user is None else ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    if user is not None:
        env["HOME"] = str(cwd)
    return subprocess.run([*prefix, sys.executable, "-m", "autopeft.cli", *args], capture_output=True, text=True, env=env,
                          timeout=240, cwd=cwd or REPO)


# --------------------------------------------------------------------------- item 3
def test_immutable_database_file_is_one_line_and_leaves_nothing(bert, data, tmp_path, capsys):
    stores = tmp_path / "stores"
    stores.mkdir()
    db = stores / "s.db"
    _store(db)
    before = _snapshot(stores)
    if not _chattr("+i", db):
        pytest.skip("needs root and chattr on this filesystem")
    try:
        for args in (_search_args(bert, data, f"sqlite:///{db}"), ["delete-study", "--study", "kept", "--yes", "--storage", f"sqlite:///{db}"]):
            code = main(args)
            err = capsys.readouterr().err.strip()
            assert code == 2, err
            assert "\n" not in err and "Traceback" not in err, err
            assert str(db.resolve()) in err and "read-only" in err and "chattr -i" in err, err
            assert _snapshot(stores) == before  # unchanged, no -wal / -shm
    finally:
        _chattr("-i", db)


def test_immutable_folder_is_one_line(bert, data, tmp_path, capsys):
    stores = tmp_path / "stores"
    stores.mkdir()
    _store(stores / "s.db")
    before = _snapshot(stores)
    if not _chattr("+i", stores):
        pytest.skip("needs root and chattr on this filesystem")
    try:
        for name in ("s.db", "new.db"):  # an existing store, and one the search would create
            code = main(_search_args(bert, data, f"sqlite:///{stores / name}"))
            err = capsys.readouterr().err.strip()
            assert code == 2 and "\n" not in err, err
            assert str(stores) in err and "not writable" in err, err
        # a read command names the real problem (not "holds no study tables")
        code = main(["studies", "--storage", f"sqlite:///{stores / 's.db'}"])
        err = capsys.readouterr().err.strip()
        assert "no study tables" not in err, err
        assert _snapshot(stores) == before
    finally:
        _chattr("-i", stores)


def test_a_file_the_user_cannot_write_is_one_line(bert):
    """chmod 444 for a user who is not root (as root: the CLI runs as nobody)."""
    import tempfile

    user = None
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("as root the check needs setpriv to run as another user")
    top = Path(tempfile.mkdtemp(prefix="autopeft-ro-"))  # outside pytest's root-only tmp folder
    try:
        folder = top / "u"
        shutil.copytree(Path(bert), top / "bert")
        folder.mkdir()
        data = folder / "train.csv"
        data.write_text("text,label\n" + "".join(f"story {i},{'a' if i % 2 else 'b'}\n" for i in range(10)), encoding="utf-8")
        db = folder / "s.db"
        _store(db)
        db.chmod(0o444)
        if os.geteuid() == 0:
            user = 65534
            for p in [top, *top.rglob("*")]:
                p.chmod(0o777 if p == folder else (0o755 if p.is_dir() else p.stat().st_mode & 0o777 | 0o444))
        before = _snapshot(folder)
        run = _cli(*_search_args(str(top / "bert"), data, f"sqlite:///{db}"), user=user, cwd=folder)
        err = run.stderr.strip().splitlines()
        assert run.returncode == 2, run.stderr
        assert len(err) == 1 and "Traceback" not in run.stderr, run.stderr
        assert str(db.resolve()) in err[0] and "read-only" in err[0], err
        assert _snapshot(folder) == before  # no -wal / -shm left behind
    finally:
        shutil.rmtree(top, ignore_errors=True)


# --------------------------------------------------------------------------- item 7
PG_URL = f"postgresql+psycopg://alice:{SECRET}@127.0.0.1:9/autopeft"


def test_redact_url_hides_the_password():
    from autopeft.store.storage import redact_text, redact_url

    assert SECRET not in redact_url(PG_URL) and "alice:***@127.0.0.1:9" in redact_url(PG_URL)
    assert redact_url("sqlite:///a.db") == "sqlite:///a.db"
    assert SECRET not in redact_text(f"failed: {PG_URL} ({SECRET})", PG_URL)


@pytest.mark.parametrize("command", [
    ["search", "--model", "MODEL", "--task", "zero", "--objective-fn", ZERO],
    ["studies"], ["pareto", "--study", "x"], ["trials", "--study", "x"], ["show", "--study", "x", "--trial", "0"],
    ["delete-study", "--study", "x", "--yes"],
])
def test_no_message_or_log_line_shows_the_password(command, bert, capsys, caplog):
    pytest.importorskip("psycopg")
    caplog.set_level(logging.DEBUG)
    code = main([c if c != "MODEL" else bert for c in command] + ["--storage", PG_URL])
    out = capsys.readouterr()
    assert code == 2, out.err
    assert "alice:***@" in out.err, out.err
    for text in (out.out, out.err, caplog.text):
        assert SECRET not in text


def test_dashboard_read_only_open_hides_the_password():
    pytest.importorskip("psycopg")
    from autopeft.store import StoreError, open_readonly

    with pytest.raises(StoreError) as info:
        open_readonly(PG_URL)
    assert SECRET not in str(info.value) and "alice:***@" in str(info.value)


# --------------------------------------------------------------------------- item 9: reads at scale
def _bulk_study(tmp_path, n: int = 300, **kwargs) -> str:
    from autopeft.viz.synthetic import write_study

    url = f"sqlite:///{tmp_path}/bulk.db"
    write_study(url, "b", n_trials=n, n_failed=5, n_running=2, with_params=True, seed=1, distinct_configs=256, **kwargs)
    return url


def test_bulk_written_study_reads_back_as_optuna_wrote_it(tmp_path):
    """The batched builder's rows are Optuna's: a study written by ``study.add_trials`` and one
    written by :func:`autopeft.store.bulk.add_trials` read back the same."""
    import optuna

    from autopeft.store import load_trials
    from autopeft.store.bulk import add_trials
    from autopeft.store.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dist = {"a": optuna.distributions.CategoricalDistribution([0, 8, 16]), "b": optuna.distributions.CategoricalDistribution([False, True])}
    trials = [optuna.trial.create_trial(state=optuna.trial.TrialState.COMPLETE, values=[0.5 + i / 100, float(i)], params={"a": 8, "b": bool(i % 2)},
                                        distributions=dist, user_attrs={"result": {"score": 0.5 + i / 100}, "n": i}) for i in range(5)]
    trials.append(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs={"error": "x"}))
    trials.append(optuna.trial.create_trial(state=optuna.trial.TrialState.COMPLETE, values=[float("inf"), 1.0]))
    urls = {}
    for how in ("optuna", "bulk"):
        url = urls[how] = f"sqlite:///{tmp_path}/{how}.db"
        storage = open_storage(url)
        study = optuna.create_study(study_name="s", storage=storage, directions=["maximize", "minimize"])
        if how == "optuna":
            study.add_trials(trials)
        else:
            assert add_trials(storage, "s", trials) == list(range(len(trials)))
    got = {how: optuna.load_study(study_name="s", storage=url).get_trials() for how, url in urls.items()}
    for a, b in zip(got["optuna"], got["bulk"]):
        assert (a.number, a.state, a.values, a.params, a.distributions, a.user_attrs) == (b.number, b.state, b.values, b.params, b.distributions, b.user_attrs)
    assert [r.error for r in load_trials(urls["bulk"], "s")] == [r.error for r in load_trials(urls["optuna"], "s")]


def test_a_10000_trial_synthetic_study_reads_back_whole(tmp_path):
    """The batched writes hold at scale: every one of 10,000 search trials (and the baselines)
    comes back by the fast read, in its state (the build time is a benchmark figure,
    ``benchmarks/store_reads.py``, not a test's)."""
    from autopeft.store import open_readonly, read_trials
    from autopeft.viz.synthetic import write_study

    url = f"sqlite:///{tmp_path}/big.db"
    written = write_study(url, "big", n_trials=10_000, n_failed=100, n_running=2, with_params=False, distinct_configs=256)
    records = read_trials(open_readonly(url), "big")
    assert len(records) == 10_003
    assert [r.number for r in records if r.state == "FAIL"] == written["failed"]
    assert [r.number for r in records if r.state == "RUNNING"] == written["running"]
    assert all(records[n].values["score"] == score for n, score in written["scores"].items())


def test_fast_pareto_agrees_with_the_orm(tmp_path):
    """``autopeft pareto``'s fast read gives the front, the baselines and the summary the
    ORM-based store API gives."""
    from autopeft.service import report
    from autopeft.store import load_study_summary, load_trials, non_dominated, pareto_front

    url = _bulk_study(tmp_path)
    summary, front, baselines, on_front = report.load_pareto(url, "b")
    orm_front = pareto_front(url, "b", count_baselines=True)
    assert [r.number for r in front] == [r.number for r in orm_front]
    assert [(r.values, r.peft, r.trial_result, r.extra, r.baseline, r.collapsed) for r in front] == \
        [(r.values, r.peft, r.trial_result, r.extra, r.baseline, r.collapsed) for r in orm_front]
    done = [r for r in load_trials(url, "b", states=["COMPLETE"])]
    assert [r.number for r in baselines] == [r.number for r in done if r.baseline]
    keep = non_dominated([[r.values[o] for o in summary.objectives] for r in done], summary.directions)
    assert on_front == {done[i].number for i in keep if done[i].baseline}
    orm = load_study_summary(url, "b")
    assert (summary.objectives, summary.directions, summary.metadata, summary.n_search_complete) == \
        (orm.objectives, orm.directions, orm.metadata, orm.n_search_complete)


def test_pareto_and_studies_do_not_use_the_orm(tmp_path, monkeypatch, capsys):
    """The CLI reads through the fast path: Optuna's ORM read of the trials is never called."""
    import optuna

    url = _bulk_study(tmp_path, n=50)

    def refuse(*args, **kwargs):
        raise AssertionError("the ORM read was used")

    monkeypatch.setattr(optuna.storages.RDBStorage, "get_all_trials", refuse)
    monkeypatch.setattr(optuna.study.Study, "get_trials", refuse)
    assert main(["pareto", "--study", "b", "--storage", url]) == 0
    assert main(["pareto", "--study", "b", "--storage", url, "--json"]) == 0
    assert main(["studies", "--storage", url]) == 0
    assert main(["studies", "--storage", url, "--json"]) == 0
    out = capsys.readouterr().out
    assert "Pareto front of b" in out and '"front"' in out
