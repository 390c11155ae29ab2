"""``autopeft show --study S --trial N``: everything stored about one trial (config, metrics,
parameter counts, the share of its predictions in one class beside the constant predictor's
score, timings, worker, error), as a readable summary or ``--json``.

The summary rounds what it prints (scores to 4 decimals, counts with thousands separators,
:func:`autopeft.service.report.fmt_number`) and shows the configuration as a table with one row
per layer and one column per module field; ``--json`` keeps every stored digit.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from autopeft.store.storage import DEFAULT_STORAGE

HELP = "Show one trial of a study: its config, metrics, timings, worker and error."

#: Result fields of the summary, in order: (key, unit or note shown after the value).
RESULT_FIELDS: tuple[tuple[str, str], ...] = (
    ("trainable_params", " (PEFT modules; the task head excluded)"),
    ("percent_params", " % of the backbone"),
    ("head_params", " (the task head, trained beside the PEFT modules)"),
    ("adapter_bytes", " bytes"),
    ("peak_memory_mb", " MiB"),
    ("time_load_s", " s"),
    ("time_train_s", " s"),
    ("time_eval_s", " s"),
    ("examples_per_s", ""),
)
#: Result fields that are counts (thousands separators, never decimals).
COUNT_FIELDS = {"trainable_params", "head_params", "adapter_bytes"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="study name (see `autopeft studies`)")
    parser.add_argument("--trial", type=int, required=True, help="trial number")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL (default {DEFAULT_STORAGE})")
    parser.add_argument("--json", action="store_true", help="print the trial record as JSON (every stored digit)")


def _value_text(key: str, value: Any) -> str:
    from autopeft.service.report import fmt_count, fmt_number

    if key in COUNT_FIELDS or key == "params":
        return fmt_count(value)
    if key in ("time_load_s", "time_train_s", "time_eval_s", "examples_per_s", "peak_memory_mb") and isinstance(value, (int, float)):
        return f"{value:,.2f}" if not isinstance(value, bool) else str(value)
    return fmt_number(value)


def summary_lines(study: str, r: Any) -> list[str]:
    """The plain lines of the summary above the configuration table (``r``: a TrialRecord)."""
    from autopeft.service.report import fmt_number, layer_groups

    lines = [f"study {study}, trial {r.number}: {r.state}" + (f" (baseline {r.baseline})" if r.baseline else "")]
    if r.retry_of is not None:
        lines.append(f"re-run of trial {r.retry_of}")
    if r.values:
        lines.append("values: " + ", ".join(f"{k}={_value_text(k, v)}" for k, v in r.values.items()))
    measured = r.trial_result  # None until a worker answered
    for key, note in RESULT_FIELDS:
        value = None if measured is None else getattr(measured, key)
        if value is not None:
            lines.append(f"{key}: {_value_text(key, value)}{note}")
    if r.majority_share is not None or r.chance_score is not None:
        share = "-" if r.majority_share is None else f"{r.majority_share:.3f}"
        chance = "-" if r.chance_score is None else f"{r.chance_score:.4g}"
        flag = " (collapsed to one class: the score is the constant predictor's)" if r.collapsed else ""
        lines.append(f"majority share: {share}, chance score: {chance}{flag}")
    if measured is not None and measured.metrics:
        lines.append("metrics: " + ", ".join(f"{k}={fmt_number(v) if isinstance(v, (int, float)) else json.dumps(v)}" for k, v in measured.metrics.items()))
    if r.worker is not None and r.worker.host:
        lines.append(f"worker: {r.worker.host} (pid {r.worker.pid})")
    if r.duration_s is not None:
        lines.append(f"duration: {r.duration_s:.2f} s")
    if r.rejected:
        lines.append(f"rejected: {r.rejected}")
    if r.error:
        lines.append(f"error: {r.error}")
    if r.peft is not None:
        lines.append("layers:")
        lines.extend(f"  {line}" for line in layer_groups(r.peft))
    return lines


def run(args: argparse.Namespace) -> int:
    from autopeft.service.report import global_settings, layer_table, output_console
    from autopeft.store import load_trial

    record = load_trial(args.storage, args.study, args.trial)
    if args.json:
        print(json.dumps(record.to_dict(), indent=2, default=str))
        return 0
    console = output_console()
    console.print("\n".join(summary_lines(args.study, record)), markup=False, highlight=False)
    if record.peft is not None:
        console.print(layer_table(record.peft, title=f"configuration of trial {record.number} (one row per layer)"))
        console.print("global: " + ", ".join(f"{k}={v}" for k, v in global_settings(record.peft)), markup=False, highlight=False)
    return 0
