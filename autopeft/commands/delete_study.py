"""``autopeft delete-study --study S --yes``: delete a study and all its trials from a store.

Deleting cannot be undone, so the command refuses without ``--yes`` (one line, exit 2) and
refuses a study the store does not hold, naming the ones it does. The deletion itself is
Optuna's own (:func:`autopeft.store.study.delete_study`), so the store stays exactly as Optuna expects it.
"""

from __future__ import annotations

import argparse

from autopeft.store.storage import DEFAULT_STORAGE

HELP = "Delete a study and its trials from a study store (needs --yes)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="study name (see `autopeft studies`)")
    parser.add_argument("--yes", action="store_true", help="really delete it (required: deleting cannot be undone)")
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL (default {DEFAULT_STORAGE})")


def run(args: argparse.Namespace) -> int:
    from autopeft.store.errors import StoreError
    from autopeft.store.storage import check_writable, redact_url
    from autopeft.store.study import count_trials, delete_study

    check_writable(args.storage)  # a read-only store: one line, nothing left behind
    n_trials = count_trials(args.storage, args.study)
    if not args.yes:
        raise StoreError(f"refusing to delete study {args.study!r} ({n_trials} trials) without --yes; deleting cannot be undone")
    delete_study(args.storage, args.study)
    print(f"deleted study {args.study!r} and its {n_trials} trials from {redact_url(args.storage)}")
    return 0
