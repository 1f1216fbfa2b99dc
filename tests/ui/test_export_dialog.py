"""The export dialog, driven through its widgets: a playable file, side outputs, path checks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from evp_studio.media import probe
from evp_studio.pipeline import export_checks
from evp_studio.pipeline.side_outputs import read_landmark_tracks
from evp_studio.project import Document
from tests.core.export_clips import make_project, unwritable_folder
from tests.ui.conftest import ENDED
from ui.export_dialog import ExportDialog
from ui.workers import JobHandle, JobQueue

Button = QMessageBox.StandardButton


@pytest.fixture
def doc(tmp_path: Path) -> Document:
    return make_project(tmp_path)


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    yield from unwritable_folder(tmp_path)


def _dialog(qtbot, doc: Document, jobs: JobQueue, notes: list[str] | None = None) -> ExportDialog:  # type: ignore[no-untyped-def]
    def note(_handle: JobHandle, text: str) -> None:
        if notes is not None:
            notes.append(text)

    dialog = ExportDialog(doc, jobs, note=note)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _finish(qtbot, handle: JobHandle | None) -> JobHandle:  # type: ignore[no-untyped-def]
    assert handle is not None
    qtbot.waitUntil(lambda: handle.state in ENDED and handle.worker is None, timeout=180_000)
    return handle


def _decoded(path: Path) -> tuple[int, str, int, int]:
    """(video frames decoded, audio codec, audio samples decoded, audio streams)."""
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(path)) as container:
        audio = container.streams.audio
        codec = audio[0].codec_context.name if audio else ""
        samples = sum(f.samples for f in container.decode(audio=0)) if audio else 0
        return frames, codec, samples, len(audio)


def test_export_writes_a_playable_file_and_side_outputs(  # type: ignore[no-untyped-def]
    qtbot, doc: Document, jobs: JobQueue, tmp_path: Path
) -> None:
    doc.set_render_settings(in_frame=4, out_frame=24)
    notes: list[str] = []
    dialog = _dialog(qtbot, doc, jobs, notes)
    form = dialog.form
    assert form.in_out.isEnabled() and form.in_out.isChecked()  # the range is preselected
    out = tmp_path / "result.mp4"
    form.output_edit.setText(str(out))
    form.crf.setValue(23)
    form.preset.setCurrentText("veryfast")
    form.resolution.setCurrentIndex(form.resolution.findData(0))  # custom
    form.width_spin.setValue(128)
    form.height_spin.setValue(96)
    form.landmark_format.setCurrentText(".csv")
    for key in ("landmarks", "guidance", "keyframes"):
        form.side_checks[key].setChecked(True)
    assert form.side_paths["landmarks"].text() == str(tmp_path / "result_landmarks.csv")
    form.overlay_timecode.setChecked(True)
    assert dialog.start_button.isEnabled(), form.message.text()

    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    handle = _finish(qtbot, dialog.handle)
    assert handle.state == "done"

    frames, codec, samples, streams = _decoded(out)
    assert frames == 20 and streams == 1 and codec == "aac"
    assert abs(samples - 20 / 25 * 48000) < 0.1 * 48000  # the speech of the range
    info = probe(out)
    assert info.video is not None and (info.video.width, info.video.height) == (128, 96)
    tracks = read_landmark_tracks(tmp_path / "result_landmarks.csv")
    assert tracks.frames.tolist() == list(range(4, 24))
    assert len(list((tmp_path / "result_guidance").glob("guidance_*.png"))) == 20
    keys = json.loads((tmp_path / "result_keyframes.json").read_text())["keyframes"]
    assert [k["emotion"] for k in keys] == ["happy", "sad"]
    assert notes and "20 frames" in notes[0] and str(out) in notes[0]
    # The choices are kept in the project as one undo step.
    render = doc.project.render
    assert (render.crf, render.preset, render.width, render.height) == (23, "veryfast", 128, 96)
    doc.undo()
    assert doc.project.render.crf == 18


def test_prores_mov(qtbot, doc: Document, jobs: JobQueue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc.set_render_settings(in_frame=0, out_frame=5)
    dialog = _dialog(qtbot, doc, jobs)
    form = dialog.form
    form.output_edit.setText(str(tmp_path / "pro.mp4"))
    form.container_combo.setCurrentIndex(form.container_combo.findData("mov"))
    assert form.output() == tmp_path / "pro.mov"  # the suffix follows the container
    assert form.prores_row.isVisibleTo(dialog) and not form.h264_row.isVisibleTo(dialog)
    form.prores.setCurrentText("LT")
    _finish(qtbot, dialog.start())
    frames, codec, _samples, streams = _decoded(tmp_path / "pro.mov")
    info = probe(tmp_path / "pro.mov")
    assert info.video is not None and info.video.codec == "prores"
    assert frames == 5 and streams == 1 and codec.startswith("pcm")


def test_existing_output_asks_before_replacing(  # type: ignore[no-untyped-def]
    qtbot, doc: Document, jobs: JobQueue, answers, tmp_path: Path
) -> None:
    doc.set_render_settings(in_frame=0, out_frame=4)
    out = tmp_path / "taken.mp4"
    out.write_bytes(b"precious")
    dialog = _dialog(qtbot, doc, jobs)
    dialog.form.output_edit.setText(str(out))
    assert "Replaces: taken.mp4" in dialog.form.message.text()

    answers.queue = [Button.No]
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert answers.asked == ["Replace existing files?"]
    assert dialog.isVisible() and dialog.handle is None and jobs.is_idle
    assert out.read_bytes() == b"precious"

    answers.queue = [Button.Yes]
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert answers.asked == ["Replace existing files?"] * 2
    assert _finish(qtbot, dialog.handle).state == "done"
    assert _decoded(out)[0] == 4


def test_unwritable_folder_and_full_disk_block_start(  # type: ignore[no-untyped-def]
    qtbot, doc: Document, jobs: JobQueue, unwritable: Path, tmp_path: Path, monkeypatch
) -> None:
    dialog = _dialog(qtbot, doc, jobs)
    form = dialog.form
    assert not form.in_out.isEnabled() and form.whole.isChecked()  # no in/out points set
    form.output_edit.setText(str(unwritable / "clip.mp4"))
    assert not dialog.start_button.isEnabled()
    assert str(unwritable) in form.message.text()
    assert dialog.start() is None and jobs.is_idle

    form.output_edit.setText(str(tmp_path / "nowhere" / "clip.mp4"))
    assert "does not exist" in form.message.text() and not dialog.start_button.isEnabled()
    form.output_edit.setText(str(tmp_path / "clip.mp4"))
    assert dialog.start_button.isEnabled()

    guide = tmp_path / "clip_guidance"
    guide.mkdir()
    (guide / "notes.txt").write_text("mine")
    form.side_checks["guidance"].setChecked(True)
    assert "other files" in form.message.text() and not dialog.start_button.isEnabled()
    form.side_checks["guidance"].setChecked(False)

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(export_checks.shutil, "disk_usage", lambda _p: usage._replace(free=1000))
    form.preset.setCurrentText("slow")  # any change checks again
    assert "not enough free space" in form.message.text()
    assert not dialog.start_button.isEnabled() and dialog.start() is None
    assert jobs.is_idle and not (tmp_path / "clip.mp4").exists()


def test_neural_renderer_needs_a_checkpoint_and_remembers_it(  # type: ignore[no-untyped-def]
    qtbot, doc: Document, jobs: JobQueue, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, doc, jobs)
    form = dialog.form
    form.output_edit.setText(str(tmp_path / "n.mp4"))
    form.renderer_combo.setCurrentIndex(form.renderer_combo.findData("neural"))
    assert form.neural_row.isVisibleTo(dialog) and form.device_combo.count() >= 1
    assert "checkpoint" in form.message.text() and not dialog.start_button.isEnabled()
    fake = tmp_path / "renderer.pt"
    fake.write_bytes(b"not a checkpoint")
    form.checkpoint_edit.setText(str(fake))
    assert dialog.start_button.isEnabled()
    handle = _finish(qtbot, dialog.start())
    assert handle.state == "failed"  # the bad checkpoint is reported, and nothing is left
    assert not (tmp_path / "n.mp4").exists()

    again = _dialog(qtbot, doc, jobs)
    assert again.form.renderer() == "neural" and again.form.checkpoint() == fake


def test_cancelled_export_leaves_nothing(
    qtbot, doc: Document, jobs: JobQueue, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    dialog = _dialog(qtbot, doc, jobs)
    out = tmp_path / "cut.mp4"
    dialog.form.output_edit.setText(str(out))
    dialog.form.side_checks["guidance"].setChecked(True)
    before = set(tmp_path.iterdir())
    handle = dialog.start()
    assert handle is not None
    qtbot.waitUntil(
        lambda: handle.progress is not None and handle.progress.stage == "Rendering",
        timeout=120_000,
    )
    handle.cancel()
    _finish(qtbot, handle)
    assert handle.state == "cancelled"
    qtbot.waitUntil(lambda: set(tmp_path.iterdir()) - before <= {tmp_path / "cut_guidance"})
    assert not out.exists()


def test_the_preferred_device_is_selected(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QComboBox  # noqa: PLC0415

    from ui.train_dialog import prefer_device  # noqa: PLC0415

    combo = QComboBox()
    qtbot.addWidget(combo)
    combo.addItems(["cpu", "cuda"])
    for preference, chosen in (("cpu", "cpu"), ("cuda", "cuda"), ("auto", "cuda")):
        prefer_device(combo, preference)
        assert combo.currentText() == chosen
    combo.clear()
    combo.addItems(["cpu"])  # no CUDA on this machine: every preference falls back to the CPU
    for preference in ("cpu", "cuda", "auto"):
        prefer_device(combo, preference)
        assert combo.currentText() == "cpu"


def test_side_output_browse_buttons_set_the_paths(  # type: ignore[no-untyped-def]
    qtbot, doc: Document, jobs: JobQueue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QFileDialog, QPushButton  # noqa: PLC0415

    dialog = _dialog(qtbot, doc, jobs)
    form = dialog.form
    asked: list[str] = []

    def save_name(_parent: object, _title: str, _start: str, filters: str) -> tuple[str, str]:
        asked.append(filters)
        return str(tmp_path / "picked" / "tracks.csv"), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_name)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a: str(tmp_path / "maps"))
    button = form.findChild(QPushButton, "exportSideBrowse_landmarks")
    assert button is not None and not button.isEnabled()  # off until the output is ticked
    form.side_checks["landmarks"].setChecked(True)
    form.landmark_format.setCurrentText(".csv")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert asked == ["CSV (*.csv)"]
    assert form.side_paths["landmarks"].text() == str(tmp_path / "picked" / "tracks.csv")
    form.side_checks["guidance"].setChecked(True)
    guidance = form.findChild(QPushButton, "exportSideBrowse_guidance")
    qtbot.mouseClick(guidance, Qt.MouseButton.LeftButton)
    assert form.side_paths["guidance"].text() == str(tmp_path / "maps")
    form.set_output(tmp_path / "elsewhere.mp4")  # chosen paths survive a new output path
    assert form.side_paths["landmarks"].text() == str(tmp_path / "picked" / "tracks.csv")
    assert form.side_paths["guidance"].text() == str(tmp_path / "maps")
