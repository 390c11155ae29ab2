"""Plotly figures of the dashboard (plain ``plotly.graph_objects``; no streamlit).

The front's log x axis is labelled at powers of ten with SI suffixes (``1k 10k 100k 1M``,
:func:`log_ticks`). Points are SVG scatter traces (not WebGL), so every plotted point is an element of the page
that the browser test can count, and a study of a few thousand trials still draws at once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from autopeft._lazy import lazy_module
from autopeft.viz.frames import cost_axis, front_line

if TYPE_CHECKING:
    import pandas as pd
    import numpy as np
    import plotly.graph_objects as go
else:
    go = lazy_module("plotly.graph_objects")
    np = lazy_module("numpy")

FRONT_COLOUR = "#d62728"
DOMINATED_COLOUR = "#b0b0b0"
#: Trials a multi-fidelity search stopped at a rung: lighter than the dominated ones, hollow.
STOPPED_COLOUR = "#d9d9d9"
BASELINE_COLOUR = "#1f77b4"
#: Colours of the studies overlaid by :func:`compare_figure`, in order.
STUDY_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")

#: Marker symbol of a trial whose predictions collapsed to one class (its score is the constant
#: predictor's, see :attr:`autopeft.store.TrialRecord.collapsed`), by the trace's own symbol.
COLLAPSED_SYMBOLS = {"circle": "x", "diamond": "diamond-x"}

_HOVER = (
    "trial %{customdata[0]}<br>score %{y:.4f}%{customdata[4]}<br>PEFT params %{customdata[1]:,}"
    "<br>%{customdata[2]:.4f} % of backbone<br>%{customdata[3]}<extra></extra>"
)


def _collapse_note(points: "pd.DataFrame") -> list[str]:
    """The hover line of each point: empty, or why its score says nothing."""
    notes = []
    for collapsed, share, chance in zip(points["collapsed"].tolist(), points["majority_share"].tolist(), points["chance_score"].tolist()):
        if not collapsed:
            notes.append("")
            continue
        chance_text = "" if chance != chance or chance is None else f", chance {chance:.4f}"
        notes.append(f" (collapsed: {100 * share:.0f} % of predictions in one class{chance_text})")
    return notes


def _custom(points: "pd.DataFrame") -> "np.ndarray":
    """The hover data of each point, one row per point (number, params, percent, label, note), as
    one object array: plotly validates and copies an array at once, not value by value."""
    params = points["trainable_params"].fillna(0).astype("int64").tolist()
    percent = points["percent_params"].fillna(float("nan")).tolist()
    label = [f"baseline {b}: {s}" if isinstance(b, str) else s for b, s in zip(points["baseline"].tolist(), points["summary"].tolist())]
    out = np.empty((len(points), 5), dtype=object)
    if len(points):
        out[:, 0] = points["number"].astype("int64").tolist()
        out[:, 1] = params
        out[:, 2] = percent
        out[:, 3] = label
        out[:, 4] = _collapse_note(points)
    return out


def _symbols(points: "pd.DataFrame", symbol: str) -> "np.ndarray":
    """One marker symbol per point: ``symbol``, or its crossed variant where the trial collapsed."""
    # a numpy array: plotly checks it at once, a list of thousands of strings one by one
    return np.array([COLLAPSED_SYMBOLS[symbol] if c else symbol for c in points["collapsed"].tolist()], dtype=str)


def si_text(value: float) -> str:
    """A tick label with an SI suffix: ``1k``, ``20k``, ``1M``; below 1 as written (``0.01``)."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:g}{suffix}"
    return f"{value:g}"


def log_ticks(values: Sequence[float]) -> tuple[list[float], list[str], list[float]] | None:
    """Ticks of a log axis over ``values``: ``(tickvals, ticktext, range)``.

    Ticks sit at the powers of ten that enclose the positive values (``1k 10k 100k 1M``), with
    2x and 5x between them when the values span two decades or less, labelled with SI suffixes
    (:func:`si_text`); ``range`` (log10 units, as plotly takes it) shows exactly those decades, so
    at least two labelled ticks are always on screen. Plotly's own log ticks label the minor
    ticks ``2 3 ... 9`` and read as ``5 6 7 8 9 100k 2 3``. None when no value is positive.
    """
    positive = [float(v) for v in values if v is not None and v == v and float(v) > 0]
    if not positive:
        return None
    low = math.floor(math.log10(min(positive)) + 1e-9)
    high = math.ceil(math.log10(max(positive)) - 1e-9)
    if high <= low:
        high = low + 1
    steps = (1, 2, 5) if high - low <= 2 else (1,)
    ticks = [step * 10.0**k for k in range(low, high) for step in steps] + [10.0**high]
    pad = 0.04 * (high - low)
    return ticks, [si_text(t) for t in ticks], [low - pad, high + pad]


