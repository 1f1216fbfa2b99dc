"""Inspector panel: category, intensity and easing of the selected emotion key(s)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QSlider, QSpinBox, QWidget

from evp_studio.project import EMOTIONS, Changes, Document, Easing, Keyframe
from ui.timeline.emotion_palette import EMOTION_COLORS


class KeyframeInspector(QWidget):
    """Edits the selected keys; each change is one undo step, whatever the selection size.

    With several keys selected it shows the first one's values and sets a changed field
    on all of them.
    """

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keyframeInspector")
        self._document: Document | None = None
        self._key_ids: list[str] = []
        self._updating = False
        self.summary = QLabel("No key selected")
        self.emotion_combo = QComboBox()
        for name in EMOTIONS:
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(*EMOTION_COLORS[name]))
            self.emotion_combo.addItem(QIcon(swatch), name.capitalize(), name)
        self.emotion_combo.setToolTip("Emotion category of the selected key(s)")
        self.intensity_slider = QSlider(Qt.Orientation.Horizontal)
        self.intensity_slider.setRange(0, 100)
        self.intensity_spin = QSpinBox()
        self.intensity_spin.setRange(0, 100)
        self.intensity_spin.setSuffix(" %")
        self.intensity_spin.setKeyboardTracking(False)
        self.intensity_spin.setToolTip("Intensity of the selected key(s), 0–100 %")
        self.easing_combo = QComboBox()
        for easing in Easing:
            self.easing_combo.addItem(easing.value, easing.value)
        self.easing_combo.setToolTip("How the emotion moves from this key to the next one")
        form = QFormLayout(self)
        form.addRow(self.summary)
        form.addRow("Emotion", self.emotion_combo)
        form.addRow("Intensity", self.intensity_slider)
        form.addRow("", self.intensity_spin)
        form.addRow("Easing", self.easing_combo)

        self.emotion_combo.activated.connect(
            lambda _i: self._apply(emotion=self.emotion_combo.currentData())
        )
        self.easing_combo.activated.connect(
            lambda _i: self._apply(easing=self.easing_combo.currentData())
        )
        self.intensity_spin.valueChanged.connect(lambda v: self._apply(intensity=v / 100))
        self.intensity_slider.valueChanged.connect(self._on_slider_moved)
        self.intensity_slider.sliderReleased.connect(
            lambda: self._apply(intensity=self.intensity_slider.value() / 100)
        )
        self.set_document(document)

    @property
    def key_ids(self) -> list[str]:
        """The keys being inspected."""
        return list(self._key_ids)

    def set_document(self, document: Document) -> None:
        """Follow ``document``; the previous one's signal is disconnected."""
        if self._document is not None:
            self._document.changed.disconnect(self._on_document_changed)
        self._document = document
        document.changed.connect(self._on_document_changed)
        self.set_selection([])

    def set_selection(self, key_ids: list[str]) -> None:
        """Inspect these keys (e.g. the timeline's selection)."""
        self._key_ids = list(key_ids)
        self._refresh()

    def _keys(self) -> list[Keyframe]:
        assert self._document is not None
        track = self._document.project.emotion
        keys = [track.key_by_id(key_id) for key_id in self._key_ids]
        return [key for key in keys if key is not None]

    def _on_document_changed(self, changes: Changes) -> None:
        if changes.keyframes:
            self._refresh()

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        self._updating = True
        try:
            yield
        finally:
            self._updating = False

    def _refresh(self) -> None:
        keys = self._keys()
        self._key_ids = [key.id for key in keys]
        for widget in (
            self.emotion_combo,
            self.intensity_slider,
            self.intensity_spin,
            self.easing_combo,
        ):
            widget.setEnabled(bool(keys))
        if not keys:
            self.summary.setText("No key selected")
            return
        first = keys[0]
        if len(keys) == 1:
            self.summary.setText(f"Key at frame {first.frame}")
        else:
            self.summary.setText(f"{len(keys)} keys, frames {first.frame}–{keys[-1].frame}")
        with self._quiet():
            self.emotion_combo.setCurrentIndex(EMOTIONS.index(first.emotion))
            self.intensity_slider.setValue(round(first.intensity * 100))
            self.intensity_spin.setValue(round(first.intensity * 100))
            self.easing_combo.setCurrentIndex(list(Easing).index(first.easing))

    def _on_slider_moved(self, value: int) -> None:
        if self._updating:
            return
        with self._quiet():
            self.intensity_spin.setValue(value)
        if not self.intensity_slider.isSliderDown():  # keyboard or click: commit now
            self._apply(intensity=value / 100)

    def _apply(self, **fields: Any) -> None:
        if self._updating or self._document is None:
            return
        doc = self._document
        keys = [key for key in self._keys() if any(getattr(key, n) != v for n, v in fields.items())]
        if not keys:
            return
        label = "Edit keyframe" if len(keys) == 1 else f"Edit {len(keys)} keyframes"
        with doc.history.macro(label):
            for key in keys:
                doc.update_keyframe(key_id=key.id, **fields)
