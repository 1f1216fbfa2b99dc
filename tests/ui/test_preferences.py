"""Edit ▸ Preferences through its widgets; the dark theme; high-DPI drawing of the preview."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from evp_studio import paths, settings
from evp_studio.project import Document
from evp_studio.settings import Preferences
from tests.ui.conftest import Answers, Button, shown_dialog
from ui import preferences as prefs_ui
from ui import theme
from ui.main_window import MainWindow
from ui.preferences import NO_CUDA_TIP, PreferencesDialog
from ui.preview.frame_view import FrameView

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def _restore_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Cache override, look and the CUDA probe go back to what they were after each test."""
    monkeypatch.setattr(paths, "_cache_override", None)
    monkeypatch.setattr(prefs_ui, "probe_cuda", lambda: False)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    palette, style = app.palette(), app.style().name()
    yield
    app.setPalette(palette)
    app.setStyle(style)
    app.setProperty("evpTheme", None)


def open_dialog(qtbot, window: MainWindow) -> PreferencesDialog:  # type: ignore[no-untyped-def]
    window.preferences_action.trigger()
    dialog = shown_dialog(window, PreferencesDialog)
    qtbot.waitUntil(lambda: dialog.cuda_available is not None, timeout=5000)
    qtbot.waitUntil(lambda: "used" in dialog.cache_size_label.text(), timeout=5000)
    return dialog


def click_ok(qtbot, dialog: PreferencesDialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), LEFT)


def test_ok_saves_the_file_and_applies_autosave_live(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert window.preferences_action.shortcut().toString() == "Ctrl+,"
    assert window._autosave_timer.interval() == 60_000 and window._autosave_timer.isActive()
    dialog = open_dialog(qtbot, window)
    cuda = dialog.device_buttons["cuda"]
    assert not cuda.isEnabled() and cuda.toolTip() == NO_CUDA_TIP
    qtbot.mouseClick(dialog.device_buttons["cpu"], LEFT)
    dialog.backend_box.setCurrentIndex(dialog.backend_box.findData("fan"))
    dialog.autosave.clear()
    qtbot.keyClicks(dialog.autosave, "30")
    dialog.recent.setValue(4)
    click_ok(qtbot, dialog)

    saved = json.loads(settings.preferences_path().read_text(encoding="utf-8"))
    assert saved["device"] == "cpu" and saved["landmark_backend"] == "fan"
    assert saved["autosave_interval_s"] == 30 and saved["recent_count"] == 4
    assert window.preferences == settings.load_preferences()
    assert window._autosave_timer.interval() == 30_000 and window._autosave_timer.isActive()

    dialog = open_dialog(qtbot, window)  # shows what was saved; 0 turns autosave off
    assert dialog.device_buttons["cpu"].isChecked() and dialog.autosave.value() == 30
    dialog.autosave.setValue(0)
    assert dialog.autosave.text() == "Off"
    click_ok(qtbot, dialog)
    assert not window._autosave_timer.isActive()


def test_cancel_changes_nothing(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    dialog = open_dialog(qtbot, window)
    dialog.theme_box.setCurrentIndex(dialog.theme_box.findData("light"))
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel), LEFT)
    assert not settings.preferences_path().exists()
    assert window.preferences == Preferences()


