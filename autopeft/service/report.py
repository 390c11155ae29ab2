"""The tables the CLI prints: the Pareto table (end of a search, ``autopeft pareto``), and the
console, number formats and per-layer configuration table every read command shares.

Built only from :mod:`autopeft.store`'s read API: rank, trainable PEFT params (the task head
excluded, the count the sampler and ``--max-params`` use), percent of the backbone, score, the
other objectives, and a per-layer summary of the config; baselines listed below the front for
comparison. A trial whose predictions collapsed to one class (``TrialRecord.collapsed``) has
its score marked ``(one class)``: that score says nothing about the configuration.

The front is ranked with the baselines counted as points (:func:`autopeft.store.pareto_front`
with ``count_baselines=True``): a search configuration a baseline beats on every objective is
not on it, since a hand-designed recipe already does better.

Every cell goes through :func:`cell` (``rich.markup.escape``): a summary such as
``L0: LoRA[q16 k16 v2]`` would otherwise lose ``[q16 k16 v2]`` to Rich's markup parser. When
stdout is not a terminal (a pipe, a file, a test's capture) :func:`output_console` prints at a
width no table reaches, so nothing is cut to 80 columns or ellipsised.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from autopeft.methods.registry import REGISTRY

#: Suffix of the score of a trial whose predictions collapsed to one class.
COLLAPSED_MARK = "(one class)"

#: Console width used when stdout is not a terminal: wide enough that Rich never wraps or
#: truncates a table cell (a terminal keeps its own width).
PLAIN_WIDTH = 100_000

#: Columns of :func:`layer_table`: (header, LayerConfig field, LoRA-style projection or None),
#: one per field of every registered PEFT method (``lora.query``, ..., ``ia3``, ``dora.value``).
LAYER_FIELDS: tuple[tuple[str, str, str | None], ...] = tuple(
    (space_name, field.name, space_name.partition(".")[2] or None) for field in REGISTRY.fields() for space_name in field.space_fields()
)


# --------------------------------------------------------------------------- console and cells
def output_console(file: Any = None) -> Any:
    """A Rich console for a command's stdout: the terminal's width on a terminal; otherwise
    plain text (no colour, no control codes) at :data:`PLAIN_WIDTH`, so piped tables come out
    whole instead of cut to 80 columns."""
    import sys

    from rich.console import Console

    stream = file if file is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return Console(file=file)
    return Console(file=file, width=PLAIN_WIDTH, soft_wrap=True, no_color=True, highlight=False, force_terminal=False, emoji=False)


def cell(value: Any) -> str:
    """``value`` as table-cell text with Rich markup escaped (``[q16 k16 v2]`` stays as written)."""
    from rich.markup import escape

    return escape("-" if value is None else str(value))


def fmt_count(value: Any) -> str:
    """A count with thousands separators (``12,345``); ``-`` for None; other values as text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer()):
        return f"{int(value):,}"
    return fmt_number(value)


