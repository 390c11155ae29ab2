"""The proxy training and evaluation loops, and how a bad trial is detected.

Training: AdamW over parameter groups with per-module default learning rates, linear warmup
then linear decay to zero, gradient clipping at 1.0, optional bf16 autocast on CUDA. A trial
that goes wrong raises :class:`TrialFailure` with a reason code:

* ``nan_loss``: the loss (or the gradient norm) is NaN;
* ``diverged``: the loss is infinite, or its running average exceeds
  ``DIVERGENCE_FACTOR`` times the smallest of the first ``BASELINE_STEPS`` losses;
* ``timeout``: the trial's wall-clock budget ran out (checked between steps and batches);
* ``oom``: CUDA (or CPU allocator) out of memory (mapped by :func:`failure_from_exception`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from autopeft.proxy.data import TokenizedSplit, bucketed_batches, collate, sorted_batches

#: Default learning rate per parameter group (used when ``Fidelity.learning_rate`` is None).
#: Chosen by the sweep of ``benchmarks/proxy_lr_sweep.py`` (table: ``benchmarks/results/
#: proxy_lr_sweep.md``): MiniLM, the ``quick`` preset (32 steps of 16), SST-2, RTE, MRPC and BBC
#: News, two seeds, each group's baseline at three rates with the head at 1e-2, then the head at
#: 3e-3 and 3e-2 on SST-2 and BBC News. The earlier long-run rates (LoRA and (IA)^3 1e-3,
#: adapters 5e-4, prefix 5e-3, head 1e-3) left every configuration at chance on SST-2 at this
#: budget. RTE and MRPC stay at chance at every rate of the grid at 32 steps. On SST-2, head
#: 1e-2: LoRA r=8 q/v 1e-2 0.731 +- 0.010 (3e-2 collapsed), (IA)^3 1e-1 0.736 +- 0.006 (1e-2 and
#: 3e-2 collapsed on one seed), Pfeiffer-64 1e-2 0.678 +- 0.023, prefix-16 1e-1 0.556 +- 0.062 (one
#: seed collapsed; BBC News 0.930 against 0.907 at 3e-2). The head at 3e-2 kept prefix-16 from
#: collapsing (SST-2 0.669, both seeds) and scored within a seed's noise of 1e-2 elsewhere; 3e-3
#: collapsed Pfeiffer-64 and prefix-16 on one seed each. Adapters then dropped to 3e-3: in the
#: first calibration run (benchmarks/proxy_fidelity.py) parallel-64 and the space's largest
#: adapter samples collapsed to one class at 1e-2 on SST-2 at ``quick``; at 3e-3 parallel-64
#: scored 0.720 / 0.746 and Pfeiffer-64 0.688 / 0.694 (seeds 0 / 1; 0.660 / 0.674 at 1e-2).
DEFAULT_LEARNING_RATES: dict[str, float] = {
    "lora": 1e-2,
    "ia3": 1e-1,
    "adapter": 3e-3,
    "prefix": 1e-1,
    "head": 3e-2,
    "peft_other": 1e-2,
    "backbone": 5e-5,  # only when a caller unfreezes backbone weights
}

#: Bottleneck size up to which an adapter trains at the ``adapter`` rate. A larger adapter's rate
#: is scaled by ``(ADAPTER_REFERENCE_SIZE / size) ** ADAPTER_RATE_POWER``: its update grows with
#: the bottleneck (the up-projection sums ``size`` terms that Adam moves by about the rate each
#: step), so one rate cannot serve sizes 1 to 768. Measured on SST-2 at ``quick`` (MiniLM,
#: parallel adapters at scaling 4, seeds 0 / 1 / 2): the ``autopeft`` space's PA384 (5 layers)
#: collapsed to one class on all three seeds at 3e-3, 1e-3 and 5e-4, scored 0.690 / 0.608 / 0.684
#: at 2.5e-4 and 0.658 / 0.636 / 0.676 at 1.25e-4 (the rule gives it 2.0e-4); PA64 scored 0.724 and
#: PA16 0.714 at 3e-3 (seed 0; PA16 collapsed at 1e-2). Scaling from 32 instead (1.5e-3 at size 64)
#: cost Pfeiffer-64 0.09 on SST-2 (0.658 / 0.578 against 0.688 / 0.694) and pushed the
#: calibration's seed noise to 0.60 of the spread, so sizes up to 64 keep the swept rate.
#: Prefix-tuning's rate is not scaled: the 384-token prefix needs its full 1e-1 to escape an
#: initialisation that dilutes attention (SA24 PA384 P384 collapsed on three seeds at prefix 1e-2
#: and 3e-2).
ADAPTER_REFERENCE_SIZE = 64
ADAPTER_RATE_POWER = 1.5

#: Parameter-name substring -> group, checked in order (names come from autopeft.apply).
GROUP_MARKERS: tuple[tuple[str, str], ...] = (
    ("autopeft_lora", "lora"),
    ("autopeft_ia3", "ia3"),
    ("autopeft_prefix", "prefix"),
    ("adapter", "adapter"),
    ("autopeft_", "peft_other"),
)

DIVERGENCE_FACTOR = 10.0
BASELINE_STEPS = 3
EMA_DECAY = 0.7
MAX_GRAD_NORM = 1.0


class TrialFailure(Exception):
    """A trial that cannot produce a score; ``reason`` is a short code, ``str()`` the detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    oom_types = tuple(t for t in (getattr(torch, "OutOfMemoryError", None), getattr(torch.cuda, "OutOfMemoryError", None)) if t)
    return isinstance(exc, oom_types) or (isinstance(exc, (RuntimeError, MemoryError)) and "out of memory" in str(exc).lower()) or isinstance(exc, MemoryError)