def _xaxis(axis: str, log: bool, costs: Sequence[float] = ()) -> dict[str, Any]:
    """The x axis of a front: log with :func:`log_ticks` (readable decades), or linear with
    SI-suffixed counts (``100k`` rather than ``100000``) on the parameter and byte axes."""
    out: dict[str, Any] = {"title": {"text": cost_axis(axis).label}, "type": "log" if log else "linear"}
    if log:
        ticks = log_ticks(costs)
        if ticks is not None:
            out.update(tickmode="array", tickvals=ticks[0], ticktext=ticks[1], range=ticks[2])
    elif axis != "percent":
        out["tickformat"] = "~s"
    return out


def _step_trace(line: "pd.DataFrame", name: str, colour: str, **kwargs: Any) -> "go.Scatter":
    # "hv": the front holds its score until the next cost; the staircase a dominated region has.
    return go.Scatter(x=line["cost"], y=line["score"], mode="lines", line={"shape": "hv", "color": colour, "width": 2}, name=name, hoverinfo="skip", **kwargs)


_STOPPED_HOVER = (
    "trial %{customdata[0]} (stopped at rung %{customdata[5]})<br>score %{y:.4f} at that rung<br>PEFT params %{customdata[1]:,}"
    "<br>%{customdata[2]:.4f} % of backbone<br>%{customdata[3]}<extra></extra>"
)


def _stopped_trace(stopped: "pd.DataFrame") -> "go.Scatter":
    """The trials a multi-fidelity search stopped at a rung, greyed and hollow, their score the
    one at the rung where they stopped (which rung on hover)."""
    custom = np.empty((len(stopped), 6), dtype=object)
    if len(stopped):
        custom[:, :5] = _custom(stopped)
        custom[:, 5] = stopped["rung"].astype("int64").tolist()
    return go.Scatter(
        x=stopped["cost"].to_numpy(dtype=float), y=stopped["rung_score"].to_numpy(dtype=float), mode="markers",
        name=f"stopped at a rung ({len(stopped)})",
        marker={"color": STOPPED_COLOUR, "size": 6, "opacity": 0.8, "symbol": "circle-open", "line": {"color": DOMINATED_COLOUR, "width": 1}},
        customdata=custom, hovertemplate=_STOPPED_HOVER,
    )


