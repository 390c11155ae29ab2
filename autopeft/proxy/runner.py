"""`evaluate`: train one PEFT configuration on a task's proxy budget and score it.

The load phase (task, backbone, tokenised data, a fresh copy of the backbone with ``config``
injected) raises :class:`autopeft.errors.AutoPeftError` subclasses for bad input: an unknown
task, a missing file, a model that cannot be loaded, a config that does not fit the model.
Everything after it (training, evaluation) never raises: a NaN loss, divergence, out of memory,
a timeout or any other exception gives ``status="failed"`` with the reason in ``error``.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from autopeft.architectures import backbone_params
from autopeft.backbone import default_model
from autopeft.config import PeftConfig
from autopeft.errors import AutoPeftError, ConfigError
from autopeft.proxy.cache import BackboneCache, default_cache
from autopeft.proxy.data import fixed_subset
from autopeft.proxy.fidelity import Fidelity
from autopeft.proxy.result import TrialResult
from autopeft.proxy.train import Clock, TrialFailure, failure_from_exception, predict


def resolve_device(device: str | None) -> Any:
    """``device`` as a torch.device; ``None`` = CUDA when available, else CPU."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device: {device!r} is not a torch device ({exc}); use 'cpu' or 'cuda'") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {device!r} was asked for but CUDA is not available; use 'cpu'")
    return resolved


