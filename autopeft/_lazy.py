"""Lazy imports: public names of a package ``__init__`` (:func:`lazy_exports`) and module objects
(:func:`lazy_module`) whose heavy module loads on first attribute access."""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any, Callable, Mapping


def lazy_exports(package: str, namespace: dict[str, Any], names: Mapping[str, tuple[str, str | None]]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose ``names`` map a public name to
    ``(module, attribute)``; attribute ``None`` means the module itself. A loaded value is cached
    in the package's ``namespace``."""

    def __getattr__(name: str) -> Any:
        try:
            module_name, attribute = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module = importlib.import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *names])

    return __getattr__, __dir__


class _LazyModule(types.ModuleType):
    """A module object that imports the real module on first attribute access (optuna's
    ``_LazyImport``): a file names ``torch`` at its top, its functions use ``torch.zeros``, and
    importing the file costs nothing. The real import goes under ``TYPE_CHECKING`` for the
    annotations, and an import error surfaces unchanged at the first use."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_lazy_name"] = name

    def _load(self) -> types.ModuleType:
        module = importlib.import_module(self.__dict__["_lazy_name"])
        self.__dict__.update(module.__dict__)
        self.__dict__["_lazy_module"] = module
        return module

    def __getattr__(self, item: str) -> Any:
        return getattr(self._load(), item)

    def __dir__(self) -> list[str]:
        return dir(self._load())


def lazy_module(name: str) -> Any:
    """The module ``name`` (dotted), imported on first attribute access; the module itself when
    it is imported already. Use at module top::

        if TYPE_CHECKING:
            import torch
        else:
            torch = lazy_module("torch")
    """
    return sys.modules.get(name) or _LazyModule(name)
