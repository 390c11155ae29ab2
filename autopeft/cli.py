"""The ``autopeft`` command line: one subcommand per module in :mod:`autopeft.commands`.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Adding a command is one line in :data:`COMMANDS`. Errors autopeft raises on purpose are printed as
one line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from autopeft._version import __version__
from autopeft.errors import AutoPeftError

#: Subcommand name -> module implementing it.
COMMANDS: dict[str, str] = {
    "spaces": "autopeft.commands.spaces",
    "count": "autopeft.commands.count",
    "evaluate": "autopeft.commands.evaluate",
    "calibrate": "autopeft.commands.calibrate",
    "search": "autopeft.commands.search",
    "studies": "autopeft.commands.studies",
    "pareto": "autopeft.commands.pareto",
    "show": "autopeft.commands.show",
    "trials": "autopeft.commands.trials",
    "delete-study": "autopeft.commands.delete_study",
    "export": "autopeft.commands.export",
    "dashboard": "autopeft.commands.dashboard",
}


def _available_commands() -> dict[str, object]:
    """Import the command modules that exist (later issues add some of them)."""
    modules = {}
    for name, module_name in COMMANDS.items():
        try:
            modules[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
    return modules


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="autopeft", description="Search parameter-efficient fine-tuning configurations.")
    parser.add_argument("--version", action="version", version=f"autopeft {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = _available_commands()
    for name, module in modules.items():
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(modules[args.command].run(args) or 0)
    except AutoPeftError as exc:
        print(f"autopeft {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"autopeft {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
