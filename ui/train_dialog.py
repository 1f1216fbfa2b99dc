"""Render ▸ Train Neural Renderer…: train the Edge-to-Video renderer on the target, as a job.

The job carries its output folder as ``monitor_dir``, so the jobs panel shows the loss curve
and the newest sample while it runs. When it succeeds the user is asked whether to use the
new checkpoint for export (remembered in :mod:`ui.renderer_memory`).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from evp_studio import paths
from evp_studio.jobs import Job
from evp_studio.project import Document
from ui import dialogs
from ui.dialogs import Button
from ui.export_form import named, start_buttons
from ui.renderer_memory import RendererChoice, memory_keys, save_choice
from ui.workers import JobHandle, JobQueue

if TYPE_CHECKING:
    from evp_studio.train.renderer import RendererTrainConfig

log = logging.getLogger(__name__)

PRESETS: dict[str, tuple[str, int]] = {  # name: (what it is, default steps)
    "tiny": ("64 px, a quick check that training runs", 300),
    "fast": ("256 px, the usual choice", 20_000),
    "quality": ("512 px, best on a GPU", 40_000),
}
MAX_LOG_EVERY = 500  # steps between loss-log writes / samples, so the curve stays live


@functools.cache
def available_devices() -> tuple[str, ...]:
    """``("cpu",)`` or ``("cpu", "cuda")``; imports torch on first use (seconds, once)."""
    import torch  # noqa: PLC0415 - only when a dialog needs to know

    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def prefer_device(combo: QComboBox, preference: str) -> None:
    """Select the preferences' device in a combo of :func:`available_devices`.

    ``"auto"`` and ``"cuda"`` pick CUDA when the combo offers it, ``"cpu"`` always the CPU.
    """
    want = "cpu" if preference == "cpu" else "cuda"
    index = combo.findText(want)
    combo.setCurrentIndex(index if index >= 0 else combo.findText("cpu"))


def default_run_folder(document: Document) -> Path:
    """``<project folder>/<project>_renderer``, or ``data_dir()/renderers/<project name>``."""
    if document.path is not None:
        path = Path(document.path)
        return path.parent / f"{path.stem}_renderer"
    name = re.sub(r"[^\w.-]+", "_", document.project.name).strip("._") or "untitled"
    return paths.data_dir() / "renderers" / name


def log_interval(steps: int) -> int:
    """Steps between checkpoints (which write the loss log) and between samples."""
    return max(1, min(MAX_LOG_EVERY, steps // 40))


@dataclass(frozen=True)
class TrainRequest:
    """Everything the training job needs, copied on the GUI thread."""

    video: Path
    out_dir: Path
    config: RendererTrainConfig
    resume: bool


def _train_job(request: TrainRequest) -> Job[Any]:
    from evp_studio.train.renderer import train_renderer  # noqa: PLC0415 - imports torch

    return train_renderer(request.video, request.out_dir, request.config, resume=request.resume)


class TrainRendererDialog(QDialog):
    """Choose preset, steps, device and folder, then queue the training job.

    Parameters
    ----------
    document
        The project; its target video is trained on.
    jobs
        Where the job is queued.
    on_trained
        Called on the GUI thread with the finished job's handle and result.
    """

    def __init__(
        self,
        document: Document,
        jobs: JobQueue,
        parent: QWidget | None = None,
        *,
        on_trained: Callable[[JobHandle, Any], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("trainDialog")
        self.setWindowTitle("Train Neural Renderer")
        self.document, self.jobs, self._on_trained = document, jobs, on_trained
        self.handle: JobHandle | None = None
        self.preset = named(QComboBox(), "trainPreset")
        for name, (text, _steps) in PRESETS.items():
            self.preset.addItem(f"{name} — {text}", name)
        self.preset.setCurrentIndex(1)
        self.steps = named(QSpinBox(minimum=1, maximum=1_000_000), "trainSteps")
        self.steps.setSingleStep(1000)
        self.log_every = named(QSpinBox(minimum=1, maximum=100_000), "trainLogEvery")
        self.log_every.setToolTip("Steps between checkpoints, loss-curve updates and samples")
        self.device = named(QComboBox(), "trainDevice")
        self.device.addItems(available_devices())
        self.device.setCurrentIndex(self.device.count() - 1)  # CUDA when there is one
        self.folder = named(QLineEdit(str(default_run_folder(document))), "trainFolder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.restart = QCheckBox("Start over (ignore a checkpoint already in the folder)")
        self.restart.setObjectName("trainRestart")
        self.message = named(QLabel(wordWrap=True), "trainMessage")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Preset", self.preset)
        form.addRow("Steps", self.steps)
        form.addRow("Save every", self.log_every)
        form.addRow("Device", self.device)
        form.addRow("Output folder", folder_row)
        form.addRow("", self.restart)
        self.buttons, self.start_button = start_buttons(
            self, "Start Training", "trainStart", self.start
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.preset.currentIndexChanged.connect(self._on_preset)
        self.steps.valueChanged.connect(lambda v: self.log_every.setValue(log_interval(v)))
        self.folder.textChanged.connect(lambda _t: self._validate())
        self._on_preset()

    def _on_preset(self) -> None:
        self.steps.setValue(PRESETS[self.preset.currentData()][1])
        self.log_every.setValue(log_interval(self.steps.value()))
        self._validate()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Training output folder", self.folder.text()
        )
        if folder:
            self.folder.setText(folder)

    def _validate(self) -> bool:
        target = self.document.project.target
        problem = None
        if target is None:
            problem = "Open a target video first: the renderer is trained on it."
        elif not self.folder.text().strip():
            problem = "Choose an output folder."
        else:
            parent = Path(self.folder.text()).expanduser().parent
            while not parent.exists() and parent != parent.parent:
                parent = parent.parent
            if not parent.is_dir():
                problem = f"{parent}: not a folder."
        self.message.setText(problem or "")
        self.start_button.setEnabled(problem is None)
        return problem is None

    def request(self) -> TrainRequest:
        """The job's inputs as the dialog shows them.

        Raises
        ------
        InvalidInputError
            When a value is out of range for the trainer.
        """
        from evp_studio.train.renderer import RendererTrainConfig  # noqa: PLC0415 - torch

        video = self.document.media_path("target")
        assert video is not None
        every = self.log_every.value()
        config = RendererTrainConfig(
            preset=self.preset.currentData(),
            steps=self.steps.value(),
            device=self.device.currentText(),
            preview_every=every,
            checkpoint_every=every,
        )
        out = Path(self.folder.text()).expanduser()
        return TrainRequest(video, out, config, resume=not self.restart.isChecked())

    def start(self) -> JobHandle | None:
        """Queue the training job and close; returns its handle (None when refused)."""
        if not self._validate():
            return None
        from evp_studio.errors import EvpError  # noqa: PLC0415

        try:
            request = self.request()
        except EvpError as exc:
            self.message.setText(str(exc))
            return None
        keys = memory_keys(self.document)
        holder: list[JobHandle] = []
        parent = self.parentWidget()
        on_trained = self._on_trained

        def finished(result: Any) -> None:
            offer_checkpoint(parent, keys, Path(result.checkpoint))
            if on_trained is not None:
                on_trained(holder[0], result)

        title = f"Train renderer ({request.config.preset}, {request.config.steps} steps)"
        self.handle = self.jobs.submit(
            title, lambda: _train_job(request), on_result=finished, monitor_dir=request.out_dir
        )
        holder.append(self.handle)
        self.accept()
        return self.handle


def offer_checkpoint(parent: QWidget | None, keys: tuple[str, ...], checkpoint: Path) -> bool:
    """Ask whether to export with the new renderer; remember the checkpoint either way."""
    answer = dialogs.ask(
        parent,
        "Renderer trained",
        f"The renderer is trained:\n{checkpoint}\n\nUse it for export (Render ▸ Export…)?",
        Button.Yes | Button.No,
        Button.Yes,
    )
    use = answer == Button.Yes
    save_choice(keys, RendererChoice(checkpoint, use_neural=use))
    return use
