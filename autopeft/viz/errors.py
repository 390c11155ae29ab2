"""Errors of the dashboard's data layer."""

from __future__ import annotations

from autopeft.store.errors import StoreError


class DashboardError(StoreError):
    """The dashboard cannot show what was asked: a missing database, an unknown study."""
