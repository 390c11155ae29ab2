"""``autopeft studies``: the studies in a store, with their task, model, sampler and progress.

Cells are markup-escaped and a piped table is printed whole (:func:`autopeft.service.report.output_console`)."""

from __future__ import annotations

import argparse
import json

from autopeft.store.storage import DEFAULT_STORAGE

HELP = "List the studies in a study store."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL (default {DEFAULT_STORAGE})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from autopeft.store.fastread import SqlReader, read_studies

    reader = SqlReader(args.storage)  # aggregate queries, no Optuna ORM: fast on large stores
    try:
        studies = read_studies(reader)
    finally:
        reader.close()
    if args.json:
        print(json.dumps([s.to_dict() | {"metadata": {k: v for k, v in s.metadata.items() if k != "space_yaml"}} for s in studies], indent=2, default=str))
        return 0
    from rich.table import Table

    from autopeft.service.report import cell, output_console
    from autopeft.store.storage import redact_url

    table = Table(title=cell(f"studies in {redact_url(args.storage)}"))
    for name in ("study", "task", "model", "space", "sampler", "done/budget", "failed", "running", "best score"):
        table.add_column(name)
    for s in studies:
        model = str(s.model or "-").rstrip("/").split("/")[-1]
        if model == "model":  # a local folder such as .../all-MiniLM-L6-v2/model
            model = str(s.model).rstrip("/").split("/")[-2]
        table.add_row(*(cell(v) for v in (
            s.name,
            s.task or "-",
            model,
            s.space_name or "-",
            s.sampler or "-",
            f"{s.n_search_complete}/{s.budget or '-'}",
            s.n_failed,
            s.n_running,
            "-" if s.best_score is None else f"{s.best_score:.4f}",
        )))
    output_console().print(table)
    return 0
