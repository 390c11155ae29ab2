"""Does the task head's pooling decide whether a proxy learns? CLS + pooler against mean pooling.

all-MiniLM-L6-v2 is a sentence-transformers model trained through mean pooling; the CLS token
and BERT's pooler, which ``AutoModelForSequenceClassification`` feeds to its classifier, were
never trained for its objective. This script trains the hand-designed baselines at a fidelity
with both heads, same seeds, same data, and prints each score with its seed spread and the
constant predictor's score (chance). The mean-pooling head is built here only (the pooler's
output replaced by the attention-masked mean of the last hidden states); autopeft's proxy and
exports use the model's own head.

    python benchmarks/head_pooling.py --data-dir ../shared/data                      # SST-2, MRPC, RTE
    python benchmarks/head_pooling.py --data-dir ../shared/data --tasks glue/sst2 --seeds 0,1,2

Writes ``benchmarks/results/head_pooling.md`` (and ``.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results"
BASELINES = ("lora8_qv", "ia3", "pfeiffer64", "prefix16")


def mean_pooling_cache():  # noqa: ANN201
    """A BackboneCache whose fresh models pool by the attention-masked mean of the last hidden
    states instead of the CLS token's pooler output."""
    import torch
    from torch import nn

    from autopeft.proxy import BackboneCache

    class MeanPooler(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mask: torch.Tensor | None = None

        def forward(self, hidden: torch.Tensor) -> torch.Tensor:  # (batch, length, hidden) -> (batch, hidden)
            mask = self.mask.to(hidden.dtype).unsqueeze(-1)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    class MeanPoolingCache(BackboneCache):
        def fresh_model(self, model, num_labels, kind, seed):  # noqa: ANN001, ANN202
            net = super().fresh_model(model, num_labels, kind, seed)
            pooler = MeanPooler()
            net.base_model.pooler = pooler

            def keep_mask(module, args, kwargs):  # noqa: ANN001, ANN202
                pooler.mask = kwargs.get("attention_mask")

            net.base_model.register_forward_pre_hook(keep_mask, with_kwargs=True)
            return net

    return MeanPoolingCache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--tasks", default="glue/sst2,glue/mrpc,glue/rte")
    parser.add_argument("--fidelity", default="quick")
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from autopeft.proxy import BackboneCache, evaluate
    from autopeft.service.baselines import build_baseline

    caches = {"cls_pooler": BackboneCache(), "mean": mean_pooling_cache()}
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    started = time.perf_counter()
    for task in args.tasks.split(","):
        for name in BASELINES:
            for head, cache in caches.items():
                scores, chance, collapsed = [], None, 0
                for seed in seeds:
                    result = evaluate(None, task, build_baseline(name, 6), args.fidelity, seed, data_dir=args.data_dir, device="cpu", cache=cache)
                    scores.append(result.score if result.ok else float("nan"))
                    chance = result.chance_score
                    collapsed += bool(result.collapsed)
                rows.append({"task": task, "baseline": name, "head": head, "scores": scores, "chance": chance, "collapsed": collapsed})
                print(f"[{time.perf_counter() - started:6.0f} s] {task} {name:10s} {head:10s} "
                      f"{' '.join(f'{s:.3f}' for s in scores)} (chance {chance:.3f}, collapsed {collapsed})", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "head_pooling.json").write_text(json.dumps({"fidelity": args.fidelity, "seeds": seeds, "rows": rows}, indent=1))
    lines = [
        "# Task head pooling: CLS + pooler against mean pooling (MiniLM)",
        "",
        f"`python benchmarks/head_pooling.py --tasks {args.tasks} --fidelity {args.fidelity} --seeds {args.seeds}`; "
        f"{len(seeds)} seeds; mean +- sd over seeds (sd: the seed noise); chance = the best constant predictor.",
        "",
        "| task | baseline | CLS + pooler | mean pooling | chance | collapsed (CLS / mean) |",
        "|---|---|---|---|---|---|",
    ]
    by_key = {(r["task"], r["baseline"], r["head"]): r for r in rows}

    def cell(r: dict) -> str:
        sd = statistics.stdev(r["scores"]) if len(r["scores"]) > 1 else 0.0
        return f"{statistics.fmean(r['scores']):.3f} +- {sd:.3f}"

    for task in args.tasks.split(","):
        for name in BASELINES:
            cls_row, mean_row = by_key[(task, name, "cls_pooler")], by_key[(task, name, "mean")]
            lines.append(f"| {task} | {name} | {cell(cls_row)} | {cell(mean_row)} | {cls_row['chance']:.3f} | "
                         f"{cls_row['collapsed']} / {mean_row['collapsed']} |")
    lines += ["", f"Wall time {time.perf_counter() - started:.0f} s on one CPU thread."]
    (RESULTS / "head_pooling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
