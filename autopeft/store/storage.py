"""Opening the study store: Optuna's RDB storage (SQLAlchemy) on SQLite or PostgreSQL.

The store is Optuna's own schema (studies, trials, params, values, user attributes,
heartbeats), versioned by Optuna's alembic migrations; autopeft adds no tables of its own; its
metadata lives in study and trial user attributes (see :mod:`autopeft.store.records`). A study
can therefore be read with plain Optuna as well as with :mod:`autopeft.store`.

URLs: ``sqlite:///path.db`` (the default, ``sqlite:///autopeft.db``) and
``postgresql+psycopg://user@host:port/db``; a bare ``postgresql://`` is rewritten to the
psycopg (version 3) driver. :func:`check_reachable` connects once before anything is written, so
a wrong host or a missing folder is one clear line instead of a traceback mid-search.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable

from autopeft.store.errors import StoreError

DEFAULT_STORAGE = "sqlite:///autopeft.db"
#: URL scheme prefix -> the driver package it needs (for the error message when missing).
_DRIVERS = {"sqlite": None, "postgresql+psycopg": "psycopg[binary]", "postgresql+psycopg2": "psycopg2-binary", "mysql": "pymysql"}


_PASSWORD = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")


def redact_url(url: Any) -> str:
    """``url`` with its password replaced by ``***`` (SQLAlchemy's
    ``URL.render_as_string(hide_password=True)``): what every message and log line shows."""
    text = str(url)
    if "@" not in text:
        return text
    try:
        from sqlalchemy.engine import make_url

        return make_url(text).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy parses: mask user:password@ by hand
        return _PASSWORD.sub(r"\1***\3", text)


def redact_text(text: str, url: Any) -> str:
    """``text`` (a driver's error message) with the password of ``url`` and any URL's
    ``user:password@`` masked."""
    text = _PASSWORD.sub(r"\1***\3", str(text))
    try:
        from sqlalchemy.engine import make_url

        password = make_url(str(url)).password
    except Exception:  # noqa: BLE001
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text


def normalize_url(url: str) -> str:
    """The SQLAlchemy URL autopeft uses for ``url`` (``postgresql://`` -> ``postgresql+psycopg://``)."""
    if not isinstance(url, str) or "://" not in url:
        raise StoreError(f"--storage {redact_url(url)!r}: expected a database URL such as {DEFAULT_STORAGE!r} or 'postgresql+psycopg://user@host:5432/db'")
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    scheme = url.split("://", 1)[0]
    if not any(scheme == s or scheme.startswith(s) for s in _DRIVERS):
        raise StoreError(f"--storage {redact_url(url)!r}: unsupported scheme {scheme!r}; use sqlite:///FILE.db or postgresql+psycopg://...")
    return url


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for in-memory or other databases)."""
    if not url.startswith("sqlite:"):
        return None
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    return Path(rest) if rest and rest != ":memory:" else None


def check_reachable(url: str, *, must_exist: bool = False) -> str:
    """Validate and connect to ``url`` without writing anything; returns the normalised URL.

    ``must_exist``: a SQLite file must already be there (for read commands, which must not
    create an empty database by accident).
    """
    url = normalize_url(url)
    path = sqlite_path(url)
    if path is not None:
        if must_exist and not path.is_file():
            raise StoreError(f"--storage {redact_url(url)!r}: no such database file {str(path)!r}")
        if not path.parent.resolve().is_dir():
            raise StoreError(f"--storage {redact_url(url)!r}: folder {str(path.parent)!r} does not exist; create it or choose another path")
        return url
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(url, connect_args=_connect_args(url))
    except ImportError as exc:
        scheme = url.split("://", 1)[0]
        raise StoreError(f"--storage {redact_url(url)!r}: the database driver is not installed ({redact_text(exc, url)}); pip install {_DRIVERS.get(scheme) or 'the driver'}") from None
    try:
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - any driver error means "unreachable"
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise StoreError(f"--storage {redact_url(url)!r}: cannot connect ({redact_text(first, url)})") from None
    finally:
        engine.dispose()
    return url


def _write_problem(path: Path) -> str | None:
    """Why ``path`` (an existing file) cannot be opened for writing, or None. Opening it
    read-write writes nothing; an immutable file (``chattr +i``) or a read-only mount refuses it
    even to root, which ``os.access`` alone would not always say."""
    try:
        with open(path, "r+b"):
            pass
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__
    return None


def check_writable(url: str) -> str:
    """Check that a search can write to ``url`` without writing anything; returns the URL.

    SQLite: the database file, its ``-wal`` / ``-shm`` files when present, and its folder (WAL
    mode keeps ``FILE-wal`` and ``FILE-shm`` beside the database, and a new database is created
    there) must be writable. A read-only or immutable file is one line naming the file and the
    fix, before the store is opened, so nothing (no ``-wal`` / ``-shm``) is left behind.
    Other databases are checked when they are written (the server decides)."""
    url = check_reachable(url)
    path = sqlite_path(url)
    if path is None:
        return url
    path = path.resolve()
    fix = "make it writable (chmod u+w; an immutable file needs chattr -i) or pass --storage a database you can write"
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists():
            problem = _write_problem(candidate)
            if problem is not None:
                raise StoreError(f"--storage {redact_url(url)!r}: the database file {str(candidate)!r} is read-only ({problem}); {fix}")
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK) or _immutable(folder):
        what = "SQLite keeps FILE-wal and FILE-shm beside the database" if path.exists() else "the database would be created there"
        raise StoreError(f"--storage {redact_url(url)!r}: the folder {str(folder)!r} is not writable ({what}); make it writable "
                         "or pass --storage a database in a folder you can write")
    return url


def _immutable(folder: Path) -> bool:
    """Whether ``folder`` refuses new files although ``os.access`` allows them (``chattr +i``
    as root): read from the inode flags, without creating anything."""
    try:
        import fcntl
        import struct

        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            flags = struct.unpack("l", fcntl.ioctl(fd, 0x80086601, struct.pack("l", 0)))[0]  # FS_IOC_GETFLAGS
        finally:
            os.close(fd)
        return bool(flags & 0x10)  # FS_IMMUTABLE_FL
    except Exception:  # noqa: BLE001 - no such ioctl here (another OS, another filesystem)
        return False


def _connect_args(url: str) -> dict[str, Any]:
    return {"connect_timeout": 5} if url.startswith("postgresql") else {}


def _sqlite_creator(path: Path) -> Callable[[], Any]:
    """SQLite connections in WAL mode with ``synchronous=NORMAL``.

    Each ``suggest_categorical`` is one commit; with the default rollback journal and full
    fsync a commit costs milliseconds, which dominated the loop's overhead per trial. WAL with
    NORMAL sync survives a killed process (only an OS crash may lose the last commits) and lets
    readers (the dashboard, ``autopeft studies``) read while a search writes.
    """
    import sqlite3

    def connect() -> Any:
        conn = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    return connect


#: Error texts of losing a race to initialise a database: a table, or Optuna's version rows
#: (``version_info``, ``alembic_version``, which even a reader inserts when absent), created
#: by another process in between (SQLite and PostgreSQL wordings).
_CONCURRENT_INIT = ("already exists", "UNIQUE constraint failed", "duplicate key value")


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    stale_trial_callback: Callable[..., None] | None = None,
    create: bool = True,
) -> Any:
    """An ``optuna.storages.RDBStorage`` for ``url`` (creates Optuna's tables if missing), whose
    parameter writes can be batched (:class:`autopeft.store.batch.BatchingRDBStorage`).

    ``heartbeat_interval`` turns on Optuna's heartbeat: a RUNNING trial whose driver stopped
    beating for ``grace_period`` seconds is failed by ``optuna.storages.fail_stale_trials`` and
    handed to ``stale_trial_callback`` (the search loop re-queues it). ``create=False`` (the read
    API) never creates tables, so a reader cannot race a search that is creating them.
    """
    import warnings

    import optuna

    from autopeft.store.batch import BatchingRDBStorage

    url = normalize_url(url)
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        engine_kwargs["connect_args"] = _connect_args(url)
    path = sqlite_path(url)
    if path is not None:
        engine_kwargs["creator"] = _sqlite_creator(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            for attempt in range(3):
                try:
                    return BatchingRDBStorage(
                        url,
                        engine_kwargs=engine_kwargs,
                        heartbeat_interval=heartbeat_interval,
                        grace_period=grace_period,
                        heartbeat_stale_trial_callback=stale_trial_callback,
                        skip_table_creation=not create,
                    )
                except Exception as exc:
                    # Two processes initialising one database at once (a search creating it while a
                    # reader or a second driver opens it): the loser retries and finds it done.
                    if attempt < 2 and any(marker in str(exc) for marker in _CONCURRENT_INIT):
                        time.sleep(0.2 * (attempt + 1))
                        continue
                    if not create and _no_tables(exc):
                        raise StoreError(f"--storage {redact_url(url)!r}: holds no study tables yet (an empty database, or a search is creating it)") from None
                    raise
            raise AssertionError("unreachable")
        except ImportError as exc:
            raise StoreError(f"--storage {redact_url(url)!r}: the database driver is not installed ({exc})") from None
        except Exception as exc:  # sqlalchemy.exc.OperationalError and friends
            if exc.__class__.__module__.startswith(("sqlalchemy", "optuna")):
                first = (str(getattr(exc, "orig", exc)).strip().splitlines() or [exc.__class__.__name__])[0]
                raise StoreError(f"--storage {redact_url(url)!r}: cannot open the study store ({redact_text(first, url)})"
                                 + (f"; {_READ_ONLY_FIX}" if _is_read_only(first) else "")) from None
            raise


_READ_ONLY_FIX = "the database file or its folder is read-only: make both writable (chmod u+w; chattr -i if immutable) or pass another --storage"


def _is_read_only(text: str) -> bool:
    return any(m in text for m in ("readonly database", "read-only", "unable to open database file"))


def _no_tables(exc: BaseException) -> bool:
    """Whether opening failed because the database holds no Optuna tables yet."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:  # Optuna wraps the driver's error (its __cause__)
        text = str(getattr(current, "orig", current))
        if "no such table" in text or ("relation" in text and "does not exist" in text):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False
