"""The store's own schema: one codec for a trial's record, :class:`StudyStore`'s writes (batched
parameters, results, re-queues), dead drivers' trials failed by the database clock, and the
typed messages that cross Ray (no Ray here: the worker class runs in-process)."""

from __future__ import annotations

import time

import pytest

optuna = pytest.importorskip("optuna")

from autopeft import PeftConfig  # noqa: E402
from autopeft.proxy.result import TrialResult  # noqa: E402
from autopeft.store import Lineage, StudyStore, Timings, WorkerInfo, keys, load_trials  # noqa: E402


class _Param:
    def __init__(self, name: str, choices: list[int]):
        self.name, self.choices = name, choices


def _store(tmp_path, name: str = "s", **kwargs) -> StudyStore:
    store = StudyStore(f"sqlite:///{tmp_path / 'study.db'}", name, **kwargs)
    store.create(optuna.samplers.RandomSampler(seed=1), ["maximize", "minimize"], ["score", "params"])
    store.set_metadata({"objectives": ["score", "params"]})
    return store


def test_a_trial_round_trips_through_the_codec_typed(tmp_path):
    store = _store(tmp_path)
    config = PeftConfig.uniform(2, lora={"query": 4})
    trial = store.ask()
    params = store.suggest(trial, [_Param(f"p{i}", [1, 2, 3]) for i in range(10)])
    assert trial.params == params and len(params) == 10
    store.set_config(trial, config)
    result = TrialResult(score=0.8, metrics={"accuracy": 0.8}, trainable_params=1234, percent_params=0.5, head_params=10)
    worker = WorkerInfo(host="h", node_ip="1.2.3.4", node_id="n", pid=7, trials_run=1, driver_host="d", driver_pid=9)
    timings = Timings(queued=1.0, started=2.0, finished=5.0, wall_s=3.0, dispatch_s=1.0)
    store.record(trial, result=result, extra={"note": "x"}, worker=worker, timings=timings, values=[0.8, 1234])

    (record,) = load_trials(store.url, "s")
    assert record.state == "COMPLETE" and record.values == {"score": 0.8, "params": 1234.0} and record.params == params
    assert record.peft == config and record.to_dict()["config"] == config.to_dict()  # config as a PeftConfig
    assert record.trial_result == result  # result as a TrialResult
    assert record.worker == worker and record.timing == timings
    assert record.extra["note"] == "x" and record.to_dict()["result"]["note"] == "x"  # other fields the objective returned are kept
    assert record.lineage == Lineage() and record.baseline is None and record.attempt is None
    with pytest.raises(AttributeError):
        record.number = 3  # frozen
    (fast,) = store.records()  # the fast read decodes through the same codec
    assert fast.to_dict() == record.to_dict() | {"params": {}} and fast.peft == config and fast.trial_result == result
    assert store.metadata() == {"objectives": ["score", "params"]}


def test_requeue_keeps_the_lineage_and_runs_once(tmp_path):
    store = _store(tmp_path)
    store.enqueue({}, Lineage(baseline="lora8_qv", attempt=1))
    trial = store.ask()
    assert store.lineage(trial) == Lineage(baseline="lora8_qv", attempt=1) and not store.counts_toward_budget(trial)
    store.fail(trial, "worker died")
    assert store.requeue(store.fresh(trial), "worker died")
    retry = store.ask()
    assert store.lineage(retry) == Lineage(baseline="lora8_qv", retry_of=0, attempt=2, retry_reason="worker died")
    store.fail(retry, "again")
    assert not store.requeue(store.fresh(retry), "again")
    records = load_trials(store.url, "s")
    assert [r.error for r in records[:2]] == ["worker died", "again"] and records[1].retry_of == 0 and records[1].attempt == 2


def test_reject_and_tally(tmp_path):
    store = _store(tmp_path)
    trial = store.ask()
    store.reject(trial, "over --max-params", violation=5.0)
    other = store.ask()
    store.set_config(other, PeftConfig.uniform(2))
    tally = store.tally()
    assert (tally.claimed, tally.running, tally.done, tally.active) == (1, 1, 0, True)  # the rejected one is not claimed
    (rejected,) = load_trials(store.url, "s", states=["PRUNED"])
    assert rejected.rejected == "over --max-params"


