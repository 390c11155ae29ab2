"""Thin Ray entry point for autopeft's trial workers.

The search driver creates these actors itself (``autopeft search --ray-address HEAD``); this
module exists so that a cluster operator can see, import and smoke-test the exact actor class a
worker node will run::

    python workers/actor.py --address 127.0.0.1:6379     # starts one worker actor on the cluster and asks where it runs

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
    parser = argparse.ArgumentParser(description="Start one trial worker on a Ray cluster and print where it runs (checks a worker node).")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS"), help="Ray head HOST:PORT (default: start a local cluster)")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from autopeft.service.ray_pool import connect

    connect(args.address)
    import ray

    info = ray.get(remote_worker().info.remote())  # the objective is imported on the first trial only
    print(f"worker {info['host']} ({info['node_ip']}, node {info['node_id']}, pid {info['pid']}) is up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