def failure_from_exception(exc: BaseException) -> TrialFailure:
    """The TrialFailure a training exception stands for (out-of-memory or a generic error)."""
    if isinstance(exc, TrialFailure):
        return exc
    first_line = (str(exc).splitlines() or [""])[0][:300]
    if is_out_of_memory(exc):
        return TrialFailure("oom", first_line or "out of memory")
    return TrialFailure("error", f"{exc.__class__.__name__}: {first_line}")


class LossMonitor:
    """Watches the training loss and raises :class:`TrialFailure` on NaN or divergence."""

    def __init__(self, factor: float = DIVERGENCE_FACTOR, baseline_steps: int = BASELINE_STEPS) -> None:
        self.factor = factor
        self.baseline_steps = baseline_steps
        self.first: list[float] = []
        self.ema: float | None = None

    def update(self, step: int, loss: float) -> None:
        if math.isnan(loss):
            raise TrialFailure("nan_loss", f"the training loss is NaN at step {step}")
        if math.isinf(loss):
            raise TrialFailure("diverged", f"the training loss is infinite at step {step}")
        self.ema = loss if self.ema is None else EMA_DECAY * self.ema + (1 - EMA_DECAY) * loss
        if len(self.first) < self.baseline_steps:
            self.first.append(loss)
            return
        # The smallest of the first losses: a rate that blows the model up on its first update
        # (loss 1.1 at step 0, 7e6 at step 1) must not lift the baseline it is measured against.
        baseline = max(min(self.first), 1e-3)
        if self.ema > self.factor * baseline:
            raise TrialFailure(
                "diverged",
                f"the training loss rose to {self.ema:.4g} (running average) at step {step}, "
                f"over {self.factor:g}x its initial {baseline:.4g}; lower the learning rate",
            )


