"""Staged proxy training: a trial stopped at rungs and continued scores as an uninterrupted one.

Multi-fidelity search trains a configuration to a rung, scores it, and continues the promoted
ones; the learning-rate schedule is defined over the whole budget and the optimiser, batch
order and dropout state carry over, so the continued trial must equal the uninterrupted one.
"""

from __future__ import annotations

import json

import pytest

from autopeft.config import PeftConfig
from autopeft.proxy.fidelity import Fidelity

pytest.importorskip("torch")

FIDELITY = Fidelity(max_train_examples=48, batch_size=8, max_seq_length=32, max_eval_examples=40, max_steps=9, timeout_s=None)


@pytest.fixture()
def toy_task(tmp_path):  # noqa: ANN001
    """A 3-class sentence-pair task whose label is the first word."""
    from autopeft.tasks import custom_task

    rows = [json.dumps({"a": f"{['red', 'green', 'blue'][i % 3]} item {i}", "b": f"text {i * 7}", "y": ["red", "green", "blue"][i % 3]}) for i in range(48)]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return custom_task(str(path), str(path), ["a", "b"], "y", "classification")


@pytest.fixture()
def staged(bert, toy_task, tmp_path):  # noqa: ANN001
    from autopeft.proxy import BackboneCache
    from autopeft.proxy.runner import StagedTrial

    cache = BackboneCache(tmp_path / "cache")

    def make(config: PeftConfig | None = None, seed: int = 0, fidelity: Fidelity = FIDELITY):
        config = config or PeftConfig.uniform(2, lora={"query": 4, "value": 4}, serial_adapter=8)
        return StagedTrial(bert, toy_task, config, fidelity, seed, device="cpu", cache=cache)

    return make


def test_continued_trial_equals_uninterrupted(staged) -> None:  # noqa: ANN001
    from autopeft.proxy.runner import evaluate

    whole = staged().advance(None)
    trial = staged()
    rungs = [trial.advance(step) for step in (1, 3, 9)]
    assert [trial.total_steps, trial.steps_done] == [9, 9]
    assert rungs[-1].score == pytest.approx(whole.score, abs=1e-9)
    assert rungs[-1].metrics == pytest.approx(whole.metrics, abs=1e-9)
    assert all(r.status == "ok" for r in rungs)
    # Each rung is a real evaluation after its own share of the training; times are cumulative.
    assert rungs[0].time_train_s < rungs[1].time_train_s < rungs[2].time_train_s
    assert rungs[0].time_eval_s < rungs[2].time_eval_s
    assert staged().advance(None).score == pytest.approx(whole.score, abs=1e-9)  # evaluate() is the same run


def test_interleaved_trials_do_not_disturb_each_other(staged) -> None:  # noqa: ANN001
    """Another trial training between two segments (one worker, two paused trials) changes nothing."""
    alone = staged(seed=1).advance(None)
    first, other = staged(seed=1), staged(seed=2)
    first.advance(3)
    other.advance(9)
    assert first.advance(9).score == pytest.approx(alone.score, abs=1e-9)


def test_checkpoint_moves_a_paused_trial(staged, tmp_path) -> None:  # noqa: ANN001
    import torch

    whole = staged(seed=3).advance(None)
    paused = staged(seed=3)
    paused.advance(3)
    torch.save(paused.state_dict(), tmp_path / "trial.pt")
    paused.close()
    moved = staged(seed=3)
    moved.load_state_dict(torch.load(tmp_path / "trial.pt", weights_only=False))
    assert moved.steps_done == 3
    assert moved.advance(9).score == pytest.approx(whole.score, abs=1e-9)


def test_a_failed_segment_stays_failed(staged) -> None:  # noqa: ANN001
    trial = staged(fidelity=FIDELITY.with_(timeout_s=1e-6))  # the load phase alone uses up the budget
    result = trial.advance(9)
    assert (result.status, result.failure_reason) == ("failed", "timeout"), result.error
    assert result.score is None and trial.steps_done == 0  # its model is freed
    again = trial.advance(9)
    assert (again.status, again.error) == ("failed", result.error)
