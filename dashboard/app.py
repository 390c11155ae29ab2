"""The autopeft dashboard: browse a study store's Pareto fronts, inspect and export configurations.

Started by ``autopeft dashboard --storage URL`` (which runs ``streamlit run`` on this file with
``-- --storage URL``); the URL may also come from the ``AUTOPEFT_DASHBOARD_STORAGE`` environment
variable (how the tests start it). The store is opened read-only (:func:`autopeft.store.open_readonly`) and read into the store's public
dataclasses (``StudySummary``, ``TrialRecord``) by :func:`autopeft.store.read_studies` and
:func:`autopeft.store.pageread.read_study_rows` (on SQLite the fields the page shows, pulled out of
the stored JSON by ``json_extract``, and each configuration's summary: no trial's record is
decoded for the table, front or hypervolume; a trial is read in full when the detail view opens
it), which match ``autopeft.store.list_studies``/``load_trials`` without their per-trial ORM cost. The
study's table, front, figure and hypervolume are computed once per data epoch
(``st.cache_resource``), so a rerun (a widget change) only draws them again; exports go
through :mod:`autopeft.export`. Figures and tables come from :mod:`autopeft.viz`.

Views: the study picker and its settings (sidebar; calibrations are not studies and are left out),
the Pareto front with the newest calibration verdict of its task, model and fidelity, the hypervolume after each
trial, one trial in detail (configuration heatmap, metrics, timings, error, downloads), the
filterable trial table and an overlay of several studies' fronts. While a study has running or
waiting trials the main area refreshes itself every few seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import pandas as pd
import streamlit as st

from autopeft.errors import AutoPeftError
from autopeft.export.api import UNFINISHED_STATES
from autopeft.store import load_study_summary, open_readonly, read_studies
from autopeft.viz.calibration import calibration_note
from autopeft.viz.exports import DOWNLOADS, build_download
from autopeft.viz.figures import compare_figure, config_heatmap, hypervolume_figure, pareto_figure
from autopeft.viz.frames import data_source, filter_table, front_points, layer_matrix, stopped_points, study_table
from autopeft.viz.hypervolume import study_hypervolume
from autopeft.store.pageread import gc_paused, read_study_rows as read_study

ENV_STORAGE = "AUTOPEFT_DASHBOARD_STORAGE"
AXIS_LABELS = {"params": "trainable parameters", "percent": "% of backbone", "bytes": "adapter bytes"}
PAGE_TABS = ["Pareto front", "Hypervolume", "Trial detail", "Trials", "Compare studies"]


# --------------------------------------------------------------------------- inputs and data
def storage_url() -> str | None:
    """``--storage`` after ``--`` on the streamlit command line, else the environment variable."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--storage")
    known, _ = parser.parse_known_args(sys.argv[1:])
    return known.storage or os.environ.get(ENV_STORAGE) or None


@st.cache_resource(show_spinner=False, max_entries=4)
def open_store(url: str) -> Any:
    return open_readonly(url)


@st.cache_resource(show_spinner=False, max_entries=4, ttl=3600)
def cached_studies(url: str, epoch: int) -> list[Any]:
    return read_studies(open_store(url))


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def cached_study(url: str, study: str, epoch: int) -> dict[str, Any]:
    """The study's records and every table the views draw from them (computed once per epoch)."""
    objectives, meta = list(_summary(url, study, epoch).objectives), _meta(url, study, epoch)
    with gc_paused():
        rows = read_study(open_store(url), study, objectives)
        table = study_table(rows, meta)  # from the columns SQLite extracted: no trial's record decoded
    return {"rows": rows, "table": table, "loaded": time.time()}


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def cached_calibration(url: str, study: str, epoch: int) -> Any:
    """The newest calibration verdict for the study's task, model and fidelity (read once per epoch)."""
    return calibration_note(url, _meta(url, study, epoch), open_store(url))


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def cached_hypervolume(url: str, study: str, epoch: int) -> Any:
    summary = _summary(url, study, epoch)
    rows = cached_study(url, study, epoch)["rows"]
    with gc_paused():
        return study_hypervolume(rows, summary.objectives, summary.directions, summary.metadata)


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def cached_points(url: str, study: str, epoch: int, axis: str) -> Any:
    """The study's finished trials on the score-vs-cost plane, front flagged (once per epoch and axis)."""
    return front_points(cached_study(url, study, epoch)["table"], axis)


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def cached_pareto_figure(url: str, study: str, epoch: int, axis: str, log: bool) -> Any:
    """The front's figure (built once per epoch and axis; a rerun only sends it again)."""
    stopped = stopped_points(cached_study(url, study, epoch)["table"], axis)  # multi-fidelity: greyed, rung on hover
    return pareto_figure(cached_points(url, study, epoch, axis), axis=axis, log=log, stopped=stopped)


