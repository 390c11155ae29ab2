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

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from autopeft._lazy import lazy_module
from autopeft.config import PeftConfig
from autopeft.methods.registry import REGISTRY
from autopeft.store import TrialRecord, non_dominated
from autopeft.store.keys import CONFIG as CONFIG_KEY
from autopeft.tasks.folder_tasks import PACKAGED
from autopeft.tasks.resolve import describe_source
from autopeft.viz.errors import DashboardError

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")


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
#: ``rung`` / ``rung_score``: multi-fidelity trials (``--scheduler asha``) only: the index of the
#: highest rung reached and the score there (a stopped trial's score where it stopped).
TABLE_COLUMNS = (
    "number", "state", "kind", "baseline", "score", "collapsed", "trainable_params", "percent_params",
    "head_params", "majority_share", "chance_score", "adapter_bytes", "peak_memory_mb", "time_train_s",
    "duration_s", "worker_host", "summary", "error", "rung", "rung_score",
)


def cost_axis(key: str) -> CostAxis:
    try:
        return COST_AXES[key]
    except KeyError:
        raise DashboardError(f"x axis {key!r}: choose one of {list(COST_AXES)}") from None


# --------------------------------------------------------------------------- summaries
def _typed(config: "PeftConfig | Mapping[str, Any]") -> "PeftConfig":
    """A configuration as a :class:`PeftConfig` (a stored dict is decoded)."""
    return config if isinstance(config, PeftConfig) else PeftConfig.from_dict(config)


def compact_summary(config: "PeftConfig | Mapping[str, Any] | None", *, max_groups: int = 4) -> str:
    """A one-line summary of a configuration (a :class:`PeftConfig`, e.g. a record's ``peft``, or
    its dict): runs of identical layers grouped.

    ``[SA64, SA64, -, LoRA q8]`` -> ``"L0-1: SA64 | L3: LoRA[q8]"``; empty layers are omitted,
    more than ``max_groups`` groups end with ``| ... (+N)``.
    """
    if not config:
        return "(no config)"
    return group_summary([layer.summary() for layer in _typed(config).layers], max_groups)


def _layer_key(layer: Mapping[str, Any]) -> Any:
    """A hashable key of a stored layer dict: its items, a rank mapping's items in order."""
    try:
        key: Any = tuple((k, tuple(v.items()) if isinstance(v, dict) else v) for k, v in layer.items())
        hash(key)
        return key
    except TypeError:
        return json.dumps(layer, sort_keys=True, default=str)


def group_summary(layers: Sequence[str], max_groups: int = 4) -> str:
    """:func:`compact_summary` of a configuration given its layers' :meth:`LayerConfig.summary` texts."""
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


def stored_summary(stored: Any, *, max_groups: int = 4, memo: dict[Any, str] | None = None) -> str:
    """:func:`compact_summary` of a stored configuration dict (a record's ``user_attrs["config"]``)
    without building the whole :class:`PeftConfig`: each distinct layer is decoded (and validated)
    once per ``memo`` (a dict the caller keeps across the trials of a study). Anything unusual goes
    through :func:`compact_summary` itself."""
    from autopeft.config import LayerConfig

    memo = {} if memo is None else memo
    if isinstance(stored, Mapping):
        raw = stored.get("layers")
        if isinstance(raw, list) and raw and all(isinstance(layer, Mapping) for layer in raw) and stored.get("num_layers", len(raw)) == len(raw):
            try:
                texts = []
                for layer in raw:
                    key = _layer_key(layer)
                    text = memo.get(key)
                    if text is None:
                        text = memo[key] = LayerConfig.from_dict(layer).summary()
                    texts.append(text)
                return group_summary(texts, max_groups)
            except Exception:  # noqa: BLE001 - an invalid layer: the full decode says why
                pass
    return compact_summary(stored, max_groups=max_groups)


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else None


