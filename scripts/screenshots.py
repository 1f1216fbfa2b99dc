"""Write screenshots of the editor with the demo project (``make screenshots``).

Runs offscreen in a fresh user folder: opens ``resources/demo/demo.evp`` in the main window
with the dark theme, analyses the face and speech (the real job), and grabs the window with
different preview layers and compare modes into ``docs/screenshots/``:

- ``editor.png``: the rendered layer at a keyframe, the whole timeline below;
- ``compare.png``: source and rendered side by side;
- ``landmarks.png``: predicted + aligned landmarks over the source.

Usage::

    python scripts/screenshots.py [--out docs/screenshots] [--size 1440x900]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("EVP_STUDIO_NO_FIRST_RUN", "1")
os.environ.setdefault("EVP_STUDIO_HOME", tempfile.mkdtemp(prefix="evp_screenshots_"))

from PySide6.QtWidgets import QApplication  # noqa: E402

from evp_studio.paths import resource_path  # noqa: E402
from evp_studio.pipeline.preview import CompareMode, LayerChoice  # noqa: E402
from evp_studio.project import Document  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.theme import apply_theme  # noqa: E402


def _wait(app: QApplication, done: object, timeout_s: float = 900.0) -> None:
    end = time.monotonic() + timeout_s
    while not done():  # type: ignore[operator]
        app.processEvents()
        if time.monotonic() > end:
            raise TimeoutError("the editor did not finish in time")
        time.sleep(0.005)


def _settle(app: QApplication, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def _show(app: QApplication, window: MainWindow, frame: int, choice: LayerChoice) -> None:
    window.previews.bar.set_choice(choice)
    window.previews.preview.set_choice(choice)
    window.seek_frame(frame)
    _wait(app, lambda: window.frame_view.frame_index == frame and window.jobs.is_idle)
    _settle(app)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--size", default="1440x900", help="window size, WIDTHxHEIGHT")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)

    app = QApplication(sys.argv[:1])
    apply_theme(app, "dark")
    window = MainWindow(Document.new())
    window.resize(width, height)
    window.show()
    window.files.open_project(resource_path("demo/demo.evp"))
    _wait(app, lambda: window.frame_view.frame_index is not None)
    window.previews.analyse()
    _wait(app, lambda: window.previews.session is not None and window.jobs.is_idle)
    keys = window.document.project.emotion.keys
    frame = keys[len(keys) // 2].frame if keys else window.media.frame_count // 2

    shots = (
        ("editor.png", LayerChoice("rendered")),
        ("compare.png", LayerChoice("source", "rendered", CompareMode.SIDE_BY_SIDE)),
        ("landmarks.png", LayerChoice("predicted")),
    )
    for name, choice in shots:
        _show(app, window, frame, choice)
        path = args.out / name
        if not window.grab().save(str(path)):
            raise OSError(f"{path}: cannot write the screenshot")
        sys.stdout.write(f"wrote {path}\n")
    window._close_confirmed = True  # noqa: SLF001 - nothing to save
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
