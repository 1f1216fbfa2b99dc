"""Preview layer controls and the worker-side fetch of composed preview frames.

:class:`LayerBar` picks the layer, the compare layer and mode, and the wipe/blend amount, and
emits a :class:`~evp_studio.pipeline.preview.LayerChoice`. :class:`LayerPreview` computes
``PreviewSession.compose(frame, choice)`` on a worker (newest request wins) and emits the
picture for :meth:`ui.preview.frame_view.FrameView.set_frame`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QSlider,
    QToolButton,
    QWidget,
)

from evp_studio.pipeline.preview import LAYERS, CompareMode, LayerChoice, PreviewSession
from ui.preview.frame_view import rgb_to_qimage
from ui.theme import CHECKED_BUTTON_STYLE
from ui.workers import LatestWinsFetcher

LAYER_LABELS = {
    "source": "Source",
    "detected": "Detected",
    "predicted": "Predicted",
    "guidance": "Guidance",
    "rendered": "Rendered",
}
LAYER_TIPS = {
    "source": "The target frame",
    "detected": "Landmarks tracked on the target (orange where the face was lost)",
    "predicted": "Landmarks predicted from the speech and emotion, aligned to the head",
    "guidance": "The renderer's guidance map: background edges and the landmark sketch",
    "rendered": "The rendered frame",
}
MODE_LABELS = {
    CompareMode.SINGLE: "Single",
    CompareMode.SIDE_BY_SIDE: "Side by side",
    CompareMode.WIPE: "Wipe",
    CompareMode.BLEND: "Blend",
}


def compose_qimage(session: PreviewSession, frame: int, choice: LayerChoice) -> QImage:
    """The preview picture for ``choice`` at ``frame`` as a QImage owning its pixels.

    Raises
    ------
    InvalidInputError
        When the session cannot make a layer or the frame is out of range.
    """
    return rgb_to_qimage(session.compose(frame, choice))


class LayerBar(QWidget):
    """Layer buttons, a compare layer and mode, and an amount slider for wipe and blend.

    Signals
    -------
    choice_changed(LayerChoice)
        Any control changed (the slider emits while it moves).
    """

    choice_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(CHECKED_BUTTON_STYLE)
        self.setObjectName("layerBar")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self._buttons = QButtonGroup(self)
        self._buttons.setExclusive(True)
        for i, name in enumerate(LAYERS):
            button = QToolButton(self)
            button.setText(LAYER_LABELS[name])
            button.setToolTip(f"{LAYER_TIPS[name]} ({i + 1})")
            button.setShortcut(str(i + 1))
            button.setCheckable(True)
            button.setObjectName(f"layer_{name}")
            self._buttons.addButton(button, i)
            row.addWidget(button)
        self._buttons.button(0).setChecked(True)
        self.mode_box = QComboBox(self)
        self.mode_box.setToolTip("Compare the layer with another one")
        for mode, label in MODE_LABELS.items():
            self.mode_box.addItem(label, mode)
        self.compare_box = QComboBox(self)
        self.compare_box.setToolTip("The layer to compare with")
        for name in LAYERS:
            self.compare_box.addItem(LAYER_LABELS[name], name)
        self.compare_box.setCurrentIndex(LAYERS.index("rendered"))
        self.amount = QSlider(Qt.Orientation.Horizontal, self)
        self.amount.setRange(0, 100)
        self.amount.setValue(50)
        self.amount.setToolTip("Wipe position / blend amount")
        self.amount.setMaximumWidth(160)
        for w in (self.mode_box, self.compare_box, self.amount):
            row.addWidget(w)
        row.addStretch(1)
        self._buttons.idToggled.connect(self._on_toggled)
        self.mode_box.currentIndexChanged.connect(self._changed)
        self.compare_box.currentIndexChanged.connect(self._changed)
        self.amount.valueChanged.connect(self._changed)
        self._sync_enabled()

    def choice(self) -> LayerChoice:
        """What the controls say now."""
        mode: CompareMode = self.mode_box.currentData()
        compare = None if mode is CompareMode.SINGLE else str(self.compare_box.currentData())
        return LayerChoice(
            LAYERS[max(self._buttons.checkedId(), 0)], compare, mode, self.amount.value() / 100.0
        )

    def set_choice(self, choice: LayerChoice) -> None:
        """Show ``choice`` in the controls (emits ``choice_changed`` once when it differs)."""
        if choice == self.choice():
            return
        blocked = [w.blockSignals(True) for w in self._signal_sources()]
        try:
            self._buttons.button(LAYERS.index(choice.layer)).setChecked(True)
            self.mode_box.setCurrentIndex(list(MODE_LABELS).index(choice.mode))
            if choice.compare is not None:
                self.compare_box.setCurrentIndex(LAYERS.index(choice.compare))
            self.amount.setValue(round(choice.amount * 100))
        finally:
            for w, was in zip(self._signal_sources(), blocked):
                w.blockSignals(was)
        self._changed()

    def set_available(self, layers: frozenset[str] | set[str]) -> None:
        """Enable only ``layers`` (a session's ``available``); falls back to ``source``."""
        for i, name in enumerate(LAYERS):
            self._buttons.button(i).setEnabled(name in layers)
            item = self.compare_box.model().item(i)  # type: ignore[attr-defined]
            item.setEnabled(name in layers)
        choice = self.choice()
        layer = choice.layer if choice.layer in layers else "source"
        compare = choice.compare if choice.compare in layers else None
        mode = choice.mode if compare is not None else CompareMode.SINGLE
        if compare is None:
            compare = "rendered" if "rendered" in layers else "source"
        self.set_choice(LayerChoice(layer, compare, mode, choice.amount))

    def _signal_sources(self) -> list[QObject]:
        return [self._buttons, self.mode_box, self.compare_box, self.amount]

    def _sync_enabled(self) -> None:
        mode = self.mode_box.currentData()
        self.compare_box.setEnabled(mode is not CompareMode.SINGLE)
        self.amount.setEnabled(mode in (CompareMode.WIPE, CompareMode.BLEND))

    def _on_toggled(self, _id: int, checked: bool) -> None:
        if checked:  # the exclusive group also reports the button it unchecked
            self._changed()

    def _changed(self) -> None:
        self._sync_enabled()
        self.choice_changed.emit(self.choice())


@dataclass(frozen=True)
class _ComposeRequest:
    session: PreviewSession
    frame: int
    choice: LayerChoice


def _compose(req: _ComposeRequest) -> np.ndarray:
    return req.session.compose(req.frame, req.choice)


class LayerPreview(QObject):
    """Composes preview frames on a worker thread; only the newest request is computed.

    Signals
    -------
    frame_ready(int, np.ndarray)
        The composed RGB picture of a frame, for ``FrameView.set_frame``.
    failed(BaseException)
        Computing a frame failed; route to the error presenter.
    """

    frame_ready = Signal(int, object)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session: PreviewSession | None = None
        self.choice = LayerChoice()
        self.frame = 0
        self._fetcher = LatestWinsFetcher(_compose, self)
        self._fetcher.result_ready.connect(self._on_result)
        self._fetcher.failed.connect(lambda _req, exc: self.failed.emit(exc))

    @property
    def busy(self) -> bool:
        """True while a frame is being computed or waits to be."""
        return self._fetcher.busy

    def set_session(self, session: PreviewSession | None) -> None:
        """Preview ``session`` (None: nothing) and re-request the current frame."""
        self._fetcher.wait()
        self.session = session
        self.request(self.frame)

    def set_choice(self, choice: LayerChoice) -> None:
        """Show ``choice`` (connect ``LayerBar.choice_changed`` here)."""
        self.choice = choice
        self.request(self.frame)

    def request(self, frame: int) -> None:
        """Compute ``frame`` with the current choice; replaces a pending request."""
        self.frame = frame
        if self.session is not None and 0 <= frame < self.session.frame_count:
            self._fetcher.request(_ComposeRequest(self.session, frame, self.choice))

    def shutdown(self) -> None:
        """Drop pending requests and wait for the running one (the window is closing)."""
        self._fetcher.wait()

    def _on_result(self, req: _ComposeRequest, image: np.ndarray) -> None:
        if req.session is self.session:
            self.frame_ready.emit(req.frame, image)
