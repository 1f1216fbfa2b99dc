"""The jobs panel: every job of the session with its progress, ETA, cancel button and error.

A job submitted with a ``monitor_dir`` (renderer training) also gets a live loss curve and
its newest sample frame below the list (:class:`ui.job_monitor.JobMonitor`); clicking such
a job's row shows its monitor.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.errors import error_text, show_error
from ui.job_monitor import JobMonitor
from ui.status_panel import format_eta
from ui.workers import JobHandle, JobQueue

STATE_TEXT = {
    "queued": "Queued",
    "running": "Running",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
_ACTIVE = ("queued", "running")
_ERROR_CHARS = 160


class JobRow(QFrame):
    """One job: title, state, progress bar, ETA, Cancel, and the error of a failed job.

    Signals
    -------
    selected(JobHandle)
        The row was clicked.
    """

    selected = Signal(object)

    def __init__(self, handle: JobHandle, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.handle = handle
        self.error: BaseException | None = None
        self.setObjectName(f"jobRow{handle.id}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(handle.title)
        self.title.setObjectName("jobTitle")
        self.state = QLabel()
        self.state.setObjectName("jobState")
        self.progress = QProgressBar()
        self.progress.setObjectName("jobProgress")
        self.progress.setRange(0, 1000)
        self.eta = QLabel()
        self.eta.setObjectName("jobEta")
        self.cancel_button = QToolButton()
        self.cancel_button.setObjectName("jobCancel")
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop this job (a training run keeps its last checkpoint)")
        self.cancel_button.clicked.connect(self._cancel)
        self.error_button = QPushButton()
        self.error_button.setObjectName("jobError")
        self.error_button.setFlat(True)
        self.error_button.setStyleSheet("text-align: left; color: #ff7b6b;")
        self.error_button.clicked.connect(self.show_error)
        self.error_button.hide()
        self.note = QLabel()
        self.note.setObjectName("jobNote")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.hide()
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.addWidget(self.title, 0, 0, 1, 2)
        grid.addWidget(self.state, 0, 2)
        grid.addWidget(self.progress, 1, 0)
        grid.addWidget(self.eta, 1, 1)
        grid.addWidget(self.cancel_button, 1, 2)
        grid.addWidget(self.error_button, 2, 0, 1, 3)
        grid.addWidget(self.note, 3, 0, 1, 3)
        grid.setColumnStretch(0, 1)
        self.refresh()

    def refresh(self) -> None:
        """Show the handle's current state."""
        h = self.handle
        cancelling = h.state == "running" and h.worker is not None and h.worker.abort_requested
        state = "Cancelling…" if cancelling else STATE_TEXT.get(h.state, h.state)
        p = h.progress
        if h.state == "running" and p is not None:
            state = f"{state}: {p.stage}"
            if p.total > 0:
                state += f" {p.done}/{p.total}"
        self.state.setText(state)
        self.cancel_button.setVisible(h.state in _ACTIVE and not cancelling)
        if h.state == "done":
            self.progress.setRange(0, 1000)
            self.progress.setValue(1000)
        elif h.state == "running" and (p is None or p.fraction is None):
            self.progress.setRange(0, 0)  # busy indicator
        elif p is not None and p.fraction is not None:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(p.fraction * 1000))
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
        self.eta.setText(format_eta(h.eta_s) if h.state == "running" else "")

    def set_error(self, exc: BaseException) -> None:
        """Show the first line of ``exc``'s message; a click opens the error presenter."""
        self.error = exc
        full = error_text(exc)[1]
        self.error_button.setToolTip(f"{full}\n\nClick to open the message.")
        message = full.splitlines()[0] if full else type(exc).__name__
        if len(message) > _ERROR_CHARS:
            message = message[: _ERROR_CHARS - 1] + "…"
        self.error_button.setText(message)
        self.error_button.show()

    def set_note(self, text: str) -> None:
        """Show a line about the result (what was written)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def show_error(self) -> None:
        """Open the error presenter with this job's error."""
        if self.error is not None:
            show_error(parent=self.window(), exc=self.error)

    def _cancel(self) -> None:
        self.handle.cancel()
        self.refresh()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self.selected.emit(self.handle)
        super().mousePressEvent(event)


class JobsPanel(QWidget):
    """Every job of the session, newest first, and the monitor of a training job.

    Parameters
    ----------
    jobs
        The window's job queue; the panel follows its signals.
    """

    def __init__(self, jobs: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobsPanel")
        self.jobs = jobs
        self.rows: dict[int, JobRow] = {}
        self.monitor = JobMonitor()
        self.monitor.hide()
        self.empty = QLabel("No jobs yet. Exports, analysis and training show up here.")
        self.empty.setObjectName("jobsEmpty")
        self.empty.setWordWrap(True)
        self.clear_button = QPushButton("Clear Finished")
        self.clear_button.setObjectName("jobsClear")
        self.clear_button.setToolTip("Remove finished, failed and cancelled jobs from the list")
        self.clear_button.clicked.connect(self.clear_finished)
        list_widget = QWidget()
        self._list = QVBoxLayout(list_widget)
        self._list.setContentsMargins(2, 2, 2, 2)
        self._list.addWidget(self.empty)
        self._list.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(list_widget)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        top_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.monitor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        jobs.job_changed.connect(self._on_job_changed)
        jobs.job_failed.connect(self._on_job_failed)

    def row(self, job_id: int) -> JobRow | None:
        """The row of job ``job_id``, if it is listed."""
        return self.rows.get(job_id)

    def set_note(self, handle: JobHandle, text: str) -> None:
        """Show ``text`` under ``handle``'s row (e.g. the file an export wrote)."""
        row = self.rows.get(handle.id)
        if row is not None:
            row.set_note(text)

    def show_monitor(self, handle: JobHandle) -> None:
        """Show the loss curve and samples of ``handle`` (a job with a monitor folder)."""
        if handle.monitor_dir is None:
            return
        self.monitor.show()
        self.monitor.watch(handle)

    def clear_finished(self) -> None:
        """Remove the rows of jobs that are done, failed or cancelled."""
        for job_id, row in list(self.rows.items()):
            if row.handle.state not in _ACTIVE:
                if self.monitor.handle is row.handle:
                    self.monitor.stop()
                    self.monitor.hide()
                self._list.removeWidget(row)
                row.deleteLater()
                del self.rows[job_id]
        self.empty.setVisible(not self.rows)

    def shutdown(self) -> None:
        """Stop polling (the window is closing)."""
        self.monitor.stop()

    def _on_job_changed(self, handle: JobHandle) -> None:
        row = self.rows.get(handle.id)
        if row is None:
            row = JobRow(handle)
            row.selected.connect(self.show_monitor)
            self.rows[handle.id] = row
            self._list.insertWidget(0, row)  # newest first
            self.empty.hide()
        row.refresh()
        if handle.monitor_dir is not None and (
            self.monitor.handle is None
            or (handle.state == "running" and self.monitor.handle.state not in _ACTIVE)
        ):
            self.show_monitor(handle)
        self.monitor.job_updated(handle)

    def _on_job_failed(self, handle: JobHandle, exc: BaseException) -> None:
        row = self.rows.get(handle.id)
        if row is not None:
            row.set_error(exc)
