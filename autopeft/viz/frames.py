"""The tables the dashboard shows, shaped from the store's :class:`TrialRecord` dataclasses.

* :func:`trials_table`: one row per trial (state, score, costs, a compact configuration
  summary, the first line of a failure), the source of every other table;
* :func:`front_points`: the COMPLETE trials placed on a score-vs-cost plane, with the
  search trials no trial dominates flagged (baselines count as points but are drawn, not
  flagged, as in :func:`autopeft.store.pareto_front` with ``count_baselines=True``);
* :func:`data_source`: where a study's examples came from, from its metadata;
* :func:`layer_matrix`: a configuration as a layers x module-types grid of sizes;
* :func:`filter_table`: the trial table's filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from autopeft.methods.registry import REGISTRY
from autopeft.viz.errors import DashboardError


@dataclass(frozen=True)
class CostAxis:
    """One choice of x axis for the front: a trial table column, its label, and its unit."""

    key: str
    column: str
    label: str


#: x-axis choices of the Pareto front, by the name the page shows.
COST_AXES: dict[str, CostAxis] = {
    a.key: a
    for a in (
        CostAxis("params", "trainable_params", "trainable PEFT parameters"),
        CostAxis("percent", "percent_params", "% of backbone parameters"),
        CostAxis("bytes", "adapter_bytes", "adapter size (bytes)"),
    )
}

#: Module types of one layer, in heatmap column order: (column label, LayerConfig field, rank
#: projection or None), one per field of each registered method (one per projection for ranks).
MODULE_COLUMNS: tuple[tuple[str, str, str | None], ...] = REGISTRY.heatmap_columns()

#: Columns of :func:`trials_table`. ``trainable_params`` counts the PEFT modules only (the
#: ``params`` objective, the count the sampler and ``--max-params`` use); the task head is
#: ``head_params``. ``collapsed``: the predictions put (nearly) every evaluation example in one
#: class (:attr:`autopeft.store.TrialRecord.collapsed`), so the score says nothing.
TABLE_COLUMNS = (
    "number", "state", "kind", "baseline", "score", "collapsed", "trainable_params", "percent_params",
    "head_params", "majority_share", "chance_score", "adapter_bytes", "peak_memory_mb", "time_train_s",
    "duration_s", "worker_host", "summary", "error",
)


def cost_axis(key: str) -> CostAxis:
    try:
        return COST_AXES[key]
    except KeyError:
        raise DashboardError(f"x axis {key!r}: choose one of {list(COST_AXES)}") from None


# --------------------------------------------------------------------------- summaries
def _layer_summary(layer: Mapping[str, Any]) -> str:
    from autopeft.config import LayerConfig

    return LayerConfig.from_dict(layer).summary()


def compact_summary(config: Mapping[str, Any] | None, *, max_groups: int = 4) -> str:
    """A one-line summary of a config dict: runs of identical layers grouped.

    ``{"layers": [SA64, SA64, -, LoRA q8]}`` -> ``"L0-1: SA64 | L3: LoRA[q8]"``; empty layers are
    omitted, more than ``max_groups`` groups end with ``| ... (+N)``.
    """
    if not config:
        return "(no config)"
    layers = [_layer_summary(layer) for layer in config.get("layers", [])]
    groups: list[tuple[int, int, str]] = []
    for i, text in enumerate(layers):
        if groups and groups[-1][2] == text and groups[-1][1] == i - 1:
            groups[-1] = (groups[-1][0], i, text)
        else:
            groups.append((i, i, text))
    groups = [g for g in groups if g[2] != "-"]
    if not groups:
        return "(no PEFT modules)"
    if len(groups) == 1 and groups[0][0] == 0 and groups[0][1] == len(layers) - 1:
        return f"all {len(layers)} layers: {groups[0][2]}"
    parts = [f"L{a}: {t}" if a == b else f"L{a}-{b}: {t}" for a, b, t in groups[:max_groups]]
    if len(groups) > max_groups:
        parts.append(f"... (+{len(groups) - max_groups})")
    return " | ".join(parts)


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else None


# --------------------------------------------------------------------------- trial table
def trials_table(records: Sequence[Any], metadata: Mapping[str, Any] | None = None) -> Any:
    """One row per trial with the columns of :data:`TABLE_COLUMNS` (a pandas DataFrame).

    ``percent_params`` falls back to ``trainable_params / metadata["backbone_params"]`` when
    a result lacks it. ``kind`` is ``baseline`` or ``search``. ``collapsed`` is False where a
    result does not say (a failed trial, or one stored before the share was measured).
    """
    import pandas as pd

    backbone = (metadata or {}).get("backbone_params")
    rows = []
    for r in records:
        params = r.trainable_params
        percent = r.percent_params
        if percent is None and params is not None and backbone:
            percent = 100.0 * params / backbone
        rows.append(
            {
                "number": r.number,
                "state": r.state,
                "kind": "baseline" if r.is_baseline else "search",
                "baseline": r.baseline,
                "score": r.score if r.state == "COMPLETE" else None,
                "collapsed": r.collapsed,
                "trainable_params": params,
                "percent_params": percent,
                "head_params": r.head_params,
                "majority_share": r.majority_share,
                "chance_score": r.chance_score,
                "adapter_bytes": r.result.get("adapter_bytes"),
                "peak_memory_mb": r.result.get("peak_memory_mb"),
                "time_train_s": r.result.get("time_train_s"),
                "duration_s": r.duration_s,
                "worker_host": r.worker_host,
                "summary": compact_summary(r.config) if r.config else ("(rejected) " + r.rejected if r.rejected else "(no config)"),
                "error": _first_line(r.error),
            }
        )
    frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    frame["collapsed"] = frame["collapsed"].astype(bool)
    for column in ("score", "trainable_params", "percent_params", "head_params", "majority_share", "chance_score",
                   "adapter_bytes", "peak_memory_mb", "time_train_s", "duration_s"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def front_points(table: Any, axis: str = "params") -> Any:
    """The COMPLETE trials that have a score and a cost on ``axis``, plus ``on_front``.

    ``on_front`` marks the search trials no other trial beats on (score up, cost down), the
    baselines counted as points (as :func:`autopeft.store.pareto_front` with
    ``count_baselines=True`` and the CLI's Pareto table): a search configuration a baseline
    dominates is not on the front. Baselines are kept (to be drawn as markers) but never flagged
    ``on_front`` themselves. Failed, running and rejected trials are left out. Sorted by cost,
    then score descending.
    """
    from autopeft.store import non_dominated

    column = cost_axis(axis).column
    done = table[(table["state"] == "COMPLETE") & table["score"].notna() & table[column].notna()].copy()
    done["cost"] = done[column].astype(float)
    done["on_front"] = False
    if len(done):
        keep = non_dominated(list(zip(done["score"].tolist(), done["cost"].tolist())), ["maximize", "minimize"])
        kept = done.index[keep]
        done.loc[[i for i in kept if done.at[i, "kind"] == "search"], "on_front"] = True
    return done.sort_values(["cost", "score"], ascending=[True, False]).reset_index(drop=True)


def front_line(points: Any) -> Any:
    """The front's points in cost order with exact duplicates dropped (the step line's vertices)."""
    front = points[points["on_front"]]
    return front.drop_duplicates(subset=["cost", "score"]).sort_values("cost").reset_index(drop=True)


def filter_table(
    table: Any,
    *,
    states: Iterable[str] | None = None,
    param_range: tuple[float, float] | None = None,
    kinds: Iterable[str] | None = None,
    sort_by: str | None = None,
    ascending: bool = True,
) -> Any:
    """Rows of ``table`` in ``states``/``kinds`` with ``param_range[0] <= trainable_params <= param_range[1]``.

    A trial without a parameter count (failed before it was counted) passes the parameter
    filter only when the range is None.
    """
    out = table
    if states is not None:
        out = out[out["state"].isin(list(states))]
    if kinds is not None:
        out = out[out["kind"].isin(list(kinds))]
    if param_range is not None:
        low, high = param_range
        out = out[(out["trainable_params"] >= low) & (out["trainable_params"] <= high)]
    if sort_by:
        if sort_by not in out.columns:
            raise DashboardError(f"sort by {sort_by!r}: not a column; choose from {list(out.columns)}")
        out = out.sort_values(sort_by, ascending=ascending, na_position="last", kind="stable")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- configuration heatmap
def layer_matrix(config: Mapping[str, Any]) -> tuple[list[str], list[str], list[list[float]]]:
    """``(row labels, column labels, values)``: one row per layer, one column per module type.

    A value is the module's size (adapter bottleneck, prefix length, rank; 1 for a flag that is
    set); 0 where the module is absent or the dict (stored by an older autopeft) lacks the field.
    Columns no layer uses are dropped, except that at least one column stays so an empty
    configuration still draws.
    """
    layers = list(config.get("layers", []))
    values: list[list[float]] = []
    for layer in layers:
        row = []
        for _, field_name, projection in MODULE_COLUMNS:
            raw = layer.get(field_name)
            if projection is not None:
                raw = (raw or {}).get(projection, 0)
            row.append(float(1 if raw is True else (raw or 0)))
        values.append(row)
    used = [j for j in range(len(MODULE_COLUMNS)) if any(row[j] for row in values)] or [0]
    columns = [MODULE_COLUMNS[j][0] for j in used]
    return [f"layer {i}" for i in range(len(layers))], columns, [[row[j] for j in used] for row in values]


# --------------------------------------------------------------------------- study settings
def data_source(metadata: Mapping[str, Any]) -> str:
    """Where the study's examples were read from, from its metadata (``task``, ``data_dir``).

    ``bbcnews`` (and any packaged folder task) reads the files of a Python package and
    ``folder:ROOT`` the files under ROOT; a task with a ``data_dir`` reads the files there;
    any other registry task reads the hub through ``datasets.load_dataset``.
    """
    from autopeft.tasks.folder_tasks import PACKAGED
    from autopeft.tasks.resolve import describe_source

    recorded = describe_source(metadata.get("task_spec"))  # a task on your own data: its files or dataset
    if recorded:
        return recorded
    task = str(metadata.get("task") or "")
    data_dir = metadata.get("data_dir")
    if task in PACKAGED:
        package, inner, _ = PACKAGED[task]
        return f"local files: package {package} ({inner})"
    if task.startswith("folder:"):
        return f"local files: folder {task.split(':', 1)[1]}"
    if data_dir:
        return f"{data_dir} (local files)"
    return "hub (datasets.load_dataset)"
