"""The layer bar emits the chosen layers; each layer shows different pixels in the preview."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from evp_studio.media import VideoReader
from evp_studio.pipeline.landmarks import ProjectLandmarks
from evp_studio.pipeline.preview import LAYERS, CompareMode, LayerChoice, PreviewSession
from evp_studio.render.warp import WarpRenderer
from tests.core.renderer_clips import write_face_clip
from ui.preview.frame_view import FrameView
from ui.preview.layers import LayerBar, LayerPreview, compose_qimage

N = 8


@dataclasses.dataclass(frozen=True)
class Track:
    landmarks: np.ndarray
    lost: np.ndarray


@pytest.fixture
def session(tmp_path: Path) -> Iterator[PreviewSession]:
    path, lm = write_face_clip(tmp_path / "face.mp4", n_frames=N)
    new = lm.copy()
    new[:, 57:60, 1] += 6.0
    new[:, 65:68, 1] += 6.0
    placed = ProjectLandmarks(
        canonical=np.zeros_like(new),
        landmarks=new,
        times_s=np.arange(N) / 25.0,
        target_index=np.arange(N),
        silence=np.zeros(N, np.float32),
        emotion_codes=np.zeros((N, 4), np.float32),
        speech_frames=N,
    )
    reader = VideoReader(path)
    yield PreviewSession(reader, Track(lm, np.zeros(N, bool)), placed, WarpRenderer(reader, lm))
    reader.close()


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, count=h * stride).reshape(h, stride)
    return raw[:, : 3 * w].reshape(h, w, 3).copy()


def test_switching_layers_emits_the_choice(qtbot: QtBot) -> None:
    bar = LayerBar()
    qtbot.addWidget(bar)
    assert bar.choice() == LayerChoice("source")
    with qtbot.waitSignal(bar.choice_changed) as sig:
        qtbot.mouseClick(bar.findChild(object, "layer_rendered"), Qt.MouseButton.LeftButton)
    assert sig.args == [LayerChoice("rendered")]
    with qtbot.waitSignal(bar.choice_changed) as sig:
        bar.mode_box.setCurrentIndex(2)  # wipe
    assert sig.args == [LayerChoice("rendered", "rendered", CompareMode.WIPE, 0.5)]
    assert bar.amount.isEnabled() and bar.compare_box.isEnabled()
    with qtbot.waitSignal(bar.choice_changed) as sig:
        bar.compare_box.setCurrentIndex(LAYERS.index("source"))
    with qtbot.waitSignal(bar.choice_changed) as sig:
        bar.amount.setValue(30)
    assert sig.args == [LayerChoice("rendered", "source", CompareMode.WIPE, 0.3)]
    bar.mode_box.setCurrentIndex(0)
    assert not bar.amount.isEnabled() and bar.choice().needed == {"rendered"}


def test_unavailable_layers_are_disabled(qtbot: QtBot) -> None:
    bar = LayerBar()
    qtbot.addWidget(bar)
    bar.set_choice(LayerChoice("rendered", "predicted", CompareMode.BLEND, 0.2))
    with qtbot.waitSignal(bar.choice_changed) as sig:
        bar.set_available({"source", "detected", "guidance"})
    assert sig.args[0].layer == "source" and sig.args[0].mode is CompareMode.SINGLE
    assert not bar.findChild(object, "layer_rendered").isEnabled()
    assert bar.findChild(object, "layer_guidance").isEnabled()


def test_each_layer_shows_different_pixels(qtbot: QtBot, session: PreviewSession) -> None:
    shown = {name: pixels(compose_qimage(session, 2, LayerChoice(name))) for name in LAYERS}
    for name, img in shown.items():
        assert img.shape == (128, 128, 3)
        assert np.array_equal(img, session.layers(2, {name})[name])
    for a in LAYERS:
        for b in LAYERS:
            if a < b:
                assert not np.array_equal(shown[a], shown[b]), (a, b)
    sbs = compose_qimage(session, 2, LayerChoice("source", "guidance", CompareMode.SIDE_BY_SIDE))
    assert (sbs.width(), sbs.height()) == (256, 128)


def test_bar_drives_the_frame_view(qtbot: QtBot, session: PreviewSession) -> None:
    bar, view = LayerBar(), FrameView()
    qtbot.addWidget(bar)
    qtbot.addWidget(view)
    preview = LayerPreview()
    preview.frame_ready.connect(lambda i, img: view.set_frame(img, i))
    bar.choice_changed.connect(preview.set_choice)
    with qtbot.waitSignal(preview.frame_ready, timeout=5000):
        preview.set_session(session)
    source = pixels(view.image())
    with qtbot.waitSignal(preview.frame_ready, timeout=5000):
        qtbot.mouseClick(bar.findChild(object, "layer_guidance"), Qt.MouseButton.LeftButton)
    guidance = pixels(view.image())
    assert not np.array_equal(source, guidance)
    assert np.array_equal(guidance, session.layers(0, {"guidance"})["guidance"])
    with qtbot.waitSignal(preview.frame_ready, timeout=5000) as sig:
        preview.request(5)
    assert sig.args[0] == 5 and view.frame_index == 5
    preview.shutdown()