@dataclass(frozen=True)
class TargetScale:
    """How regression targets are standardised for training: ``(y - mean) / std``.

    A regression head starts at outputs near 0 while STS-B's targets sit at 2.7 +- 1.5 (0-5): the
    first steps' mean squared error is then all offset, and with gradients clipped at
    :data:`MAX_GRAD_NORM` a proxy's few dozen steps went on the head's bias, not on the features.
    Training on standardised targets (predictions mapped back with :meth:`restore`) leaves
    Pearson and Spearman unchanged for the same model and spends the steps on correlation.
    Classification uses :data:`IDENTITY_SCALE`."""

    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def of(cls, targets: np.ndarray) -> "TargetScale":
        """The mean and standard deviation of ``targets`` (a std of 0 counts as 1)."""
        values = np.asarray(targets, dtype=np.float64)
        std = float(values.std()) if len(values) else 0.0
        return cls(float(values.mean()) if len(values) else 0.0, std if std > 0 else 1.0)

    def restore(self, values: np.ndarray) -> np.ndarray:
        """Predictions of the standardised target back on the target's own scale."""
        return values * self.std + self.mean


IDENTITY_SCALE = TargetScale()


def compute_loss(model: Any, batch: dict[str, Any], kind: str, scale: TargetScale = IDENTITY_SCALE) -> Any:
    """Cross-entropy (classification) or mean squared error against the ``scale``-standardised
    targets (regression) of one batch."""
    import torch.nn.functional as F

    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs).logits.float()
    if kind == "regression":
        return F.mse_loss(logits.view(-1), (labels.float().view(-1) - scale.mean) / scale.std)
    return F.cross_entropy(logits, labels)


def adapter_rate_factor(size: int) -> float:
    """Factor on the ``adapter`` default rate for a bottleneck of ``size``: 1 up to
    :data:`ADAPTER_REFERENCE_SIZE`, then ``(ADAPTER_REFERENCE_SIZE / size) ** ADAPTER_RATE_POWER``."""
    return min(1.0, (ADAPTER_REFERENCE_SIZE / size) ** ADAPTER_RATE_POWER)


def _bottleneck_sizes(model: Any) -> dict[int, int]:
    """``id(parameter) -> bottleneck size`` for the parameters of every bottleneck adapter
    (a module named ``*adapter*`` with ``down`` and ``up`` projections)."""
    sizes: dict[int, int] = {}
    for name, module in model.named_modules():
        down = getattr(module, "down", None)
        if "adapter" in name and hasattr(module, "up") and hasattr(down, "out_features"):
            for param in module.parameters():
                sizes[id(param)] = int(down.out_features)
    return sizes


