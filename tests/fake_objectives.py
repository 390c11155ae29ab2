"""Test doubles: cheap objectives with ``autopeft.proxy.evaluate``'s signature, for the orchestration tests and
benchmark (they exercise the whole loop, store and Ray, without training anything). Named by
import path, ``tests.fake_objectives:zero_cost`` (the repository root is on the workers' path).

``zero_cost``: returns at once. ``cpu_bound``: burns ``AUTOPEFT_TEST_TRIAL_SECONDS`` (2 s) of
CPU. ``sleepy``: writes its process id to ``$AUTOPEFT_TEST_PIDDIR/<trial>.pid`` and sleeps
``AUTOPEFT_TEST_TRIAL_SECONDS``, so a test can kill the worker mid-trial. The score is a fixed
function of the config, so fronts are reproducible.

Each returns every field a real trial (:func:`autopeft.proxy.evaluate`) returns, counted the same
way: ``trainable_params`` the PEFT modules only, ``head_params`` the task head beside it,
``percent_params`` against :func:`autopeft.architectures.backbone_params`, ``majority_share`` and
``chance_score`` of a (fictitious) balanced two-class evaluation. The search loop checks the
count against the config it sent, so a count that drifts from the loop's fails a test instead of
being filled in behind it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from typing import Any


def _score(config: Any) -> float:
    """A deterministic score in [0.5, 0.95) that grows with the config's total size."""
    data = config.to_dict() if hasattr(config, "to_dict") else config
    size = 0
    for layer in data["layers"]:
        size += sum(v for k, v in layer.items() if isinstance(v, int) and not isinstance(v, bool))
        size += sum((layer.get("lora") or {}).values()) + (4 if layer.get("ia3") else 0)
    noise = int(hashlib.sha1(repr(data).encode()).hexdigest()[:6], 16) / 16**6
    return 0.5 + 0.4 * (1 - 1 / (1 + size / 200)) + 0.05 * noise


@functools.lru_cache(maxsize=8)
def _model_config(model: str) -> Any:
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(model)


def head_params(model_config: Any) -> int:
    """Parameters of the sequence-classification head transformers puts on ``model_config``
    (``num_labels`` outputs), from the config alone: what :func:`autopeft.trainable_summary`
    reports as ``head_params`` (BERT: the classifier, its pooler is part of the frozen backbone;
    RoBERTa, ELECTRA, DistilBERT and DeBERTa-v2: a dense layer before it; decoders: an unbiased
    score layer)."""
    from autopeft.architectures import dims_of, family_for

    labels = int(getattr(model_config, "num_labels", 2))
    hidden = dims_of(model_config).hidden
    family = family_for(model_config).name
    if family in ("gpt2", "llama"):
        return hidden * labels
    if family == "bert":
        return hidden * labels + labels
    return hidden * hidden + hidden + hidden * labels + labels


def _result(model: str, config: Any, started: float) -> dict[str, Any]:
    from autopeft.architectures import backbone_params

    mc = _model_config(model)
    n_params = config.num_trainable_params(mc)
    score = _score(config)
    return {
        "score": score,
        "metrics": {"accuracy": score},
        "trainable_params": n_params,
        "percent_params": 100.0 * n_params / backbone_params(mc),
        "adapter_bytes": 4 * n_params,
        "head_params": head_params(mc),
        "majority_share": 0.5,
        "chance_score": 0.5,
        "status": "ok",
        "error": None,
        "time_train_s": time.perf_counter() - started,
    }


def zero_cost(model: str, task: str, config: Any, fidelity: Any = "quick", seed: int = 0, *, data_dir: Any = None, device: Any = None) -> dict[str, Any]:
    return _result(model, config, time.perf_counter())


def cpu_bound(model: str, task: str, config: Any, fidelity: Any = "quick", seed: int = 0, *, data_dir: Any = None, device: Any = None) -> dict[str, Any]:
    started = time.perf_counter()
    seconds = float(os.environ.get("AUTOPEFT_TEST_TRIAL_SECONDS", "2"))
    x = 0
    while time.perf_counter() - started < seconds:
        for i in range(10_000):
            x = (x * 31 + i) % 1_000_003
    return _result(model, config, started)


def sleepy(model: str, task: str, config: Any, fidelity: Any = "quick", seed: int = 0, *, data_dir: Any = None, device: Any = None) -> dict[str, Any]:
    from autopeft.service.worker import current_trial

    started = time.perf_counter()
    pid_dir = os.environ.get("AUTOPEFT_TEST_PIDDIR")
    if pid_dir:
        path = os.path.join(pid_dir, f"{current_trial()}.pid")
        with open(path + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(path + ".tmp", path)
    time.sleep(float(os.environ.get("AUTOPEFT_TEST_TRIAL_SECONDS", "2")))
    return _result(model, config, started)


def failing(model: str, task: str, config: Any, fidelity: Any = "quick", seed: int = 0, *, data_dir: Any = None, device: Any = None) -> dict[str, Any]:
    raise RuntimeError("this objective always fails")


# --------------------------------------------------------------------------- staged (multi-fidelity)
def _fake_total_steps(fidelity: Any) -> int:
    """The fidelity's optimiser steps as the proxy counts them (its preset text or dict)."""
    import math

    from autopeft.proxy.fidelity import Fidelity

    f = Fidelity.resolve(fidelity)
    if f.max_steps is not None:
        return f.max_steps
    return max(1, math.ceil(f.epochs * math.ceil((f.max_train_examples or 512) / f.batch_size)))


def curve_score(config: Any, step: int, total: int) -> float:
    """The staged fake's learning curve: 0.5 (chance) at step 0 rising as ``sqrt(step / total)``
    to :func:`_score` (``zero_cost``'s score) at the whole budget, so the ranking at every rung
    is the final ranking and a test can tell which trials a rung stops."""
    return 0.5 + (_score(config) - 0.5) * (step / total) ** 0.5


class StagedCurve:
    """A staged test objective with :class:`autopeft.proxy.runner.StagedTrial`'s interface (for
    ``--scheduler asha``): trains nothing; ``advance(step)`` returns :func:`curve_score` there,
    after sleeping ``AUTOPEFT_TEST_STEP_SECONDS`` (0) per step advanced, so a test can kill a
    driver mid-trial. Writes the worker's pid like ``sleepy`` when ``AUTOPEFT_TEST_PIDDIR`` is set."""

    def __init__(self, model: str, task: Any, config: Any, fidelity: Any = "quick", seed: int = 0, *, data_dir: Any = None,
                 device: Any = None, cache: Any = None) -> None:
        self.model, self.config = model, config
        self.total_steps = _fake_total_steps(fidelity)
        self.steps_done = 0
        self.closed = False

    def advance(self, until: int | None = None) -> dict[str, Any]:
        started = time.perf_counter()
        target = self.total_steps if until is None else min(int(until), self.total_steps)
        time.sleep(max(0, target - self.steps_done) * float(os.environ.get("AUTOPEFT_TEST_STEP_SECONDS", "0")))
        self.steps_done = max(self.steps_done, target)
        out = _result(self.model, self.config, started)
        score = curve_score(self.config, self.steps_done, self.total_steps)
        out.update(score=score, metrics={"accuracy": score})
        return out

    def close(self) -> None:
        self.closed = True
