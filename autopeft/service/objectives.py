"""The objectives a search can optimise: registry name -> where the value comes from, and its direction.

``score`` and ``params`` are the default pair; ``adapter_bytes``, ``peak_memory`` and
``train_time`` can be added (``--objectives score,params,train_time``). Every value is read from
the trial's result dict (the fields of :class:`autopeft.proxy.TrialResult`).
"""

from __future__ import annotations

from dataclasses import dataclass

from autopeft.service.errors import SearchError


@dataclass(frozen=True)
class Objective:
    name: str
    key: str  # field of the TrialResult dict
    direction: str  # "maximize" or "minimize"
    label: str


OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective("score", "score", "maximize", "task score"),
        Objective("params", "trainable_params", "minimize", "trainable PEFT parameters"),
        Objective("adapter_bytes", "adapter_bytes", "minimize", "adapter size in bytes"),
        Objective("peak_memory", "peak_memory_mb", "minimize", "peak training memory (MiB)"),
        Objective("train_time", "time_train_s", "minimize", "training time (s)"),
    )
}
DEFAULT_OBJECTIVES = ("score", "params")


def parse_objectives(value: str | list[str] | tuple[str, ...] | None) -> list[Objective]:
    """Objective names (``("score", "params")``, or the text ``"score,params"``) -> the
    :class:`Objective` list; ``score`` must be among them."""
    from autopeft.service.options import names as split_names

    names = list(split_names(value, "objectives") or DEFAULT_OBJECTIVES)
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown:
        raise SearchError(f"unknown objective {unknown[0]!r}; choose from {list(OBJECTIVES)}", parameter="objectives", value=",".join(names))
    if len(set(names)) != len(names):
        raise SearchError("an objective is listed twice", parameter="objectives", value=",".join(names))
    if "score" not in names or len(names) < 2:
        raise SearchError("expected 'score' and at least one cost, e.g. 'score,params'", parameter="objectives", value=",".join(names))
    return [OBJECTIVES[n] for n in names]
