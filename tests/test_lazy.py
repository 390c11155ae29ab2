"""`autopeft._lazy.lazy_module`: a module named at the top of a file, imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autopeft._lazy import lazy_module


def test_lazy_module_imports_on_first_attribute():
    code = ("import sys\n"
            "from autopeft._lazy import lazy_module\n"
            "fractions = lazy_module('fractions')\n"
            "before = 'fractions' in sys.modules\n"
            "value = fractions.Fraction(1, 3)\n"
            "print(before, 'fractions' in sys.modules, value)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "1/3"]


def test_an_imported_module_is_returned_as_is():
    assert lazy_module("sys") is sys


def test_a_missing_module_raises_at_first_use_not_hidden():
    missing = lazy_module("autopeft_no_such_module_xyz")
    with pytest.raises(ModuleNotFoundError, match="autopeft_no_such_module_xyz"):
        missing.anything
