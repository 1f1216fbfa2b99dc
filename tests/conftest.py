"""Fixtures shared by every test: user folders live in tmp_path, never in the home folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("evp_home")
    monkeypatch.setenv("EVP_STUDIO_HOME", str(home))
    return home
