"""Tools ▸ Models: the registry's files, checked off the GUI thread; import; open folder."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox

from evp_studio import weights
from evp_studio.errors import InvalidInputError
from evp_studio.weights import WeightSpec
from tests.ui.conftest import shown_dialog
from ui import model_manager
from ui.main_window import MainWindow
from ui.model_manager import CHECK, SOURCE, WHERE, ModelManagerDialog

LEFT = Qt.MouseButton.LeftButton
CONTENT = b"weights of a test model\n" * 100


def _refuse(path: Path) -> None:
    if path.read_bytes().startswith(b"junk"):
        raise InvalidInputError(f"{path}: not a model file of this kind")


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two test entries: a bundled file with its manifest, an optional one nobody has."""
    root = tmp_path / "resources"
    (root / "models").mkdir(parents=True)
    (root / "models" / "bundled.pt").write_bytes(CONTENT)
    manifest = {"sha256": hashlib.sha256(CONTENT).hexdigest()}
    (root / "models" / "bundled.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setattr(weights, "resource_path", lambda name: root / name)
    specs = {
        "bundled": WeightSpec("bundled", "bundled.pt", None, "a bundled model", "Reinstall.", True),
        "extra": WeightSpec(
            "extra",
            "extra.bin",
            hashlib.sha256(CONTENT).hexdigest(),
            "an optional model",
            "Copy it in.",
            False,
            validator=_refuse,
        ),
    }
    monkeypatch.setattr(weights, "REGISTRY", specs)
    return root / "models"


def _open(qtbot, window: MainWindow) -> ModelManagerDialog:  # type: ignore[no-untyped-def]
    window.models_action.trigger()
    return shown_dialog(window, ModelManagerDialog)


def test_table_shows_each_entry_checked(qtbot, window: MainWindow, registry: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = _open(qtbot, window)
    assert str(weights.user_models_dir()) in dialog.folder_label.text()
    qtbot.waitUntil(lambda: dialog.statuses is not None, timeout=10000)
    assert dialog.table.rowCount() == 2
    assert dialog.cell_text("bundled", CHECK) == "✓ verified"
    assert dialog.cell_text("bundled", WHERE) == str(registry / "bundled.pt")
    assert dialog.cell_text("bundled", SOURCE) == "bundled"
    assert dialog.cell_text("extra", CHECK) == "missing"
    assert dialog.cell_text("extra", SOURCE) == "optional"
    assert not dialog.import_button.isEnabled()  # nothing selected


def test_checking_never_blocks_the_dialog(
    qtbot, window: MainWindow, registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    release, main_thread = threading.Event(), threading.get_ident()
    threads: list[int] = []
    real_status = weights.status

    def slow_status() -> list[weights.ModelStatus]:
        threads.append(threading.get_ident())
        release.wait(10)
        return real_status()

    monkeypatch.setattr(weights, "status", slow_status)
    dialog = _open(qtbot, window)  # returns at once although the check is still running
    assert dialog.cell_text("bundled", CHECK) == "checking…"
    assert not dialog.refresh_button.isEnabled()
    qtbot.waitUntil(lambda: bool(threads), timeout=5000)
    assert threads[0] != main_thread
    with qtbot.waitSignal(dialog.status_shown, timeout=10000):
        release.set()
    assert dialog.cell_text("bundled", CHECK) == "✓ verified"


def test_import_a_file_for_the_selected_entry(
    qtbot, window: MainWindow, registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "downloaded.bin"
    good.write_bytes(CONTENT)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(good), ""))
    dialog = _open(qtbot, window)
    qtbot.waitUntil(lambda: dialog.statuses is not None, timeout=10000)
    dialog.select("extra")
    assert dialog.import_button.isEnabled()
    with qtbot.waitSignal(dialog.status_shown, timeout=10000):
        qtbot.mouseClick(dialog.import_button, LEFT)
    installed = weights.user_models_dir() / "extra.bin"
    assert installed.read_bytes() == CONTENT
    assert dialog.cell_text("extra", CHECK) == "✓ verified"
    assert dialog.cell_text("extra", WHERE) == str(installed)
    assert dialog.cell_text("extra", SOURCE) == "user"


def test_a_rejected_file_shows_an_error_and_installs_nothing(
    qtbot, window: MainWindow, registry: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"junk, not weights")
    dialog = _open(qtbot, window)
    qtbot.waitUntil(lambda: dialog.statuses is not None, timeout=10000)
    dialog.select("extra")
    dialog.import_file(junk)

    def error_box() -> QMessageBox | None:
        boxes = [b for b in dialog.findChildren(QMessageBox) if b.objectName() == "errorDialog"]
        return boxes[0] if boxes else None

    qtbot.waitUntil(lambda: error_box() is not None, timeout=10000)
    box = error_box()
    assert box is not None and "junk.bin" in box.text() and "nothing was installed" in box.text()
    assert not (weights.user_models_dir() / "extra.bin").exists()
    assert dialog.import_button.isEnabled()
    box.close()


def test_open_folder_shows_the_user_models_folder(
    qtbot, window: MainWindow, registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    dialog = _open(qtbot, window)
    qtbot.mouseClick(dialog.open_button, LEFT)
    assert [Path(u.toLocalFile()) for u in opened] == [weights.user_models_dir()]
    qtbot.waitUntil(lambda: dialog.statuses is not None, timeout=10000)


def test_status_colours_cover_every_state() -> None:
    for state in ("ok", "custom", "missing", "corrupt"):
        assert state in model_manager.CHECK_TEXT and state in model_manager.CHECK_COLOR
