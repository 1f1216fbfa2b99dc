"""Save a screenshot of the editor with the demo project open: resources/screenshot.png.

QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot.py [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402 - the platform must be set first
from PySide6.QtWidgets import QApplication  # noqa: E402

from evp_studio.paths import resource_path  # noqa: E402
from evp_studio.project import Document  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402


def _wait_until(predicate: object, timeout_ms: int = 20_000) -> None:
    loop = QEventLoop()
    poll = QTimer(interval=20)
    poll.timeout.connect(lambda: predicate() and loop.quit())  # type: ignore[operator]
    QTimer.singleShot(timeout_ms, loop.quit)
    poll.start()
    loop.exec()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=resource_path("screenshot.png"))
    parser.add_argument("--frame", type=int, default=64)
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    window = MainWindow(Document.open(resource_path("demo/demo.evp")))
    window.resize(1100, 720)
    window.show()
    window.set_document(window.document)
    _wait_until(lambda: window.media.video is not None and window.media.audio is not None)
    window.seek_frame(args.frame)
    _wait_until(lambda: window.frame_view.frame_index == args.frame)
    window.grab().save(str(args.out))
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
