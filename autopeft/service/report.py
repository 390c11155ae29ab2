"""The Pareto table printed at the end of a search and by ``autopeft pareto``.

Built only from :mod:`autopeft.store`'s read API: rank, trainable params, percent of the
backbone, score, the other objectives, and a per-layer summary of the config; baselines listed
below the front for comparison.
"""

from __future__ import annotations

from typing import Any, Sequence


def layer_groups(config: dict[str, Any] | None) -> list[str]:
    """A per-layer summary with identical layers grouped: ``["L0,2,3: SA96 LoRA[q8 v8]"]``."""
    if not config:
        return []
    from autopeft.config import PeftConfig

    groups: dict[str, list[int]] = {}
    for index, layer in enumerate(PeftConfig.from_dict(config).layers):
        if not layer.is_empty:
            groups.setdefault(layer.summary(), []).append(index)
    if not groups:
        return ["(no PEFT modules)"]
    return [f"L{','.join(map(str, layers))}: {text}" for text, layers in groups.items()]


def _layer_summary(config: dict[str, Any] | None) -> str:
    return "\n".join(layer_groups(config)) or "-"


def front_rows(front: Sequence[Any], objectives: Sequence[str]) -> list[dict[str, Any]]:
    """JSON-friendly rows: rank, trial, baseline, params, percent, score, other objectives, layers."""
    rows = []
    for rank, record in enumerate(front, start=1):
        row: dict[str, Any] = {
            "rank": rank if record.baseline is None else None,
            "trial": record.number,
            "baseline": record.baseline,
            "trainable_params": record.result.get("trainable_params"),
            "percent_params": record.result.get("percent_params"),
            "score": (record.values or {}).get("score"),
        }
        for name in objectives:
            if name not in ("score", "params"):
                row[name] = (record.values or {}).get(name)
        row["layers"] = layer_groups(record.config)
        row["config"] = record.config
        rows.append(row)
    return rows


def pareto_table(front: Sequence[Any], baselines: Sequence[Any], objectives: Sequence[str], title: str) -> Any:
    """A rich Table of the front (ranked) followed by the baselines."""
    from rich.table import Table

    extra = [o for o in objectives if o not in ("score", "params")]
    table = Table(title=title)
    for name in ("rank", "trial", "params", "% backbone", "score", *extra, "layers"):
        table.add_column(name, justify="left" if name == "layers" else "right")

    def add(record: Any, rank: str) -> None:
        values = record.values or {}
        pct = record.result.get("percent_params")
        cells = [
            rank,
            str(record.number),
            f"{record.result.get('trainable_params', 0):,}" if record.result.get("trainable_params") is not None else "-",
            "-" if pct is None else f"{pct:.3f}",
            "-" if values.get("score") is None else f"{values['score']:.4f}",
            *("-" if values.get(o) is None else f"{values[o]:.4g}" for o in extra),
            _layer_summary(record.config),
        ]
        table.add_row(*cells)

    for rank, record in enumerate(front, start=1):
        add(record, str(rank))
    if baselines:
        table.add_section()
        for record in baselines:
            add(record, f"[dim]{record.baseline}[/dim]")
    return table


def print_pareto(storage: Any, study: str, *, console: Any = None) -> None:
    """Print the study's Pareto table (front plus completed baselines)."""
    from rich.console import Console

    from autopeft.store import load_study_summary, load_trials, pareto_front

    summary = load_study_summary(storage, study)
    front = pareto_front(storage, study)
    baselines = [r for r in load_trials(storage, study, states=["COMPLETE"]) if r.baseline]
    console = console or Console()
    console.print(pareto_table(front, baselines, summary.objectives, f"Pareto front of {study} ({len(front)} configs; baselines below)"))
