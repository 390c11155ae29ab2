"""What crosses Ray between the search driver and a trial worker: one typed request, one typed answer.

The driver sends a :class:`TrialRequest` (the configuration as a :class:`~autopeft.PeftConfig`,
the task as its spec, the fidelity, the seed); the worker answers a :class:`TrialOutcome` (a
:class:`~autopeft.proxy.TrialResult`, where and when it ran). Both are frozen and picklable.
Under a multi-fidelity scheduler a request carries a :class:`Stage` (train to rung ``k`` of the
ladder); the outcome then says the step it reached, the budget's total and whether the worker
holds the paused trial for a continuation (``held``).
Older callers (a calibration, ``workers/actor.py`` smoke tests) still send the dict payload of
earlier versions; :meth:`TrialRequest.from_payload` reads it and :meth:`TrialOutcome.to_payload`
answers it in kind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from autopeft.store.trial import Timings, WorkerInfo


@dataclass(frozen=True)
class Stage:
    """Train the trial up to rung ``rung`` of ``ladder`` (a
    :class:`~autopeft.service.asha.RungLadder`; the worker turns it into a step count from the
    trial's own budget), then score it there."""

    ladder: Any
    rung: int = 0


@dataclass(frozen=True)
class TrialRequest:
    """One trial to evaluate.

    Attributes:
        number: the trial's number in its study.
        model: model id or local folder.
        task: the task's spec (a dict the worker rebuilds the Task from) or a bare name a
            plugged-in objective knows.
        config: the configuration to train.
        fidelity: the training budget (a Fidelity's dict, or the text a plugged-in objective gets).
        seed: training seed.
        data_dir: the folder of a registry task's local files.
        queued: when the driver sent it (seconds since the epoch).
        stage: None: one uninterrupted run (``evaluate``); a :class:`Stage`: train a staged
            trial to that rung (the worker keeps it, by ``number``, for the next rung).
    """

    number: int
    model: str
    task: Any
    config: Any  # PeftConfig
    fidelity: Any = "quick"
    seed: int = 0
    data_dir: str | None = None
    queued: float | None = field(default_factory=time.time)
    stage: Stage | None = None

    def __getitem__(self, key: str) -> Any:
        """``request["number"]``: pools key their runs by a request's number, as they did the dict payload."""
        return getattr(self, key)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> "TrialRequest":
        """A request from the dict payload of earlier versions."""
        from autopeft.config import PeftConfig

        config = payload["config"]
        return cls(number=payload["number"], model=payload["model"], task=payload["task"],
                   config=config if isinstance(config, PeftConfig) else PeftConfig.from_dict(config),
                   fidelity=payload.get("fidelity", "quick"), seed=payload.get("seed", 0), data_dir=payload.get("data_dir"),
                   queued=payload.get("queued"))


@dataclass(frozen=True)
class TrialOutcome:
    """A worker's answer: what the trial measured, any other JSON fields the objective returned
    (``extra``: a failed trial's ``traceback``), where it ran and when. A staged trial's answer
    also says which ``rung`` and ``step`` it reached of ``total_steps``, and whether the worker
    ``held`` it (paused, waiting for the driver to continue or release it)."""

    number: int
    result: Any  # TrialResult
    extra: Mapping[str, Any]
    worker: WorkerInfo
    timings: Timings
    rung: int | None = None
    step: int | None = None
    total_steps: int | None = None
    held: bool = False

    def to_payload(self) -> dict[str, Any]:
        """The dict answer of earlier versions (``result`` a dict with every TrialResult field)."""
        return {"number": self.number, "result": {**self.result.to_dict(), **dict(self.extra)},
                "worker": {k: v for k, v in self.worker.to_dict().items() if v is not None or k in ("node_ip", "node_id")},
                "timings": self.timings.to_dict()}


def split_result(raw: Any) -> tuple[Any, dict[str, Any]]:
    """An objective's return value (a TrialResult or a dict) -> ``(TrialResult, extra)``:
    the TrialResult fields, and every other field it returned."""
    from autopeft.proxy.result import TrialResult
    from autopeft.service.trial_fn import RESULT_FIELDS, normalize_result

    if isinstance(raw, TrialResult):
        return raw, {}
    out = normalize_result(raw)
    known = {f.name for f in fields(TrialResult)}
    result = TrialResult(**{k: out[k] for k in RESULT_FIELDS if out.get(k) is not None or k in ("score", "error")})
    return result, {k: v for k, v in out.items() if k not in known}


__all__ = ["Stage", "TrialOutcome", "TrialRequest", "split_result"]
