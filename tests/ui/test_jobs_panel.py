"""The jobs panel: states, progress, ETA, cancel, errors; renderer training from the editor."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QMessageBox

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import Job, Progress
from tests.core.export_clips import make_project
from tests.ui.conftest import ENDED
from ui.job_monitor import LossLog
from ui.jobs_panel import JobsPanel
from ui.main_window import MainWindow
from ui.train_dialog import TrainRendererDialog
from ui.workers import JobHandle, JobQueue


def _until_stopped(stop: threading.Event, total: int = 100) -> Job[None]:
    for i in range(1, total + 1):
        yield Progress("Working", i, total)
        if stop.wait(0.02):
            return


def _quick() -> Job[str]:
    yield Progress("Quick", 1, 1)
    return "ok"


def _failing() -> Job[None]:
    yield Progress("Checking", 0, 0)
    raise InvalidInputError("/media/clip.mp4: the face is lost in every frame")


def _error_boxes() -> list[QMessageBox]:
    return [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.objectName() == "errorDialog" and w.isVisible()
    ]


def test_panel_shows_states_progress_eta_cancel_and_errors(qtbot, jobs: JobQueue) -> None:  # type: ignore[no-untyped-def]
    panel = JobsPanel(jobs)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.empty.isVisible()
    stop = threading.Event()
    running = jobs.submit("Long job", lambda: _until_stopped(stop))
    queued = jobs.submit("Waiting job", _quick)
    failing = jobs.submit("Failing job", _failing)
    done = jobs.submit("Quick job", _quick)
    assert set(panel.rows) == {running.id, queued.id, failing.id, done.id}
    assert not panel.empty.isVisible()

    row = panel.row(running.id)
    assert row is not None
    qtbot.waitUntil(lambda: running.progress is not None and running.progress.done >= 5)
    qtbot.waitUntil(lambda: row.eta.text().endswith("left"), timeout=5000)
    assert row.progress.maximum() == 1000 and row.progress.value() > 0
    assert "Working" in row.state.text() and row.cancel_button.isVisible()

    waiting = panel.row(queued.id)
    assert waiting is not None and waiting.state.text() == "Queued"
    qtbot.mouseClick(waiting.cancel_button, Qt.MouseButton.LeftButton)
    assert queued.state == "cancelled" and waiting.state.text() == "Cancelled"
    assert not waiting.cancel_button.isVisible()

    qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: jobs.is_idle, timeout=10_000)
    stop.set()
    assert running.state == "cancelled" and row.state.text() == "Cancelled"
    assert failing.state == "failed" and done.state == "done"

    failed_row = panel.row(failing.id)
    assert failed_row is not None and failed_row.error_button.isVisible()
    assert "the face is lost" in failed_row.error_button.text()
    assert failed_row.state.text() == "Failed"
    qtbot.mouseClick(failed_row.error_button, Qt.MouseButton.LeftButton)
    boxes = _error_boxes()
    assert len(boxes) == 1 and "the face is lost" in boxes[0].text()
    boxes[0].close()
    done_row = panel.row(done.id)
    assert done_row is not None and done_row.progress.value() == 1000
    assert done_row.state.text() == "Done" and not done_row.cancel_button.isVisible()

    panel.clear_finished()
    assert not panel.rows and panel.empty.isVisible()


def test_loss_log_reads_new_rows_only(tmp_path: Path) -> None:
    path = tmp_path / "losses.csv"
    log = LossLog(path)
    assert log.poll() == 0  # not written yet
    path.write_text("step,epoch,total,l1\n1,0,5.0,0.5\n2,0,4.0,0.4\n")
    assert log.poll() == 2 and log.series("total") == ([1.0, 2.0], [5.0, 4.0])
    with open(path, "a") as f:
        f.write("3,0,3.")  # a row being written
    assert log.poll() == 0
    with open(path, "a") as f:
        f.write("0,0.3\n")
    assert log.poll() == 1 and log.series("l1")[1] == [0.5, 0.4, 0.3]
    # The trainer rewrites the whole file at each checkpoint.
    path.write_text("step,epoch,total,l1\n1,0,5,0.5\n2,0,4,0.4\n3,0,3,0.3\n4,0,2,0.2\n")
    assert log.poll() == 1 and len(log) == 4
    assert log.series("total") == ([1.0, 2.0, 3.0, 4.0], [5.0, 4.0, 3.0, 2.0])
    assert log.series("missing") == ([], [])


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = MainWindow(make_project(tmp_path))
    qtbot.addWidget(win)
    win.show()
    yield win
    win._close_confirmed = True
    win.close()


def _train(qtbot, window: MainWindow, folder: Path, steps: int, every: int) -> JobHandle:  # type: ignore[no-untyped-def]
    dialog = window.render_actions.open_train()
    assert isinstance(dialog, TrainRendererDialog) and dialog.isVisible()
    dialog.preset.setCurrentIndex(dialog.preset.findData("tiny"))
    dialog.steps.setValue(steps)
    dialog.log_every.setValue(every)
    dialog.device.setCurrentText("cpu")
    dialog.folder.setText(str(folder))
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.handle is not None and dialog.handle.monitor_dir == folder
    return dialog.handle


def test_train_from_the_menu_shows_loss_curve_and_offers_the_checkpoint(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, answers, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    handle = _train(qtbot, window, run, steps=6, every=2)
    panel = window.render_actions.jobs_panel
    qtbot.waitUntil(lambda: handle.state in ENDED, timeout=180_000)
    assert handle.state == "done", panel.row(handle.id).error_button.text()  # type: ignore[union-attr]
    monitor = panel.monitor
    assert monitor.isVisible() and monitor.handle is handle
    qtbot.waitUntil(lambda: monitor.points() == 6, timeout=5000)
    assert monitor.column.currentText() == "total"
    assert monitor.sample_path == run / "previews" / "step_000006.png"
    assert monitor.sample.pixmap() is not None and not monitor.sample.pixmap().isNull()
    row = panel.row(handle.id)
    assert row is not None and row.progress.value() == 1000 and row.state.text() == "Done"
    assert "Renderer trained" in answers.asked  # answered Yes: use it for export

    dialog = window.render_actions.open_export()
    assert dialog.form.renderer() == "neural"
    assert dialog.form.checkpoint() == run / "checkpoint.pt"
    assert dialog.start_button.isEnabled(), dialog.form.message.text()
    dialog.reject()


def test_cancel_training_while_the_curve_grows(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = tmp_path / "long"
    handle = _train(qtbot, window, run, steps=1000, every=2)
    panel = window.render_actions.jobs_panel
    monitor = panel.monitor
    qtbot.waitUntil(lambda: monitor.handle is handle and monitor.points() >= 4, timeout=180_000)
    assert handle.state == "running"  # the curve is read live
    row = panel.row(handle.id)
    assert row is not None and 0 < row.progress.value() < 1000
    assert "/1000" in row.state.text()
    qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: handle.state == "cancelled" and window.jobs.is_idle, timeout=30_000)
    assert row.state.text() == "Cancelled" and not row.cancel_button.isVisible()
    assert (run / "checkpoint.pt").exists()  # the last checkpoint is kept
    assert not _error_boxes()


def test_render_menu_and_jobs_dock(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    actions = window.render_actions
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    render_texts = [a.text() for a in menus["Render"].actions()]  # type: ignore[union-attr]
    assert render_texts == ["&Export…", "&Train Neural Renderer…"]
    assert actions.export_action.shortcut() == QKeySequence("Ctrl+M")
    shortcuts = [a.shortcut().toString() for a in window.findChildren(type(actions.export_action))]
    assert shortcuts.count("Ctrl+M") == 1
    dock = window.findChild(QDockWidget, "jobsDock")
    assert dock is not None and dock.isVisible()
    assert actions.jobs_toggle in menus["View"].actions()  # type: ignore[union-attr]
    actions.jobs_toggle.trigger()
    assert not dock.isVisible()
    actions.export_action.trigger()
    assert actions.export_dialog is not None and actions.export_dialog.isVisible()
    actions.export_dialog.reject()


def test_failed_export_reaches_the_error_presenter_and_the_panel(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    dialog = window.render_actions.open_export()
    form = dialog.form
    form.output_edit.setText(str(tmp_path / "bad.mp4"))
    form.renderer_combo.setCurrentIndex(form.renderer_combo.findData("neural"))
    fake = tmp_path / "renderer.pt"
    fake.write_bytes(b"not a checkpoint")
    form.checkpoint_edit.setText(str(fake))
    handle = dialog.start()
    assert handle is not None
    qtbot.waitUntil(lambda: handle.state in ENDED, timeout=120_000)
    assert handle.state == "failed"
    qtbot.waitUntil(lambda: len(_error_boxes()) == 1, timeout=5000)
    row = window.render_actions.jobs_panel.row(handle.id)
    assert row is not None and fake.name in row.error_button.toolTip()
    for box in _error_boxes():
        box.close()