def test_cuda_is_offered_when_there_is_a_gpu(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(prefs_ui, "probe_cuda", lambda: True)
    dialog = open_dialog(qtbot, window)
    assert dialog.device_buttons["cuda"].isEnabled()
    qtbot.mouseClick(dialog.device_buttons["cuda"], LEFT)
    click_ok(qtbot, dialog)
    assert window.preferences.device == "cuda"


def _fill(folder: Path) -> None:
    for kind, size in (("landmarks", 3000), ("features", 2000)):
        (folder / kind).mkdir(parents=True)
        (folder / kind / "x.npz").write_bytes(b"x" * size)
    (folder / "mine.txt").write_text("not ours", encoding="utf-8")


def test_cache_folder_size_and_clear(
    qtbot, window: MainWindow, tmp_path: Path, answers: Answers
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "cache"
    _fill(folder)
    dialog = open_dialog(qtbot, window)
    assert dialog.cache_edit.placeholderText() == str(paths.default_cache_dir())
    with qtbot.waitSignal(dialog.cache_measured, timeout=5000) as measured:
        dialog.cache_edit.setText(str(folder))
        dialog.cache_edit.editingFinished.emit()
    assert measured.args[0].total == 5000
    assert dialog.cache_size_label.text().startswith("4.88 KB used")

    answers.queue = [Button.No]
    qtbot.mouseClick(dialog.clear_button, LEFT)
    assert answers.asked == ["Clear the cache?"]
    assert (folder / "landmarks" / "x.npz").exists()

    with qtbot.waitSignal(dialog.cache_measured, timeout=5000) as measured:
        qtbot.mouseClick(dialog.clear_button, LEFT)  # the fixture answers Yes
    assert measured.args[0].total == 0 and dialog.cache_size_label.text() == "0 B used"
    assert not (folder / "landmarks").exists() and (folder / "mine.txt").exists()

    click_ok(qtbot, dialog)
    assert window.preferences.cache_folder == folder
    assert paths.cache_dir() == folder  # the landmark cache and the rest follow it now


def test_a_broken_preferences_file_does_not_stop_the_window(qtbot) -> None:  # type: ignore[no-untyped-def]
    file = settings.preferences_path()
    file.write_text('{"autosave_interval_s": "often", "theme": "light"', encoding="utf-8")
    win = MainWindow(Document.new())
    qtbot.addWidget(win)
    assert win.preferences == Preferences()
    assert win._autosave_timer.interval() == 60_000
    assert file.with_name("preferences.json.bak").exists()


def test_theme_change_applies_when_a_theme_is_in_use(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app, "dark")
    dark_window = app.palette().color(QPalette.ColorRole.Window)
    dialog = open_dialog(qtbot, window)
    dialog.theme_box.setCurrentIndex(dialog.theme_box.findData("light"))
    click_ok(qtbot, dialog)
    assert theme.current_theme(app) == "light"
    assert app.palette().color(QPalette.ColorRole.Window) != dark_window
    assert app.palette() == app.style().standardPalette()


def _luminance(rgb: tuple[int, int, int]) -> float:
    lin = [(c / 255 / 12.92) if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_dark_palette_is_neutral_grey_with_an_accent_and_readable_disabled_text() -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app, "dark")
    assert app.style().name().lower() == "fusion"
    pal = app.palette()

    def rgb(role: QPalette.ColorRole, group: QPalette.ColorGroup = QPalette.ColorGroup.Active):
        c = pal.color(group, role)
        return (c.red(), c.green(), c.blue())

    for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base, QPalette.ColorRole.Button):
        r, g, b = rgb(role)
        assert max(r, g, b) - min(r, g, b) <= 2, f"{role} is tinted: {(r, g, b)}"
        assert 20 <= r <= 70, f"{role} is not a dark grey: {(r, g, b)}"
    accent = rgb(QPalette.ColorRole.Highlight)
    assert max(accent) - min(accent) > 60, "the selection colour should stand out"
    assert _contrast(rgb(QPalette.ColorRole.Text), rgb(QPalette.ColorRole.Base)) > 7
    disabled = rgb(QPalette.ColorRole.WindowText, QPalette.ColorGroup.Disabled)
    assert 3.0 < _contrast(disabled, rgb(QPalette.ColorRole.Window)) < 7
    import pyqtgraph as pg

    assert pg.getConfigOption("background") == theme.CANVAS_BACKGROUND


def test_high_dpi_policy_is_set_before_the_application_exists() -> None:
    code = (
        "from ui.theme import configure_high_dpi\n"
        "from PySide6.QtGui import QGuiApplication\n"
        "configure_high_dpi()\n"
        "print(QGuiApplication.highDpiScaleFactorRoundingPolicy().name)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "PassThrough"
    theme.configure_high_dpi()  # with the test application alive: a no-op, no Qt warning


def test_preview_stays_sharp_on_a_high_dpi_screen(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A frame shown at 0.8 logical scale on a 2x screen has more device pixels than it has
    pixels: it must not be smoothed (blurred) as a real downscale is."""
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(160, 120)
    frame = np.zeros((150, 200, 3), np.uint8)
    frame[::2] = 255  # one-pixel stripes: any smoothing shows up as grey
    view.set_frame(frame, 0)

    def stripes(dpr: float) -> int:
        monkeypatch.setattr(view, "devicePixelRatioF", lambda: dpr)
        image = QImage(int(160 * dpr), int(120 * dpr), QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(dpr)
        view.render(image)
        column = [image.pixelColor(image.width() // 2, y).red() for y in range(image.height())]
        return len({v for v in column[10:-10] if 30 < v < 225})  # grey levels seen

    assert stripes(2.0) == 0, "blurred on a 2x screen"
    assert stripes(1.0) > 0, "a real downscale should be smoothed"
