"""Typed errors of autopeft.

Every error a user can trigger names the field (or file and key path), the value it got and
the fix, in one message. Code catches the narrowest class it can handle.
"""

from __future__ import annotations


class AutoPeftError(Exception):
    """Base class of every error autopeft raises on purpose."""


class ConfigError(AutoPeftError, ValueError):
    """A `PeftConfig` (or its dict form) is invalid: names the key, the value and the fix."""


class SpaceError(AutoPeftError, ValueError):
    """A search-space YAML file is invalid: names the file, the key path and the fix."""


class ArchitectureError(AutoPeftError, ValueError):
    """A model cannot be handled: unknown family, or a target module missing or ambiguous."""


class UnsupportedModuleError(ArchitectureError):
    """A PEFT module type is not available for this architecture family."""


class RegistryError(AutoPeftError, ValueError):
    """A PEFT method's declaration cannot be registered: a taken name, field or knob, or a
    malformed part; names the method, the part and the fix."""
