"""The fields of the export dialog, and what they mean as export settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from evp_studio.media import ExportConfig
from evp_studio.pipeline.export import Overlays, SideOutputs
from evp_studio.project import X264_PRESETS, Project
from ui.renderer_memory import RendererChoice

PRORES_PROFILES = ("Proxy", "LT", "422", "422 HQ", "4444", "4444 XQ")
RESOLUTIONS = (("Source", None), ("512p", 512), ("720p", 720), ("1080p", 1080), ("Custom", 0))
LANDMARK_SUFFIXES = (".npz", ".csv", ".json")

W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str) -> W:
    """``widget`` with its object name set (tests find widgets by name)."""
    widget.setObjectName(name)
    return widget


def start_buttons(
    dialog: QDialog, text: str, name: str, on_start: Callable[[], object]
) -> tuple[QDialogButtonBox, QPushButton]:
    """Cancel (rejects ``dialog``) and a ``text`` button named ``name`` that calls ``on_start``.

    Returns
    -------
    tuple[QDialogButtonBox, QPushButton]
        The button box and its start button.
    """
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    start = buttons.addButton(text, QDialogButtonBox.ButtonRole.AcceptRole)
    start.setObjectName(name)
    buttons.accepted.connect(on_start)
    buttons.rejected.connect(dialog.reject)
    return buttons, start


def _even(n: float) -> int:
    return max(2, int(round(n)) // 2 * 2)  # H.264 4:2:0 needs even sizes


def _hbox(*widgets: QWidget, stretch: int = 0) -> QHBoxLayout:
    row = QHBoxLayout()
    for i, w in enumerate(widgets):
        row.addWidget(w, 1 if i == stretch else 0)
    return row


class ExportForm(QWidget):
    """Range, format, resolution, renderer, overlays, side outputs and output path.

    Signals
    -------
    changed()
        Any value changed.
    browse_output(), browse_checkpoint()
        A Browse button was pressed (the dialog opens the file picker).
    browse_side(str)
        The Browse button of a side output (``"landmarks"``, ``"guidance"``, ``"keyframes"``).
    """

    changed = Signal()
    browse_output = Signal()
    browse_checkpoint = Signal()
    browse_side = Signal(str)

    def __init__(
        self, project: Project, output: Path, choice: RendererChoice | None = None
    ) -> None:
        super().__init__()
        self.project = project
        self._custom: set[str] = set()  # side-output paths the user typed
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._range_box())
        layout.addWidget(self._format_box())
        layout.addWidget(self._picture_box(choice))
        layout.addWidget(self._side_box())
        layout.addWidget(self._output_box(output))
        self.message = named(QLabel(wordWrap=True), "exportMessage")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self._on_container()
        self._on_resolution()
        self._on_renderer()
        self._derive_side_paths()

    # -- building ---------------------------------------------------------------------------
    def _range_box(self) -> QGroupBox:
        box = QGroupBox("Range")
        target = self.project.target
        n = target.frame_count if target is not None else 0
        self.whole = named(QRadioButton(f"Whole clip ({n} frames)"), "exportWhole")
        r = self.project.render
        a, b = r.in_frame, r.out_frame
        has_range = a is not None or b is not None
        first, stop = a or 0, b if b is not None else n
        label = f"In/out range: frames {first}–{stop - 1} ({stop - first} frames)"
        self.in_out = QRadioButton(label if has_range else "In/out range (none set)")
        self.in_out.setObjectName("exportInOut")
        self.in_out.setEnabled(has_range)
        (self.in_out if has_range else self.whole).setChecked(True)
        group = QButtonGroup(box)
        group.addButton(self.whole)
        group.addButton(self.in_out)
        group.buttonToggled.connect(lambda *_: self.changed.emit())
        QVBoxLayout(box).addLayout(_hbox(self.whole, self.in_out))
        return box

    def _format_box(self) -> QGroupBox:
        box = QGroupBox("Format")
        self.container_combo = named(QComboBox(), "exportContainer")
        self.container_combo.addItem("MP4 — H.264 video, AAC audio", "mp4")
        self.container_combo.addItem("MOV — Apple ProRes video, PCM audio", "mov")
        r = self.project.render
        self.crf = named(QSlider(Qt.Orientation.Horizontal), "exportCrf")
        self.crf.setRange(0, 51)
        self.crf.setValue(r.crf)
        self.crf.setToolTip("x264 CRF: lower is better and larger; 18 looks lossless")
        self.crf_label = QLabel()
        self.preset = named(QComboBox(), "exportPreset")
        self.preset.addItems(X264_PRESETS)
        self.preset.setCurrentText(r.preset)
        self.preset.setToolTip("x264 preset: slower makes smaller files at the same quality")
        self.prores = named(QComboBox(), "exportProres")
        self.prores.addItems(PRORES_PROFILES)
        self.prores.setCurrentIndex(2)
        self.h264_row = QWidget()
        self.h264_row.setLayout(
            _hbox(QLabel("Quality (CRF)"), self.crf, self.crf_label, self.preset, stretch=1)
        )
        self.prores_row = QWidget()
        self.prores_row.setLayout(_hbox(QLabel("ProRes profile"), self.prores, stretch=1))
        form = QFormLayout(box)
        form.addRow("Container", self.container_combo)
        form.addRow(self.h264_row)
        form.addRow(self.prores_row)
        self.container_combo.currentIndexChanged.connect(lambda *_: self._on_container())
        self.crf.valueChanged.connect(self._on_crf)
        for combo in (self.preset, self.prores):
            combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self._on_crf(self.crf.value())
        return box

    def _picture_box(self, choice: RendererChoice | None) -> QGroupBox:
        box = QGroupBox("Picture")
        r = self.project.render
        self.resolution = named(QComboBox(), "exportResolution")
        for text, value in RESOLUTIONS:
            self.resolution.addItem(text, value)
        self.width_spin = named(QSpinBox(minimum=16, maximum=8192), "exportWidth")
        self.height_spin = named(QSpinBox(minimum=16, maximum=8192), "exportHeight")
        src_w, src_h = self._source_size()
        self.width_spin.setValue(r.width or src_w)
        self.height_spin.setValue(r.height or src_h)
        if r.width is None and r.height is None:
            self.resolution.setCurrentIndex(0)
        elif r.width is None and r.height in (512, 720, 1080):
            self.resolution.setCurrentIndex(self.resolution.findData(r.height))
        else:
            self.resolution.setCurrentIndex(len(RESOLUTIONS) - 1)
        self.renderer_combo = named(QComboBox(), "exportRenderer")
        self.renderer_combo.addItem("Warp (instant, no training)", "warp")
        self.renderer_combo.addItem("Neural (trained on this video)", "neural")
        use_neural = choice is not None and choice.use_neural and choice.checkpoint.is_file()
        renderer = "neural" if use_neural else r.renderer
        self.renderer_combo.setCurrentIndex(self.renderer_combo.findData(renderer))
        self.checkpoint_edit = named(QLineEdit(), "exportCheckpoint")
        self.checkpoint_edit.setPlaceholderText("checkpoint.pt of a renderer trained on this video")
        if choice is not None:
            self.checkpoint_edit.setText(str(choice.checkpoint))
        browse = named(QPushButton("Browse…"), "exportCheckpointBrowse")
        browse.clicked.connect(self.browse_checkpoint)
        self.preferred_device = "auto"  # the preferences' device, chosen when neural is picked
        self.device_combo = named(QComboBox(), "exportDevice")
        self.device_combo.addItem("cpu")
        self.neural_row = QWidget()
        self.neural_row.setLayout(_hbox(self.checkpoint_edit, browse, self.device_combo))
        self.overlay_landmarks = named(QCheckBox("Landmarks"), "exportOverlayLandmarks")
        self.overlay_landmarks.setToolTip("Draw the predicted, aligned landmarks on every frame")
        self.overlay_timecode = named(QCheckBox("Timecode"), "exportOverlayTimecode")
        form = QFormLayout(box)
        form.addRow(
            "Resolution", _hbox(self.resolution, self.width_spin, QLabel("×"), self.height_spin)
        )
        form.addRow("Renderer", self.renderer_combo)
        form.addRow("", self.neural_row)
        form.addRow("Burn in", _hbox(self.overlay_landmarks, self.overlay_timecode))
        self.resolution.currentIndexChanged.connect(lambda *_: self._on_resolution())
        self.renderer_combo.currentIndexChanged.connect(lambda *_: self._on_renderer())
        for w in (self.width_spin, self.height_spin):
            w.valueChanged.connect(lambda _v: self.changed.emit())
        for edit in (self.checkpoint_edit,):
            edit.textChanged.connect(lambda _t: self.changed.emit())
        for check in (self.overlay_landmarks, self.overlay_timecode):
            check.toggled.connect(lambda _c: self.changed.emit())
        return box

    def _side_box(self) -> QGroupBox:
        box = QGroupBox("Side outputs")
        self.side_checks: dict[str, QCheckBox] = {}
        self.side_paths: dict[str, QLineEdit] = {}
        self.landmark_format = named(QComboBox(), "exportLandmarkFormat")
        self.landmark_format.addItems(LANDMARK_SUFFIXES)
        form = QFormLayout(box)
        for key, text in (
            ("landmarks", "Landmark tracks"),
            ("guidance", "Guidance maps (PNG)"),
            ("keyframes", "Keyframes (JSON)"),
        ):
            check = named(QCheckBox(text), f"exportSide_{key}")
            edit = named(QLineEdit(), f"exportSidePath_{key}")
            edit.setEnabled(False)
            check.toggled.connect(edit.setEnabled)
            browse = named(QPushButton("Browse…"), f"exportSideBrowse_{key}")
            browse.setToolTip(f"Choose where the {text.lower()} go")
            browse.setEnabled(False)
            check.toggled.connect(browse.setEnabled)
            browse.clicked.connect(lambda _c=False, k=key: self.browse_side.emit(k))
            check.toggled.connect(lambda _c: self.changed.emit())
            edit.textEdited.connect(lambda _t, k=key: self._custom.add(k))
            edit.textChanged.connect(lambda _t: self.changed.emit())
            self.side_checks[key], self.side_paths[key] = check, edit
            extra = [self.landmark_format] if key == "landmarks" else []
            form.addRow(check, _hbox(edit, *extra, browse))
        self.landmark_format.currentIndexChanged.connect(lambda *_: self._on_landmark_format())
        return box

    def _output_box(self, output: Path) -> QGroupBox:
        box = QGroupBox("Output")
        self.output_edit = named(QLineEdit(str(output)), "exportOutput")
        browse = named(QPushButton("Browse…"), "exportBrowse")
        browse.clicked.connect(self.browse_output)
        self.output_edit.textChanged.connect(lambda _t: self._derive_side_paths())
        self.output_edit.textChanged.connect(lambda _t: self.changed.emit())
        QVBoxLayout(box).addLayout(_hbox(self.output_edit, browse))
        return box

    # -- reactions --------------------------------------------------------------------------
    def _on_container(self) -> None:
        mp4 = self.container() == "mp4"
        self.h264_row.setVisible(mp4)
        self.prores_row.setVisible(not mp4)
        out = self.output()
        if out.suffix.lower() != f".{self.container()}":
            self.output_edit.setText(str(out.with_suffix(f".{self.container()}")))
        self.changed.emit()

    def _on_crf(self, value: int) -> None:
        self.crf_label.setText(f"{value}{' (visually lossless)' if value == 18 else ''}")
        self.changed.emit()

    def _on_resolution(self) -> None:
        custom = self.resolution.currentData() == 0
        for spin in (self.width_spin, self.height_spin):
            spin.setEnabled(custom)
        if not custom:
            w, h = self.output_size()
            for spin, v in ((self.width_spin, w), (self.height_spin, h)):
                spin.blockSignals(True)
                spin.setValue(v)
                spin.blockSignals(False)
        self.changed.emit()

    def _on_renderer(self) -> None:
        neural = self.renderer() == "neural"
        self.neural_row.setVisible(neural)
        if neural and self.device_combo.count() == 1:
            from ui.train_dialog import available_devices, prefer_device  # noqa: PLC0415 - torch

            self.device_combo.clear()
            self.device_combo.addItems(available_devices())
            prefer_device(self.device_combo, self.preferred_device)
        self.changed.emit()

    def _on_landmark_format(self) -> None:
        edit = self.side_paths["landmarks"]
        path = Path(edit.text())
        if edit.text():
            edit.setText(str(path.with_suffix(self.landmark_format.currentText())))

    def set_side_path(self, key: str, path: Path) -> None:
        """Use ``path`` for side output ``key`` (kept when the output path changes)."""
        self._custom.add(key)
        self.side_paths[key].setText(str(path))

    def _derive_side_paths(self) -> None:
        out = self.output()
        base = out.with_name(out.stem)
        derived = {
            "landmarks": Path(f"{base}_landmarks{self.landmark_format.currentText()}"),
            "guidance": Path(f"{base}_guidance"),
            "keyframes": Path(f"{base}_keyframes.json"),
        }
        for key, path in derived.items():
            if key not in self._custom:
                self.side_paths[key].setText(str(path))

    def set_message(self, text: str, *, error: bool) -> None:
        """Show a check result under the form (red for problems)."""
        self.message.setText(text)
        self.message.setStyleSheet("color: #ff7b6b;" if error else "")

    # -- values -----------------------------------------------------------------------------
    def _source_size(self) -> tuple[int, int]:
        t = self.project.target
        return (t.width, t.height) if t is not None else (1280, 720)

    def container(self) -> str:
        """``"mp4"`` or ``"mov"``."""
        return str(self.container_combo.currentData())

    def export_config(self) -> ExportConfig:
        """The encoding settings."""
        if self.container() == "mov":
            return ExportConfig(
                container="mov", video_codec="prores", prores_profile=self.prores.currentIndex()
            )
        return ExportConfig(crf=self.crf.value(), preset=self.preset.currentText())

    def render_size(self) -> tuple[int | None, int | None]:
        """``(width, height)`` for the render settings: None keeps the source's (aspect)."""
        value = self.resolution.currentData()
        if value is None:
            return None, None
        if value == 0:
            return self.width_spin.value(), self.height_spin.value()
        return None, int(value)

    def output_size(self) -> tuple[int, int]:
        """The size of the exported frames, px (even)."""
        src_w, src_h = self._source_size()
        w, h = self.render_size()
        if w is None and h is None:
            return _even(src_w), _even(src_h)
        if w is None:
            assert h is not None
            return _even(src_w * h / src_h), _even(h)
        assert h is not None
        return _even(w), _even(h)

    def frame_range(self) -> tuple[int | None, int | None]:
        """Half-open output frames; ``(None, None)`` is the whole clip."""
        if self.in_out.isChecked():
            return self.project.render.in_frame, self.project.render.out_frame
        return None, None

    def renderer(self) -> str:
        """``"warp"`` or ``"neural"``."""
        return str(self.renderer_combo.currentData())

    def checkpoint(self) -> Path | None:
        """The neural renderer's checkpoint, if one is given."""
        text = self.checkpoint_edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_checkpoint(self, path: Path) -> None:
        """Put ``path`` in the checkpoint field."""
        self.checkpoint_edit.setText(str(path))

    def device(self) -> str:
        """Torch device of the neural renderer."""
        return self.device_combo.currentText() or "cpu"

    def output(self) -> Path:
        """The video file."""
        return Path(self.output_edit.text().strip() or "export.mp4").expanduser()

    def set_output(self, path: Path) -> None:
        """Put ``path`` (with the container's suffix) in the output field."""
        self.output_edit.setText(str(path.with_suffix(f".{self.container()}")))

    def overlays(self) -> Overlays:
        """What to burn into the frames."""
        return Overlays(self.overlay_landmarks.isChecked(), self.overlay_timecode.isChecked())

    def side_outputs(self) -> SideOutputs:
        """The checked side outputs with their paths."""

        def path(key: str) -> Path | None:
            text = self.side_paths[key].text().strip()
            return Path(text).expanduser() if self.side_checks[key].isChecked() and text else None

        landmarks = path("landmarks")
        return SideOutputs(
            landmarks=(landmarks,) if landmarks is not None else (),
            guidance_dir=path("guidance"),
            keyframes=path("keyframes"),
        )
