"""`TrialResult`: everything one proxy trial measured, JSON-safe."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

from autopeft.config import reject_unknown_keys
from autopeft.errors import ConfigError

STATUSES = ("ok", "failed")

#: A trial whose predictions put at least this share of the evaluation examples in one class has
#: collapsed to a constant predictor: its score says nothing about the configuration.
COLLAPSE_SHARE = 0.95
#: A score within this many points (of the metric's 0-1 scale) of the constant predictor's is
#: "at chance": the configuration did not learn the task at this fidelity.
CHANCE_MARGIN = 0.02


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class TrialResult:
    """Outcome of :func:`autopeft.proxy.evaluate`.

    Attributes:
        score: the task's main metric (``None`` when the trial failed).
        metrics: every metric of the task on the evaluation examples.
        trainable_params: the PEFT modules' parameters, the task head excluded: the one count
            the sampler, ``--max-params``, the store, the dashboard and every export show.
        percent_params: ``trainable_params`` as a percentage of the backbone's parameters
            (embeddings + layers, :func:`autopeft.architectures.backbone_params`).
        adapter_bytes: size of the PEFT modules' weights (task head excluded) in their dtype:
            what one stores per configuration.
        peak_memory_mb: peak process RSS on CPU; ``torch.cuda.max_memory_allocated`` on GPU.
        time_load_s: backbone copy, config injection and data loading (tokenisation is cached).
        time_train_s, time_eval_s: training and evaluation wall time.
        examples_per_s: training examples processed per second of training.
        majority_share: share of the evaluation predictions in the most-predicted class
            (classification; ``None`` for regression): 1.0 means a constant predictor.
        chance_score: the main metric of the best constant predictor on the same evaluation
            examples (majority accuracy; F1 0.813 on MRPC; MCC 0 on CoLA; 0 for regression).
        head_params: trainable parameters of the task head (reported beside, never inside,
            ``trainable_params``).
        status: "ok" or "failed"; error: why it failed (``"<reason>: <detail>"``, reason one of
            nan_loss, diverged, oom, timeout, error), else ``None``.
    """

    score: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    trainable_params: int | None = None
    percent_params: float | None = None
    adapter_bytes: int | None = None
    peak_memory_mb: float | None = None
    time_load_s: float = 0.0
    time_train_s: float = 0.0
    time_eval_s: float = 0.0
    examples_per_s: float | None = None
    majority_share: float | None = None
    chance_score: float | None = None
    head_params: int | None = None
    status: str = "ok"
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def collapsed(self) -> bool:
        """The predictions collapsed to (nearly) one class: see :data:`COLLAPSE_SHARE`."""
        return self.majority_share is not None and self.majority_share >= COLLAPSE_SHARE

    @property
    def at_chance(self) -> bool:
        """Collapsed, or scored within :data:`CHANCE_MARGIN` of the constant predictor."""
        if self.collapsed:
            return True
        return self.score is not None and self.chance_score is not None and self.score <= self.chance_score + CHANCE_MARGIN

    @property
    def failure_reason(self) -> str | None:
        """The reason code of a failed trial (``"timeout"``), else ``None``."""
        return None if self.error is None else self.error.split(":", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN and infinities become ``None``."""
        out = asdict(self)
        out["metrics"] = {k: None if v is None else _finite_or_none(float(v)) for k, v in self.metrics.items()}
        return {k: _finite_or_none(v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrialResult":
        if not isinstance(data, Mapping):
            raise ConfigError(f"trial result: expected a mapping, got {type(data).__name__}")
        reject_unknown_keys("trial result", data, {f.name for f in fields(cls)})
        status = data.get("status", "ok")
        if status not in STATUSES:
            raise ConfigError(f"trial result.status: expected one of {list(STATUSES)}, got {status!r}")
        values = dict(data)
        values["metrics"] = dict(values.get("metrics") or {})
        return cls(**values)
