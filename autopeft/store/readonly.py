"""Opening a study store read-only, so the dashboard can never change a study.

:func:`autopeft.store.open_storage` opens the database for writing (it creates Optuna's tables and
switches SQLite to WAL), which a viewer must not do: it would create an empty database for a
mistyped path and take write locks while a search runs. Here the same Optuna ``RDBStorage`` is
built on connections the database itself refuses to write through:

* SQLite: ``file:PATH?mode=ro`` URI connections (reads of a WAL database that a search is writing
  see every committed trial);
* PostgreSQL: sessions with ``default_transaction_read_only=on``.

The storage object is then handed to the store's public read functions, which accept an opened
storage as well as a URL.
"""

from __future__ import annotations

import time

from pathlib import Path
from typing import Any, Callable

from autopeft.store.errors import StoreError
from autopeft.store.storage import redact_text, redact_url


def _sqlite_engine_kwargs(url: str) -> dict[str, Any]:
    from autopeft.store.storage import sqlite_path

    path = sqlite_path(url)
    if path is None:
        raise StoreError(f"--storage {redact_url(url)!r}: an in-memory SQLite database has no studies to show; give a file, sqlite:///FILE.db")
    if not path.is_file():
        raise StoreError(
            f"--storage {redact_url(url)!r}: no such database file {str(path)!r}; check the path, or create a study with "
            f"`autopeft search --storage {redact_url(url)} ...`"
        )
    resolved = Path(path).resolve()

    def connect() -> Any:
        import sqlite3

        return sqlite3.connect(f"{resolved.as_uri()}?mode=ro", uri=True, timeout=30, check_same_thread=False)

    return {"creator": connect}


def _postgres_engine_kwargs(url: str) -> dict[str, Any]:
    return {"connect_args": {"connect_timeout": 5, "options": "-c default_transaction_read_only=on"}}


#: URL scheme prefix -> engine options that make every connection read-only.
READ_ONLY_ENGINES: dict[str, Callable[[str], dict[str, Any]]] = {
    "sqlite": _sqlite_engine_kwargs,
    "postgresql": _postgres_engine_kwargs,
}


#: Further tries of a read-only open that failed for a reason other than "not a study store": a
#: page opened while a search creates the database can read it half-made (its tables committed,
#: Optuna's version rows not yet) and gets an error that is gone a moment later.
INIT_RETRIES = 3


def open_readonly(url: str) -> Any:
    """An ``optuna.storages.RDBStorage`` on ``url`` whose connections cannot write.

    Raises :class:`StoreError` (one line, no traceback) for a missing SQLite file, an
    unsupported scheme, an unreachable server or a database that is not a study store.
    """
    import warnings

    from autopeft.store.storage import normalize_url

    url = normalize_url(url)
    scheme = url.split("://", 1)[0]
    builder = next((b for prefix, b in READ_ONLY_ENGINES.items() if scheme.startswith(prefix)), None)
    if builder is None:
        raise StoreError(f"--storage {redact_url(url)!r}: the dashboard opens sqlite and postgresql stores read-only; {scheme!r} is not supported")
    engine_kwargs = {"pool_pre_ping": True, **builder(url)}

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for attempt in range(INIT_RETRIES + 1):
            try:
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, skip_compatibility_check=False)
            except ImportError as exc:
                raise StoreError(f"--storage {redact_url(url)!r}: the database driver is not installed ({exc})") from None
            except Exception as exc:  # noqa: BLE001 - sqlalchemy/optuna errors become one line
                text = str(getattr(exc, "orig", exc)).strip()
                first = text.splitlines()[0] if text else exc.__class__.__name__
                if "readonly" in first or "read-only" in first or "no such table" in first:
                    raise StoreError(f"--storage {redact_url(url)!r}: not an autopeft study store (it has no Optuna tables); point --storage at the database `autopeft search` wrote") from None
                if attempt < INIT_RETRIES:  # a search creating the store right now: its tables appear in a moment
                    time.sleep(0.25 * (attempt + 1))
                    continue
                raise StoreError(f"--storage {redact_url(url)!r}: cannot open the study store read-only ({redact_text(first, url)})") from None
