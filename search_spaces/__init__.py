"""The shipped search spaces (YAML), installed as ``autopeft.search_spaces`` (package data) so a
wheel install has them too; :mod:`autopeft.spaces` reads them through ``importlib.resources``."""
