"""The package ships what users run: every subpackage is listed for the wheel, and the shipped
spaces and the dashboard are found through the package, not through the checkout's layout."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_package_of_the_tree_is_in_the_wheel_list():
    from setuptools import find_packages

    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setup["packages"])
    found = set(find_packages(str(REPO), include=["autopeft", "autopeft.*"]))
    mapped = set(setup["package-dir"])
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed == found | mapped
    for package, folder in setup["package-dir"].items():
        assert (REPO / folder / "__init__.py").is_file(), f"{package} maps to {folder}/, which needs an __init__.py"


def test_spaces_and_dashboard_resolve_through_the_package():
    import autopeft.dashboard
    import autopeft.search_spaces
    from autopeft.commands.dashboard import app_path
    from autopeft.spaces import BUILTIN_DIR, builtin_spaces

    assert builtin_spaces() == ["autopeft", "lora_layerwise", "mixed"]
    assert BUILTIN_DIR == Path(autopeft.search_spaces.__file__).parent
    assert app_path() == Path(autopeft.dashboard.__file__).parent / "app.py" and app_path().is_file()


def test_no_checkout_layout_lookups_remain():
    offenders = []
    for path in [*(REPO / "autopeft").rglob("*.py"), *(REPO / "dashboard").glob("*.py"), *(REPO / "workers").glob("*.py")]:
        text = path.read_text()
        if "parents[2]" in text or "sys.path.insert" in text or "sys.path.append" in text:
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
