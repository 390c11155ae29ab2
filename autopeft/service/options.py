"""The one place a search's option *text* is parsed into typed values.

The CLI parses every ``autopeft search`` string here (objectives and baselines into tuples of
names, ``--max-params`` into a :class:`ParamLimit`, ``--fidelity`` into a
:class:`~autopeft.proxy.Fidelity`), and :class:`~autopeft.service.spec.SearchSpec` runs the text
its fields still accept (from library callers of earlier versions, and from a study's stored
metadata on ``--resume``) through the same functions. Errors name the SearchSpec parameter
(:class:`~autopeft.service.errors.SearchError`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Sequence

from autopeft.service.errors import SearchError


@dataclass(frozen=True)
class ParamLimit:
    """A limit on trainable PEFT parameters: a ``count``, or a ``percent`` of the backbone
    (embeddings + layers). Exactly one is set."""

    count: int | None = None
    percent: float | None = None

    def __post_init__(self) -> None:
        if (self.count is None) == (self.percent is None):
            raise SearchError("expected either a count or a percent", parameter="max_params")
        value = self.count if self.count is not None else self.percent
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise SearchError("expected a positive limit", parameter="max_params", value=value)

    @classmethod
    def parse(cls, text: str) -> "ParamLimit | None":
        """``"150000"``, ``"1.5e5"`` or ``"0.5%"`` (None for ``""`` and ``"none"``)."""
        raw = str(text).strip()
        if raw in ("", "none"):
            return None
        try:
            number = float(raw[:-1] if raw.endswith("%") else raw)
        except ValueError:
            raise SearchError("expected a count (150000, 1.5e5) or a percent of the backbone (0.5%)", parameter="max_params", value=text) from None
        if number <= 0:
            raise SearchError("expected a positive limit", parameter="max_params", value=text)
        return cls(percent=number) if raw.endswith("%") else cls(count=int(number))

    def resolve(self, backbone_params: int) -> int:
        """The limit as a parameter count for a backbone of ``backbone_params``."""
        if self.count is not None:
            return int(self.count)
        return int(self.percent / 100.0 * backbone_params)

    @property
    def text(self) -> str:
        """What the study records and ``--max-params`` takes: ``"150000"`` or ``"0.5%"``."""
        return str(self.count) if self.count is not None else f"{self.percent:g}%"


def param_limit(value: Any) -> ParamLimit | None:
    """``max_params`` as a :class:`ParamLimit`: an int (a count), a ParamLimit, or text."""
    if value is None or isinstance(value, ParamLimit):
        return value
    if isinstance(value, bool):
        raise SearchError("expected a parameter count", parameter="max_params", value=value)
    if isinstance(value, int):
        return ParamLimit(count=value)
    if isinstance(value, str):
        return ParamLimit.parse(value)
    raise SearchError(f"expected an int, a ParamLimit or text, got {type(value).__name__}", parameter="max_params", value=value)


def names(value: Any, parameter: str) -> tuple[str, ...] | None:
    """A tuple of names from a sequence of names or comma-separated text (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(n.strip() for n in value.split(",") if n.strip())
    if isinstance(value, Sequence) and all(isinstance(n, str) for n in value):
        return tuple(value)
    raise SearchError("expected a sequence of names", parameter=parameter, value=value)


def fidelity(value: Any) -> Any:
    """``fidelity`` as a :class:`~autopeft.proxy.Fidelity`: itself, a preset name or
    ``PRESET:key=value,...`` text, or a Fidelity's dict (None stays None)."""
    if value is None:
        return None
    from autopeft.errors import ConfigError
    from autopeft.proxy.fidelity import Fidelity

    try:
        return Fidelity.resolve(value)
    except ConfigError as exc:
        raise SearchError(str(exc), parameter="fidelity", value=value if isinstance(value, str) else type(value).__name__) from None


def scheduler_name(value: Any) -> str | None:
    """``scheduler`` as one of :data:`autopeft.service.asha.SCHEDULERS` (None stays None: the
    default, or on resume the study's)."""
    from autopeft.service.asha import SCHEDULERS

    if value is None:
        return None
    name = str(value).strip().lower() if isinstance(value, str) else value
    if name not in SCHEDULERS:
        raise SearchError(f"expected one of {', '.join(SCHEDULERS)} (asha: multi-fidelity, stops trials that will not reach the front)",
                          parameter="scheduler", value=value)
    return name


def check_scheduler(name: str | None, eta: Any, min_rung_fraction: Any) -> None:
    """Refuse ``eta`` / ``min_rung_fraction`` without ``scheduler="asha"`` and bad values with it
    (the field, the value and the fix; :class:`~autopeft.service.asha.RungLadder` checks them)."""
    if name == "none":
        for parameter, value in (("eta", eta), ("min_rung_fraction", min_rung_fraction)):
            if value is not None:
                raise SearchError(" applies to the multi-fidelity scheduler only; add {scheduler} asha or drop it", parameter=parameter, value=value)
        return
    if eta is not None or min_rung_fraction is not None:
        ladder(eta, min_rung_fraction)


def ladder(eta: Any = None, min_rung_fraction: Any = None) -> Any:
    """The :class:`~autopeft.service.asha.RungLadder` of ``eta`` and ``min_rung_fraction``
    (None: the defaults, 3 and 1/9)."""
    from autopeft.service.asha import DEFAULT_ETA, DEFAULT_MIN_FRACTION, RungLadder

    return RungLadder(DEFAULT_ETA if eta is None else eta, DEFAULT_MIN_FRACTION if min_rung_fraction is None else min_rung_fraction)


def fidelity_text(value: Any) -> str:
    """The text that names a Fidelity (what the study records and calibrations are found by):
    the nearest preset, then the knobs that differ from it (``quick:max_steps=10``)."""
    from autopeft.proxy.fidelity import PRESETS

    diffs = {name: [f.name for f in fields(preset) if getattr(preset, f.name) != getattr(value, f.name)] for name, preset in PRESETS.items()}
    name = min(diffs, key=lambda n: len(diffs[n]))  # the first of the nearest presets
    diff = diffs[name]
    return name if not diff else name + ":" + ",".join(f"{k}={_yaml_scalar(getattr(value, k))}" for k in diff)


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


__all__ = ["ParamLimit", "check_scheduler", "fidelity", "fidelity_text", "ladder", "names", "param_limit", "scheduler_name"]
