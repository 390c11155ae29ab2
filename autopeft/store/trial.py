"""One trial as the store keeps it: frozen value objects and the one codec between them and
Optuna's trial user attributes.

A trial's record is written once (:func:`encode_result`, :func:`encode_lineage`,
:func:`encode_config`) and read once (:func:`decode`); the search loop, the CLI, the dashboard
and export all see the same :class:`TrialRecord`. The attribute names are those of
:mod:`autopeft.store.keys`.

Why the typed parts of a record decode lazily: a dashboard read of a 2,000-trial study builds
2,000 records, and most pages never look at a trial's configuration. ``TrialRecord.peft`` and
``TrialRecord.trial_result`` are decoded on first access (and kept), from the JSON the store holds.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any, Mapping

from autopeft.store import keys

if TYPE_CHECKING:  # both are plain modules, imported on first decode
    from autopeft.config import PeftConfig
    from autopeft.proxy.result import TrialResult


# --------------------------------------------------------------------------- value objects
@dataclass(frozen=True)
class WorkerInfo:
    """Where a trial ran: the worker's host, node and process, and the driver that sent it."""

    host: str | None = None
    node_ip: str | None = None
    node_id: str | None = None
    pid: int | None = None
    trials_run: int | None = None
    driver_host: str | None = None
    driver_pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "WorkerInfo":
        data = data or {}
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class Timings:
    """A trial's clock times (seconds since the epoch) and durations: queued by the driver,
    started and finished on the worker, the worker's wall seconds and the dispatch delay."""

    queued: float | None = None
    started: float | None = None
    finished: float | None = None
    wall_s: float | None = None
    dispatch_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Timings":
        data = data or {}
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class Lineage:
    """The lifecycle flags a trial is enqueued with: which baseline it evaluates, which trial it
    re-runs (and why, and the how-manieth attempt it is), which earlier study's trial it re-evaluates."""

    baseline: str | None = None
    retry_of: int | None = None
    attempt: int | None = None
    retry_reason: str | None = None
    warm_start_from: str | None = None

    @property
    def counts_toward_budget(self) -> bool:
        """A search proposal of its own (not a baseline, not a re-run)."""
        return self.baseline is None and self.retry_of is None


# --------------------------------------------------------------------------- the codec
def _json_safe(value: Any) -> Any:
    """Numpy scalars, NaN and infinities made JSON-safe for the store (NaN/inf -> None)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def encode_config(config: "PeftConfig") -> dict[str, Any]:
    """The user attributes of a trial's configuration."""
    return {keys.CONFIG: config.to_dict()}


def encode_lineage(lineage: Lineage) -> dict[str, Any]:
    """The user attributes of an enqueued trial's flags (only those set)."""
    pairs = ((keys.BASELINE, lineage.baseline), (keys.WARM_START_FROM, lineage.warm_start_from), (keys.RETRY_OF, lineage.retry_of),
             (keys.ATTEMPT, lineage.attempt), (keys.RETRY_REASON, lineage.retry_reason))
    return {key: value for key, value in pairs if value is not None}


def encode_result(result: "TrialResult", extra: Mapping[str, Any], worker: WorkerInfo, timings: Timings) -> dict[str, Any]:
    """The user attributes of a finished trial: its result (every TrialResult field, then any
    other field the objective returned, such as a failed trial's ``traceback``), worker, timings."""
    stored = result.to_dict()
    stored.update({k: v for k, v in extra.items() if k not in stored})
    return {keys.RESULT: _json_safe(stored), keys.WORKER: _json_safe(worker.to_dict()), keys.TIMINGS: _json_safe(timings.to_dict())}


def _result_fields() -> set[str]:
    from autopeft.proxy.result import TrialResult

    return {f.name for f in fields(TrialResult)}


def decode_result(data: Mapping[str, Any] | None) -> "TrialResult | None":
    """A stored result as a :class:`TrialResult` (None when the trial has none). Lenient: a
    result written by an older version or another tool may lack fields or carry others."""
    if not data:
        return None
    from autopeft.proxy.result import TrialResult

    known = _result_fields()
    values = {k: v for k, v in data.items() if k in known and v is not None}
    values["metrics"] = dict(data.get("metrics") or {})
    return TrialResult(**values)