def parameter_groups(model: Any, learning_rate: float | None, scale: float = 1.0) -> list[dict[str, Any]]:
    """Trainable parameters grouped by module type, each with its learning rate: ``learning_rate``
    for all, or ``scale`` times the group's default (an adapter larger than
    :data:`ADAPTER_REFERENCE_SIZE` gets its own group at :func:`adapter_rate_factor` of it, named
    ``adapter:SIZE``)."""
    groups: dict[str, list[Any]] = {}
    rates: dict[str, float] = {}
    base = getattr(model, "base_model", model)
    in_base = {id(p) for p in base.parameters()} if base is not model else set()
    sizes = _bottleneck_sizes(model) if learning_rate is None else {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        group = next((g for marker, g in GROUP_MARKERS if marker in name), None)
        if group is None:
            group = "backbone" if id(param) in in_base else "head"
        rate = learning_rate if learning_rate is not None else scale * DEFAULT_LEARNING_RATES[group]
        size = sizes.get(id(param))
        if group == "adapter" and size is not None and adapter_rate_factor(size) < 1.0:
            group, rate = f"adapter:{size}", rate * adapter_rate_factor(size)
        groups.setdefault(group, []).append(param)
        rates[group] = rate
    return [{"params": params, "lr": rates[group], "name": group} for group, params in groups.items()]


@dataclass
class TrainStats:
    steps: int
    examples: int
    seconds: float
    final_loss: float | None
    target_scale: TargetScale = IDENTITY_SCALE


class Clock:
    """The trial's deadline and a memory probe called between steps. ``used_s``: seconds of the
    ``timeout_s`` budget spent before ``start`` (earlier segments of a staged trial)."""

    def __init__(self, timeout_s: float | None, start: float, probe: Callable[[], None], used_s: float = 0.0) -> None:
        self.deadline = None if timeout_s is None else start + timeout_s - used_s
        self.timeout_s = timeout_s
        self.probe = probe

    def check(self, where: str) -> None:
        self.probe()
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise TrialFailure("timeout", f"the trial exceeded its {self.timeout_s:g} s budget ({where})")


def _autocast(device: Any, bf16: bool) -> Any:
    import contextlib

    import torch

    if bf16 and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def total_steps(num_examples: int, batch_size: int, epochs: float, max_steps: int | None) -> int:
    if max_steps is not None:
        return max_steps
    return max(1, math.ceil(epochs * math.ceil(num_examples / batch_size)))


class TrainingRun:
    """One trial's training, advanced in segments that add up to an uninterrupted run.

    The optimiser, the learning-rate schedule (linear warmup, then linear decay to zero over
    ``total`` steps: the whole fidelity's budget, whatever segment is asked for), the batch
    order, the loss monitor and torch's global random state (dropout) all live here, so
    ``advance(4); advance(11); advance(32)`` trains exactly as ``advance(32)`` does, even when
    evaluations or other trials run in the same process between the segments (the global
    random state is saved at the end of a segment and restored at the start of the next).
    Multi-fidelity search reports a score after each segment and continues promoted trials.
    """

    def __init__(
        self,
        model: Any,
        split: TokenizedSplit,
        indices: np.ndarray,
        *,
        kind: str,
        fidelity: Any,
        seed: int,
        device: Any,
        pad_id: int,
    ) -> None:
        import torch

        self.model, self.split, self.indices = model, split, indices
        self.kind, self.fidelity, self.device, self.pad_id = kind, fidelity, device, pad_id
        self.total = total_steps(len(indices), fidelity.batch_size, fidelity.epochs, fidelity.max_steps)
        groups = parameter_groups(model, fidelity.learning_rate, fidelity.learning_rate_scale)
        if not groups:
            raise TrialFailure("error", "the model has no trainable parameters")
        self.optimizer = torch.optim.AdamW(groups, weight_decay=0.0)
        warmup = int(fidelity.warmup_ratio * self.total)
        total = self.total

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            return max(0.0, (total - step) / max(1, total - warmup))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.rng = np.random.default_rng(seed)
        self.monitor = LossMonitor()
        self.scale = TargetScale.of(split.labels[indices]) if kind == "regression" else IDENTITY_SCALE
        self.trainable = [p for group in groups for p in group["params"]]
        self.done = self.examples = 0
        self.seconds = 0.0
        self.loss_value: float | None = None
        self.batches: list[np.ndarray] = []
        self.torch_rng = torch.get_rng_state()  # dropout continues from here, not from other trials

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    def advance(self, until: int | None, clock: Clock) -> TrainStats:
        """Train up to step ``min(until, total)`` (``None``: to the end) and return the totals
        so far. Raises :class:`TrialFailure` on NaN, divergence or timeout."""
        import torch

        stop = self.total if until is None else min(int(until), self.total)
        saved = torch.get_rng_state()
        torch.set_rng_state(self.torch_rng)
        self.model.train()
        start = time.perf_counter()
        try:
            while self.done < stop:
                if not self.batches:
                    self.batches = bucketed_batches(self.indices, self.split.lengths, self.fidelity.batch_size, self.rng)
                batch = {k: v.to(self.device, non_blocking=True) for k, v in collate(self.split, self.batches.pop(), self.pad_id).items()}
                with _autocast(self.device, self.fidelity.bf16):
                    loss = compute_loss(self.model, batch, self.kind, self.scale)
                self.loss_value = float(loss.detach())
                self.monitor.update(self.done, self.loss_value)
                loss.backward()
                grad_norm = float(torch.nn.utils.clip_grad_norm_(self.trainable, MAX_GRAD_NORM))
                if math.isnan(grad_norm):
                    raise TrialFailure("nan_loss", f"the gradient norm is NaN at step {self.done}")
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.done += 1
                self.examples += len(batch["labels"])
                clock.check(f"after training step {self.done} of {self.total}")
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
        finally:
            self.seconds += time.perf_counter() - start
            self.torch_rng = torch.get_rng_state()
            torch.set_rng_state(saved)
        return TrainStats(steps=self.done, examples=self.examples, seconds=self.seconds, final_loss=self.loss_value, target_scale=self.scale)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """What a continuation on another worker needs: the trainable weights, the optimiser
        and schedule, the batch order and random states, the counters (torch-saveable)."""
        trainable_names = {id(p) for p in self.trainable}
        return {
            "weights": {n: p.detach().cpu().clone() for n, p in self.model.named_parameters() if id(p) in trainable_names},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": self.rng.bit_generator.state,
            "torch_rng": self.torch_rng.clone(),
            "batches": [b.copy() for b in self.batches],
            "monitor": {"first": list(self.monitor.first), "ema": self.monitor.ema},
            "counters": {"done": self.done, "examples": self.examples, "seconds": self.seconds, "loss": self.loss_value, "total": self.total},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` of a run of the same configuration and fidelity."""
        import torch

        counters = state["counters"]
        if counters["total"] != self.total:
            raise TrialFailure("error", f"the checkpoint was made for {counters['total']} steps, this run has {self.total}")
        params = dict(self.model.named_parameters())
        with torch.no_grad():
            for name, value in state["weights"].items():
                params[name].copy_(value.to(params[name].device))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.rng.bit_generator.state = state["rng"]
        self.torch_rng = state["torch_rng"].clone()
        self.batches = [np.asarray(b) for b in state["batches"]]
        self.monitor.first, self.monitor.ema = list(state["monitor"]["first"]), state["monitor"]["ema"]
        self.done, self.examples = int(counters["done"]), int(counters["examples"])
        self.seconds, self.loss_value = float(counters["seconds"]), counters["loss"]


def predict(
    model: Any, split: TokenizedSplit, indices: np.ndarray, *, kind: str, batch_size: int, device: Any, pad_id: int, bf16: bool, clock: Clock,
    target_scale: TargetScale = IDENTITY_SCALE,
) -> tuple[np.ndarray, np.ndarray]:
    """(predictions, references) on ``split[indices]``, in the order of ``indices``; regression
    predictions are mapped back from the ``target_scale`` the model was trained on."""
    import torch

    model.eval()
    position = {int(i): n for n, i in enumerate(indices)}
    predictions: np.ndarray = np.zeros(len(indices), dtype=np.float64 if kind == "regression" else np.int64)
    with torch.inference_mode():
        for number, batch_indices in enumerate(sorted_batches(indices, split.lengths, batch_size)):
            batch = collate(split, batch_indices, pad_id)
            inputs = {k: v.to(device, non_blocking=True) for k, v in batch.items() if k != "labels"}
            with _autocast(device, bf16):
                logits = model(**inputs).logits.float()
            if not bool(torch.isfinite(logits).all()):
                raise TrialFailure("nan_loss", f"the model's outputs are NaN or infinite in evaluation batch {number + 1}")
            values = logits.view(-1) if kind == "regression" else logits.argmax(dim=-1)
            rows = [position[int(i)] for i in batch_indices]
            predictions[rows] = values.cpu().numpy()
            clock.check(f"during evaluation batch {number + 1}")
    if kind == "regression":
        predictions = target_scale.restore(predictions)
    references = split.labels[indices]
    return predictions, references
