"""Thin Ray entry point for autopeft's trial workers.

The search driver creates these actors itself (``autopeft search --ray-address HEAD``); this
module exists so that a cluster operator can see, import and smoke-test the exact actor class a
worker node will run::

    python workers/actor.py --address 127.0.0.1:6379     # runs one zero-cost trial on the cluster

The implementation lives in :mod:`autopeft.service.worker` (``TrialWorker``): it keeps the
backbone and tokenised data cached across trials and sets torch's threads from the trial's CPUs.
"""

from __future__ import annotations

import argparse
import os
import sys

from autopeft.service.ray_pool import trial_actor
from autopeft.service.worker import TrialWorker

__all__ = ["TrialWorker", "remote_worker"]


def remote_worker(objective_fn: str = "autopeft.proxy:evaluate", cpus: float = 1.0, gpus: float = 0.0):  # noqa: ANN201
    """A Ray actor handle of :class:`TrialWorker` with the given resources, built exactly as the
    search driver builds its workers (:func:`autopeft.service.ray_pool.trial_actor`)."""
    return trial_actor(objective_fn, cpus, gpus)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run one zero-cost trial on a Ray cluster to check a worker node.")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS"), help="Ray head HOST:PORT (default: start a local cluster)")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from autopeft.config import PeftConfig
    from autopeft.service.ray_pool import connect

    connect(args.address)
    import ray

    actor = remote_worker("autopeft.service.testing:zero_cost")
    config = PeftConfig.uniform(2, lora={"query": 8}).to_dict()
    out = ray.get(actor.run.remote({"number": 0, "model": "-", "task": "-", "config": config}))
    print(f"worker {out['worker']['host']} ({out['worker']['node_ip']}, pid {out['worker']['pid']}): score {out['result']['score']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
