"""Errors of the study store: an unreachable database, an unknown study."""

from __future__ import annotations

from autopeft.errors import AutoPeftError


class StoreError(AutoPeftError, ValueError):
    """The study store cannot be used: a bad URL, an unreachable database, a missing study."""
