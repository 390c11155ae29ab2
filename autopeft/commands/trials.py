"""``autopeft trials --study S``: one row per trial of a study (number, state, baseline, score,
PEFT params, percent of the backbone, collapsed, the first line of its error), as a table, JSON or
CSV; ``--state`` keeps trials in the given states and ``--sort`` orders them.

The rows come from :func:`autopeft.store.fastread.read_study` (plain SQL, no Optuna ORM: fast on
large studies; the same records as :func:`autopeft.store.load_trials`); ``params`` is the PEFT
modules' count (the task head excluded), as everywhere else.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any, Sequence

from autopeft.store.storage import DEFAULT_STORAGE

HELP = "List the trials of a study (state, score, PEFT params, errors)."

#: ``--state`` choices -> Optuna's state names.
STATES = {"complete": "COMPLETE", "pruned": "PRUNED", "fail": "FAIL", "running": "RUNNING", "waiting": "WAITING"}
#: Columns of every output format, in order.
COLUMNS = ("number", "state", "baseline", "score", "params", "percent", "collapsed", "error")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="study name (see `autopeft studies`)")
    parser.add_argument("--state", action="append", choices=sorted(STATES), metavar="STATE",
                        help=f"keep trials in this state ({', '.join(STATES)}); repeat for several (default: all)")
    parser.add_argument("--sort", choices=("score", "params", "number"), default="number",
                        help="order: number (default, ascending), score (best first), params (fewest first); trials without one last")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list of rows")
    fmt.add_argument("--csv", action="store_true", help="print CSV with a header row")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL (default {DEFAULT_STORAGE})")


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else None


def trial_rows(records: Sequence[Any]) -> list[dict[str, Any]]:
    """One dict per record with the keys of :data:`COLUMNS` (``score`` only for COMPLETE trials)."""
    rows = []
    for r in records:
        rows.append({
            "number": r.number,
            "state": r.state,
            "baseline": r.baseline,
            "score": r.score if r.state == "COMPLETE" else None,
            "params": r.trainable_params,
            "percent": r.percent_params,
            "collapsed": r.collapsed,
            "error": _first_line(r.error) or (f"rejected: {r.rejected}" if r.rejected else None),
        })
    return rows


def sort_rows(rows: list[dict[str, Any]], key: str, maximize_score: bool = True) -> list[dict[str, Any]]:
    """``rows`` by ``number``, ``score`` (best first) or ``params`` (fewest first); rows without
    the key keep their number order after the others."""
    if key == "number":
        return sorted(rows, key=lambda row: row["number"])
    present = [row for row in rows if isinstance(row[key], (int, float)) and row[key] == row[key]]
    missing = [row for row in rows if row not in present]
    reverse = key == "score" and maximize_score
    present.sort(key=lambda row: (-row[key] if reverse else row[key], row["number"]))
    return present + sorted(missing, key=lambda row: row["number"])


def run(args: argparse.Namespace) -> int:
    from autopeft.store.fastread import SqlReader, read_study

    states = [STATES[s] for s in args.state] if args.state else None
    reader = SqlReader(args.storage)  # plain SQL, no Optuna ORM: fast on large studies
    try:
        summary, records = read_study(reader, args.study, states=states)
    finally:
        reader.close()
    rows = trial_rows(records)
    maximize = "score" not in summary.objectives or summary.directions[summary.objectives.index("score")] == "maximize"
    rows = sort_rows(rows, args.sort, maximize_score=maximize)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return 0
    from rich.table import Table

    from autopeft.service.report import cell, fmt_count, output_console

    shown = f"{len(rows)} of {summary.n_trials} trials" if states else f"{len(rows)} trials"
    table = Table(title=cell(f"trials of {args.study} ({shown}, by {args.sort})"))
    for name in ("trial", "state", "baseline", "score", "PEFT params", "% backbone", "one class", "error"):
        table.add_column(name, justify="left" if name in ("state", "baseline", "error") else "right")
    for row in rows:
        table.add_row(
            cell(row["number"]),
            cell(row["state"]),
            cell(row["baseline"] or "-"),
            cell("-" if row["score"] is None else f"{row['score']:.4f}"),
            cell(fmt_count(row["params"])),
            cell("-" if row["percent"] is None else f"{row['percent']:.3f}"),
            cell("yes" if row["collapsed"] else "-"),
            cell(row["error"] or "-"),
        )
    output_console().print(table)
    return 0
