"""``autopeft pareto --study S [--json | --csv]``: the study's Pareto front (rank, trainable PEFT
params with the task head excluded, percent of the backbone, score marked ``(one class)`` where
the trial's predictions collapsed, a per-layer summary), with the baselines listed for comparison.

The front is ranked with the baselines counted as points: a search configuration a baseline
dominates is not on it. ``--json`` and ``--csv`` carry the same rows (``--csv``: one line per
front configuration, then one per baseline, for spreadsheets and ``pandas.read_csv``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from autopeft.store.storage import DEFAULT_STORAGE

HELP = "Print the Pareto front of a study (and its baselines)."

#: Leading columns of ``--csv``; the study's other objectives follow, then ``layers``.
CSV_COLUMNS = ("rank", "trial", "baseline", "on_front", "trainable_params", "percent_params", "head_params", "score",
               "majority_share", "chance_score", "collapsed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="study name (see `autopeft studies`)")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL (default {DEFAULT_STORAGE})")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON: {study, objectives, front: [...], baselines: [...]}")
    fmt.add_argument("--csv", action="store_true", help="print CSV: one row per front configuration, then one per baseline")


def write_csv(rows: list[dict[str, Any]], objectives: list[str], out: Any = None) -> None:
    """``rows`` (:func:`autopeft.service.report.front_rows`) as CSV; ``layers`` joined by `` | ``."""
    extra = [o for o in objectives if o not in ("score", "params")]
    columns = [*CSV_COLUMNS, *extra, "layers"]
    writer = csv.DictWriter(out or sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**{k: ("" if row.get(k) is None else row.get(k)) for k in columns}, "layers": " | ".join(row["layers"])})


def run(args: argparse.Namespace) -> int:
    from autopeft.service.report import front_rows, load_pareto, print_pareto
    from autopeft.store.fastread import SqlReader

    storage = SqlReader(args.storage)  # plain SQL, no Optuna ORM: fast on large studies
    try:
        if not (args.json or args.csv):
            print_pareto(storage, args.study)
            return 0
        summary, front, baselines, baselines_on_front = load_pareto(storage, args.study)
    finally:
        storage.close()
    on_front = {r.number for r in front} | baselines_on_front
    front_out = front_rows(front, summary.objectives, on_front=on_front)
    baseline_out = front_rows(baselines, summary.objectives, on_front=on_front)
    if args.csv:
        write_csv(front_out + baseline_out, summary.objectives)
        return 0
    out = {
        "study": args.study,
        "objectives": summary.objectives,
        "directions": summary.directions,
        "front": front_out,
        "baselines": baseline_out,
    }
    print(json.dumps(out, indent=2))
    return 0