# --------------------------------------------------------------------------- trial table
def trials_table(records: Sequence[TrialRecord], metadata: Mapping[str, Any] | None = None,
                 summaries: Mapping[int, str] | None = None) -> "pd.DataFrame":
    """One row per trial with the columns of :data:`TABLE_COLUMNS` (a pandas DataFrame).

    ``percent_params`` falls back to ``trainable_params / metadata["backbone_params"]`` when
    a result lacks it. ``kind`` is ``baseline`` or ``search``. ``collapsed`` is False where a
    result does not say (a failed trial, or one stored before the share was measured).
    ``summaries``: trial number -> configuration summary already made (e.g. by
    :func:`autopeft.store.pageread.read_study_rows`, whose records leave the configuration out); a trial
    not in it is summarised from its stored configuration.
    """
    columns: dict[str, list[Any]] = {name: [] for name in _RECORD_COLUMNS}
    put = {name: columns[name].append for name in _RECORD_COLUMNS}
    for r in records:
        measured = r.trial_result  # None until a worker answered
        worker = r.worker
        put["number"](r.number)
        put["state"](r.state)
        put["baseline"](r.baseline)
        put["rejected"](r.rejected)
        put["score"](r.score if r.state == "COMPLETE" else None)
        put["collapsed"](r.collapsed)
        put["trainable_params"](r.trainable_params)
        put["percent_params"](r.percent_params)
        put["head_params"](r.head_params)
        put["majority_share"](r.majority_share)
        put["chance_score"](r.chance_score)
        put["adapter_bytes"](None if measured is None else measured.adapter_bytes)
        put["peak_memory_mb"](None if measured is None else measured.peak_memory_mb)
        put["time_train_s"](None if measured is None else measured.time_train_s)
        put["duration_s"](r.duration_s)
        put["worker_host"](None if worker is None else worker.host)
        put["error"](r.error)
        put["rung"](r.rung)
        put["rung_score"](r.rung_score)
    stored = {r.number: r.user_attrs.get(CONFIG_KEY) for r in records if r.number not in (summaries or {})}
    return table_from_columns(columns, metadata, summaries, stored)


#: The per-trial fields :func:`table_from_columns` takes (``error`` in full; ``rejected`` for the summary).
_RECORD_COLUMNS = ("number", "state", "baseline", "rejected", "score", "collapsed", "trainable_params", "percent_params", "head_params",
                   "majority_share", "chance_score", "adapter_bytes", "peak_memory_mb", "time_train_s", "duration_s", "worker_host", "error",
                   "rung", "rung_score")
_NUMERIC = ("score", "trainable_params", "percent_params", "head_params", "majority_share", "chance_score",
            "adapter_bytes", "peak_memory_mb", "time_train_s", "duration_s", "rung", "rung_score")


def table_from_columns(columns: Mapping[str, Sequence[Any]], metadata: Mapping[str, Any] | None = None,
                       summaries: Mapping[int, str] | None = None, stored: Mapping[int, Any] | None = None) -> "pd.DataFrame":
    """:func:`trials_table` from per-trial columns (the fields of :data:`_RECORD_COLUMNS`, one list
    each in trial order, e.g. :attr:`autopeft.store.pageread.StudyRows.columns` as SQLite extracts
    them from the stored JSON), without a :class:`TrialRecord` per trial. ``summaries``: number ->
    configuration summary; a trial not in it is summarised from ``stored`` (number -> stored
    configuration), else says it was rejected or has no configuration."""
    summaries = summaries or {}
    stored = stored or {}
    memo: dict[Any, str] = {}
    data: dict[str, Any] = {name: list(columns[name]) for name in TABLE_COLUMNS if name in columns}
    data["kind"] = ["search" if b is None else "baseline" for b in columns["baseline"]]
    backbone = (metadata or {}).get("backbone_params")
    if backbone:
        data["percent_params"] = [100.0 * params / backbone if percent is None and params is not None else percent
                                  for percent, params in zip(columns["percent_params"], columns["trainable_params"])]
    texts = []
    for number, rejected in zip(columns["number"], columns["rejected"]):
        text = summaries.get(number)
        if text is None:
            config = stored.get(number)
            text = stored_summary(config, memo=memo) if config else ("(rejected) " + rejected if rejected else "(no config)")
        texts.append(text)
    data["summary"] = texts
    data["error"] = [None if e is None else _first_line(e) for e in columns["error"]]
    for name in ("rung", "rung_score"):  # single-fidelity studies, and callers of earlier versions
        data.setdefault(name, [None] * len(columns["number"]))
    if len(data["number"]):
        frame = pd.DataFrame({name: data[name] for name in TABLE_COLUMNS}, columns=list(TABLE_COLUMNS))
    else:  # no trial: the columns typed as a table of no rows always was
        frame = pd.DataFrame([], columns=list(TABLE_COLUMNS))
    frame["collapsed"] = frame["collapsed"].astype(bool)
    for column in _NUMERIC:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def study_table(rows: Any, metadata: Mapping[str, Any] | None = None) -> "pd.DataFrame":
    """The trial table of a :class:`autopeft.store.pageread.StudyRows`: from its extracted columns
    (no record decoded) when the read gave them, else from its records."""
    if rows.columns is not None:
        return table_from_columns(rows.columns, metadata, rows.summaries)
    return trials_table(list(rows.records.values()), metadata, rows.summaries)


