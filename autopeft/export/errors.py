"""Errors of export: a config a target format cannot express, a trial that cannot be selected."""

from __future__ import annotations

from autopeft.errors import AutoPeftError


class ExportError(AutoPeftError, ValueError):
    """The export cannot be made: an unknown format, no matching trial, an unusable output folder."""


class InexpressibleError(ExportError):
    """A target format cannot express part of the configuration.

    ``parts`` names each part that cannot be expressed (with the layers it is in and why);
    ``alternatives`` lists the formats that can express the whole configuration.
    """

    def __init__(self, target: str, parts: list[str], alternatives: list[str]) -> None:
        self.target = target
        self.parts = list(parts)
        self.alternatives = list(alternatives)
        listed = "; ".join(self.parts)
        hint = " or ".join(f"--format {name}" for name in self.alternatives)
        super().__init__(
            f"the {target} format cannot express this configuration: {listed}. "
            f"Export it with {hint}, which express every part of it exactly."
        )
