"""Search spaces: the shipped YAML files (the repository's ``search_spaces/`` folder, installed as
the package data of ``autopeft.search_spaces``) or any YAML file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from autopeft.errors import SpaceError
from autopeft.spaces.space import Parameter, SearchSpace

#: Folder of the shipped spaces (``autopeft.yaml``, ``lora_layerwise.yaml``, ``mixed.yaml``): a
#: real folder in a wheel and in an editable install alike.
BUILTIN_DIR = Path(str(resources.files("autopeft.search_spaces")))


def builtin_spaces() -> list[str]:
    """Names of the shipped spaces."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def resolve_space_path(path_or_name: str | Path) -> Path:
    """A YAML path as given, or the shipped space of that name."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    if path.suffix in (".yaml", ".yml"):
        raise SpaceError(f"{path}: no such search-space file; shipped spaces: {builtin_spaces()}")
    builtin = BUILTIN_DIR / f"{path_or_name}.yaml"
    if builtin.exists():
        return builtin
    raise SpaceError(
        f"space {str(path_or_name)!r} is neither a YAML file nor a shipped space; shipped spaces: {builtin_spaces()}"
    )


def load_space(path_or_name: str | Path) -> SearchSpace:
    """Shorthand for :meth:`SearchSpace.from_yaml`."""
    return SearchSpace.from_yaml(path_or_name)


__all__ = ["BUILTIN_DIR", "Parameter", "SearchSpace", "builtin_spaces", "load_space", "resolve_space_path"]