def decode_extra(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fields of a stored result that are not :class:`TrialResult` fields: what the objective
    returned beside its result (:func:`encode_result`'s ``extra``, a failed trial's ``traceback``)."""
    if not data:
        return {}
    known = _result_fields()
    return {k: v for k, v in data.items() if k not in known}


def decode_lineage(attrs: Mapping[str, Any]) -> Lineage:
    """The lifecycle flags of a trial's user attributes."""
    return Lineage(
        baseline=attrs.get(keys.BASELINE),
        retry_of=attrs.get(keys.RETRY_OF),
        attempt=attrs.get(keys.ATTEMPT),
        retry_reason=attrs.get(keys.RETRY_REASON),
        warm_start_from=attrs.get(keys.WARM_START_FROM),
    )


def counts_toward_budget(attrs: Mapping[str, Any]) -> bool:
    """A trial of the search budget: not a baseline, not a re-run, not rejected untrained."""
    return keys.BASELINE not in attrs and keys.RETRY_OF not in attrs and keys.REJECTED not in attrs


def is_baseline(attrs: Mapping[str, Any]) -> bool:
    return keys.BASELINE in attrs


def decode(number: int, state: str, values: Mapping[str, float] | None, params: Mapping[str, Any],
           attrs: Mapping[str, Any], start: _dt.datetime | None, complete: _dt.datetime | None) -> "TrialRecord":
    """A :class:`TrialRecord` from a trial's columns and its user attributes."""
    attrs = dict(attrs)
    result = attrs.get(keys.RESULT) or {}
    return TrialRecord(
        number=int(number),
        state=str(state),
        values=None if values is None else dict(values),
        params=dict(params),
        baseline=attrs.get(keys.BASELINE),
        error=attrs.get(keys.ERROR) or result.get("error"),
        retry_of=attrs.get(keys.RETRY_OF),
        attempt=attrs.get(keys.ATTEMPT),
        retry_reason=attrs.get(keys.RETRY_REASON),
        rejected=attrs.get(keys.REJECTED),
        warm_start_from=attrs.get(keys.WARM_START_FROM),
        datetime_start=start,
        datetime_complete=complete,
        user_attrs=attrs,
    )


# --------------------------------------------------------------------------- the record
@dataclass(frozen=True)
class TrialRecord:
    """One trial as autopeft sees it.

    Typed parts: :attr:`peft` (its :class:`~autopeft.PeftConfig`), :attr:`trial_result` (its
    :class:`~autopeft.proxy.TrialResult`), :attr:`worker` and :attr:`timing`, decoded on first
    access; the lifecycle flags (``baseline``, ``retry_of``, ``attempt``, ``rejected`` ...) are
    fields. ``values`` maps objective name -> value (None unless COMPLETE).

    :attr:`extra` holds the stored result's fields that are not TrialResult fields (a failed
    trial's ``traceback``); :meth:`to_dict` is the record as JSON; ``user_attrs`` every stored attribute.
    """

    number: int
    state: str
    values: dict[str, float] | None
    params: dict[str, Any]
    baseline: str | None = None
    error: str | None = None
    retry_of: int | None = None
    attempt: int | None = None
    retry_reason: str | None = None
    rejected: str | None = None
    warm_start_from: str | None = None
    datetime_start: _dt.datetime | None = None
    datetime_complete: _dt.datetime | None = None
    user_attrs: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------ typed parts
    @cached_property
    def peft(self) -> "PeftConfig | None":
        """The trial's configuration (None if it never got one: a rejected or unbuildable proposal)."""
        from autopeft.config import PeftConfig

        stored = self.user_attrs.get(keys.CONFIG)
        return PeftConfig.from_dict(stored) if stored else None

    @cached_property
    def trial_result(self) -> "TrialResult | None":
        """What the trial measured (None until a worker answered)."""
        return decode_result(self.user_attrs.get(keys.RESULT))

    @property
    def extra(self) -> dict[str, Any]:
        """The stored result's fields that are not :class:`TrialResult` fields (a failed trial's ``traceback``)."""
        return decode_extra(self.user_attrs.get(keys.RESULT))

    @property
    def worker(self) -> WorkerInfo | None:
        data = self.user_attrs.get(keys.WORKER)
        return WorkerInfo.from_dict(data) if data else None

    @property
    def timing(self) -> Timings | None:
        data = self.user_attrs.get(keys.TIMINGS)
        return Timings.from_dict(data) if data else None

    @property
    def lineage(self) -> Lineage:
        return decode_lineage(self.user_attrs)

    @property
    def rung(self) -> int | None:
        """Multi-fidelity: the index of the highest rung the trial reached (0 = the lowest;
        None for a single-fidelity trial)."""
        return self.user_attrs.get(keys.RUNG)

    @property
    def total_steps(self) -> int | None:
        """Multi-fidelity: the training steps of the fidelity's whole budget."""
        return self.user_attrs.get(keys.TOTAL_STEPS)

    @property
    def stopped(self) -> str | None:
        """Why the multi-fidelity scheduler stopped the trial at its rung (PRUNED; None otherwise)."""
        return self.user_attrs.get(keys.STOPPED)

    @property
    def rung_score(self) -> float | None:
        """The task score at the highest rung reached (a stopped trial's score where it stopped)."""
        return self._measured("score") if self.rung is not None else None

    @property
    def traceback(self) -> str | None:
        """The worker-side traceback of a trial whose objective raised."""
        return self.extra.get("traceback")

    # ------------------------------------------------------------ derived
    @property
    def is_baseline(self) -> bool:
        return self.baseline is not None

    @property
    def duration_s(self) -> float | None:
        if self.datetime_start and self.datetime_complete:
            return (self.datetime_complete - self.datetime_start).total_seconds()
        return None

    def _measured(self, name: str) -> Any:
        """A field of :attr:`trial_result` (None until a worker answered)."""
        measured = self.trial_result
        return None if measured is None else getattr(measured, name)

    @property
    def score(self) -> float | None:
        if self.values and "score" in self.values:
            return self.values["score"]
        return self._measured("score")

    @property
    def trainable_params(self) -> int | None:
        """Trainable PEFT parameters, the task head excluded (the ``params`` objective)."""
        return self._measured("trainable_params")

    @property
    def percent_params(self) -> float | None:
        """``trainable_params`` as a percentage of the backbone (embeddings + layers)."""
        return self._measured("percent_params")

    @property
    def head_params(self) -> int | None:
        """Trainable parameters of the task head, reported beside ``trainable_params``."""
        return self._measured("head_params")

    @property
    def majority_share(self) -> float | None:
        """Share of the evaluation predictions in the most-predicted class (None: regression, or
        a trial stored before it was measured)."""
        return self._measured("majority_share")

    @property
    def chance_score(self) -> float | None:
        """The main metric of the best constant predictor on the same evaluation examples."""
        return self._measured("chance_score")

    @property
    def collapsed(self) -> bool:
        """The trial's predictions collapsed to (nearly) one class, so its score says nothing
        about the configuration (``majority_share >= autopeft.proxy.result.COLLAPSE_SHARE``)."""
        from autopeft.proxy.result import COLLAPSE_SHARE  # a plain module: no torch

        share = self.majority_share
        return isinstance(share, (int, float)) and not isinstance(share, bool) and share >= COLLAPSE_SHARE

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON (what ``autopeft show --json`` and ``trials --json`` print). ``config``,
        ``result`` (with its extra fields) and ``timings`` are written as the store holds them."""
        when = {k: (getattr(self, k).isoformat() if getattr(self, k) else None) for k in ("datetime_start", "datetime_complete")}
        measured, worker = self.trial_result, self.worker
        return {
            "number": self.number,
            "state": self.state,
            "values": None if self.values is None else dict(self.values),
            "params": dict(self.params),
            "config": self.user_attrs.get(keys.CONFIG),
            "metrics": {} if measured is None else dict(measured.metrics),
            "result": dict(self.user_attrs.get(keys.RESULT) or {}),
            "timings": dict(self.user_attrs.get(keys.TIMINGS) or {}),
            "baseline": self.baseline,
            "error": self.error,
            "worker_host": None if worker is None else worker.host,
            "retry_of": self.retry_of,
            "rejected": self.rejected,
            "rung": self.rung,
            "total_steps": self.total_steps,
            "stopped": self.stopped,
            **when,
            "duration_s": self.duration_s,
            "collapsed": self.collapsed,
        }


__all__ = ["Lineage", "Timings", "TrialRecord", "WorkerInfo", "counts_toward_budget", "decode", "decode_extra", "decode_lineage",
           "decode_result", "encode_config", "encode_lineage", "encode_result", "is_baseline"]
