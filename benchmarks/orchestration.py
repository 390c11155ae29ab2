"""Orchestration overhead of ``autopeft search``: the whole loop (sampler, SQL store, Ray actors)
with trials that cost nothing, and the parallel speed-up with CPU-bound trials.

    python benchmarks/orchestration.py [--trials 60] [--cpu-trials 6] [--cpu-seconds 2]

Figures printed (targets from issue 5):
* zero-cost trials, random sampler, SQLite, local Ray, 1 and 2 workers: trials per second and
  driver overhead per trial, measured from the first trial's start to the last trial's end in the
  store (Ray start-up and actor creation excluded; printed separately). Target >= 10 trials/s.
* CPU-bound trials of ``--cpu-seconds`` each: wall time with 1 and 2 workers and the speed-up.
  Target >= 1.6x (needs 2 free cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _model() -> str:
    from autopeft.backbone import default_model

    return default_model()


def run_one(storage: str, study: str, objective: str, trials: int, workers: int) -> dict:
    from autopeft.service import SearchSpec
    from autopeft.service.loop import SearchLoop
    from autopeft.service.prepare import prepare
    from autopeft.store import load_trials

    spec = SearchSpec(
        model=_model(), task="bench", space="lora_layerwise", trials=trials, workers=workers, sampler="random",
        storage=storage, study=study, baselines="none", objective_fn=objective, progress=False, heartbeat_interval=10,
    )
    started = time.perf_counter()
    outcome = SearchLoop(prepare(spec)).run()
    total = time.perf_counter() - started
    records = load_trials(storage, study, states=["COMPLETE"])
    first = min(r.datetime_start for r in records)
    last = max(r.datetime_complete for r in records)
    span = (last - first).total_seconds()
    work = sum(r.timing.wall_s or 0.0 for r in records if r.timing is not None)
    return {
        "workers": workers,
        "trials": len(records),
        "span_s": span,
        "total_s": total,
        "setup_s": total - span,
        "trials_per_s": len(records) / span if span > 0 else float("inf"),
        "overhead_ms": 1000 * (span * workers - work) / len(records),
        "objective_s": work / len(records),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--cpu-trials", type=int, default=6)
    parser.add_argument("--cpu-seconds", type=float, default=2.0)
    args = parser.parse_args()
    os.environ["AUTOPEFT_TEST_TRIAL_SECONDS"] = str(args.cpu_seconds)
    from autopeft.service.ray_pool import connect, shutdown

    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:///{tmp}/bench.db"
        t0 = time.perf_counter()
        connect(None, num_cpus=max(2, os.cpu_count() or 1))
        print(f"ray.init (local cluster): {time.perf_counter() - t0:.2f} s")
        print("\nzero-cost trials (random sampler, SQLite, local Ray, space lora_layerwise):")
        for workers in (1, 2):
            r = run_one(storage, f"zero-{workers}", "tests.fake_objectives:zero_cost", args.trials, workers)
            print(
                f"  {workers} worker(s): {r['trials']} trials in {r['span_s']:.2f} s -> {r['trials_per_s']:.1f} trials/s, "
                f"overhead {r['overhead_ms']:.1f} ms/trial (setup incl. actors {r['setup_s']:.2f} s)"
            )
        print(f"\nCPU-bound trials of {args.cpu_seconds:.1f} s:")
        spans = {}
        for workers in (1, 2):
            r = run_one(storage, f"cpu-{workers}", "tests.fake_objectives:cpu_bound", args.cpu_trials, workers)
            spans[workers] = r["span_s"]
            print(f"  {workers} worker(s): {r['trials']} trials in {r['span_s']:.2f} s (overhead {r['overhead_ms']:.1f} ms/trial)")
        print(f"  speed-up of 2 workers over 1: {spans[1] / spans[2]:.2f}x")
        shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
