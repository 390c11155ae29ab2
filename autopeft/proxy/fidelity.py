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
        learning_rate_scale: factor on those per-module defaults (not on ``learning_rate``).
            The defaults are sized for the 32 steps of ``quick``; a longer budget wants lower
            rates (``standard`` 0.3: at its 160 steps the 1x rates left Houlsby-64 and
            parallel-64 at chance on SST-2, and LoRA's best rate at 126 steps is 3e-3 against
            1e-2 at 32).
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
    learning_rate_scale: float = 1.0
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
        _positive_number("learning_rate_scale", self.learning_rate_scale)
        _positive_number("timeout_s", self.timeout_s, optional=True)
        if isinstance(self.warmup_ratio, bool) or not isinstance(self.warmup_ratio, (int, float)) or not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"fidelity.warmup_ratio: expected a number in [0, 1), got {self.warmup_ratio!r}")
        if not isinstance(self.bf16, bool):
            raise ConfigError(f"fidelity.bf16: expected true or false, got {self.bf16!r}")

    # ------------------------------------------------------------------ presets
    @classmethod
    def preset(cls, name: str) -> "Fidelity":
        """One of :data:`PRESETS`: ``tiny``, ``quick``, ``standard`` or ``full``."""
        try:
            return PRESETS[name]
        except KeyError:
            raise ConfigError(f"fidelity: unknown preset {name!r}; use one of {sorted(PRESETS)} or explicit knobs") from None

    @classmethod
    def parse(cls, text: str) -> "Fidelity":
        """``"quick"`` or ``"PRESET:key=value,key=value"`` (values in YAML: ``null``, ``3e-3``,
        ``true``) -> a Fidelity. Works for every preset; a bad key or value raises ConfigError
        naming it."""
        import yaml

        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"fidelity: expected PRESET or PRESET:key=value,..., got {text!r}")
        preset, _, overrides = text.strip().partition(":")
        changes: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in overrides.split(","))):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ConfigError(f"fidelity {text!r}: expected PRESET or PRESET:key=value,key=value, got {item!r}")
            changes[key.strip()] = _scalar(yaml.safe_load(value))
        base = cls.preset(preset.strip()).to_dict()
        reject_unknown_keys(f"fidelity {text!r}", changes, set(base))
        try:
            return cls.from_dict({**base, **changes})
        except TypeError as exc:
            raise ConfigError(f"fidelity {text!r}: {exc}") from None

    @classmethod
    def resolve(cls, value: "Fidelity | str | Mapping[str, Any] | None") -> "Fidelity":
        """A Fidelity from itself, a preset name or ``PRESET:key=value,...``, a dict, or
        ``None`` (:data:`DEFAULT_PRESET`)."""
        if value is None:
            return PRESETS[DEFAULT_PRESET]
        if isinstance(value, Fidelity):
            return value
        if isinstance(value, str):
            return cls.parse(value)
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


def _scalar(value: Any) -> Any:
    """YAML 1.1 reads ``3e-3`` (no dot) as a string: numbers written so become floats."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


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


#: Preset name -> Fidelity. Steps are optimiser steps of ``batch_size`` examples. Measured signal
#: (``benchmarks/proxy_fidelity.py``, table in ``benchmarks/results/proxy_fidelity.md``: MiniLM,
#: 12 configurations = the 6 baselines + 6 ``autopeft.yaml`` samples from 4.6k to 3.0M params,
#: two seeds, against one ``standard`` run each; thresholds rho >= 0.6, noise <= 0.5 spread):
PRESETS: dict[str, Fidelity] = {
    # 16 steps of 16 examples of 64 tokens, 256 scored: a smoke test, blind. SST-2: rho 0.46,
    # noise/spread 1.61, 4 of 6 baselines at chance.
    "tiny": Fidelity(max_train_examples=256, batch_size=16, max_seq_length=64, max_eval_examples=256, timeout_s=600.0),
    # 32 steps of 16 examples of 64 tokens, 500 scored: the default search budget and the quick
    # start's. SST-2: ranks (rho 0.74, tau 0.53, noise 0.032 / spread 0.083 = 0.39, no baseline
    # at chance; the 3.0M-param sample SA24 PA384 P384 collapsed to one class even with its
    # adapter at the size-scaled rate). BBC News: blind by noise at a ceiling (rho 0.61, tau
    # 0.38, noise 0.013 / spread 0.014 = 0.92: every configuration at 0.91-0.97, the reference at
    # 0.94-0.98; no baseline at chance). RTE: blind (rho 0.07, noise/spread 0.90, all 12 at chance; the
    # reference itself at 0.47-0.56; even full fine-tuning at 128 tokens peaks at 0.585 after 6
    # epochs, benchmarks/results/rte_reference.md). MRPC: every baseline at chance in the sweep.
    # STS-B (not in the sweep; `autopeft calibrate`, benchmarks/results/calibrate_glue_stsb.md): blind (rho
    # 0.39, noise/spread 0.37, none at chance; the reference separates them, 0.23-0.82 Pearson).
    "quick": Fidelity(max_train_examples=512, batch_size=16, max_seq_length=64, max_eval_examples=500),
    # 160 steps (5x quick) over the whole training split, 2,000 scored: the calibration reference
    # (its own signal needs a 5x longer reference again; not measured).
    "standard": Fidelity(max_train_examples=None, max_steps=160, batch_size=16, max_seq_length=64, max_eval_examples=2000,
                         learning_rate_scale=0.3, timeout_s=3600.0),
    # 3 epochs of the whole training split at 256 tokens, all scored: the final training (no
    # longer reference exists to measure it against).
    "full": Fidelity(max_train_examples=None, epochs=3.0, max_seq_length=256, max_eval_examples=None, learning_rate_scale=0.1, timeout_s=None),
}
#: The fidelity of a search or an evaluation that names none.
DEFAULT_PRESET = "quick"
