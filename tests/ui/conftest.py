"""UI tests run offscreen; modal questions are answered by the test, never left blocking."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import dataclass, field  # noqa: E402 - the platform must be set first

import pytest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from ui import dialogs  # noqa: E402

Button = QMessageBox.StandardButton


@dataclass
class Answers:
    """Records the questions asked; answers with ``queue`` first, then ``default``."""

    asked: list[str] = field(default_factory=list)
    queue: list[Button] = field(default_factory=list)
    default: Button = Button.Discard

    def __call__(
        self, parent: object, title: str, text: str, buttons: Button, default: Button
    ) -> Button:
        self.asked.append(title)
        if self.queue:
            return self.queue.pop(0)
        for choice in (self.default, Button.Yes):
            if buttons & choice:
                return choice
        return default


@pytest.fixture(autouse=True)
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    recorder = Answers()
    monkeypatch.setattr(dialogs, "ask", recorder)
    return recorder


@pytest.fixture(autouse=True)
def _no_dangling_workers() -> object:
    """Fail a test that leaves a worker thread running for more than a few seconds."""
    from PySide6.QtCore import QThreadPool  # noqa: PLC0415

    yield
    pool = QThreadPool.globalInstance()
    assert pool.waitForDone(5000), f"{pool.activeThreadCount()} worker thread(s) still running"