def stopped_points(table: "pd.DataFrame", axis: str = "params") -> "pd.DataFrame":
    """The trials the multi-fidelity scheduler stopped at a rung (PRUNED with a ``rung``), with
    ``cost`` on ``axis`` and their score where they stopped (``rung_score``): drawn greyed beside
    the front, never part of it. Empty for a single-fidelity study."""
    column = cost_axis(axis).column
    stopped = table[(table["state"] == "PRUNED") & table["rung"].notna() & table["rung_score"].notna() & table[column].notna()].copy()
    stopped["cost"] = stopped[column].astype(float)
    return stopped.reset_index(drop=True)


def front_points(table: "pd.DataFrame", axis: str = "params") -> "pd.DataFrame":
    """The COMPLETE trials that have a score and a cost on ``axis``, plus ``on_front``.

    ``on_front`` marks the search trials no other trial beats on (score up, cost down), the
    baselines counted as points (as :func:`autopeft.store.pareto_front` with
    ``count_baselines=True`` and the CLI's Pareto table): a search configuration a baseline
    dominates is not on the front. Baselines are kept (to be drawn as markers) but never flagged
    ``on_front`` themselves. Failed, running and rejected trials are left out. Sorted by cost,
    then score descending.
    """
    column = cost_axis(axis).column
    done = table[(table["state"] == "COMPLETE") & table["score"].notna() & table[column].notna()].copy()
    done["cost"] = done[column].astype(float)
    done["on_front"] = False
    if len(done):
        keep = non_dominated(list(zip(done["score"].tolist(), done["cost"].tolist())), ["maximize", "minimize"])
        kept = done.index[keep]
        done.loc[[i for i in kept if done.at[i, "kind"] == "search"], "on_front"] = True
    return done.sort_values(["cost", "score"], ascending=[True, False]).reset_index(drop=True)


def front_line(points: "pd.DataFrame") -> "pd.DataFrame":
    """The front's points in cost order with exact duplicates dropped (the step line's vertices)."""
    front = points[points["on_front"]]
    return front.drop_duplicates(subset=["cost", "score"]).sort_values("cost").reset_index(drop=True)


def filter_table(
    table: "pd.DataFrame",
    *,
    states: Iterable[str] | None = None,
    param_range: tuple[float, float] | None = None,
    kinds: Iterable[str] | None = None,
    sort_by: str | None = None,
    ascending: bool = True,
) -> "pd.DataFrame":
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
def layer_matrix(config: "PeftConfig | Mapping[str, Any]") -> tuple[list[str], list[str], list[list[float]]]:
    """``(row labels, column labels, values)`` of a configuration (a :class:`PeftConfig`, e.g. a
    record's ``peft``, or its dict): one row per layer, one column per module type.

    A value is the module's size (adapter bottleneck, prefix length, rank; 1 for a flag that is
    set); 0 where the module is absent. Columns no layer uses are dropped, except that at least
    one column stays so an empty configuration still draws.
    """
    layers = list(_typed(config).layers)
    values: list[list[float]] = []
    for layer in layers:
        row = []
        for _, field_name, projection in MODULE_COLUMNS:
            raw = getattr(layer, field_name, None)
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
