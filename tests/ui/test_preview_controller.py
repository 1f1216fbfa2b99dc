"""Preview layers in the main window: analysis job, layer switching, re-prediction on key edits."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QToolButton

from evp_studio.paths import resource_path
from evp_studio.project import Document
from ui.main_window import MainWindow


def _shown(window: MainWindow) -> np.ndarray:
    image = window.frame_view.image()
    assert image is not None
    w, h = image.width(), image.height()
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    return raw[:, : 3 * w].reshape(h, w, 3).copy()


def test_analyse_switch_layers_and_repredict(qtbot) -> None:  # type: ignore[no-untyped-def]
    doc = Document.open(resource_path("demo/demo.evp"))
    window = MainWindow(doc)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 0, timeout=20000)
    window.seek_frame(60)
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 60, timeout=10000)
    source = _shown(window)
    assert not window.previews.active

    window.analyse_action.trigger()
    qtbot.waitUntil(lambda: window.previews.session is not None, timeout=180000)
    session = window.previews.session
    assert session is not None
    assert {"detected", "predicted", "guidance", "rendered"} <= session.available

    shown: dict[str, np.ndarray] = {}
    for layer in ("detected", "guidance"):
        button = window.previews.bar.findChild(QToolButton, f"layer_{layer}")
        assert button is not None and button.isEnabled()
        button.click()
        assert window.previews.active
        qtbot.waitUntil(
            lambda: (
                not np.array_equal(_shown(window), source) and window.frame_view.frame_index == 60
            ),
            timeout=20000,
        )
        qtbot.waitUntil(lambda: not window.previews.preview.busy, timeout=20000)
        shown[layer] = _shown(window)
    # Landmark dots change a few pixels; the guidance map replaces the picture.
    changed = np.abs(shown["detected"].astype(int) - source).max(axis=2) > 40
    assert 0.001 < changed.mean() < 0.2
    assert np.mean(shown["guidance"] < 30) > 0.6  # mostly black with white edges

    # A new keyframe re-predicts (a job) and keeps the session.
    window.previews.bar.findChild(QToolButton, "layer_predicted").click()
    before = window.jobs.running
    window.document.add_keyframe(frame=70, emotion="surprised", intensity=1.0)
    qtbot.waitUntil(lambda: window.jobs.running is not None or before is not None, timeout=5000)
    qtbot.waitUntil(lambda: window.jobs.is_idle, timeout=120000)
    assert window.previews.session is session

    # Back to the plain source: frames come from the decoder again.
    window.previews.bar.findChild(QToolButton, "layer_source").click()
    assert not window.previews.active
    window.seek_frame(61)
    qtbot.waitUntil(lambda: window.frame_view.frame_index == 61, timeout=10000)
    window._close_confirmed = True
    window.close()


def test_analysis_uses_the_detector_backend_of_the_preferences(qtbot) -> None:  # type: ignore[no-untyped-def]
    """With FAN chosen in the preferences the analysis asks for FAN's weights (none ship)."""
    from evp_studio.settings import Preferences  # noqa: PLC0415

    doc = Document.open(resource_path("demo/demo.evp"))
    window = MainWindow(doc, preferences=Preferences(landmark_backend="fan", device="cpu"))
    qtbot.addWidget(window)
    failures: list[BaseException] = []
    window.jobs.job_failed.connect(lambda _handle, exc: failures.append(exc))
    window.show()
    window.analyse_action.trigger()
    qtbot.waitUntil(lambda: bool(failures), timeout=60000)
    assert window.previews.session is None
    text = str(failures[0])
    assert "fan" in text.lower() and "models install" in text
