"""Calibration tables behind the fidelity presets' docstrings (`autopeft.proxy.fidelity`).

For each task it runs `autopeft.calibration.run_calibration`: 12 configurations (the six
hand-designed baselines and six samples of the AutoPEFT space spread over sizes), the presets
under test with two seeds each, and the reference (`standard`, 5x quick's steps) once, on
two Ray workers of one CPU each. It prints and keeps, per task and preset: Spearman's rho and
Kendall's tau against the reference, seed noise against the spread across configurations,
configurations and baselines at chance, the verdict, and every configuration's scores.

    python benchmarks/proxy_fidelity.py --data-dir ../shared/data            # all tasks
    python benchmarks/proxy_fidelity.py --tasks glue/rte --fidelities quick  # one
    python benchmarks/proxy_fidelity.py --report                             # tables only

Records go to ``benchmarks/results/proxy_fidelity.json`` (a rerun replaces the records of the
fidelities it ran and keeps the task's others; a kept record's ``note`` says how it was made)
and the tables to ``benchmarks/results/proxy_fidelity.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
RECORDS = RESULTS / "proxy_fidelity.json"
TABLE = RESULTS / "proxy_fidelity.md"
TASKS = ("glue/sst2", "glue/rte", "bbcnews")


def _load() -> dict:
    return json.loads(RECORDS.read_text()) if RECORDS.exists() else {}


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a" if value is None else "inf"
    return f"{value:.{digits}f}"


def report() -> str:
    data = _load()
    lines = ["# Proxy fidelity calibration", "",
             "MiniLM (all-MiniLM-L6-v2). Per task, 12 configurations (6 baselines, 6 samples of `autopeft.yaml` spread",
             "over sizes) at each preset with seeds 0 and 1, and once at the reference. rho / tau: rank correlation of the",
             "seed means with the reference; noise: pooled seed-to-seed sd; spread: sd of the configurations' seed means.",
             "Thresholds: rho >= 0.6, noise/spread <= 0.5, no baseline at chance. Made by `benchmarks/proxy_fidelity.py`.", "",
             "| task | fidelity (steps) | reference (steps) | rho | tau | noise | spread | noise/spread | at chance (baselines) | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for task, entry in data.items():
        for record in entry["records"]:
            extra = record.get("extra") or {}
            lines.append(
                f"| {task} | {record['fidelity']} ({extra.get('steps')}) | {record['reference']} ({extra.get('reference_steps')}) | "
                f"{_fmt(record['spearman'], 2)} | {_fmt(record['kendall'], 2)} | {_fmt(record['noise'])} | {_fmt(record['spread'])} | "
                f"{_fmt(record['noise_ratio'], 2)} | {record['configs_at_chance']} ({record['baselines_at_chance']}) | "
                f"{'ranks' if record['ranks'] else 'blind'} |")
    for task, entry in data.items():
        records = entry["records"]
        lines += ["", f"## {task}", "", f"{entry.get('seconds', 0):.0f} s on {entry.get('workers')} worker(s).", ""]
        header = "| config | params | " + " | ".join(f"{r['fidelity']} seeds" for r in records) + f" | {records[0]['reference']} |"
        lines += [header, "|" + "---|" * (3 + len(records))]
        for index, row in enumerate(records[0]["rows"]):
            cells = []
            for record in records:
                mine = record["rows"][index]
                cell = " / ".join(_fmt(s) for s in mine["scores"])
                cells.append(cell + (" (chance)" if mine["at_chance"] else ""))
            name = row["name"] + (" (baseline)" if row["baseline"] else "")
            lines.append(f"| {name} | {row['params']:,} | " + " | ".join(cells) + f" | {_fmt(row['reference'])} |")
        lines += ["", *[f"- {r['fidelity']}: {r['verdict']}" + (f" ({r['note']})" if r.get("note") else "") for r in records]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--fidelities", nargs="+", default=["quick", "tiny"])
    parser.add_argument("--reference", default="standard")
    parser.add_argument("--configs", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="write and print the tables of the kept records")
    args = parser.parse_args(argv)
    if not args.report:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        from autopeft.calibration.run import CalibrationSpec, run_calibration

        for task in args.tasks:
            data_dir = args.data_dir if task.startswith(("glue/", "superglue/")) else None  # bbcnews reads its package
            spec = CalibrationSpec(task=task, data_dir=data_dir, fidelities=tuple(args.fidelities), reference=args.reference,
                                   configs=args.configs, workers=args.workers, cpus_per_trial=1.0)
            start = time.perf_counter()

            def progress(run, done: int, total: int) -> None:
                score = run.result.get("score")
                print(f"{task} [{done}/{total}] {run.name} {run.fidelity} seed {run.seed}: {score}", flush=True)

            records = run_calibration(spec, on_run=progress)
            data = _load()
            fresh = [{**r.to_dict(), "noise_ratio": r.noise_ratio if math.isfinite(r.noise_ratio) else None} for r in records]
            kept = [r for r in data.get(task, {}).get("records", []) if r["fidelity"] not in {f["fidelity"] for f in fresh}]
            data[task] = {"seconds": time.perf_counter() - start, "workers": args.workers, "records": fresh + kept}
            RECORDS.write_text(json.dumps(data, indent=1) + "\n")
            for record in records:
                print(record.verdict, flush=True)
    text = report()
    TABLE.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
