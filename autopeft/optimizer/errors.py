"""Typed errors of the optimiser package."""

from __future__ import annotations

from autopeft.errors import AutoPeftError


class OptimizerError(AutoPeftError, ValueError):
    """An optimiser setting is invalid: names the argument, the value and the fix."""


class UnknownSamplerError(OptimizerError, KeyError):
    """A sampler name is not in the registry; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""
