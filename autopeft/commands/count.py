"""``autopeft count``: exact trainable parameters of a configuration, without building the model."""

from __future__ import annotations

import argparse
import json

import autopeft
from autopeft.backbone import load_backbone

HELP = "Count the trainable PEFT parameters of a config JSON (or a space sample) for a model."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model id or local path")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="a PeftConfig JSON file")
    source.add_argument("--space", help="a search space (name or YAML); use with --sample")
    parser.add_argument("--sample", type=int, default=0, help="seed of the space sample")
    parser.add_argument("--dtype", default="float32", help="dtype for the size in bytes")


def run(args: argparse.Namespace) -> int:
    model_config = load_backbone(args.model)
    config = autopeft.load_config(args.config) if args.config else autopeft.load_space(args.space).sample(model_config, args.sample)
    out = {
        "trainable_params": config.num_trainable_params(model_config),
        "percent_of_backbone": config.percent_of_backbone(model_config),
        "bytes": config.num_bytes(model_config, args.dtype),
        "breakdown": config.param_breakdown(model_config),
        "summary": config.summary(),
    }
    print(json.dumps(out, indent=2))
    return 0