def test_a_trial_no_driver_ever_beat_for_is_failed_by_the_database_clock(tmp_path):
    """A driver killed between ask and its first heartbeat leaves a RUNNING trial with no
    heartbeat row: a sweep that sees it twice gives it one (stamped by the database), and
    Optuna's heartbeat rule fails it a grace period later, handing it to ``on_stale``."""
    stale = []
    url = f"sqlite:///{tmp_path / 'study.db'}"
    dead = StudyStore(url, "s")
    dead.create(optuna.samplers.RandomSampler(seed=1), ["maximize", "minimize"], ["score", "params"])
    orphan = dead.ask()  # and the driver dies here: no heartbeat

    store = StudyStore(url, "s", heartbeat_interval=1, grace_period=1, on_stale=lambda s, t: stale.append(t.number))
    store.load(optuna.samplers.RandomSampler(seed=2))
    store.fail_stale()
    assert store.fresh(orphan).state.name == "RUNNING" and not stale  # seen once: maybe its driver is about to beat
    store.fail_stale()  # seen twice: given a first heartbeat by the database
    time.sleep(2.5)
    store.fail_stale()
    assert store.fresh(orphan).state.name == "FAIL" and stale == [orphan.number]


def test_a_trial_this_driver_runs_is_never_failed(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    store = StudyStore(url, "s", heartbeat_interval=1, grace_period=1)
    store.create(optuna.samplers.RandomSampler(seed=1), ["maximize", "minimize"], ["score", "params"])
    mine = store.ask()
    for _ in range(3):
        store.fail_stale(running={mine.number})
    time.sleep(1.5)
    store.fail_stale(running={mine.number})
    assert store.fresh(mine).state.name == "RUNNING"


def test_worker_answers_typed_requests_typed_and_dicts_in_kind():
    pytest.importorskip("transformers")
    from autopeft.service.messages import TrialOutcome, TrialRequest
    from autopeft.service.worker import TrialWorker

    worker = TrialWorker("tests.fake_objectives:failing")
    request = TrialRequest(number=4, model="m", task="zero", config=PeftConfig.uniform(2, lora={"query": 8}))
    assert request["number"] == 4  # pools key runs by number, as they did the dict payload
    outcome = worker.run(request)
    assert isinstance(outcome, TrialOutcome) and outcome.number == 4
    assert outcome.result.status == "failed" and "always fails" in outcome.result.error
    assert "RuntimeError" in outcome.extra["traceback"] and outcome.worker.pid is not None
    assert outcome.timings.wall_s >= 0 and outcome.timings.dispatch_s is not None
    legacy = worker.run({"number": 5, "model": "m", "task": "zero", "config": PeftConfig.uniform(2).to_dict()})
    assert isinstance(legacy, dict) and legacy["number"] == 5 and legacy["result"]["status"] == "failed"
    assert "traceback" in legacy["result"] and legacy["worker"]["pid"] == outcome.worker.pid


def test_search_spec_takes_typed_values_and_the_old_text():
    from autopeft.proxy.fidelity import Fidelity
    from autopeft.service import SearchSpec
    from autopeft.service.errors import SearchError
    from autopeft.service.options import ParamLimit, fidelity_text

    typed = SearchSpec(objectives=("score", "params"), max_params=150_000, fidelity=Fidelity.preset("quick"), baselines=(), warm_start=("a",))
    text = SearchSpec(objectives="score,params", max_params="1.5e5", fidelity="quick", baselines="none", warm_start=["a"])
    assert typed.objectives == text.objectives == ("score", "params")
    assert typed.max_params == text.max_params == ParamLimit(count=150_000)
    assert typed.fidelity == text.fidelity == Fidelity.preset("quick")
    assert SearchSpec(max_params="0.5%").max_params.resolve(22_000_000) == 110_000
    assert fidelity_text(Fidelity.parse("quick:max_steps=10")) == "quick:max_steps=10"
    with pytest.raises(SearchError, match="^max_params 'lots': expected a count") as raised:
        SearchSpec(max_params="lots")
    assert raised.value.parameter == "max_params"
    assert raised.value.render(lambda name: "--" + name.replace("_", "-")).startswith("--max-params 'lots'")
    with pytest.raises(SearchError, match="^fidelity 'fast'"):
        SearchSpec(fidelity="fast")


def test_trial_keys_are_named_once():
    assert set(keys.TRIAL_KEYS) == {keys.CONFIG, keys.RESULT, keys.TIMINGS, keys.WORKER, keys.ERROR, keys.BASELINE, keys.RETRY_OF,
                                    keys.ATTEMPT, keys.RETRY_REASON, keys.REJECTED, keys.WARM_START_FROM, keys.TOTAL_STEPS, keys.RUNG, keys.STOPPED}
