"""The installation self-test (``evp-studio self-test``, the editor's ``--self-test``)."""

from __future__ import annotations

import sys
from io import StringIO
from pathlib import Path

import pytest

from evp_studio import __version__, cli, paths, selftest


def test_resource_path_from_source_and_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    assert paths.resource_path("demo/demo.evp") == repo / "resources" / "demo" / "demo.evp"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", "/opt/evp-studio/_internal", raising=False)
    assert paths.resource_path("models") == Path("/opt/evp-studio/_internal/resources/models")
    monkeypatch.delattr(sys, "_MEIPASS")  # a freezer without PyInstaller's data folder
    exe_dir = Path(sys.executable).resolve().parent
    assert paths.resource_path("icons") == exe_dir / "resources" / "icons"


def test_report_lines_and_exit_status() -> None:
    out = StringIO()
    checks = [selftest.Check("a", True, "fine", 0.04), selftest.Check("b", False, "bad", 1.26)]
    assert selftest.report(checks, out) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"EVP Studio {__version__} self-test (")
    assert lines[1:3] == ["ok    a: fine (0.0 s)", "FAIL  b: bad (1.3 s)"]
    assert lines[3].startswith("self-test FAILED: b (details in ")
    assert selftest.report(checks[:1], StringIO()) == 0


def test_a_failing_check_is_reported_not_raised() -> None:
    def broken() -> str:
        raise FileNotFoundError("resources/demo/target.mp4 is missing\nmore")

    check = selftest.run_check("demo project", broken)
    assert not check.ok
    assert check.detail == "FileNotFoundError: resources/demo/target.mp4 is missing"


def test_missing_demo_skips_the_renderers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest, "DEMO_PROJECT", "demo/no-such-project.evp")
    monkeypatch.setattr(selftest, "_fan_backend", lambda: "skipped in this test")
    checks = {c.name: c for c in selftest.run_self_test()}
    assert not checks["demo project"].ok
    assert checks["warp renderer"].detail == "skipped: the demo project did not load"
    assert not checks["neural renderer"].ok


@pytest.mark.slow
def test_whole_self_test_from_source(capsys: pytest.CaptureFixture[str]) -> None:
    """``evp-studio self-test`` passes on the demo project (about 20 s on one CPU core)."""
    assert cli.main(["self-test"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = ["user folders", "models", "fan backend", "demo project", "warp renderer"]
    for name, line in zip([*names, "neural renderer"], lines[1:7], strict=True):
        assert line.startswith(f"ok    {name}: "), line
    assert "tiny preset trained 4 steps" in lines[6]
    assert lines[-1] == "self-test passed"
