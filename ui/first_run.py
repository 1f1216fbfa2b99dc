"""The first-run dialog: where EVP Studio keeps models, caches, autosaves, settings and logs.

Shown once per user folder set (a marker file in the config folder records it), after the
main window appears. ``EVP_STUDIO_NO_FIRST_RUN=1`` turns it off (tests, scripted sessions);
``--self-test`` never reaches it.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from evp_studio import paths
from evp_studio.weights import user_models_dir

MARKER = "first-run-shown"  # in config_dir()
SKIP_ENV = "EVP_STUDIO_NO_FIRST_RUN"


def folder_rows() -> list[tuple[str, str, Path]]:
    """(title, what it holds, folder) for each place EVP Studio writes to or reads from."""
    return [
        (
            "Models",
            "your own model files; they take precedence over the bundled ones",
            user_models_dir(),
        ),
        ("Cache", "landmarks, features and thumbnails; safe to delete", paths.cache_dir()),
        ("Autosaves", "unsaved work, offered back after a crash", paths.autosave_dir()),
        ("Settings", "preferences and recent files", paths.config_dir()),
        ("Logs", "what to attach to a bug report", paths.log_dir()),
        ("Bundled", "default models and the demo project (read-only)", paths.resource_path("")),
    ]


class FirstRunDialog(QDialog):
    """Lists the folders of :func:`folder_rows`, each with an Open button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to EVP Studio")
        self.setObjectName("first_run_dialog")
        layout = QVBoxLayout(self)
        intro = QLabel(
            "EVP Studio works offline: everything it needs came with it. "
            "It keeps its files in these folders:"
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        self.path_labels: dict[str, QLabel] = {}
        for row, (title, what, folder) in enumerate(folder_rows()):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 2 * row, 0)
            path = QLabel(str(folder))
            path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(path, 2 * row, 1)
            button = QPushButton("Open")
            button.setToolTip(f"Show {folder} in the file manager")
            button.clicked.connect(lambda _=False, f=folder: self._open(f))
            grid.addWidget(button, 2 * row, 2)
            note = QLabel(what)
            note.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # secondary text
            grid.addWidget(note, 2 * row + 1, 1)
            self.path_labels[title] = path
        layout.addLayout(grid)
        home = QLabel(
            f"To keep all of them in one folder, set the environment variable "
            f"{paths.HOME_ENV} to that folder before starting EVP Studio."
        )
        home.setWordWrap(True)
        layout.addWidget(home)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)

    @staticmethod
    def _open(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def should_show() -> bool:
    """True on the first start with these user folders, unless ``SKIP_ENV`` is set."""
    if os.environ.get(SKIP_ENV, "") not in ("", "0"):
        return False
    return not (paths.config_dir() / MARKER).exists()


def mark_shown() -> None:
    """Record that the dialog was seen, so it is not shown again."""
    (paths.config_dir() / MARKER).write_text("shown\n", encoding="utf-8")


def maybe_show_first_run(parent: QWidget | None) -> FirstRunDialog | None:
    """Open the dialog (window-modal, not blocking) on the first start; None otherwise.

    The marker is written when the dialog is closed, so a session killed before then shows
    it again next time.
    """
    if not should_show():
        return None
    dialog = FirstRunDialog(parent)
    dialog.finished.connect(lambda _result: mark_shown())
    dialog.open()
    return dialog
