"""Proxy training speed: autopeft vs HF peft on MiniLM, and the compute share of a trial.

Prints
  * seconds per training step for LoRA r=8 on query and value of all-MiniLM-L6-v2 (sequence
    length 64, batch 32), through ``autopeft.apply`` and through HF ``peft``, both driven by the
    same loop (:func:`autopeft.proxy.train.train`, same batches, same optimiser), and their ratio
    (target <= 1.10);
  * the share of a proxy trial's wall time spent in training and evaluation compute, for a cold
    trial (backbone load and tokenisation included) and a warm one (target >= 0.90, warm).

Run:  python benchmarks/proxy_speed.py [--steps 10] [--rounds 3] [--threads 2] [--device cpu]
Timings alternate between the two backends each round; the ratio is printed for the fastest
round of each (the one least disturbed by other processes on a shared machine), the median
round, and the process CPU time per step (steadiest under contention; use ``--threads 1`` on a
busy machine so thread spinning does not inflate it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per backend per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--skip-trials", action="store_true", help="only the per-step comparison")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--seq-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import numpy as np
    import torch
    from peft import LoraConfig, TaskType, get_peft_model

    import autopeft
    from autopeft.proxy import BackboneCache, Fidelity, default_model, evaluate, resolve_device
    from autopeft.proxy.data import TokenizedSplit, fixed_subset
    from autopeft.proxy.train import Clock, TrainingRun
    from autopeft.tasks import get_task

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    model_id = default_model()
    cache = BackboneCache(tempfile.mkdtemp(prefix="autopeft-bench-"))
    template, tokenizer = cache.backbone(model_id, 2, "classification")
    num_layers = template.config.num_hidden_layers
    config = autopeft.PeftConfig.uniform(num_layers, lora={"query": 8, "value": 8}, lora_alpha=16.0)

    if SHARED_DATA.is_dir():
        task = get_task("glue/rte", str(SHARED_DATA))
        split = cache.tokenized(task, tokenizer, args.seq_length, "train")
        source = "RTE train (truncated)"
    else:  # random tokens of the full length
        rng = np.random.default_rng(0)
        n = 64 * args.batch_size
        split = TokenizedSplit(
            ids=rng.integers(1000, 20000, n * args.seq_length).astype(np.int32),
            offsets=np.arange(0, n * args.seq_length + 1, args.seq_length),
            labels=rng.integers(0, 2, n),
        )
        source = "random tokens"
    indices = fixed_subset(len(split), 64 * args.batch_size)
    mean_len = float(split.lengths[indices].mean())
    fidelity = Fidelity(max_steps=args.steps, batch_size=args.batch_size, max_seq_length=args.seq_length,
                        learning_rate=1e-3, warmup_ratio=0.0, timeout_s=None, bf16=True)
    warm = Fidelity(max_steps=2, batch_size=args.batch_size, max_seq_length=args.seq_length, learning_rate=1e-3, warmup_ratio=0.0, timeout_s=None)
    no_clock = Clock(None, 0.0, lambda: None)

    def build(backend: str):
        model = cache.fresh_model(model_id, 2, "classification", seed=0)
        torch.manual_seed(0)
        if backend == "autopeft":
            autopeft.apply(model, config)
        else:
            peft_config = LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["query", "value"])
            model = get_peft_model(model, peft_config)
        return model.to(device)

    def seconds_per_step(model) -> tuple[float, float]:
        """(wall, process CPU) seconds per step; CPU time is steadier when other jobs share the cores."""
        cpu_start = time.process_time()
        stats = TrainingRun(model, split, indices, kind="classification", fidelity=fidelity, seed=0, device=device,
                            pad_id=int(tokenizer.pad_token_id)).advance(None, no_clock)
        return stats.seconds / stats.steps, (time.process_time() - cpu_start) / stats.steps

    models = {name: build(name) for name in ("autopeft", "peft")}
    for model in models.values():  # warm-up: allocator, kernels
        TrainingRun(model, split, indices, kind="classification", fidelity=warm, seed=1, device=device,
                    pad_id=int(tokenizer.pad_token_id)).advance(None, no_clock)
    timings: dict[str, list[float]] = {name: [] for name in models}
    cpu_times: dict[str, list[float]] = {name: [] for name in models}
    for round_index in range(args.rounds):
        order = list(models) if round_index % 2 == 0 else list(reversed(models))
        for name in order:
            wall, cpu = seconds_per_step(models[name])
            timings[name].append(wall)
            cpu_times[name].append(cpu)
    per_step = {name: min(values) for name, values in timings.items()}
    median = {name: statistics.median(values) for name, values in timings.items()}
    trainable = {name: sum(p.numel() for p in m.parameters() if p.requires_grad) for name, m in models.items()}
    del models

    print(f"device: {device} (torch threads {torch.get_num_threads()}), model: {Path(model_id).name or model_id}")
    print(f"data: {source}, batch {args.batch_size}, max length {args.seq_length} (mean {mean_len:.1f} tokens)")
    for name in ("autopeft", "peft"):
        rounds = ", ".join(f"{t:.3f}" for t in timings[name])
        print(f"  {name:9s} LoRA r=8 q,v: {per_step[name]:.3f} s/step best, {median[name]:.3f} median (rounds: {rounds}); "
              f"trainable params {trainable[name]:,}")
    cpu = {name: statistics.median(values) for name, values in cpu_times.items()}
    print(f"  CPU time per step (median): autopeft {cpu['autopeft']:.3f} s, peft {cpu['peft']:.3f} s")
    print(f"  ratio autopeft/peft: {per_step['autopeft'] / per_step['peft']:.3f} best wall, "
          f"{median['autopeft'] / median['peft']:.3f} median wall, {cpu['autopeft'] / cpu['peft']:.3f} CPU time (target <= 1.10)")

    # ---- compute share of whole trials (cold: fresh process-level cache; warm: reused)
    trial_fidelity = Fidelity(max_train_examples=10 * args.batch_size, epochs=1.0, batch_size=args.batch_size,
                              max_seq_length=args.seq_length, max_eval_examples=277, timeout_s=None)
    if args.skip_trials:
        return 0
    if SHARED_DATA.is_dir():
        trial_cache = BackboneCache(tempfile.mkdtemp(prefix="autopeft-bench-trial-"))
        for label in ("cold", "warm"):
            start = time.perf_counter()
            result = evaluate(model_id, "glue/rte", config, trial_fidelity, seed=0, data_dir=str(SHARED_DATA),
                              device=str(device), cache=trial_cache)
            wall = time.perf_counter() - start
            compute = result.time_train_s + result.time_eval_s
            print(
                f"  trial ({label}): wall {wall:.2f} s = load {result.time_load_s:.2f} + train {result.time_train_s:.2f} "
                f"+ eval {result.time_eval_s:.2f} (+ {wall - result.time_load_s - compute:.2f} other); "
                f"compute share {compute / wall:.3f} (target >= 0.90 warm); status {result.status}, score {result.score}"
            )
    else:
        print("  trial share: skipped (../shared/data not present)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
