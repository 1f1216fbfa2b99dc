"""Entry point of the editor: ``evp-studio-gui [FILE ...]`` or ``python main.py``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from PySide6.QtCore import qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from evp_studio import __version__, selftest
from evp_studio.errors import EvpError
from evp_studio.logs import setup_logging
from evp_studio.paths import resource_path
from evp_studio.project import Autosaver, Document
from evp_studio.settings import load_preferences
from ui import dialogs
from ui.dialogs import Button
from ui.errors import show_error
from ui.first_run import maybe_show_first_run
from ui.main_window import MainWindow
from ui.preferences import schedule_cache_trim
from ui.theme import apply_theme, configure_high_dpi

ICON = "icons/evp-studio.svg"  # under resources/

log = logging.getLogger(__name__)


def offer_recovery(window: MainWindow, autosaver: Autosaver) -> bool:
    """Offer the newest autosave of a crashed session; True when one was recovered."""
    for candidate in autosaver.find_recoverable():
        answer = dialogs.ask(
            window,
            "Recover unsaved work?",
            f"EVP Studio closed unexpectedly while “{candidate.name}” had unsaved changes "
            f"(autosaved {candidate.saved_at.astimezone():%Y-%m-%d %H:%M}). Recover them?",
            Button.Yes | Button.No,
            Button.Yes,
        )
        if answer == Button.Yes:
            try:
                window.set_document(autosaver.recover(candidate))
            except EvpError as exc:
                show_error(parent=window, exc=exc)
                continue
            return True
        autosaver.discard_candidate(candidate)
    return False


def _application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("EVP Studio")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path(ICON))))
    app.setDesktopFileName("evp-studio")  # Wayland matches windows to evp-studio.desktop
    return app


def _qt_check() -> str:
    app = _application()
    if app.windowIcon().pixmap(64, 64).isNull():
        raise RuntimeError(f"the icon {resource_path(ICON)} does not render (Qt's SVG plugin?)")
    return f"Qt {qVersion()} on the {app.platformName()} platform, editor modules loaded"


def _checks() -> Iterator[selftest.Check]:
    yield selftest.run_check("Qt", _qt_check)
    yield from selftest.run_self_test()


def self_test(out: TextIO | None = None) -> int:
    """``--self-test``: check the installation without opening a window.

    Writes one line per check (Qt, then :func:`evp_studio.selftest.run_self_test`) and a
    summary; returns 0 when every check passed, 1 otherwise.
    """
    setup_logging(console=False)
    return selftest.report(_checks(), out or sys.stdout)


def main(argv: list[str] | None = None) -> int:
    """Start the editor; open the files given (a project, or a video and a speech track)."""
    parser = argparse.ArgumentParser(description="EVP Studio editor")
    parser.add_argument(
        "files", nargs="*", type=Path, help="a project (.evp), a video, a speech file"
    )
    parser.add_argument("--version", action="version", version=f"EVP Studio {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check the installation (demo project, both renderers) without a window; "
        "exit 0 when it works",
    )
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    setup_logging()
    configure_high_dpi()  # before the QApplication exists
    app = _application()
    preferences = load_preferences()  # a bad file gives defaults and logged warnings
    apply_theme(app, preferences.theme)  # before any plot is made (pyqtgraph colours)
    window = MainWindow(Document.new(), preferences=preferences)
    window.show()
    schedule_cache_trim(window, preferences)
    maybe_show_first_run(window)
    recovered = offer_recovery(window, window.files.autosaver)
    if not recovered:
        for path in args.files:
            window.files.open_any(path)
    return int(app.exec())
