"""Hardening (#18), items 5 and 11: every FAIL carries its reason, and no trial is created before
the workers exist; a trial whose loss goes NaN in a real search is FAIL with the reason while the
search finishes its budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest


ZERO = "tests.fake_objectives:zero_cost"


@pytest.fixture()
def data(tmp_path) -> Path:
    path = tmp_path / "train.csv"
    path.write_text("text,label\n" + "".join(f"story number {i} about {'cats' if i % 2 else 'dogs'},{'a' if i % 2 else 'b'}\n"
                                             for i in range(40)), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- item 5
def test_a_trial_failed_as_stale_carries_its_reason(tmp_path):
    """A driver dies (its heartbeat stops); the next driver fails the trial as stale: the FAIL
    has its ``error`` (not only the re-run's ``retry_reason``)."""
    import optuna

    from autopeft.store import StudyStore, load_trials
    from autopeft.store.study import quiet_optuna

    quiet_optuna()
    url = f"sqlite:///{tmp_path}/s.db"
    dead = StudyStore(url, "s", heartbeat_interval=1, grace_period=1)
    dead.create(optuna.samplers.RandomSampler(seed=0), ["maximize"], ["score"])
    trial = dead.ask()
    dead.storage.record_heartbeat(trial._trial_id)  # one beat, then the driver "dies"
    time.sleep(2.5)

    requeued = []
    live = StudyStore(url, "s", heartbeat_interval=1, grace_period=1,
                      on_stale=lambda store, t: requeued.append(store.requeue(t, "its driver stopped (no heartbeat)")))
    live.load(optuna.samplers.RandomSampler(seed=1))
    live.fail_stale()
    records = {r.number: r for r in load_trials(url, "s")}
    failed = records[trial.number]
    assert failed.state == "FAIL"
    assert failed.error and "heartbeat" in failed.error, failed
    assert requeued == [True]
    rerun = [r for r in records.values() if r.retry_of == trial.number]
    assert len(rerun) == 1 and rerun[0].state == "WAITING"


def test_ray_start_failure_creates_no_trial(bert, data, tmp_path, monkeypatch):
    """The workers are started before the first trial is asked for: a Ray start that times out
    leaves no RUNNING trial behind (and no trial at all but the queued baselines)."""
    import autopeft.service.loop as loop
    from autopeft.service import SearchSpec, run_search
    from autopeft.service.errors import SearchError
    from autopeft.store import load_trials

    def timed_out(*args, **kwargs):
        raise SearchError("Ray did not start within 60 s (the machine is busy); try again or pass --ray-address")

    monkeypatch.setattr(loop, "connect", timed_out)
    url = f"sqlite:///{tmp_path}/s.db"
    with pytest.raises(SearchError, match="Ray did not start"):
        run_search(SearchSpec(model=bert, task={"train": str(data)}, trials=2, baselines="lora8_qv", storage=url, study="s",
                              objective_fn=ZERO, progress=False))
    records = load_trials(url, "s")
    assert [r.state for r in records] == ["WAITING"]  # the queued baseline only: nothing RUNNING, nothing asked
    assert all(r.error for r in records if r.state == "FAIL")


# --------------------------------------------------------------------------- item 11
def test_a_nan_loss_in_a_real_search_is_fail_with_reason_and_the_budget_finishes(bert, data, tmp_path):
    """Real training (the tiny BERT, the default objective) at a learning rate that diverges:
    each trial is FAIL with the proxy's reason (nan_loss / diverged), and the search runs its
    whole budget instead of stopping at the first."""
    from autopeft.service import SearchSpec, run_search
    from autopeft.store import load_trials

    url = f"sqlite:///{tmp_path}/s.db"
    outcome = run_search(SearchSpec(
        model=bert, task={"train": str(data)}, space="lora_layerwise", trials=3, baselines="none", storage=url, study="s",
        fidelity="tiny:learning_rate=1e6,max_steps=6,max_train_examples=16,max_eval_examples=8,max_seq_length=16",
        progress=False, sampler="random"))
    records = [r for r in load_trials(url, "s") if r.rejected is None]
    assert len(records) == 3 and outcome.trials_run == 3
    assert all(r.state == "FAIL" for r in records), [(r.state, r.error) for r in records]
    for r in records:
        assert r.error and ("nan" in r.error.lower() or "diverg" in r.error.lower()), r.error
