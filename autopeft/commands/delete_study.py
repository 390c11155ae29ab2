"""``autopeft delete-study --study S --yes``: delete a study and all its trials from a store.

Deleting cannot be undone, so the command refuses without ``--yes`` (one line, exit 2) and
refuses a study the store does not hold, naming the ones it does. The deletion itself is
Optuna's own (``optuna.delete_study``), so the store stays exactly as Optuna expects it.
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
    import optuna

    from autopeft.store.errors import StoreError
    from autopeft.store.storage import check_reachable, open_storage

    storage = open_storage(check_reachable(args.storage, must_exist=True), create=False)
    names = [s.study_name for s in storage.get_all_studies()]
    if args.study not in names:
        raise StoreError(f"--study {args.study!r}: no such study in {args.storage}; studies: {names or 'none'}")
    n_trials = storage.get_n_trials(storage.get_study_id_from_name(args.study))
    if not args.yes:
        raise StoreError(f"refusing to delete study {args.study!r} ({n_trials} trials) without --yes; deleting cannot be undone")
    optuna.delete_study(study_name=args.study, storage=storage)
    print(f"deleted study {args.study!r} and its {n_trials} trials from {args.storage}")
    return 0