def fmt_number(value: Any) -> str:
    """A number people read at a glance: integers (and integral floats) with thousands
    separators, other floats with 4 decimals (``0.3331``), 4 significant digits below 0.01
    (``0.0005432``), one decimal and separators from 1,000 up; ``-`` for None. Scores and
    fractions keep the digits that tell two trials apart; nothing prints 17 of them."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    if value != 0 and abs(value) < 0.01:
        return f"{value:.4g}"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    return f"{value:.4f}"


# --------------------------------------------------------------------------- configurations
def layer_groups(config: Any) -> list[str]:
    """A per-layer summary of a :class:`~autopeft.PeftConfig` (None: ``[]``) with identical
    layers grouped: ``["L0,2,3: SA96 LoRA[q8 v8]"]``."""
    if config is None:
        return []
    groups: dict[str, list[int]] = {}
    for index, layer in enumerate(config.layers):
        if not layer.is_empty:
            groups.setdefault(layer.summary(), []).append(index)
    if not groups:
        return ["(no PEFT modules)"]
    return [f"L{','.join(map(str, layers))}: {text}" for text, layers in groups.items()]


def layer_rows(config: Any) -> list[list[str]]:
    """One row per layer of ``config`` (a :class:`~autopeft.PeftConfig`): the layer index, then
    each :data:`LAYER_FIELDS` value (``-`` where the module is absent, ``yes`` for (IA)^3)."""
    rows = []
    for index, layer in enumerate(config.layers):
        row = [str(index)]
        for _, name, projection in LAYER_FIELDS:
            value = getattr(layer, name)
            if projection is not None:
                value = value.get(projection, 0)
            if isinstance(value, bool):
                row.append("yes" if value else "-")
            else:
                row.append(f"{value:,}" if value else "-")
        rows.append(row)
    return rows


def layer_table(config: Any, title: str | None = None) -> Any:
    """A Rich table of ``config``: one row per layer, one column per module field
    (:data:`LAYER_FIELDS`: adapter bottlenecks, prefix length, the LoRA rank of each projection, ia3)."""
    from rich.table import Table

    table = Table(title=None if title is None else cell(title))
    table.add_column("layer", justify="right")
    for header, _, _ in LAYER_FIELDS:
        table.add_column(header, justify="right")
    for row in layer_rows(config):
        table.add_row(*(cell(v) for v in row))
    return table


def global_settings(config: Any) -> list[tuple[str, str]]:
    """The global knobs of a :class:`~autopeft.PeftConfig` (LoRA alpha and its rule, dropout,
    adapter activation, parallel-adapter scaling, prefix reparameterisation), as (name, text)
    pairs; a knob the stored config left out holds its default."""
    from autopeft.config import GLOBAL_DEFAULTS

    out = []
    for key, default in GLOBAL_DEFAULTS.items():
        value = getattr(config, key, default)
        out.append((key, fmt_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)))
    return out


def _layer_summary(config: Any) -> str:
    return "\n".join(layer_groups(config)) or "-"


# --------------------------------------------------------------------------- the Pareto table
def front_rows(front: Sequence[Any], objectives: Sequence[str], *, on_front: set[int] | None = None) -> list[dict[str, Any]]:
    """JSON-friendly rows: rank, trial, baseline, PEFT params (``trainable_params``, head excluded),
    percent, head params, score, majority share, chance score, collapsed, other objectives, layers.

    ``on_front``: trial numbers of the front counted with the baselines; when given, each row
    says ``on_front`` (how the baselines listed below the front are told apart)."""
    rows = []
    for rank, record in enumerate(front, start=1):
        row: dict[str, Any] = {
            "rank": rank if record.baseline is None else None,
            "trial": record.number,
            "baseline": record.baseline,
            "trainable_params": record.trainable_params,
            "percent_params": record.percent_params,
            "head_params": record.head_params,
            "score": (record.values or {}).get("score"),
            "majority_share": record.majority_share,
            "chance_score": record.chance_score,
            "collapsed": record.collapsed,
        }
        if on_front is not None:
            row["on_front"] = record.number in on_front
        for name in objectives:
            if name not in ("score", "params"):
                row[name] = (record.values or {}).get(name)
        row["layers"] = layer_groups(record.peft)
        row["config"] = None if record.peft is None else record.peft.to_dict()
        rows.append(row)
    return rows


def _pareto_cells(record: Any, extra: Sequence[str]) -> list[str]:
    """The cells after the rank of one Pareto-table row, markup escaped."""
    values = record.values or {}
    pct = record.percent_params
    score = "-" if values.get("score") is None else f"{values['score']:.4f}"
    if record.collapsed:
        score = f"{score} {COLLAPSED_MARK}"
    return [
        cell(record.number),
        cell(fmt_count(record.trainable_params)),
        cell("-" if pct is None else f"{pct:.3f}"),
        cell(score),
        *(cell("-" if values.get(o) is None else f"{values[o]:.4g}") for o in extra),
        cell(_layer_summary(record.peft)),
    ]


def pareto_table(front: Sequence[Any], baselines: Sequence[Any], objectives: Sequence[str], title: str,
                 *, baselines_on_front: set[int] | None = None) -> Any:
    """A rich Table of the front (ranked) followed by the baselines (dimmed); a baseline no
    trial dominates (its number in ``baselines_on_front``) is marked ``(on front)``."""
    from rich.table import Table

    extra = [o for o in objectives if o not in ("score", "params")]
    table = Table(title=cell(title))
    for name in ("rank", "trial", "PEFT params", "% backbone", "score", *extra, "layers"):
        table.add_column(name, justify="left" if name == "layers" else "right")
    for rank, record in enumerate(front, start=1):
        table.add_row(cell(rank), *_pareto_cells(record, extra))
    if baselines:
        table.add_section()
        for record in baselines:
            mark = " (on front)" if baselines_on_front and record.number in baselines_on_front else ""
            # [dim] is our own markup around the escaped name.
            table.add_row(f"[dim]{cell(record.baseline)}{mark}[/dim]", *_pareto_cells(record, extra))
    return table


def load_pareto(storage: Any, study: str) -> tuple[Any, list[Any], list[Any], set[int]]:
    """``(summary, front, baselines, baselines_on_front)``: the search configurations no other
    trial dominates, baselines counted (``pareto_front(..., count_baselines=True)``), best score
    first; the completed baselines; and the numbers of the baselines no trial dominates.

    Read by :func:`autopeft.store.fastread.read_front` (plain SQL: the values decide the front,
    only the front's and the baselines' records are decoded), not through Optuna's ORM, so a
    10,000-trial study prints in about a second."""
    from autopeft.store.fastread import read_front

    return read_front(storage, study)


def print_pareto(storage: Any, study: str, *, console: Any = None) -> None:
    """Print the study's Pareto table (front plus completed baselines)."""
    summary, front, baselines, baselines_on_front = load_pareto(storage, study)
    console = console or output_console()
    title = f"Pareto front of {study} ({len(front)} configs, ranked with the baselines counted; baselines below)"
    console.print(pareto_table(front, baselines, summary.objectives, title, baselines_on_front=baselines_on_front))
    if not front and summary.n_search_complete:
        console.print("No search configuration is on the front: a baseline is at least as good as each one on every objective "
                      "and better on one.", markup=False)
    if any(r.collapsed for r in [*front, *baselines]):
        console.print(f"{COLLAPSED_MARK}: the trial's predictions put almost every evaluation example in one class, so its "
                      "score is the constant predictor's; a longer fidelity (or another learning rate) is needed to rank it.",
                      markup=False)