class _Memory:
    """Peak memory of the trial: CUDA peak allocation, or the process RSS sampled each step."""

    def __init__(self, device: Any) -> None:
        import torch

        self.cuda = device.type == "cuda"
        self.peak_bytes = 0
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(device)
            self.device = device
        else:
            import psutil

            self.process = psutil.Process()
        self.sample()

    def sample(self) -> None:
        if not self.cuda:
            self.peak_bytes = max(self.peak_bytes, self.process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        if self.cuda:
            import torch

            return torch.cuda.max_memory_allocated(self.device) / 2**20
        return self.peak_bytes / 2**20


def prediction_spread(task: Any, predictions: Any, references: Any) -> tuple[float | None, float]:
    """(share of the predictions in the most-predicted class, the main metric of the best
    constant predictor on the same references). Regression: (None, 0.0), since a constant
    prediction has no correlation with the labels."""
    import numpy as np

    if task.kind == "regression" or len(predictions) == 0:
        return None, 0.0
    counts = np.bincount(np.asarray(predictions, dtype=np.int64), minlength=task.num_labels)
    constant = max(
        task.compute_metrics(np.full(len(references), label), references)[task.main_metric]
        for label in range(task.num_labels)
    )
    return float(counts.max() / counts.sum()), float(constant)


def _as_task(task: Any, data_dir: str | None) -> Any:
    """Any task reference (a registry name, ``bbcnews``, ``folder:ROOT``, a task file or spec,
    a ``Task``) as a ``Task``."""
    from autopeft.tasks import resolve_task

    return resolve_task(task, data_dir)


class StagedTrial:
    """One configuration's proxy trial, trained in segments with a score after each.

    Building it is the load phase (task, backbone, tokenised data, a fresh copy of the backbone
    with ``config`` injected); :meth:`advance` trains up to a step and scores the validation
    subset there. The steps of all segments add up to one uninterrupted run of the fidelity's
    budget (see :class:`autopeft.proxy.train.TrainingRun`), so a multi-fidelity search that
    stops at a rung and continues the trial gets the score ``evaluate`` would have given.
    :meth:`state_dict` / :meth:`load_state_dict` carry a paused trial to another worker.

    Times in the returned results are cumulative; ``fidelity.timeout_s`` bounds the trial's
    active time (load, training and evaluation, not the pauses between segments). Once a
    segment fails, the trial stays failed and :meth:`advance` returns that result again.
    """

    def __init__(
        self,
        model: str | None,
        task: Any,
        config: PeftConfig,
        fidelity: Fidelity | str = "quick",
        seed: int = 0,
        *,
        data_dir: str | None = None,
        device: str | None = None,
        cache: BackboneCache | None = None,
    ) -> None:
        import torch

        from autopeft.inject import apply, trainable_summary
        from autopeft.proxy.train import TrainingRun

        start = time.perf_counter()
        if not isinstance(config, PeftConfig):
            raise ConfigError(f"config: expected a PeftConfig, got {type(config).__name__}; load one with autopeft.load_config")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed: expected an integer, got {seed!r}")
        self.fidelity = fidelity = Fidelity.resolve(fidelity)
        self.task = task = _as_task(task, data_dir)
        model_id = model or default_model()
        self.device = target = resolve_device(device)
        cache = cache or default_cache()

        template, tokenizer = cache.backbone(model_id, task.num_labels, task.kind)
        config.check_compatible(template.config)
        train_split = cache.tokenized(task, tokenizer, fidelity.max_seq_length, "train")
        self.eval_split = cache.tokenized(task, tokenizer, fidelity.max_seq_length, "validation")
        train_indices = fixed_subset(len(train_split), fidelity.max_train_examples)
        self.eval_indices = fixed_subset(len(self.eval_split), fidelity.max_eval_examples)
        self.pad_id = int(tokenizer.pad_token_id)

        self.result = TrialResult(status="failed")
        self.memory = _Memory(target)
        self.active_s = 0.0
        self.failed: TrialResult | None = None
        self.net: Any = None
        self.run: Any = None
        try:
            self.net = cache.fresh_model(model_id, task.num_labels, task.kind, seed)
            torch.manual_seed(seed)  # PEFT module initialisation and dropout
            apply(self.net, config)
            counts = trainable_summary(self.net)
            peft_dtype = next((p.dtype for n, p in self.net.named_parameters() if "autopeft_" in n), torch.float32)
            self.result.trainable_params = counts.peft_params
            self.result.head_params = counts.head_params
            self.result.percent_params = 100.0 * counts.peft_params / backbone_params(template.config)
            self.result.adapter_bytes = counts.peft_params * torch.empty((), dtype=peft_dtype).element_size()
            self.net.to(target)
            self.run = TrainingRun(
                self.net, train_split, train_indices, kind=task.kind, fidelity=fidelity, seed=seed, device=target, pad_id=self.pad_id,
            )
        except Exception as exc:  # bad input raises; a trial that cannot start is a failed trial
            if isinstance(exc, AutoPeftError):
                self.close()
                raise
            self._fail(exc)
        finally:
            self.result.time_load_s = time.perf_counter() - start
            self.active_s += self.result.time_load_s

    @property
    def total_steps(self) -> int:
        """The fidelity's whole budget in optimiser steps (0 when the setup failed)."""
        return self.run.total if self.run is not None else 0

    @property
    def steps_done(self) -> int:
        return self.run.done if self.run is not None else 0

    def _clock(self, started: float) -> Clock:
        return Clock(self.fidelity.timeout_s, started, self.memory.sample, used_s=self.active_s)

    def _fail(self, exc: BaseException) -> TrialResult:
        failure = exc if isinstance(exc, TrialFailure) else failure_from_exception(exc)
        self.result.status = "failed"
        self.result.error = str(failure)
        self.result.score = None
        self.failed = self._snapshot()
        self.close()
        return self.failed

    def _snapshot(self) -> TrialResult:
        self.memory.sample()
        self.result.peak_memory_mb = self.memory.peak_mb
        return TrialResult.from_dict(self.result.to_dict())

    def advance(self, until: int | None = None) -> TrialResult:
        """Train to step ``min(until, total_steps)`` (``None``: the whole budget), score the
        validation subset there and return the result so far (a copy; never raises)."""
        if self.failed is not None:
            return self.failed
        started = time.perf_counter()
        clock = self._clock(started)
        phase = "train"
        try:
            stats = self.run.advance(until, clock)
            self.result.time_train_s = stats.seconds
            self.result.examples_per_s = stats.examples / stats.seconds if stats.seconds > 0 else None
            phase = "eval"
            eval_start = time.perf_counter()
            fidelity, task = self.fidelity, self.task
            predictions, references = predict(
                self.net, self.eval_split, self.eval_indices, kind=task.kind, batch_size=min(256, 2 * fidelity.batch_size),
                device=self.device, pad_id=self.pad_id, bf16=fidelity.bf16, clock=clock, target_scale=stats.target_scale,
            )
            self.result.metrics = task.compute_metrics(predictions, references)
            self.result.time_eval_s += time.perf_counter() - eval_start
            self.result.score = self.result.metrics[task.main_metric]
            self.result.majority_share, self.result.chance_score = prediction_spread(task, predictions, references)
            self.result.status = "ok"
            return self._snapshot()
        except Exception as exc:  # a bad trial never crashes the caller
            if phase == "train":
                self.result.time_train_s = self.run.seconds
            return self._fail(exc)
        finally:
            self.active_s += time.perf_counter() - started

    def state_dict(self) -> dict[str, Any]:
        """The paused trial's training state and result so far (for ``torch.save``)."""
        if self.run is None:
            raise ConfigError("checkpoint: this trial failed before training started; nothing to save")
        return {"run": self.run.state_dict(), "result": self.result.to_dict(), "active_s": self.active_s}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from another worker's :meth:`state_dict` of the same configuration, task,
        fidelity and seed."""
        if self.run is None:
            raise ConfigError("checkpoint: this trial failed before training started; nothing to load into")
        self.run.load_state_dict(state["run"])
        load_s = self.result.time_load_s
        self.result = TrialResult.from_dict(state["result"])
        self.result.time_load_s += load_s
        self.active_s = float(state["active_s"]) + load_s

    def close(self) -> None:
        """Free the trial's model and optimiser now (GPU memory first)."""
        import torch

        cuda = self.device.type == "cuda"
        self.run = None
        self.net = None
        if cuda or self.failed is not None:
            gc.collect()  # free a failed or GPU trial's tensors now, before the next trial
            if cuda:
                torch.cuda.empty_cache()

    def __enter__(self) -> "StagedTrial":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def evaluate(
    model: str | None,
    task: Any,
    config: PeftConfig,
    fidelity: Fidelity | str = "quick",
    seed: int = 0,
    *,
    data_dir: str | None = None,
    device: str | None = None,
    cache: BackboneCache | None = None,
) -> TrialResult:
    """Train ``config`` on ``task`` with ``model`` (hub id or local path; ``None`` = the
    default MiniLM) for the ``fidelity`` budget and return the :class:`TrialResult`.

    Same seed on CPU gives the same score. Fresh PEFT modules and a fresh task head are built
    for every call; the backbone weights and tokenised data come from ``cache`` (the
    process-wide :func:`default_cache` when ``None``). Bad input (an unknown task, a missing
    file, a config that does not fit the model) raises; a trial that fails returns
    ``status="failed"`` with its reason.
    """
    with StagedTrial(model, task, config, fidelity, seed, data_dir=data_dir, device=device, cache=cache) as trial:
        return trial.advance(None)
