"""``autopeft evaluate``: train one configuration on a task's proxy budget and print its metrics."""

from __future__ import annotations

import argparse
import json

import autopeft
from autopeft.backbone import default_model, load_backbone
from autopeft.proxy import Fidelity, evaluate
from autopeft.tasks import check_task_data, resolve_task
from autopeft.tasks.options import add_task_arguments, task_reference

HELP = "Train one PEFT config (a JSON file or a space sample) on a task and print its TrialResult."

#: Fidelity knob -> (CLI flag, type, help).
_KNOBS: dict[str, tuple[str, type, str]] = {
    "max_train_examples": ("--max-train-examples", int, "training examples used"),
    "epochs": ("--epochs", float, "passes over the training examples"),
    "max_steps": ("--max-steps", int, "optimiser steps (overrides --epochs)"),
    "max_seq_length": ("--max-seq-length", int, "tokens per example"),
    "batch_size": ("--batch-size", int, "examples per step"),
    "learning_rate": ("--learning-rate", float, "one learning rate for all trainable parameters"),
    "warmup_ratio": ("--warmup-ratio", float, "share of steps with linear warmup"),
    "max_eval_examples": ("--max-eval-examples", int, "validation examples scored"),
    "timeout_s": ("--timeout", float, "wall-clock budget of the trial in seconds"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model id or local path (default: the local all-MiniLM-L6-v2)")
    add_task_arguments(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="a PeftConfig JSON file")
    source.add_argument("--space", help="a search space (name or YAML); use with --sample")
    parser.add_argument("--sample", type=int, default=0, help="seed of the space sample (with --space)")
    parser.add_argument("--fidelity", default="quick", help="preset (tiny, quick, standard, full) or PRESET:key=value,...; the knobs below override it")
    for name, (flag, kind, text) in _KNOBS.items():
        parser.add_argument(flag, dest=name, type=kind, help=text)
    parser.add_argument("--bf16", dest="bf16", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast on CUDA")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--json", action="store_true", help="print the TrialResult as JSON")


def run(args: argparse.Namespace) -> int:
    task = resolve_task(task_reference(args, required=True), args.data_dir)
    check_task_data(task)  # a bad row fails here with its file, line and column
    fidelity = Fidelity.parse(args.fidelity).with_(**{name: getattr(args, name) for name in (*_KNOBS, "bf16")})
    model = args.model or default_model()
    if args.config:
        config = autopeft.load_config(args.config)
    else:
        config = autopeft.load_space(args.space).sample(load_backbone(model), args.sample)
    result = evaluate(model, task, config, fidelity, args.seed, device=args.device)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for key, value in result.to_dict().items():
            print(f"{key:18s} {value}")
    return 0 if result.status == "ok" else 1
