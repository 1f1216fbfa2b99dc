"""Entry point of the editor: ``evp-studio-gui [FILE ...]`` or ``python main.py``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from evp_studio import __version__
from evp_studio.errors import EvpError
from evp_studio.logs import setup_logging
from evp_studio.project import Autosaver, Document
from ui import dialogs
from ui.dialogs import Button
from ui.errors import show_error
from ui.main_window import MainWindow

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


def main(argv: list[str] | None = None) -> int:
    """Start the editor; open the files given (a project, or a video and a speech track)."""
    parser = argparse.ArgumentParser(prog="evp-studio-gui", description="EVP Studio editor")
    parser.add_argument(
        "files", nargs="*", type=Path, help="a project (.evp), a video, a speech file"
    )
    parser.add_argument("--version", action="version", version=f"EVP Studio {__version__}")
    args = parser.parse_args(argv)
    setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("EVP Studio")
    app.setApplicationVersion(__version__)
    window = MainWindow(Document.new())
    window.show()
    recovered = offer_recovery(window, window.files.autosaver)
    if not recovered:
        for path in args.files:
            window.files.open_any(path)
    return int(app.exec())
