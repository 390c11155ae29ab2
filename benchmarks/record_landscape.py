"""Record real proxy landscapes: many configurations of a space, trained once, with learning curves.

The optimiser benchmark (``benchmarks/optimizer.py``, its replayed PEFT problems) and the
multi-fidelity benchmark (``benchmarks/multi_fidelity.py``) compare searches over many seeds.
Training a proxy for every proposal of every seed would take days on a CPU, so this script
trains a fixed set of uniformly drawn configurations once, with the real MiniLM and the real
task data, and keeps per configuration: its assignment (the space's parameter values), the
PEFT parameter count (exact) and the task score at every recorded step of one uninterrupted
run (:class:`autopeft.proxy.runner.StagedTrial`: the score at step 11 of a 32-step run is what a
multi-fidelity search stopping there sees, and the score at 32 is ``evaluate``'s).

    python benchmarks/record_landscape.py --task glue/sst2 --space mixed --configs 100 --data-dir ../shared/data
    python benchmarks/record_landscape.py --task glue/stsb --space autopeft --configs 100 --data-dir ../shared/data

Rows append to ``benchmarks/results/landscapes/<task>__<space>.jsonl`` as they finish, so an
interrupted run resumes where it stopped (configurations are drawn from ``--sample-seed`` in
order; a row already present is skipped). One JSON object per configuration:

``index``, ``task``, ``space``, ``fidelity`` (the preset text), ``train_seed``, ``params`` (the
space assignment), ``trainable_params``, ``percent_params``, ``total_steps``, ``status``,
``error``, ``draw`` (``uniform``, or ``sparse`` with its ``sparsity``: ``--sparse-from``, see
`thin_out`; absent from rows recorded before it existed, which are uniform), and ``curve``: a list of ``{step, score, majority_share, chance_score, time_train_s,
time_eval_s}``, one per recorded step (``--steps``; default the η = 3 rungs 1/9, 1/3 and 1 of the
budget plus one half-way point).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LANDSCAPES = Path(__file__).resolve().parent / "results" / "landscapes"


def landscape_path(task: str, space: str) -> Path:
    """Where the rows of ``task`` x ``space`` are kept."""
    return LANDSCAPES / f"{task.replace('/', '_')}__{space}.jsonl"


def default_steps(total: int) -> list[int]:
    """The η = 3 rungs (1/9, 1/3, 1 of ``total``) plus the half-way step, ascending."""
    return sorted({max(1, math.ceil(total / 9)), max(1, math.ceil(total / 3)), max(1, total // 2), total})


def thin_out(space, model_config, params: dict, sample_seed: int, index: int) -> tuple[dict, float]:
    """A sparse version of a uniform draw, and its sparsity ``u``.

    ``u`` is drawn uniformly from [0, 1) (seeded by ``sample_seed`` and ``index``), and each
    ordinal or on/off parameter is set to its smallest choice (0, False: that module off) with
    probability ``u``; categorical ones keep their value. Uniform draws of a space with tens of
    size parameters concentrate around the middle of its parameter counts, so a table of them
    has few cheap configurations, and the cheap end of the front is where PEFT searches end up.
    """
    rng = random.Random(sample_seed * 1_000_003 + index)
    u = rng.random()
    out = dict(params)
    for p in space.parameters(model_config):
        if p.kind != "categorical" and rng.random() < u:
            out[p.name] = min(p.choices)
    return out, u


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True)
    parser.add_argument("--space", required=True, help="a shipped space name (mixed, autopeft) or a YAML path")
    parser.add_argument("--configs", type=int, default=100)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--fidelity", default="quick")
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument("--sample-seed", type=int, default=0, help="seed of the uniform draws of configurations")
    parser.add_argument("--steps", default=None, help="comma-separated steps to score at (default: the η=3 rungs + half-way)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sparse-from", type=int, default=None, metavar="INDEX",
                        help="rows from INDEX on are thinned-out draws (see thin_out); earlier rows stay uniform")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from autopeft.backbone import default_model
    from autopeft.proxy import BackboneCache, Fidelity
    from autopeft.proxy.runner import StagedTrial
    from autopeft.spaces import load_space
    from transformers import AutoConfig

    space = load_space(args.space)
    model_config = AutoConfig.from_pretrained(default_model())
    fidelity = Fidelity.resolve(args.fidelity)
    path = landscape_path(args.task, space.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = {row["index"] for row in read_rows(path)}
    rng = random.Random(args.sample_seed)
    cache = BackboneCache()
    started = time.perf_counter()
    for index in range(args.configs):
        params = space.sample_assignment(model_config, rng)  # drawn even when skipped: same sequence on resume
        if index in done:
            continue
        draw = {"draw": "uniform"}
        if args.sparse_from is not None and index >= args.sparse_from:
            params, sparsity = thin_out(space, model_config, params, args.sample_seed, index)
            draw = {"draw": "sparse", "sparsity": round(sparsity, 4)}
        config = space.build(params, model_config)
        if config.num_trainable_params(model_config) == 0:
            row = {"index": index, "params": params, "status": "empty", "curve": []}
        else:
            trial = StagedTrial(None, args.task, config, fidelity, args.train_seed, data_dir=args.data_dir, device="cpu", cache=cache)
            steps = [int(s) for s in args.steps.split(",")] if args.steps else default_steps(trial.total_steps)
            curve, result = [], None
            for step in steps:
                result = trial.advance(step)
                if not result.ok:
                    break
                curve.append({
                    "step": step, "score": result.score, "majority_share": result.majority_share, "chance_score": result.chance_score,
                    "time_train_s": round(result.time_train_s, 3), "time_eval_s": round(result.time_eval_s, 3),
                })
            trial.close()
            row = {
                "index": index, "params": params, "trainable_params": result.trainable_params, "percent_params": result.percent_params,
                "total_steps": trial.total_steps if curve else None, "status": result.status, "error": result.error, "curve": curve,
            }
        row.update(task=args.task, space=space.name, fidelity=args.fidelity, train_seed=args.train_seed, sample_seed=args.sample_seed,
                   **draw)
        with path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        last = row["curve"][-1]["score"] if row["curve"] else None
        print(f"[{time.perf_counter() - started:7.0f} s] {args.task} {space.name} #{index}: {row.get('trainable_params')} params, "
              f"score {last}, {row['status']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
