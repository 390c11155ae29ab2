"""``autopeft export``: write a study's chosen configuration (or a config JSON) in the format
of the training code people use: HF peft, AdapterHub adapters, autopeft, or a train.py."""

from __future__ import annotations

import argparse

import autopeft
from autopeft.export.api import export_config, export_trial
from autopeft.export.errors import ExportError
from autopeft.store.storage import DEFAULT_STORAGE
from autopeft.tasks.options import FILE_FLAGS, add_task_arguments, task_reference

HELP = "Export a trial's configuration as peft, adapters or autopeft files, or a train.py script."
FORMAT_NAMES = ("peft", "adapters", "autopeft", "script")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--study", help="study name (see `autopeft studies`)")
    source.add_argument("--config", help="a PeftConfig JSON file instead of a study (needs --model)")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--trial", type=int, help="export this trial number")
    choice.add_argument("--best-under", metavar="PARAMS",
                        help="the best-scoring trial with at most PARAMS trainable parameters (e.g. 120000 or 0.5%%)")
    choice.add_argument("--knee", action="store_true", help="the knee of the Pareto front (see README)")
    parser.add_argument("--format", required=True, choices=FORMAT_NAMES, help="output format")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL (default {DEFAULT_STORAGE})")
    parser.add_argument("--model", help="model id or path (default: the study's)")
    add_task_arguments(parser, task_help="--config exports: the task (glue/rte, bbcnews, folder:ROOT or a task file FILE.yaml); "
                                         "it sets the head size, the label names and the script's data (a study records its own)",
                       data_dir_help="a named task's data folder for the script (default: the study's)",
                       labels_help="--config exports without a task: the label names of the head, in order (a,b,c)")
    parser.add_argument("--num-labels", type=int, help="--config exports without a task: the head's output count (1 for a regression)")
    parser.add_argument("--allow-failed", action="store_true",
                        help="export a FAIL or PRUNED trial anyway (refused by default: its configuration has no measured score)")
    parser.add_argument("--backend", default="auto", choices=("auto", "peft", "autopeft"),
                        help="script format: the configuration format train.py loads (auto: peft when it can)")


def run(args: argparse.Namespace) -> int:
    if args.study:
        given = [flag for key, flag in (("task", "--task"), *FILE_FLAGS.items()) if key != "labels" and getattr(args, key) is not None]
        if given:
            raise ExportError(f"{', '.join(given)}: the study records its task (files, fields and labels); these serve --config exports")
        result = export_trial(args.storage, args.study, args.format, args.out, trial=args.trial,
                              best_under=args.best_under, knee=args.knee, backend=args.backend,
                              model=args.model, data_dir=args.data_dir, num_labels=args.num_labels, label_names=args.labels,
                              allow_failed=args.allow_failed)
    else:
        if args.trial is not None or args.best_under is not None or args.knee or args.allow_failed:
            raise ExportError("--trial, --best-under, --knee and --allow-failed choose a trial of a --study; with --config leave them out")
        if not args.model:
            raise ExportError("--config needs --model (the model id or path the config was built for)")
        task, labels = None, args.labels
        if args.task is not None or any(getattr(args, key) is not None for key in FILE_FLAGS if key != "labels"):
            task, labels = task_reference(args, required=True), None  # with --train, --labels orders your files' labels
        if task is None and labels is None and args.num_labels is None:
            raise ExportError("--config: the task head's size is needed: pass --task T (or --train FILE ...), --labels a,b,c "
                              "or --num-labels N")
        result = export_config(autopeft.load_config(args.config), args.model, args.format, args.out, task=task,
                               data_dir=args.data_dir, num_labels=args.num_labels, label_names=labels, backend=args.backend,
                               source={"config_file": args.config})
    where = f"trial {result.source.get('trial')} of {args.study}" if args.study else args.config
    print(f"exported {where} as {args.format}" + (f" ({result.backend})" if result.backend else "") + f" to {result.out_dir}:")
    for name in result.files:
        print(f"  {name}")
    print(f"trainable parameters: {result.trainable_params} ({result.peft_params} PEFT + task head)")
    return 0
