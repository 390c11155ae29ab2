"""``autopeft search``: a multi-objective search of PEFT configs on Ray workers, stored in SQL.

Checks every input first (one clear line and exit 2 on a missing file, an unknown model, task
or sampler, an unreachable database), then runs the search with a live progress display and
prints the Pareto table. ``--resume --study NAME`` continues (or joins) a study from what the
store holds; Ctrl-C stops cleanly (running trials are marked and re-queued for a resume).
"""

from __future__ import annotations

import argparse
import sys

from autopeft.service.baselines import BASELINES, DEFAULT_BASELINES
from autopeft.service.objectives import DEFAULT_OBJECTIVES, OBJECTIVES
from autopeft.service.samplers import SAMPLER_NAMES
from autopeft.store.storage import DEFAULT_STORAGE

HELP = "Search per-layer PEFT configurations (multi-objective) on Ray workers; studies go to a SQL store."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model id or local folder (default: the embedded all-MiniLM-L6-v2)")
    from autopeft.tasks.options import add_task_arguments

    add_task_arguments(parser, task_help="glue/rte, sst2, bbcnews, folder:ROOT (ROOT/LABEL/*.txt) or a task file FILE.yaml "
                                         "(default on --resume: the study's)",
                       data_dir_help="folder holding glue/ and superglue/ (or the task's folder) for a named task; default: the hub")
    parser.add_argument("--space", help="search space: a shipped name (autopeft, lora_layerwise, mixed) or a YAML file (default: autopeft)")
    parser.add_argument("--trials", type=int, help="search trials to run in the study, baselines not counted (default 20)")
    parser.add_argument("--workers", type=int, default=1, help="trials run in parallel (Ray actors)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs each trial holds; torch uses as many threads")
    parser.add_argument("--gpus-per-trial", type=float, default=0.0, help="GPUs each trial holds (fractions allowed, e.g. 0.5)")
    parser.add_argument("--fidelity", help="proxy budget: tiny, quick, standard or full, optionally with changes, e.g. quick:max_train_examples=400,max_seq_length=96 (default quick)")
    parser.add_argument("--sampler", help=f"optimiser: one of {', '.join(SAMPLER_NAMES)} (default mobo when available, else tpe)")
    parser.add_argument("--objectives", help=f"comma-separated, from {', '.join(OBJECTIVES)} (default {','.join(DEFAULT_OBJECTIVES)})")
    parser.add_argument("--max-params", help="limit on trainable PEFT params: a count (150000) or a percent of the backbone (0.5%%)")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL: sqlite:///FILE.db or postgresql+psycopg://... (default {DEFAULT_STORAGE})")
    parser.add_argument("--study", help="study name (default: TASK-SPACE-TIMESTAMP)")
    parser.add_argument("--resume", action="store_true", help="continue (or join) the existing --study with its stored settings")
    parser.add_argument("--ray-address", help="join this Ray cluster (HOST:PORT) instead of starting a local one")
    parser.add_argument("--seed", type=int, help="seed of the sampler and of training (default 0)")
    parser.add_argument(
        "--baselines",
        help=f"comma-separated baselines evaluated first ({', '.join(BASELINES)}), 'all' or 'none' (default {','.join(DEFAULT_BASELINES)})",
    )
    parser.add_argument("--warm-start", nargs="+", default=[], metavar="STUDY", help="seed the optimiser with the finished trials of these studies")
    parser.add_argument("--no-progress", action="store_true", help="no live display (logs and CI)")
    parser.add_argument("--heartbeat", type=int, default=10, help="seconds between driver heartbeats; a dead driver's trials are failed after 2x this")
    parser.add_argument("--objective-fn", help=argparse.SUPPRESS)  # import path of a test objective


def spec_from_args(args: argparse.Namespace):  # noqa: ANN201
    """The :class:`SearchSpec` of the parsed options; ``--train ...`` becomes the task's spec
    (its files read and checked here, before anything is written)."""
    from autopeft.service.spec import SearchSpec
    from autopeft.tasks.options import task_reference

    return SearchSpec(
        model=args.model,
        task=task_reference(args, required=False),
        data_dir=args.data_dir,
        space=args.space,
        trials=args.trials,
        workers=args.workers,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        fidelity=args.fidelity,
        sampler=args.sampler,
        objectives=args.objectives,
        max_params=args.max_params,
        storage=args.storage,
        study=args.study,
        resume=args.resume,
        ray_address=args.ray_address,
        seed=args.seed,
        baselines=args.baselines,
        warm_start=list(args.warm_start),
        objective_fn=args.objective_fn,
        heartbeat_interval=args.heartbeat,
        progress=not args.no_progress,
    )


def calibration_warning(storage_url: str, task: str, model: str, fidelity: str) -> str | None:
    """A warning when the newest calibration of ``fidelity`` on this task and model found it
    blind (``autopeft calibrate``); None when it ranks, or when it was never calibrated."""
    from autopeft.store.calibrations import find_calibrations

    found = find_calibrations(storage_url, task=task, model=model, fidelity=fidelity)
    if not found or found[0].ranks:
        return None
    return (f"warning: calibration {found[0].study_name} found fidelity {fidelity!r} blind on {task}: "
            f"{found[0].verdict}. The front of this search may rank noise.")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from autopeft.service.loop import SearchLoop
    from autopeft.service.prepare import prepare
    from autopeft.service.report import print_pareto

    plan = prepare(spec_from_args(args))
    err = Console(stderr=True)
    err.print(
        f"study [bold]{plan.study_name}[/bold] in {plan.storage_url}: {plan.trials} trials of {plan.space.name} "
        f"on {plan.model} / {plan.task}, sampler {plan.sampler}, {plan.spec.workers} worker(s)"
        + (" (resumed)" if plan.resume else "")
    )
    warning = calibration_warning(plan.storage_url, plan.task, plan.model, plan.fidelity)
    if warning:
        err.print(warning, markup=False)
    outcome = SearchLoop(plan).run()
    print_pareto(plan.storage_url, plan.study_name)
    err.print(
        f"{outcome.trials_run} trials run by this driver in {outcome.seconds:.1f} s: {outcome.completed} complete, "
        f"{outcome.failed} failed, {outcome.requeued} re-queued"
    )
    if outcome.interrupted:
        print(f"autopeft search: interrupted; continue with: autopeft search --resume --study {plan.study_name} --storage {plan.storage_url}", file=sys.stderr)
        return 130
    return 0
