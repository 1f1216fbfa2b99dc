"""Modal questions, in one place so that tests can answer them.

Tests replace :func:`ask` with a function that returns a chosen button (and records the
question), instead of letting a modal dialog block the offscreen event loop.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

Button = QMessageBox.StandardButton


def ask(parent: QWidget | None, title: str, text: str, buttons: Button, default: Button) -> Button:
    """Ask a question in a modal message box; returns the button pressed."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, buttons, parent)
    box.setDefaultButton(default)
    return Button(box.exec())
