"""First-run dialog (shown once, lists the user folders) and the editor's --self-test/--version."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from evp_studio import __version__, paths, selftest
from evp_studio.weights import user_models_dir
from ui import app, first_run


@pytest.fixture(autouse=True)
def _first_run_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(first_run.SKIP_ENV, raising=False)


def test_dialog_lists_every_user_folder(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = first_run.FirstRunDialog()
    qtbot.addWidget(dialog)
    shown = {title: label.text() for title, label in dialog.path_labels.items()}
    assert shown["Models"] == str(user_models_dir())
    assert shown["Cache"] == str(paths.cache_dir())
    assert shown["Autosaves"] == str(paths.autosave_dir())
    assert shown["Settings"] == str(paths.config_dir())
    assert shown["Logs"] == str(paths.log_dir())
    assert shown["Bundled"] == str(paths.resource_path(""))


def test_shown_once_then_never_again(qtbot) -> None:  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    dialog = first_run.maybe_show_first_run(parent)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert not (paths.config_dir() / first_run.MARKER).exists()  # not until it is closed

    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)
    assert (paths.config_dir() / first_run.MARKER).exists()
    assert first_run.maybe_show_first_run(parent) is None


def test_environment_variable_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(first_run.SKIP_ENV, "1")
    assert not first_run.should_show()
    assert first_run.maybe_show_first_run(None) is None
    monkeypatch.setenv(first_run.SKIP_ENV, "0")
    assert first_run.should_show()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        app.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"EVP Studio {__version__}"


def test_self_test_runs_before_any_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """--self-test reports the Qt check and the core checks, and never builds a window."""

    def fake_core() -> Iterator[selftest.Check]:
        yield selftest.Check("demo project", True, "loaded", 0.0)
        yield selftest.Check("warp renderer", False, "RuntimeError: broken", 0.0)

    def no_window(*args: object) -> None:
        raise AssertionError("the self-test must not build a window")

    monkeypatch.setattr(selftest, "run_self_test", fake_core)
    monkeypatch.setattr(app, "MainWindow", no_window)
    monkeypatch.setattr(app, "maybe_show_first_run", no_window)
    out = StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert app.main(["--self-test"]) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"EVP Studio {__version__} self-test")
    assert lines[1].startswith("ok    Qt: Qt 6")
    assert lines[2].startswith("ok    demo project")
    assert lines[3].startswith("FAIL  warp renderer: RuntimeError: broken")
    assert lines[4].startswith("self-test FAILED: warp renderer")
    assert not (paths.config_dir() / first_run.MARKER).exists()
