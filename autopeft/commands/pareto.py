"""``autopeft pareto --study S [--json]``: the study's Pareto front (rank, trainable params, percent
of the backbone, score, a per-layer summary), with the baselines listed for comparison."""

from __future__ import annotations

import argparse
import json

from autopeft.store.storage import DEFAULT_STORAGE

HELP = "Print the Pareto front of a study (and its baselines)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="study name (see `autopeft studies`)")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL (default {DEFAULT_STORAGE})")
    parser.add_argument("--json", action="store_true", help="print JSON: {study, objectives, front: [...], baselines: [...]}")


def run(args: argparse.Namespace) -> int:
    from autopeft.service.report import front_rows, print_pareto
    from autopeft.store import load_study_summary, load_trials, pareto_front
    from autopeft.store.storage import check_reachable, open_storage

    storage = open_storage(check_reachable(args.storage, must_exist=True), create=False)
    if not args.json:
        print_pareto(storage, args.study)
        return 0
    summary = load_study_summary(storage, args.study)
    front = pareto_front(storage, args.study)
    baselines = [r for r in load_trials(storage, args.study, states=["COMPLETE"]) if r.baseline]
    out = {
        "study": args.study,
        "objectives": summary.objectives,
        "directions": summary.directions,
        "front": front_rows(front, summary.objectives),
        "baselines": front_rows(baselines, summary.objectives),
    }
    print(json.dumps(out, indent=2))
    return 0
