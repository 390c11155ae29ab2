"""``autopeft search``: a multi-objective search of PEFT configs on Ray workers, stored in SQL.

Checks every input first (one clear line and exit 2 on a missing file, an unknown model, task
or sampler, an unreachable database), then runs the search with a live progress display and
prints the Pareto table. ``--resume --study NAME`` continues (or joins) a study from what the
store holds; Ctrl-C stops cleanly (running trials are marked and re-queued for a resume).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from autopeft.service.baselines import BASELINES, DEFAULT_BASELINES
from autopeft.service.objectives import DEFAULT_OBJECTIVES, OBJECTIVES
from autopeft.service.samplers import DEFAULT_SAMPLER, SAMPLER_NAMES
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
    parser.add_argument("--sampler", help=f"optimiser: one of {', '.join(SAMPLER_NAMES)} (default {DEFAULT_SAMPLER})")
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
    parser.add_argument("--scheduler", help="none (default: every trial trains its whole budget) or asha: multi-fidelity, trials "
                                            "train rung by rung and those outside the best 1/eta by Pareto rank stop early (default on --resume: the study's)")
    parser.add_argument("--eta", type=int, help="asha: keep the best 1/eta of the trials at each rung (default 3)")
    parser.add_argument("--min-rung-fraction", type=float, help="asha: the lowest rung's share of the training budget (default 0.111: rungs at 1/9, 1/3, 1)")
    parser.add_argument("--objective-fn", help=argparse.SUPPRESS)  # import path of a test objective


#: SearchSpec parameters whose flag is not ``--`` + the name with dashes.
FLAGS = {"heartbeat_interval": "--heartbeat"}


def flag(parameter: str) -> str:
    """The ``autopeft search`` flag of a :class:`SearchSpec` parameter."""
    return FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def spec_from_args(args: argparse.Namespace):  # noqa: ANN201
    """The :class:`SearchSpec` of the parsed options: their text parsed into typed values
    (:mod:`autopeft.service.options`); ``--train ...`` becomes the task's spec (its files read
    and checked here, before anything is written)."""
    from autopeft.service import options
    from autopeft.service.baselines import parse_baselines
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
        fidelity=options.fidelity(args.fidelity),
        sampler=args.sampler,
        objectives=options.names(args.objectives, "objectives"),
        max_params=None if args.max_params is None else options.ParamLimit.parse(args.max_params),
        storage=args.storage,
        study=args.study,
        resume=args.resume,
        ray_address=args.ray_address,
        seed=args.seed,
        baselines=None if args.baselines is None else tuple(parse_baselines(args.baselines)),
        warm_start=tuple(args.warm_start),
        objective_fn=args.objective_fn,
        heartbeat_interval=args.heartbeat,
        progress=not args.no_progress,
        scheduler=args.scheduler,
        eta=args.eta,
        min_rung_fraction=args.min_rung_fraction,
    )


def calibration_warning(storage_url: str, task: str, model: str, fidelity: Any) -> str | None:
    """A warning when the newest calibration of ``fidelity`` (a Fidelity, or its text) on this
    task and model found it blind (``autopeft calibrate``); None when it ranks, or when it was
    never calibrated. Calibrations are matched by the Fidelity their text names."""
    from autopeft.service import options
    from autopeft.service.errors import SearchError
    from autopeft.store.calibrations import find_calibrations

    wanted = options.fidelity(fidelity)

    def same(text: str) -> bool:
        try:
            return options.fidelity(text) == wanted
        except SearchError:  # a calibration at a fidelity this version cannot read
            return False

    found = [c for c in find_calibrations(storage_url, task=task, model=model) if same(c.fidelity)]
    if not found or found[0].ranks:
        return None
    return (f"warning: calibration {found[0].study_name} found fidelity {options.fidelity_text(wanted)!r} blind on {task}: "
            f"{found[0].verdict}. The front of this search may rank noise.")


def run(args: argparse.Namespace) -> int:
    """Run the search; a :class:`SearchError` names the flag (the library names the parameter)."""
    from autopeft.service.errors import SearchError

    try:
        return _run(args)
    except SearchError as exc:
        raise SearchError(exc.render(flag)) from None
    except Exception as exc:
        # A store that stops taking writes mid-search (made read-only, disk full): one line
        # naming the store and the fix, never Optuna's traceback or the URL's password.
        if exc.__class__.__name__ != "StorageInternalError":
            raise
        from autopeft.store.errors import StoreError
        from autopeft.store.storage import _READ_ONLY_FIX, _is_read_only, redact_text, redact_url

        cause = exc.__cause__ or exc
        first = (str(getattr(cause, "orig", cause)).strip().splitlines() or [cause.__class__.__name__])[0]
        hint = f"; {_READ_ONLY_FIX}" if _is_read_only(first) else ""
        raise StoreError(f"--storage {redact_url(args.storage)!r}: a write to the study store failed ({redact_text(first, args.storage)}){hint}; "
                         f"after fixing it continue with --resume --study {args.study or 'NAME'}") from None


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from autopeft.service.loop import SearchLoop
    from autopeft.service.prepare import prepare
    from autopeft.service.progress import ProgressDisplay
    from autopeft.service.report import print_pareto
    from autopeft.store.storage import redact_url

    plan = prepare(spec_from_args(args))
    err = Console(stderr=True)
    err.print(
        f"study [bold]{plan.study_name}[/bold] in {redact_url(plan.storage_url)}: {plan.trials} trials of {plan.space.name} "
        f"on {plan.model} / {plan.task}, sampler {plan.sampler}, {plan.spec.workers} worker(s)"
        + (" (resumed)" if plan.resume else "")
        + ("" if plan.scheduler is None else f", MO-ASHA eta {plan.scheduler.eta} rungs at steps {list(plan.rung_steps or [])}")
    )
    warning = calibration_warning(plan.storage_url, plan.task, plan.model, plan.fidelity_value)
    if warning:
        err.print(warning, markup=False)
    display = ProgressDisplay(plan.study_name) if plan.spec.progress else None
    outcome = SearchLoop(plan, observer=display).run()
    print_pareto(plan.storage_url, plan.study_name)
    err.print(
        f"{outcome.trials_run} trials run by this driver in {outcome.seconds:.1f} s: {outcome.completed} complete, "
        f"{outcome.failed} failed, {outcome.requeued} re-queued" + (f", {outcome.stopped} stopped at a rung" if outcome.stopped else "")
    )
    if outcome.interrupted:
        print(f"autopeft search: interrupted; continue with: autopeft search --resume --study {plan.study_name} --storage {redact_url(plan.storage_url)}", file=sys.stderr)
        return 130
    return 0
