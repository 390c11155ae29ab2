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
from autopeft.proxy.train import Clock, TrialFailure, failure_from_exception, predict, train


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
    process-wide :func:`default_cache` when ``None``).
    """
    import torch

    from autopeft.inject import apply, trainable_summary

    start = time.perf_counter()
    if not isinstance(config, PeftConfig):
        raise ConfigError(f"config: expected a PeftConfig, got {type(config).__name__}; load one with autopeft.load_config")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed: expected an integer, got {seed!r}")
    fidelity = Fidelity.resolve(fidelity)
    task = _as_task(task, data_dir)
    model_id = model or default_model()
    target = resolve_device(device)
    cache = cache or default_cache()

    template, tokenizer = cache.backbone(model_id, task.num_labels, task.kind)
    config.check_compatible(template.config)
    train_split = cache.tokenized(task, tokenizer, fidelity.max_seq_length, "train")
    eval_split = cache.tokenized(task, tokenizer, fidelity.max_seq_length, "validation")
    train_indices = fixed_subset(len(train_split), fidelity.max_train_examples)
    eval_indices = fixed_subset(len(eval_split), fidelity.max_eval_examples)
    pad_id = int(tokenizer.pad_token_id)

    result = TrialResult(status="failed")
    memory = _Memory(target)
    clock = Clock(fidelity.timeout_s, start, memory.sample)
    net = None
    phase = "setup"
    try:
        net = cache.fresh_model(model_id, task.num_labels, task.kind, seed)
        torch.manual_seed(seed)  # PEFT module initialisation and dropout
        apply(net, config)
        counts = trainable_summary(net)
        peft_dtype = next((p.dtype for n, p in net.named_parameters() if "autopeft_" in n), torch.float32)
        result.trainable_params = counts.peft_params
        result.head_params = counts.head_params
        result.percent_params = 100.0 * counts.peft_params / backbone_params(template.config)
        result.adapter_bytes = counts.peft_params * torch.empty((), dtype=peft_dtype).element_size()
        net.to(target)
        result.time_load_s = time.perf_counter() - start
        phase = "train"
        stats = train(net, train_split, train_indices, kind=task.kind, fidelity=fidelity, seed=seed, device=target, pad_id=pad_id, clock=clock)
        result.time_train_s = stats.seconds
        result.examples_per_s = stats.examples / stats.seconds if stats.seconds > 0 else None
        phase = "eval"
        eval_start = time.perf_counter()
        predictions, references = predict(
            net, eval_split, eval_indices, kind=task.kind, batch_size=min(256, 2 * fidelity.batch_size),
            device=target, pad_id=pad_id, bf16=fidelity.bf16, clock=clock, target_scale=stats.target_scale,
        )
        result.metrics = task.compute_metrics(predictions, references)
        result.time_eval_s = time.perf_counter() - eval_start
        result.score = result.metrics[task.main_metric]
        result.majority_share, result.chance_score = prediction_spread(task, predictions, references)
        result.status = "ok"
    except Exception as exc:  # a bad trial never crashes the caller; bad input does
        if isinstance(exc, AutoPeftError) and phase == "setup":
            raise
        failure = exc if isinstance(exc, TrialFailure) else failure_from_exception(exc)
        result.status = "failed"
        result.error = str(failure)
        result.score = None
        elapsed = time.perf_counter() - start
        if phase == "setup":
            result.time_load_s = elapsed
        elif phase == "train":
            result.time_train_s = elapsed - result.time_load_s
        else:
            result.time_eval_s = elapsed - result.time_load_s - result.time_train_s
    finally:
        memory.sample()
        result.peak_memory_mb = memory.peak_mb
        del net
        if target.type == "cuda" or result.status == "failed":
            gc.collect()  # free a failed or GPU trial's tensors now, before the next trial
            if target.type == "cuda":
                torch.cuda.empty_cache()
    return result
