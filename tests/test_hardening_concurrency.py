"""Hardening (#18), item 10: one SQLite study under concurrent writers and readers.

* two search drivers (real ``autopeft search`` processes, each with its own local Ray, fast fake
  trials) share one study while the dashboard's read path refreshes in a loop: no "database is
  locked", no lost or duplicated trial;
* store-level load without Ray: two driver processes writing trials as fast as the store allows
  while a reader refreshes the dashboard's reads several times a second.

The dashboard's read path is the one ``dashboard/app.py`` uses: ``open_readonly``, ``read_studies``
and ``autopeft.store.pageread.read_study_rows``, plus the full ``read_trials`` of the detail and
export paths (exercised directly, without starting Streamlit)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


from tests.conftest import save_tiny_bert

REPO = Path(__file__).resolve().parents[1]
#: 2-s trials (``AUTOPEFT_TEST_TRIAL_SECONDS``' default): 24 of them keep the first driver busy for
#: about 24 s alone, longer than the second driver's Ray start even on a loaded machine, so both
#: drivers run trials (zero-cost trials let the first finish the budget before the second joined).
SLEEPY = "tests.fake_objectives:sleepy"


def _env() -> dict:
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


class DashboardReader(threading.Thread):
    """Refreshes the dashboard's reads of ``url`` every ``period`` seconds until stopped;
    keeps every error and the trial counts it saw."""

    def __init__(self, url: str, period: float):
        super().__init__(daemon=True)
        self.url, self.period = url, period
        self.errors: list[str] = []
        self.counts: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        from autopeft.store import StoreError, open_readonly, read_studies, read_trials
        from autopeft.store.pageread import read_study_rows

        while not self.stop.is_set():
            try:
                storage = open_readonly(self.url)  # a page view: a fresh read-only session
                try:
                    for summary in read_studies(storage):
                        page = read_study_rows(storage, summary.name, summary.objectives)
                        full = read_trials(storage, summary.name)
                        self.counts.append(min(len(page.records), len(full)))
                finally:
                    storage.engine.dispose()
            except StoreError as exc:
                if "no such database file" not in str(exc) and "no Optuna tables" not in str(exc):  # before the search created it
                    self.errors.append(str(exc))
            except Exception as exc:  # noqa: BLE001 - every other error is a failure of the test
                self.errors.append(f"{exc.__class__.__name__}: {exc}")
            self.stop.wait(self.period)


def test_two_drivers_and_the_dashboard_share_one_sqlite_study(tmp_path):
    bert = save_tiny_bert(tmp_path / "bert")
    data = tmp_path / "train.csv"
    data.write_text("text,label\n" + "".join(f"story {i},{'a' if i % 2 else 'b'}\n" for i in range(20)), encoding="utf-8")
    url = f"sqlite:///{tmp_path}/s.db"
    common = ["--model", bert, "--train", str(data), "--objective-fn", SLEEPY, "--space", "lora_layerwise", "--trials", "24",
              "--workers", "2", "--sampler", "random", "--baselines", "lora8_qv", "--heartbeat", "2", "--no-progress"]
    reader = DashboardReader(url, period=0.25)
    reader.start()
    first = subprocess.Popen([sys.executable, "-m", "autopeft.cli", "search", "--study", "s", "--storage", url, *common],
                             env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    second = None
    try:
        from autopeft.store import read_metadata

        deadline = time.time() + 120
        while not read_metadata(url, "s"):  # the second driver joins once the study is created
            assert first.poll() is None, first.communicate()[1][-2000:]
            assert time.time() < deadline, "the study was not created"
            time.sleep(0.2)
        second = subprocess.Popen([sys.executable, "-m", "autopeft.cli", "search", "--resume", "--study", "s", "--storage", url, *common],
                                  env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        out2, err2 = second.communicate(timeout=240)
        out1, err1 = first.communicate(timeout=240)
    finally:
        reader.stop.set()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
        reader.join(timeout=30)
    assert first.returncode == 0, err1[-2000:]
    assert second.returncode == 0, err2[-2000:]
    for text in (err1, err2, *reader.errors):
        assert "database is locked" not in text
    assert reader.errors == []
    assert len(reader.counts) > 10  # the page refreshed throughout

    from autopeft.store import load_trials

    records = load_trials(url, "s")
    counted = [r for r in records if r.baseline is None and r.retry_of is None and r.rejected is None]
    assert len(counted) == 24 and all(r.state == "COMPLETE" for r in counted)  # none lost, none extra
    assert [r.baseline for r in records if r.baseline] == ["lora8_qv"]
    assert not [r for r in records if r.state in ("RUNNING", "WAITING")]
    assert all(r.error for r in records if r.state == "FAIL")
    assert len({r.worker.driver_pid for r in records if r.state == "COMPLETE"}) == 2  # both drivers ran trials


# --------------------------------------------------------------------------- store-level load (no Ray)
def _writer(url: str, name: str, n: int, errors: "multiprocessing.Queue") -> None:
    """One driver's writes, as fast as the store takes them: ask, suggest, record, heartbeat."""
    try:
        import optuna

        from autopeft.proxy.result import TrialResult
        from autopeft.spaces import load_space
        from autopeft.store import StudyStore, Timings, WorkerInfo
        from autopeft.store.study import quiet_optuna

        quiet_optuna()
        model = {"model_type": "bert", "num_hidden_layers": 4, "hidden_size": 64, "intermediate_size": 128,
                 "num_attention_heads": 4, "vocab_size": 100, "max_position_embeddings": 64, "type_vocab_size": 2}
        space = load_space("lora_layerwise")
        store = StudyStore(url, name, heartbeat_interval=1, grace_period=30)
        store.load(optuna.samplers.RandomSampler(seed=os.getpid()))
        with store.heartbeats(1) as beat:
            for _ in range(n):
                trial = store.ask()
                beat.add(trial)
                config = space.build(store.suggest(trial, space.parameters(model)), model)
                store.set_config(trial, config)
                result = TrialResult(score=0.5, trainable_params=config.num_trainable_params(model), status="ok")
                store.record(trial, result=result, extra={}, worker=WorkerInfo(pid=os.getpid()), timings=Timings(wall_s=0.0),
                             values=[0.5, float(result.trainable_params)])
                beat.discard(trial)
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        errors.put(f"{exc.__class__.__name__}: {exc}")


def test_concurrent_store_writers_and_dashboard_reads(tmp_path):
    import optuna

    from autopeft.store import StudyStore, load_trials
    from autopeft.store.study import quiet_optuna

    quiet_optuna()
    url = f"sqlite:///{tmp_path}/s.db"
    StudyStore(url, "s").create(optuna.samplers.RandomSampler(seed=0), ["maximize", "minimize"], ["score", "params"])
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    writers = [ctx.Process(target=_writer, args=(url, "s", 60, errors)) for _ in range(2)]
    reader = DashboardReader(url, period=0.1)
    reader.start()
    for w in writers:
        w.start()
    try:
        for w in writers:
            w.join(timeout=120)
    finally:
        reader.stop.set()
        for w in writers:
            if w.is_alive():
                w.kill()
                w.join()
        reader.join(timeout=30)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == [] and reader.errors == []
    assert all(w.exitcode == 0 for w in writers)
    assert len(reader.counts) > 5
    records = load_trials(url, "s")
    assert len(records) == 120 and all(r.state == "COMPLETE" for r in records)  # no trial lost
