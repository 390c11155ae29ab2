"""``autopeft calibrate``: does a fidelity rank configurations like a longer one on this task?

It trains ``--configs`` configurations (the hand-designed baselines, then samples of ``--space``
spread over sizes) at ``--fidelity`` with two seeds and once at ``--reference``, on Ray workers
as a search does, prints each configuration's scores, Spearman's rho, Kendall's tau, seed noise
against the spread across configurations, how many score at chance, and a one-line verdict,
and records the calibration in the study store beside the task's studies: ``autopeft search``
then warns when it runs at a fidelity found blind, and the dashboard shows the verdict.
"""

from __future__ import annotations

import argparse
from typing import TextIO
import json
import math
import sys

from autopeft.calibration.run import CalibrationSpec, Run, run_calibration
from autopeft.store.calibrations import CalibrationRecord
from autopeft.tasks.options import add_task_arguments, task_reference

HELP = "Check that a fidelity ranks configurations like a >= 5x longer reference on a task, and record it."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_task_arguments(parser)
    parser.add_argument("--model", help="model id or local path (default: the local all-MiniLM-L6-v2)")
    parser.add_argument("--fidelity", default="quick", help="the fidelity to check: a preset or PRESET:key=value,... (default quick)")
    parser.add_argument("--reference", default="standard", help="the longer fidelity it must rank like, >= 5x its steps (default standard)")
    parser.add_argument("--configs", type=int, default=12, help="configurations trained (default 12: the 6 baselines + 6 space samples)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per configuration at --fidelity (default 2)")
    parser.add_argument("--space", default="autopeft", help="space the samples come from (default autopeft)")
    parser.add_argument("--storage", default="sqlite:///autopeft.db", help="study store the calibration is recorded in")
    parser.add_argument("--workers", type=int, default=1, help="parallel Ray trial workers")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--gpus-per-trial", type=float, default=0.0)
    parser.add_argument("--ray-address", help="join this Ray cluster instead of starting a local one")
    parser.add_argument("--json", action="store_true", help="print the calibration record as JSON")


def _score(value: float | None) -> str:
    return "failed" if value is None else f"{value:.3f}"


def print_record(record: CalibrationRecord, out: TextIO = sys.stdout) -> None:
    """The per-configuration table, the signal statistics and the verdict."""
    print(f"calibration of {record.fidelity} against {record.reference} on {record.task} ({record.model})", file=out)
    print(f"{'config':<16} {'params':>10}  {record.fidelity + ' (per seed)':<24} {record.reference:>10}  at chance", file=out)
    for row in record.rows:
        scores = " ".join(_score(s) for s in row.scores)
        name = row.name + (" *" if row.baseline else "")
        print(f"{name:<16} {row.params:>10,}  {scores:<24} {_score(row.reference):>10}  {'yes' if row.at_chance else 'no'}", file=out)
    rho = "n/a" if record.spearman is None else f"{record.spearman:.3f}"
    tau = "n/a" if record.kendall is None else f"{record.kendall:.3f}"
    ratio = "inf" if not math.isfinite(record.noise_ratio) else f"{record.noise_ratio:.3f}"
    print(f"spearman rho {rho}   kendall tau {tau}   noise {record.noise:.4f}   spread {record.spread:.4f}   noise/spread {ratio}", file=out)
    print(f"at chance: {record.configs_at_chance} of {len(record.rows)} configurations, {record.baselines_at_chance} baseline(s)   (* = baseline)", file=out)
    print(record.verdict, file=out)


def run(args: argparse.Namespace) -> int:
    spec = CalibrationSpec(
        task=task_reference(args, required=True), model=args.model, data_dir=args.data_dir, fidelities=(args.fidelity,), reference=args.reference,
        configs=args.configs, seeds=args.seeds, space=args.space, workers=args.workers,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial, ray_address=args.ray_address,
    )

    def progress(run: Run, done: int, total: int) -> None:
        print(f"[{done}/{total}] {run.name} at {run.fidelity} seed {run.seed}: {_score(run.result.get('score'))}", file=sys.stderr, flush=True)

    (record,) = run_calibration(spec, storage=args.storage, on_run=progress)
    if args.json:
        data = record.to_dict()
        data["noise_ratio"] = None if not math.isfinite(record.noise_ratio) else record.noise_ratio
        print(json.dumps(data, indent=2))
    else:
        print_record(record)
        print(f"recorded as {record.study_name} in {args.storage}")
    return 0