def _summary(url: str, study: str, epoch: int) -> Any:
    studies = {s.name: s for s in cached_studies(url, st.session_state.get("list_epoch", 0))}
    if study in studies:
        return studies[study]
    return load_study_summary(open_store(url), study)


def _meta(url: str, study: str, epoch: int) -> dict[str, Any]:
    return dict(_summary(url, study, epoch).metadata)


def data_epoch(live: bool, interval: float) -> int:
    """Cache key of the study data: bumps on "Reload", and every ``interval`` s while live."""
    base = st.session_state.get("reload", 0) * 1_000_000_000
    return base + (int(time.time() // interval) if live else 0)


# --------------------------------------------------------------------------- sidebar
def _fmt_int(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"


def _fidelity_text(meta: dict[str, Any]) -> str:
    name = meta.get("fidelity_name")
    detail = meta.get("fidelity")
    if isinstance(detail, dict):
        keys = ("max_train_examples", "epochs", "max_steps", "max_seq_length", "batch_size")
        parts = [f"{k}={detail[k]}" for k in keys if detail.get(k) is not None]
        detail = ", ".join(parts)
    return " - ".join(str(x) for x in (name, detail) if x) or "-"


def _short_model(model: Any) -> str:
    """A hub id as it is; a local folder by its last two parts (``.../all-MiniLM-L6-v2/model``)."""
    text = str(model or "-")
    if text.startswith("/") or "\\" in text:
        parts = [p for p in text.replace("\\", "/").split("/") if p]
        return ".../" + "/".join(parts[-2:])
    return text


def study_settings(summary: Any) -> list[tuple[str, str]]:
    """The sidebar's settings of a study; the data source is the real one
    (:func:`autopeft.viz.frames.data_source`: a package's or a folder's files, ``--data-dir``, or the hub)."""
    meta = summary.metadata
    return [
        ("model", _short_model(meta.get("model"))),
        ("task", str(meta.get("task") or "-")),
        ("data source", data_source(meta)),
        ("space", str(meta.get("space_name") or "-")),
        ("sampler", str(meta.get("sampler") or "-")),
        ("fidelity", _fidelity_text(meta)),
        ("objectives", ", ".join(f"{o} ({d[:3]})" for o, d in zip(summary.objectives, summary.directions))),
        ("budget", f"{meta.get('trials', '-')} search trials"),
        ("created", str(meta.get("created_at") or "-")),
    ]


def sidebar(url: str) -> tuple[Any, dict[str, Any]] | None:
    """Study picker and view options; None when there is nothing to show (message already shown)."""
    st.sidebar.title("autopeft")
    st.sidebar.caption(f"store: `{url}` (read-only)")
    if st.sidebar.button("Reload", help="read the store again"):
        st.session_state["reload"] = st.session_state.get("reload", 0) + 1
        st.session_state["list_epoch"] = st.session_state.get("list_epoch", 0) + 1
    studies = cached_studies(url, st.session_state.get("list_epoch", 0))
    if not studies:
        st.warning(f"The store `{url}` has no studies yet. Start one with `autopeft search --storage {url} --task TASK`, then press Reload.")
        return None
    names = [s.name for s in studies]
    by_name = {s.name: s for s in studies}
    wanted = st.session_state.get("study") or st.query_params.get("study")  # ?study=NAME links to a study
    default = names.index(wanted) if wanted in by_name else len(names) - 1
    name = st.sidebar.selectbox("Study", names, index=default, format_func=lambda n: f"{n} ({by_name[n].n_complete}/{by_name[n].n_trials} complete)")
    st.session_state["study"] = name
    st.query_params["study"] = name
    summary = by_name[name]
    st.sidebar.markdown("\n".join(f"- **{k}**: {v}" for k, v in study_settings(summary)))
    active = (summary.n_running + summary.n_waiting) > 0
    options = {
        "live": st.sidebar.toggle("Live refresh", value=active, help="re-read the study every few seconds while a search runs"),
        "interval": float(st.sidebar.number_input("Refresh every (s)", min_value=2, max_value=120, value=5, step=1)),
        "axis": st.sidebar.radio("x axis", list(AXIS_LABELS), format_func=AXIS_LABELS.get, horizontal=False),
        "log": st.sidebar.toggle("log x axis", value=True),
    }
    return summary, options


# --------------------------------------------------------------------------- views
def header(summary: Any, table: Any, points: Any) -> None:
    counts = table["state"].value_counts().to_dict()
    cols = st.columns(6)
    cols[0].metric("trials", len(table))
    cols[1].metric("complete", int(counts.get("COMPLETE", 0)))
    cols[2].metric("failed", int(counts.get("FAIL", 0)))
    cols[3].metric("running", int(counts.get("RUNNING", 0)) + int(counts.get("WAITING", 0)))
    cols[4].metric("on front", int(points["on_front"].sum()))
    best = points[points["kind"] == "search"]["score"].max() if len(points) else None
    cols[5].metric("best score", "-" if best is None or best != best else f"{best:.4f}")


def calibration_view(url: str, summary: Any, epoch: int) -> None:
    """The newest calibration of the study's task, model and fidelity: does the front rank?"""
    note = cached_calibration(url, summary.name, epoch)
    show = {"success": st.success, "warning": st.warning}.get(note.kind, st.info)
    show(note.text)
    if note.detail:
        st.caption(note.detail)


def pareto_view(url: str, summary: Any, points: Any, options: dict[str, Any], epoch: int) -> None:
    if not len(points):
        st.info("No finished trial yet: the front appears when the first trial completes.")
        return
    fig = cached_pareto_figure(url, summary.name, epoch, options["axis"], options["log"])
    event = st.plotly_chart(fig, key="front_chart", on_select="rerun", selection_mode="points")
    picked = _picked_number(event)
    if picked is not None:
        st.session_state["trial_pick"] = picked
    front = points[points["on_front"]].sort_values("score", ascending=False)
    st.caption(f"{len(front)} configurations on the front (failed trials left out; baselines drawn as diamonds and counted: "
               "a configuration a baseline beats is not on the front). "
               "Parameters are the PEFT modules' (the task head excluded). Click a point to open it under Trial detail.")
    n_collapsed = int(points["collapsed"].sum())
    if n_collapsed:
        st.warning(f"{n_collapsed} of {len(points)} finished trials collapsed to one class (drawn crossed): their score is "
                   "the constant predictor's and says nothing about the configuration.")
    st.dataframe(
        front[["number", "score", "trainable_params", "percent_params", "summary", "collapsed"]],
        hide_index=True,
        column_config={
            "trainable_params": st.column_config.NumberColumn("PEFT params"),
            "percent_params": st.column_config.NumberColumn("% of backbone", format="%.4f"),
            "collapsed": st.column_config.CheckboxColumn("one class", help="the predictions collapsed to one class"),
        },
        key="front_table",
    )


def _picked_number(event: Any) -> int | None:
    try:
        points = event.selection.points  # type: ignore[union-attr]
    except AttributeError:
        return None
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, dict) else None
        if custom:
            return int(custom[0])
    return None


def hypervolume_view(url: str, summary: Any, epoch: int) -> None:
    curve = cached_hypervolume(url, summary.name, epoch)
    if not len(curve):
        st.info("No finished search trial yet: the hypervolume starts with the first one.")
        return
    st.plotly_chart(hypervolume_figure(curve), key="hv_chart")
    st.caption(
        f"hypervolume after trial {int(curve['number'].iloc[-1])}: {curve['hypervolume'].iloc[-1]:.4f} "
        "(score against 0, parameters as a fraction of the backbone against 100 %; baselines not counted)"
    )


#: How many of the newest trials the trial picker lists beside the front (any other is opened by number).
RECENT_TRIALS = 100


def _trial_label(table: Any, points: Any, numbers: list[int]) -> dict[int, str]:
    """The picker's label of each trial in ``numbers``: number, score, and front / baseline / state."""
    front = set(points[points["on_front"]]["number"].tolist())
    rows = table.set_index("number", drop=False).loc[numbers]
    labels = {}
    for number, state, baseline, collapsed, score in zip(rows["number"].tolist(), rows["state"].tolist(), rows["baseline"].tolist(),
                                                        rows["collapsed"].tolist(), rows["score"].tolist()):
        tag = "front" if number in front else (baseline or state.lower())
        if collapsed:
            tag += ", one class"
        text = "" if score is None or score != score else f" score {score:.4f}"
        labels[int(number)] = f"#{number}{text} ({tag})"
    return labels


def _open_trial_number() -> None:
    """The "open trial #" box: pick that trial (if the study has it) in the trial picker."""
    wanted = st.session_state.get("trial_go")
    if wanted is not None and int(wanted) in st.session_state.get("trial_numbers", ()):
        st.session_state["trial_pick"] = int(wanted)


def trial_options(table: Any, points: Any, picked: Any) -> list[int]:
    """The trial picker's options: the front (best score first), then the newest
    :data:`RECENT_TRIALS` other trials, then the trial already picked (a click on the front, the
    number box) if it is neither; a study of 10,000 trials does not send 10,000 labels."""
    order = points[points["on_front"]].sort_values("score", ascending=False)["number"].tolist()
    listed = set(order)
    numbers = table["number"].tolist()
    order += [n for n in numbers[-(RECENT_TRIALS + len(listed)):] if n not in listed][-RECENT_TRIALS:]
    if picked is not None and picked not in order and picked in set(numbers):
        order.append(picked)
    return order


def detail_view(url: str, summary: Any, data: dict[str, Any], points: Any) -> None:
    table = data["table"]
    numbers = table["number"].tolist()
    st.session_state["trial_numbers"] = frozenset(numbers)
    picked = st.session_state.get("trial_pick")
    order = trial_options(table, points, picked if picked in st.session_state["trial_numbers"] else None)
    labels = _trial_label(table, points, order)
    if picked not in labels:
        st.session_state["trial_pick"] = order[0]
    left, right = st.columns([4, 1])
    number = left.selectbox("Trial", order, format_func=labels.get, key="trial_pick",
                            help=f"the front, then the newest {RECENT_TRIALS} trials; open any other by its number")
    right.number_input("or open trial #", min_value=min(numbers), max_value=max(numbers), value=None, step=1, key="trial_go",
                       on_change=_open_trial_number)
    record = data["rows"].record(number)  # its configuration read now (the table needs only summaries)
    st.subheader(f"Trial {number}: {record.state}" + (f" - baseline {record.baseline}" if record.baseline else ""))
    if record.error:
        st.error(f"Trial {number} failed: {record.error.strip().splitlines()[0] if record.error.strip() else record.error}")
        st.code(record.error + ("\n\n" + record.traceback if record.traceback else ""), language="text")
    if record.rejected:
        st.warning(f"Not trained: {record.rejected}")
    if record.collapsed:
        chance = "" if record.chance_score is None else f" (chance: {record.chance_score:.4f})"
        st.warning(f"Collapsed: {100 * record.majority_share:.0f} % of the evaluation predictions are one class, so the "
                   f"score is the constant predictor's{chance}.")
    left, right = st.columns([3, 2])
    with left:
        config = record.peft
        if config is not None:
            rows, columns, values = layer_matrix(config)
            st.plotly_chart(config_heatmap(rows, columns, values), key="heatmap_chart")
            st.caption(config.summary().replace("\n", " | "))
        else:
            st.info("This trial has no configuration recorded.")
    with right:
        st.markdown("**Metrics**")
        st.dataframe(_kv_frame(_metric_rows(record)), hide_index=True, key="metrics_table")
        st.markdown("**Timings**")
        st.dataframe(_kv_frame(_timing_rows(record)), hide_index=True, key="timings_table")
    export_view(url, summary, record)


def _kv_frame(rows: list[tuple[str, Any]]) -> Any:
    return pd.DataFrame({"name": [k for k, _ in rows], "value": [("-" if v is None else str(v)) for _, v in rows]})


def _metric_rows(record: Any) -> list[tuple[str, Any]]:
    measured = record.trial_result  # None until a worker answered
    worker = record.worker
    rows: list[tuple[str, Any]] = [("score", None if record.score is None else f"{record.score:.4f}")]
    rows += [(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in sorted((measured.metrics if measured else {}).items())]
    rows += [
        ("trainable params", _fmt_int(record.trainable_params)),
        ("% of backbone", None if record.percent_params is None else f"{record.percent_params:.4f}"),
        ("head params (not counted above)", _fmt_int(record.head_params)),
        ("majority share", None if record.majority_share is None else f"{record.majority_share:.3f}"),
        ("chance score", None if record.chance_score is None else f"{record.chance_score:.4f}"),
        ("adapter bytes", _fmt_int(measured.adapter_bytes if measured else None)),
        ("peak memory (MiB)", None if measured is None or measured.peak_memory_mb is None else f"{float(measured.peak_memory_mb):.1f}"),
        ("worker", None if worker is None else worker.host),
    ]
    if record.retry_of is not None:
        rows.append(("retry of trial", record.retry_of))
    return rows


def _timing_rows(record: Any) -> list[tuple[str, Any]]:
    measured = record.trial_result  # None until a worker answered
    timing = record.timing
    rows: list[tuple[str, Any]] = []
    for key, label in (("time_load_s", "load (s)"), ("time_train_s", "train (s)"), ("time_eval_s", "eval (s)"), ("examples_per_s", "examples / s")):
        value = None if measured is None else getattr(measured, key)
        if value is not None:
            rows.append((label, f"{float(value):.2f}"))
    if timing is not None and timing.wall_s is not None:
        rows.append(("worker wall (s)", f"{float(timing.wall_s):.2f}"))
    if record.duration_s is not None:
        rows.append(("trial duration (s)", f"{record.duration_s:.2f}"))
    rows.append(("started", record.datetime_start.isoformat(sep=" ", timespec="seconds") if record.datetime_start else None))
    rows.append(("finished", record.datetime_complete.isoformat(sep=" ", timespec="seconds") if record.datetime_complete else None))
    return rows


def export_view(url: str, summary: Any, record: Any) -> None:
    st.markdown("**Export**")
    config = record.peft
    if config is None:
        st.info("Nothing to export: the trial has no configuration.")
        return
    if record.state in UNFINISHED_STATES:
        st.info(f"Trial {record.number} is {record.state}: its configuration has no measured score, so it is not exported here "
                f"(`autopeft export --study {summary.name} --trial {record.number} --allow-failed` writes it anyway).")
        return
    key = (summary.name, record.number)
    built = st.session_state.get("exports", {}).get(key)
    if built is None and st.button("Prepare HF peft config, autopeft JSON and training script", key="prepare_exports"):
        with st.spinner("exporting through autopeft.export..."):
            built = [build_download(open_store(url), summary.name, record.number, f) for f in DOWNLOADS]
        st.session_state.setdefault("exports", {})[key] = built
    if built is None:
        st.download_button(
            "autopeft JSON (config only)", config.to_json(indent=2) + "\n",
            file_name=f"{summary.name}-trial{record.number}-autopeft.json", mime="application/json", key="download_json",
        )
    if built is not None:
        cols = st.columns(len(built))
        for col, item in zip(cols, built):
            with col:
                if item.data is not None:
                    st.download_button(item.label, item.data, file_name=item.file_name, mime=item.mime, key=f"download_{item.format}")
                else:
                    st.warning(f"{item.label}: {item.error}")


def _grey_stopped(shown: Any) -> Any:
    """The table with the trials a multi-fidelity search stopped at a rung greyed (a pandas
    Styler); the table itself when it has none, or too many rows to style quickly."""
    stopped = (shown["state"] == "PRUNED") & shown["rung"].notna()
    if not stopped.any() or len(shown) > 5000:
        return shown
    grey = ["color: #9a9a9a"] * len(shown.columns)
    plain = [""] * len(shown.columns)
    return shown.style.apply(lambda row: grey if stopped.loc[row.name] else plain, axis=1)


def table_view(table: Any) -> None:
    states = sorted(table["state"].unique().tolist())
    c1, c2, c3 = st.columns([2, 3, 2])
    chosen = c1.multiselect("State", states, default=states, key="filter_states")
    counted = table["trainable_params"].dropna()
    param_range = None
    if len(counted) and counted.min() < counted.max():
        low, high = int(counted.min()), int(counted.max())
        picked = c2.slider("Trainable parameters", min_value=low, max_value=high, value=(low, high), key="filter_params")
        if picked != (low, high):
            param_range = (float(picked[0]), float(picked[1]))
    sort_by = c3.selectbox("Sort by", ["number", "score", "trainable_params", "percent_params", "duration_s", "state"], key="sort_by")
    descending = c3.toggle("descending", value=sort_by == "score", key="sort_desc")
    shown = filter_table(table, states=chosen, param_range=param_range, sort_by=sort_by, ascending=not descending)
    st.caption(f"{len(shown)} of {len(table)} trials")
    st.dataframe(
        _grey_stopped(shown),
        hide_index=True,
        key="trials_table",
        column_config={
            "percent_params": st.column_config.NumberColumn("% of backbone", format="%.4f"),
            "score": st.column_config.NumberColumn("score", format="%.4f"),
            "collapsed": st.column_config.CheckboxColumn("one class", help="the predictions collapsed to one class"),
            "majority_share": st.column_config.NumberColumn("majority share", format="%.3f"),
            "rung": st.column_config.NumberColumn("rung", help="multi-fidelity: the highest rung reached (0 = the lowest); "
                                                  "a PRUNED trial with a rung was stopped there", format="%d"),
            "rung_score": st.column_config.NumberColumn("score at rung", format="%.4f"),
        },
    )


def compare_view(url: str, current: str, options: dict[str, Any], epoch: int) -> None:

    studies = cached_studies(url, st.session_state.get("list_epoch", 0))
    names = [s.name for s in studies]
    if len(names) < 2:
        st.info("The store holds one study; run another (a second task, or another --sampler on this task) to compare fronts.")
        return
    chosen = st.multiselect("Studies to overlay", names, default=[current], key="compare_studies")
    if len(chosen) < 2:
        st.info("Pick two or more studies to overlay their Pareto fronts.")
        return
    fronts, rows = {}, []
    by_name = {s.name: s for s in studies}
    for name in chosen:
        points = cached_points(url, name, epoch, options["axis"])
        fronts[name] = points
        s = by_name[name]
        front = points[points["on_front"]]
        rows.append({"study": name, "task": s.task, "sampler": s.sampler, "complete": s.n_complete, "on front": len(front),
                     "best score": None if not len(front) else float(front["score"].max())})
    st.plotly_chart(compare_figure(fronts, axis=options["axis"], log=options["log"]), key="compare_chart")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="compare_table")


# --------------------------------------------------------------------------- page
def study_body(url: str, summary: Any, options: dict[str, Any]) -> None:
    epoch = data_epoch(options["live"], options["interval"])
    data = cached_study(url, summary.name, epoch)
    table = data["table"]
    st.header(summary.name)
    if not len(table):
        st.info(f"Study {summary.name!r} has no trials yet. They appear here as `autopeft search` runs them (turn on Live refresh).")
        return
    points = cached_points(url, summary.name, epoch, options["axis"])
    header(summary, table, points)
    if options["live"]:
        st.caption(f"live: read {time.strftime('%H:%M:%S', time.localtime(data['loaded']))}, refreshing every {options['interval']:g} s")
    finished = table[table["state"].isin(["COMPLETE", "FAIL"])]
    if len(finished) and (finished["state"] == "FAIL").all():
        last = table[table["state"] == "FAIL"].iloc[-1]
        st.warning(f"All {len(finished)} finished trials of {summary.name!r} failed, so there is no front to draw. Last error (trial {last['number']}): {last['error']}")
    tabs = st.tabs(PAGE_TABS)
    with tabs[0]:
        calibration_view(url, summary, epoch)
        pareto_view(url, summary, points, options, epoch)
    with tabs[1]:
        hypervolume_view(url, summary, epoch)
    with tabs[2]:
        detail_view(url, summary, data, points)
    with tabs[3]:
        table_view(table)
    with tabs[4]:
        compare_view(url, summary.name, options, epoch)


def main() -> None:
    st.set_page_config(page_title="autopeft dashboard", layout="wide")
    url = storage_url()
    if not url:
        st.title("autopeft dashboard")
        st.info(f"No study store given. Start the dashboard with `autopeft dashboard --storage sqlite:///autopeft.db` (or set {ENV_STORAGE}).")
        return
    try:
        picked = sidebar(url)
    except AutoPeftError as exc:
        st.title("autopeft dashboard")
        st.error(f"Cannot open the study store: {exc}")
        return
    if picked is None:
        return
    summary, options = picked
    run_every = options["interval"] if options["live"] else None
    st.fragment(run_every=run_every)(study_body)(url, summary, options)


main()
