"""Packaging tests.

The fast checks (configuration, installer scripts, the build helper on a dummy bundle) run in
the normal test suite. Tests marked ``packaging`` build or use the real bundle (minutes) and
run only when asked for: ``pytest tests/packaging -m packaging`` (what ``make package`` does).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "packaging: builds or runs the real installers (make package); off by default"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "packaging" in (config.option.markexpr or ""):
        return
    slow = [item for item in items if item.get_closest_marker("packaging") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("packaging") is None]


def load_build_module() -> ModuleType:
    """``packaging/build.py`` as a module (it is a script, not part of a package)."""
    name = "evp_packaging_build"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "packaging" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build() -> ModuleType:
    return load_build_module()
