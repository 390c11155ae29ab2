"""`Fidelity`: how much training a proxy trial gets, with the presets quick, standard and full.

A fidelity is the set of knobs that trade accuracy of the proxy score for time: how many
training examples, epochs (or an explicit step count), sequence length, batch size, learning
rate, warmup, how many evaluation examples, a wall-clock budget and bf16 autocast on GPUs.
It is plain data (no torch) so the optimiser and the study store can record it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

from autopeft.config import reject_unknown_keys
from autopeft.errors import ConfigError


@dataclass(frozen=True)
class Fidelity:
    """Training budget of one proxy trial.

    Attributes:
        max_train_examples: training examples used (a fixed, seed-independent subset);
            ``None`` = the whole training split.
        epochs: passes over those examples (fractions allowed); ignored when ``max_steps`` is set.
        max_steps: exact number of optimiser steps, overriding ``epochs``.
        max_seq_length: tokens per example after truncation (batches are padded dynamically).
        batch_size: examples per optimiser step.
        learning_rate: one rate for every trainable parameter; ``None`` uses the per-module
            defaults of :data:`autopeft.proxy.train.DEFAULT_LEARNING_RATES`.
        warmup_ratio: share of the steps with a linear warmup (then linear decay to zero).
        max_eval_examples: validation examples scored (a fixed subset); ``None`` = all.
        timeout_s: wall-clock budget of the trial; past it the trial fails with "timeout".
        bf16: bfloat16 autocast on CUDA devices that support it (ignored on CPU).
    """

    max_train_examples: int | None = 1000
    epochs: float = 1.0
    max_steps: int | None = None
    max_seq_length: int = 128
    batch_size: int = 32
    learning_rate: float | None = None
    warmup_ratio: float = 0.06
    max_eval_examples: int | None = 500
    timeout_s: float | None = 900.0
    bf16: bool = True

    def __post_init__(self) -> None:
        _positive_int("max_train_examples", self.max_train_examples, optional=True)
        _positive_int("max_steps", self.max_steps, optional=True)
        _positive_int("max_seq_length", self.max_seq_length)
        _positive_int("batch_size", self.batch_size)
        _positive_int("max_eval_examples", self.max_eval_examples, optional=True)
        _positive_number("epochs", self.epochs)
        _positive_number("learning_rate", self.learning_rate, optional=True)
        _positive_number("timeout_s", self.timeout_s, optional=True)
        if isinstance(self.warmup_ratio, bool) or not isinstance(self.warmup_ratio, (int, float)) or not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"fidelity.warmup_ratio: expected a number in [0, 1), got {self.warmup_ratio!r}")
        if not isinstance(self.bf16, bool):
            raise ConfigError(f"fidelity.bf16: expected true or false, got {self.bf16!r}")

    # ------------------------------------------------------------------ presets
    @classmethod
    def preset(cls, name: str) -> "Fidelity":
        """``quick`` (minutes on a CPU), ``standard`` or ``full`` (whole training split)."""
        try:
            return PRESETS[name]
        except KeyError:
            raise ConfigError(f"fidelity: unknown preset {name!r}; use one of {sorted(PRESETS)} or explicit knobs") from None

    @classmethod
    def resolve(cls, value: "Fidelity | str | Mapping[str, Any] | None") -> "Fidelity":
        """A Fidelity from itself, a preset name, a dict, or ``None`` (quick)."""
        if value is None:
            return PRESETS["quick"]
        if isinstance(value, Fidelity):
            return value
        if isinstance(value, str):
            return cls.preset(value)
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        raise ConfigError(f"fidelity: expected a Fidelity, a preset name or a dict, got {type(value).__name__}")

    def with_(self, **changes: Any) -> "Fidelity":
        """A copy with some knobs changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Fidelity":
        if not isinstance(data, Mapping):
            raise ConfigError(f"fidelity: expected a mapping, got {type(data).__name__}")
        reject_unknown_keys("fidelity", data, {f.name for f in fields(cls)})
        return cls(**dict(data))


def _positive_int(name: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        hint = " or null for no limit" if optional else ""
        raise ConfigError(f"fidelity.{name}: expected a positive integer{hint}, got {value!r}")


def _positive_number(name: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        hint = " or null" if optional else ""
        raise ConfigError(f"fidelity.{name}: expected a positive finite number{hint}, got {value!r}")


#: Preset name -> Fidelity. "quick" runs in about a minute per trial for MiniLM on 2 CPU cores.
PRESETS: dict[str, Fidelity] = {
    "quick": Fidelity(),
    "standard": Fidelity(max_train_examples=4000, epochs=2.0, max_eval_examples=2000, timeout_s=3600.0),
    "full": Fidelity(max_train_examples=None, epochs=3.0, max_seq_length=256, max_eval_examples=None, timeout_s=None),
}
