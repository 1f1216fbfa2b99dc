"""Help ▸ Keyboard Shortcuts, shortcut clashes and the tooltip audit of the main window."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolButton, QWidget

from tests.ui.conftest import shown_dialog
from ui.main_window import MainWindow
from ui.shortcuts_dialog import (
    ShortcutsDialog,
    collect_shortcuts,
    find_clashes,
    missing_tips,
    plain_text,
)


def _keys(entries: list, text: str) -> tuple[str, ...]:  # type: ignore[type-arg]
    return next(e.keys for e in entries if e.text == text)


def test_no_two_actions_share_a_shortcut(window: MainWindow) -> None:
    entries = collect_shortcuts(window)
    clashes = {
        key: [f"{e.group}: {e.text}" for e in found] for key, found in find_clashes(entries).items()
    }
    assert clashes == {}
    # the clash this check found: Analyse moved off File ▸ Open Speech's Ctrl+Shift+A
    assert _keys(entries, "Open Speech…") == ("Ctrl+Shift+A",)
    assert _keys(entries, "Analyse Face and Speech") == ("Ctrl+Shift+L",)


def test_the_clash_check_finds_a_clash(qtbot) -> None:  # type: ignore[no-untyped-def]
    win = QMainWindow()
    qtbot.addWidget(win)
    menu = win.menuBar().addMenu("&File")
    for text in ("&Open", "&Analyse"):
        action = QAction(text, win)
        action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        menu.addAction(action)
    panel = QWidget(win)
    panel.setObjectName("sidePanel")
    extra = QAction("Zap", panel)
    extra.setShortcut(QKeySequence("Ctrl+Shift+A"))
    panel.addAction(extra)
    found = find_clashes(collect_shortcuts(win))
    assert [(e.group, e.text) for e in found["Ctrl+Shift+A"]] == [
        ("File", "Open"),
        ("File", "Analyse"),
        ("Side panel", "Zap"),
    ]


def test_list_holds_menus_and_widget_shortcuts(window: MainWindow) -> None:
    entries = collect_shortcuts(window)
    by_text = {e.text: e for e in entries}
    assert by_text["Undo"].group == "Edit" and by_text["Undo"].keys == ("Ctrl+Z",)
    assert by_text["Preferences…"].keys == ("Ctrl+,",)
    assert by_text["Keyboard Shortcuts"].keys == ("F1", "Ctrl+/")
    assert by_text["Keyboard Shortcuts"].group == "Help"
    key = by_text["Add Key at Playhead"]  # an action of the emotion track widget
    assert key.group == "Emotion track" and key.keys == ("K",)
    assert by_text["Next Key"].keys == ("]",)
    layer_keys = {e.keys[0] for e in entries if e.group == "Layer bar"}
    assert {"1", "2", "3", "4", "5"} <= layer_keys
    assert plain_text("Save &As…") == "Save As…" and plain_text("R&&D") == "R&D"


def test_dialog_opens_from_help_and_filters(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.shortcuts_action.trigger()
    dialog = shown_dialog(window, ShortcutsDialog)
    everything = dialog.visible_texts()
    assert {"Undo", "Open Video…", "Add Key at Playhead", "Play / Pause"} <= set(everything)
    qtbot.keyClicks(dialog.search, "ctrl+shift")
    filtered = dialog.visible_texts()
    assert "Open Speech…" in filtered and "Undo" not in filtered
    assert all(
        "Ctrl+Shift" in e.native_keys() or "Ctrl+Shift" in " ".join(e.keys)
        for e in dialog.entries
        if e.text in filtered
    )
    dialog.search.clear()
    qtbot.keyClicks(dialog.search, "emotion track key")
    assert set(dialog.visible_texts()) >= {"Add Key at Playhead", "Previous Key", "Next Key"}
    assert "Undo" not in dialog.visible_texts()
    dialog.search.clear()
    qtbot.keyClicks(dialog.search, "no such action")
    assert dialog.visible_texts() == []
    dialog.close()


def test_every_menu_action_and_button_explains_itself(window: MainWindow) -> None:
    assert missing_tips(window) == []


def test_the_tooltip_audit_finds_a_silent_button(qtbot) -> None:  # type: ignore[no-untyped-def]
    win = QMainWindow()
    qtbot.addWidget(win)
    menu = win.menuBar().addMenu("&Tools")
    silent = QAction("&Silent", win)
    menu.addAction(silent)
    told = QAction("&Told", win)
    told.setStatusTip("Does a thing")
    menu.addAction(told)
    button = QToolButton(win)
    button.setText("Mute")
    assert missing_tips(win) == ["Tools: Silent", "Window: Mute"]
