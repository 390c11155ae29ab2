"""``autopeft show --study S --trial N``: everything stored about one trial (config, metrics,
timings, worker, error), as a readable summary or ``--json``."""

from __future__ import annotations

import argparse
import json

from autopeft.store.storage import DEFAULT_STORAGE

HELP = "Show one trial of a study: its config, metrics, timings, worker and error."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="study name (see `autopeft studies`)")
    parser.add_argument("--trial", type=int, required=True, help="trial number")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL (default {DEFAULT_STORAGE})")
    parser.add_argument("--json", action="store_true", help="print the trial record as JSON")


def run(args: argparse.Namespace) -> int:
    from autopeft.service.report import layer_groups
    from autopeft.store import load_trial

    record = load_trial(args.storage, args.study, args.trial)
    if args.json:
        print(json.dumps(record.to_dict(), indent=2, default=str))
        return 0
    lines = [f"study {args.study}, trial {record.number}: {record.state}" + (f" (baseline {record.baseline})" if record.baseline else "")]
    if record.retry_of is not None:
        lines.append(f"re-run of trial {record.retry_of}")
    if record.values:
        lines.append("values: " + ", ".join(f"{k}={v:.6g}" for k, v in record.values.items()))
    for key in ("trainable_params", "percent_params", "adapter_bytes", "peak_memory_mb", "time_load_s", "time_train_s", "time_eval_s", "examples_per_s"):
        if record.result.get(key) is not None:
            lines.append(f"{key}: {record.result[key]}")
    if record.metrics:
        lines.append("metrics: " + json.dumps(record.metrics))
    if record.worker_host:
        lines.append(f"worker: {record.worker_host} (pid {record.user_attrs.get('worker', {}).get('pid')})")
    if record.duration_s is not None:
        lines.append(f"duration: {record.duration_s:.2f} s")
    if record.rejected:
        lines.append(f"rejected: {record.rejected}")
    if record.error:
        lines.append(f"error: {record.error}")
    if record.config:
        lines.append("layers:")
        lines.extend(f"  {line}" for line in layer_groups(record.config))
        lines.append("config: " + json.dumps(record.config))
    print("\n".join(lines))
    return 0
