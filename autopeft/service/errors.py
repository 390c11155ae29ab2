"""Errors of the search service: a bad search option, an unusable Ray cluster, a study clash.

A library error names the :class:`~autopeft.service.spec.SearchSpec` parameter (``max_params
'lots': expected a count ...``); the CLI renders the same error with its flags (``--max-params
'lots': ...``) through :meth:`SearchError.render`.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from autopeft.errors import AutoPeftError

_NO_VALUE = object()
_NAME = re.compile(r"\{([a-z_]+)\}")


class SearchError(AutoPeftError, ValueError):
    """A search cannot start or go on: names the parameter, the value and the fix.

    ``parameter``: the SearchSpec field at fault (None for errors of no single parameter);
    ``value``: what it was given; ``detail``: the rest of the message, where ``{name}`` stands
    for another parameter's name (rendered as its name, or by the CLI as its flag)."""

    def __init__(self, detail: str, *, parameter: str | None = None, value: Any = _NO_VALUE):
        self.detail = detail
        self.parameter = parameter
        self.value = value
        super().__init__(self.render())

    def render(self, name_of: Callable[[str], str] = str) -> str:
        """The message with each parameter named by ``name_of`` (the CLI passes its flags)."""
        detail = _NAME.sub(lambda m: name_of(m.group(1)), self.detail)
        if self.parameter is None:
            return detail
        head = name_of(self.parameter) + ("" if self.value is _NO_VALUE else f" {self.value!r}")
        return f"{head}{detail}" if detail[:1] in (" ", ";", ",") else f"{head}: {detail}"
