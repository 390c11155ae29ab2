"""Errors of the search service: a bad search option, an unusable Ray cluster, a study clash."""

from __future__ import annotations

from autopeft.errors import AutoPeftError


class SearchError(AutoPeftError, ValueError):
    """A search cannot start or go on: names the option, the value and the fix."""
