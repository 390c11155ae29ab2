"""Does anything learn RTE on this backbone? Learning curves of the strongest recipes (issue #16).

The calibration (``benchmarks/proxy_fidelity.py``) needs a reference fidelity that learns the task:
on RTE every configuration scored at chance at ``quick`` and the 160-step ``standard`` reference
itself scored 0.47-0.56, so the ranking had nothing to follow. This script asks whether a longer
or stronger recipe gives RTE a reference at all on the default backbone (MiniLM): each recipe
trains on the whole official training split (2,489 pairs) at 128 tokens (37 % of the pairs are
longer than the proxy's 64 tokens, 12 % longer than 128), with ``--seeds`` seeds, and is scored on
the whole official validation set (277 pairs) after every epoch. The schedule (warmup, linear
decay) spans the whole run, so epoch ``e`` of an 8-epoch run is not a run of ``e`` epochs; the
curve shows whether and when the model leaves chance.

Recipes (the product's own trainer, :class:`autopeft.proxy.runner.StagedTrial`):

* ``full_ft``: every backbone weight trains, one rate for all (the standard BERT recipe;
  ``--full-rates``, default 3e-5 and 1e-4), the ceiling of any PEFT configuration on this backbone;
* ``lora8_qv``: LoRA r=8 on query and value at the per-method defaults times ``--lora-scales``
  (default 0.3, the ``standard`` preset's scale for budgets of a few hundred steps).

Chance is the majority-class accuracy on the validation set (0.527). With 277 pairs the binomial
standard error of an accuracy near 0.55 is 0.030, so a reference must clear chance by well over
0.06 before twelve configurations between it and chance can be ranked.

    python benchmarks/rte_reference.py --data-dir ../shared/data           # 3 runs x 2 seeds
    python benchmarks/rte_reference.py --report                            # the table again

Records go to ``benchmarks/results/rte_reference.json`` as each run finishes (a rerun skips what
is there); the table to ``benchmarks/results/rte_reference.md``.

Measured (8 epochs = 624 steps of 32, 1 thread, about 28 minutes a run): full fine-tuning peaks at
0.585 (3e-5, epoch 6) and 0.574 (1e-4, epoch 7), 1.9 and 1.6 standard errors above chance, and
ends at 0.581 and 0.556; LoRA r=8 q/v stays within 0.458-0.542 on two seeds. No recipe gives RTE a
reference that twelve configurations could be ranked against on this backbone.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results"
RECORDS = RESULTS / "rte_reference.json"
REPORT = RESULTS / "rte_reference.md"
TASK = "glue/rte"
RECIPES = ("full_ft", "lora8_qv")


def fidelity_texts(recipe: str, args: argparse.Namespace) -> list[str]:
    """The ``PRESET:key=value`` fidelities of one recipe: the whole split, 128 tokens, all scored,
    one per rate (full fine-tuning) or scale (LoRA)."""
    common = (f"full:epochs={args.epochs},max_seq_length=128,batch_size={args.batch_size},"
              "max_eval_examples=null,warmup_ratio=0.1")
    if recipe == "full_ft":
        return [f"{common},learning_rate={rate:g}" for rate in args.full_rates]
    return [f"{common},learning_rate_scale={scale:g}" for scale in args.lora_scales]


def run_recipe(job: dict[str, Any]) -> dict[str, Any]:
    """Train one (recipe, seed) and score it after every epoch; runs in a worker process."""
    import torch

    torch.set_num_threads(1)
    import autopeft.inject as inject
    from autopeft import PeftConfig
    from autopeft.proxy.runner import StagedTrial

    layers = 6
    if job["recipe"] == "full_ft":
        config = PeftConfig.uniform(layers)
        original_apply = inject.apply

        def apply_and_unfreeze(net: Any, cfg: Any) -> None:  # no PEFT module: every weight trains
            original_apply(net, cfg)
            for param in net.parameters():
                param.requires_grad_(True)
        inject.apply = apply_and_unfreeze
    else:
        config = PeftConfig.uniform(layers, lora={"query": 8, "value": 8})
    started = time.time()
    curve = []
    with StagedTrial(None, TASK, config, job["fidelity"], job["seed"], data_dir=job["data_dir"]) as trial:
        per_epoch = trial.total_steps / job["epochs"]
        for epoch in range(1, job["epochs"] + 1):
            result = trial.advance(round(per_epoch * epoch))
            curve.append({"epoch": epoch, "step": trial.steps_done, "status": result.status, "error": result.error,
                          "accuracy": result.score, "majority_share": result.majority_share, "chance": result.chance_score,
                          "seconds": round(time.time() - started, 1)})
            print(f"{job['recipe']} {job['fidelity'].rsplit(',', 1)[-1]} seed {job['seed']} epoch {epoch}: {result.score} "
                  f"(one class {result.majority_share}) {time.time() - started:.0f} s", flush=True)
            if result.status != "ok":
                break
    return {**job, "curve": curve, "seconds": round(time.time() - started, 1)}


def load_records() -> list[dict[str, Any]]:
    return json.loads(RECORDS.read_text()) if RECORDS.exists() else []


def key(record: dict[str, Any]) -> tuple[str, str, int]:
    return record["recipe"], record["fidelity"], record["seed"]


def report(records: list[dict[str, Any]]) -> str:
    """Markdown: accuracy per epoch and seed, the best epoch, and chance with its standard error."""
    if not records:
        return "No records yet.\n"
    chance = next((p["chance"] for r in records for p in r["curve"] if p.get("chance") is not None), None)
    se = math.sqrt(chance * (1 - chance) / 277) if chance else None
    lines = ["# RTE on MiniLM: does any recipe leave chance? (issue #16)", "",
             "Written by `benchmarks/rte_reference.py`. Whole training split (2,489 pairs), 128 tokens, "
             "scored on all 277 validation pairs after every epoch; 1 CPU thread per run. "
             f"Chance (majority class) {chance:.3f}; binomial standard error of an accuracy there {se:.3f}.", "",
             "| recipe | fidelity | seed | accuracy after epoch 1, 2, ... | best | share in one class at best | minutes |",
             "|---|---|---|---|---|---|---|"]
    for record in sorted(records, key=key):
        scores = [p["accuracy"] for p in record["curve"]]
        shown = ", ".join("fail" if s is None else f"{s:.3f}" for s in scores)
        ok = [p for p in record["curve"] if p["accuracy"] is not None]
        best = max(ok, key=lambda p: p["accuracy"]) if ok else None
        lines.append(f"| {record['recipe']} | `{record['fidelity']}` | {record['seed']} | {shown} | "
                     f"{best['accuracy']:.3f} (epoch {best['epoch']}) | {best['majority_share']:.2f} | "
                     f"{record['seconds'] / 60:.1f} |" if best else
                     f"| {record['recipe']} | `{record['fidelity']}` | {record['seed']} | {shown} | - | - | - |")
    lines += ["", f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--full-rates", type=float, nargs="+", default=[3e-5, 1e-4])
    parser.add_argument("--lora-scales", type=float, nargs="+", default=[0.3])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="only write the report from the records")
    args = parser.parse_args()

    records = load_records()
    if not args.report:
        done = {key(r) for r in records}
        jobs = [{"recipe": recipe, "fidelity": fidelity, "seed": seed, "epochs": args.epochs, "data_dir": args.data_dir}
                for recipe in args.recipes for fidelity in fidelity_texts(recipe, args) for seed in args.seeds]
        jobs = [job for job in jobs if key(job) not in done]
        context = multiprocessing.get_context("spawn")
        with futures.ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
            for finished in futures.as_completed([pool.submit(run_recipe, job) for job in jobs]):
                records.append(finished.result())
                RESULTS.mkdir(exist_ok=True)
                RECORDS.write_text(json.dumps(records, indent=1) + "\n")
    table = report(records)
    REPORT.write_text(table)
    print(table)


if __name__ == "__main__":
    main()
