"""Subcommands of the ``autopeft`` CLI, one module each (see :mod:`autopeft.cli`)."""
