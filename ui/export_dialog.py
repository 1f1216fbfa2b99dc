"""Render ▸ Export…: range, format, resolution, renderer, overlays, side outputs, output path.

The output paths are checked as the user edits them (:func:`check_outputs`): a missing or
read-only folder or too little free space is shown in the dialog and disables Start; files
that exist are replaced only after a question. Start queues
:func:`evp_studio.pipeline.export.export_project` on the window's job queue and closes; the
jobs panel shows it, and a failure reaches the error presenter through the queue.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QVBoxLayout, QWidget

from evp_studio.errors import EvpError
from evp_studio.jobs import Job
from evp_studio.media import ExportConfig, probe
from evp_studio.pipeline.export import (
    ExportResult,
    Overlays,
    SideOutputs,
    export_project,
    plan_export,
)
from evp_studio.pipeline.export_checks import OutputCheck, check_outputs, format_bytes
from evp_studio.project import Document, Project
from ui import dialogs
from ui.dialogs import Button
from ui.export_form import ExportForm, start_buttons
from ui.renderer_memory import RendererChoice, load_choice, memory_keys, save_choice
from ui.workers import JobHandle, JobQueue

log = logging.getLogger(__name__)

Note = Callable[[JobHandle, str], None]


@dataclass(frozen=True)
class ExportRequest:
    """Everything the export job needs, copied on the GUI thread."""

    project: Project  # a deep copy, with the chosen output size in its render settings
    output: Path
    frame_range: tuple[int | None, int | None]
    export: ExportConfig
    renderer: str
    neural_checkpoint: Path | None
    device: str
    side: SideOutputs
    overlays: Overlays


def _export_job(request: ExportRequest) -> Job[ExportResult]:
    return export_project(
        request.project,
        request.output,
        side=request.side,
        overlays=request.overlays,
        renderer=request.renderer,
        frame_range=request.frame_range,
        export=request.export,
        neural_checkpoint=request.neural_checkpoint,
        device=request.device,
    )


def describe_result(result: ExportResult) -> str:
    """One line for the jobs panel: what was written, how fast."""
    parts = []
    if result.render is not None:
        r = result.render
        parts.append(f"{r.frames} frames in {r.seconds:.1f} s → {r.output}")
    if result.side_outputs:
        parts.append(f"{len(result.side_outputs)} side output(s)")
    parts += [f"warning: {w}" for w in result.warnings]
    return "; ".join(parts)


class ExportDialog(QDialog):
    """The export settings of one document, and the button that queues the export.

    Parameters
    ----------
    document
        The project to export (read; the chosen settings are written back as one undo step).
    jobs
        Where the export job is queued.
    note
        Called with the handle and a line describing the result when the export is done
        (the jobs panel's ``set_note``).
    """

    def __init__(
        self,
        document: Document,
        jobs: JobQueue,
        parent: QWidget | None = None,
        *,
        note: Note | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export")
        self.document, self.jobs, self._note = document, jobs, note
        self.handle: JobHandle | None = None
        self.check: OutputCheck | None = None
        project = document.project
        self._keys = memory_keys(document)
        self.form = ExportForm(project, self._default_output(), load_choice(self._keys))
        self._speech_s = self._speech_seconds()
        self.buttons, self.start_button = start_buttons(self, "Start", "exportStart", self.start)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.buttons)
        self.form.changed.connect(self.revalidate)
        self.form.browse_output.connect(self._browse_output)
        self.form.browse_checkpoint.connect(self._browse_checkpoint)
        self.form.browse_side.connect(self._browse_side)
        self.revalidate()

    # -- defaults ---------------------------------------------------------------------------
    def _default_output(self) -> Path:
        doc = self.document
        if doc.path is not None:
            return Path(doc.path).with_suffix(".mp4")
        target = doc.media_path("target")
        if target is not None:
            return target.with_name(f"{target.stem}_evp.mp4")
        return Path.home() / "export.mp4"

    def _speech_seconds(self) -> float | None:
        speech = self.document.media_path("speech")
        if speech is None:
            return None
        try:
            return probe(speech).duration_s
        except EvpError as e:
            log.info("cannot probe the speech for the size estimate: %s", e)
            return None

    # -- checks -----------------------------------------------------------------------------
    def _problems(self) -> list[str]:
        project, form = self.document.project, self.form
        if project.target is None or project.speech is None:
            return ["The project needs a target video and a speech track to export."]
        problems = []
        if form.renderer() == "neural":
            ckpt = form.checkpoint()
            if ckpt is None or not ckpt.is_file():
                problems.append(
                    "The neural renderer needs a checkpoint file (Render ▸ Train Neural "
                    "Renderer… makes one)."
                )
        planned = plan_export(
            project,
            form.output(),
            side=form.side_outputs(),
            export=form.export_config(),
            size=form.output_size(),
            frame_range=form.frame_range(),
            speech_seconds=self._speech_s,
        )
        self.check = check_outputs(planned)
        return problems + list(self.check.messages)

    def revalidate(self) -> bool:
        """Check the settings and paths; shows the result and enables Start when fine."""
        try:
            problems = self._problems()
        except EvpError as exc:  # a bad value in a field, e.g. a landmark file suffix
            problems = [str(exc)]
        ok = not problems
        self.start_button.setEnabled(ok)
        if ok and self.check is not None:
            text = f"About {format_bytes(self.check.needed_bytes)} will be written."
            if self.check.existing:
                names = ", ".join(p.name for p in self.check.existing)
                text += f" Replaces: {names}."
            self.form.set_message(text, error=False)
        else:
            self.form.set_message("\n".join(problems), error=True)
        return ok

    # -- browsing ---------------------------------------------------------------------------
    def _browse_output(self) -> None:
        suffix = self.form.container()
        path, _ = QFileDialog.getSaveFileName(
            self, "Export to", str(self.form.output()), f"Video (*.{suffix})"
        )
        if path:
            self.form.set_output(Path(path))

    def _browse_checkpoint(self) -> None:
        start = str(self.form.checkpoint() or "")
        path, _ = QFileDialog.getOpenFileName(
            self, "Renderer checkpoint", start, "Checkpoint (*.pt *.pth *.ckpt);;All files (*)"
        )
        if path:
            self.form.set_checkpoint(Path(path))

    def _browse_side(self, key: str) -> None:
        current = self.form.side_paths[key].text().strip() or str(self.form.output().parent)
        if key == "guidance":
            path = QFileDialog.getExistingDirectory(self, "Guidance maps into", current)
        else:
            suffix = self.form.landmark_format.currentText() if key == "landmarks" else ".json"
            path, _ = QFileDialog.getSaveFileName(
                self, "Landmark tracks to" if key == "landmarks" else "Keyframes to", current,
                f"{suffix.lstrip('.').upper()} (*{suffix})",
            )  # fmt: skip
        if path:
            self.form.set_side_path(key, Path(path))

    # -- start ------------------------------------------------------------------------------
    def request(self) -> ExportRequest:
        """The job's inputs as the dialog shows them (a deep copy of the project)."""
        form = self.form
        project = copy.deepcopy(self.document.project)
        width, height = form.render_size()
        project.render = dataclasses.replace(project.render, width=width, height=height)
        return ExportRequest(
            project=project,
            output=form.output(),
            frame_range=form.frame_range(),
            export=form.export_config(),
            renderer=form.renderer(),
            neural_checkpoint=form.checkpoint() if form.renderer() == "neural" else None,
            device=form.device(),
            side=form.side_outputs(),
            overlays=form.overlays(),
        )

    def start(self) -> JobHandle | None:
        """Check, confirm replacing existing files, queue the export and close.

        Returns
        -------
        The job's handle, or None when the export was refused or not confirmed.
        """
        if not self.revalidate():
            return None
        assert self.check is not None
        if self.check.existing and not self._confirm_replace(self.check.existing):
            return None
        request = self.request()
        self._remember(request)
        holder: list[JobHandle] = []
        note = self._note

        def finished(result: ExportResult) -> None:
            log.info("export finished: %s", describe_result(result))
            if note is not None:
                note(holder[0], describe_result(result))

        title = f"Export {request.output.name}"
        self.handle = self.jobs.submit(title, lambda: _export_job(request), on_result=finished)
        holder.append(self.handle)
        self.accept()
        return self.handle

    def _confirm_replace(self, existing: tuple[Path, ...]) -> bool:
        names = "\n".join(str(p) for p in existing)
        answer = dialogs.ask(
            self,
            "Replace existing files?",
            f"These outputs exist already and will be replaced:\n{names}",
            Button.Yes | Button.No,
            Button.No,
        )
        return answer == Button.Yes

    def _remember(self, request: ExportRequest) -> None:
        """Keep the choices: render settings in the project (one undo step), the checkpoint."""
        config, render = request.export, request.project.render
        try:
            self.document.set_render_settings(
                renderer=request.renderer,
                width=render.width,
                height=render.height,
                crf=config.crf,
                preset=config.preset,
            )
        except EvpError as e:  # the settings stay as they were; the export goes ahead
            log.warning("export settings not kept in the project: %s", e)
        if request.neural_checkpoint is not None:
            save_choice(self._keys, RendererChoice(request.neural_checkpoint, use_neural=True))