def pareto_figure(points: "pd.DataFrame", *, axis: str = "params", log: bool = True, title: str | None = None,
                  stopped: "pd.DataFrame | None" = None) -> "go.Figure":
    """Score vs cost: dominated search trials grey, the front red and joined by a step line,
    baselines as labelled blue diamonds; a trial whose predictions collapsed to one class is
    drawn crossed (:data:`COLLAPSED_SYMBOLS`) and says so on hover. ``points`` is
    :func:`autopeft.viz.frames.front_points`; ``stopped`` (:func:`autopeft.viz.frames.stopped_points`,
    multi-fidelity studies) adds the trials stopped at a rung, greyed, with their rung on hover."""
    search = points[points["kind"] == "search"]
    dominated = search[~search["on_front"]]
    front = search[search["on_front"]]
    baselines = points[points["kind"] == "baseline"]
    traces = []  # each checked by plotly as it is built (the bulk one from arrays, unchecked), not again by the figure
    if stopped is not None and len(stopped):
        traces.append(_stopped_trace(stopped))
    if len(front):
        traces.append(_step_trace(front_line(points), "front (step)", FRONT_COLOUR, showlegend=False))
    traces.append(
        go.Scatter(  # the bulk of the points (thousands): built from plain arrays, not checked value by value
            x=dominated["cost"].to_numpy(dtype=float), y=dominated["score"].to_numpy(dtype=float), mode="markers", name=f"dominated ({len(dominated)})",
            marker=go.scatter.Marker(color=DOMINATED_COLOUR, size=7, opacity=0.7, symbol=_symbols(dominated, "circle"), _validate=False),
            customdata=_custom(dominated), hovertemplate=_HOVER, _validate=False,
        )
    )
    traces.append(
        go.Scatter(
            x=front["cost"], y=front["score"], mode="markers", name=f"Pareto front ({len(front)})",
            marker={"color": FRONT_COLOUR, "size": 10, "line": {"color": "black", "width": 1}, "symbol": _symbols(front, "circle")}, customdata=_custom(front), hovertemplate=_HOVER,
        )
    )
    if len(baselines):
        traces.append(
            go.Scatter(
                x=baselines["cost"], y=baselines["score"], mode="markers+text", name=f"baselines ({len(baselines)})",
                text=baselines["baseline"], textposition="top center",
                marker={"color": BASELINE_COLOUR, "size": 12, "symbol": _symbols(baselines, "diamond"), "line": {"color": "black", "width": 1}},
                customdata=_custom(baselines), hovertemplate=_HOVER,
            )
        )
    # a figure built with add_trace validates (and copies) every trace again: 10,000 marker symbols one by one
    fig = go.Figure(data=traces, _validate=False)
    fig.update_layout(
        title=title, xaxis=_xaxis(axis, log, points["cost"].tolist() + ([] if stopped is None else stopped["cost"].tolist())), yaxis={"title": {"text": "score"}}, legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 20, "t": 40 if title else 20, "b": 60}, height=480,
    )
    return fig


def hypervolume_figure(curve: "pd.DataFrame", *, title: str | None = None) -> "go.Figure":
    """Hypervolume (y) after each finished search trial (x)."""
    fig = go.Figure(
        go.Scatter(x=curve["number"], y=curve["hypervolume"], mode="lines+markers", line={"shape": "hv", "color": FRONT_COLOUR}, marker={"size": 4}, name="hypervolume")
    )
    fig.update_layout(title=title, xaxis={"title": {"text": "trial number"}}, yaxis={"title": {"text": "hypervolume"}}, height=360, margin={"l": 60, "r": 20, "t": 40 if title else 20, "b": 50})
    return fig


def config_heatmap(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]], *, title: str | None = None) -> "go.Figure":
    """Layers x module types, coloured by module size, each cell labelled with its size."""
    text = [[("" if v == 0 else f"{v:g}") for v in row] for row in values]
    fig = go.Figure(
        go.Heatmap(
            z=values, x=list(columns), y=list(rows), text=text, texttemplate="%{text}", colorscale="Blues", zmin=0,
            hovertemplate="%{y}, %{x}: %{z:g}<extra></extra>", colorbar={"title": {"text": "size"}},
        )
    )
    fig.update_layout(title=title, yaxis={"autorange": "reversed"}, height=max(240, 40 + 32 * len(rows)), margin={"l": 70, "r": 20, "t": 40 if title else 20, "b": 40})
    return fig


def compare_figure(fronts: Mapping[str, "pd.DataFrame"], *, axis: str = "params", log: bool = True) -> "go.Figure":
    """The fronts of several studies on one plane (each study's front points and step line).

    ``fronts``: study name -> :func:`autopeft.viz.frames.front_points` of that study.
    """
    fig = go.Figure()
    for i, (name, points) in enumerate(fronts.items()):
        colour = STUDY_COLOURS[i % len(STUDY_COLOURS)]
        line = front_line(points)
        front = points[points["on_front"]]
        fig.add_trace(_step_trace(line, f"{name} (step)", colour, showlegend=False, legendgroup=name))
        fig.add_trace(
            go.Scatter(
                x=front["cost"], y=front["score"], mode="markers", name=f"{name} ({len(front)} on front)", legendgroup=name,
                marker={"color": colour, "size": 9}, customdata=_custom(front), hovertemplate=f"{name}<br>" + _HOVER,
            )
        )
    costs = [c for points in fronts.values() for c in points["cost"].tolist()]
    fig.update_layout(xaxis=_xaxis(axis, log, costs), yaxis={"title": {"text": "score"}}, legend={"orientation": "h", "y": -0.2}, height=480, margin={"l": 60, "r": 20, "t": 20, "b": 60})
    return fig
