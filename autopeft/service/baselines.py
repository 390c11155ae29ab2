"""Hand-designed PEFT configurations evaluated first in every study, so each front is seen
against the standard recipes.

How baselines live in a study: each is a trial enqueued with **no parameters** and the user
attribute ``baseline: <name>``; the search loop builds its config from this registry (not from
suggested params), stores ``config`` like any trial and tells its values. Baselines are usually
outside the search space, so Optuna's samplers, which only model trials carrying the space's
parameters, do not train on them (checked for tpe, nsga2, gp); autopeft's MOBO sampler skips
trials with a ``baseline`` user attribute. They never count against ``--trials``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from autopeft.service.errors import SearchError


@dataclass(frozen=True)
class Baseline:
    name: str
    description: str
    kwargs: dict[str, Any]

    def build(self, num_layers: int) -> Any:
        """The baseline's :class:`autopeft.PeftConfig` for a model of ``num_layers`` layers."""
        from autopeft.config import PeftConfig

        kwargs = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.kwargs.items()}
        return PeftConfig.uniform(num_layers, **kwargs)


BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline("lora8_qv", "LoRA r=8 on query and value (Hu et al.)", {"lora": {"query": 8, "value": 8}}),
        Baseline("pfeiffer64", "Pfeiffer adapter of size 64 after the FFN", {"serial_adapter": 64}),
        Baseline("houlsby64", "Houlsby adapters of size 64 after attention and FFN", {"serial_adapter": 64, "serial_adapter_attn": 64}),
        Baseline("parallel64", "parallel adapter of size 64 (He et al.)", {"parallel_adapter": 64}),
        Baseline("prefix16", "prefix-tuning of length 16", {"prefix_length": 16}),
        Baseline("ia3", "(IA)^3 scaling vectors", {"ia3": True}),
    )
}
#: The few evaluated when ``--baselines`` is not given.
DEFAULT_BASELINES = ("lora8_qv", "pfeiffer64", "ia3")


def parse_baselines(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Baseline names (``("lora8_qv", "ia3")``, ``("all",)``, ``("none",)``, or the same as
    comma-separated text) / None (the defaults) -> baseline names."""
    from autopeft.service.options import names as split_names

    if value is None:
        return list(DEFAULT_BASELINES)
    names = list(split_names(value, "baselines"))
    if names in (["none"], []):
        return []
    if names == ["all"]:
        return list(BASELINES)
    if names == ["default"]:
        return list(DEFAULT_BASELINES)
    for name in names:
        if name not in BASELINES:
            raise SearchError(f"unknown baseline {name!r}; choose from {list(BASELINES)}, 'all', 'default' or 'none'", parameter="baselines")
    return list(dict.fromkeys(names))


def build_baseline(name: str, num_layers: int) -> Any:
    try:
        return BASELINES[name].build(num_layers)
    except KeyError:
        raise SearchError(f"baseline {name!r} is not in the registry; choose from {list(BASELINES)}") from None


BuildFn = Callable[[str, int], Any]
