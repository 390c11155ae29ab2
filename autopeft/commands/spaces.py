"""``autopeft spaces``: list the shipped search spaces, or expand one for a model."""

from __future__ import annotations

import argparse
import json

from autopeft.backbone import load_backbone
from autopeft.spaces import builtin_spaces, load_space

HELP = "List shipped search spaces, or show one space's parameters for a model."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("space", nargs="?", help="a shipped space name or a YAML path")
    parser.add_argument("--model", help="model id or local path whose config sizes the space")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    if args.space is None:
        for name in builtin_spaces():
            space = load_space(name)
            print(f"{name:16s} {space.description}")
        return 0
    space = load_space(args.space)
    if args.model is None:
        print(space.text)
        return 0
    params = space.parameters(load_backbone(args.model))
    if args.json:
        print(json.dumps([{"name": p.name, "kind": p.kind, "choices": list(p.choices)} for p in params], indent=2))
    else:
        for p in params:
            print(f"{p.name:28s} {p.kind:12s} {list(p.choices)}")
    return 0
