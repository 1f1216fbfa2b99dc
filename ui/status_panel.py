"""Status bar with the running job's progress, ETA and a cancel button."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from ui.workers import JobHandle, JobQueue


def format_eta(seconds: float | None) -> str:
    """ "1:05 left" style text, or "" when unknown."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d} left"


class JobStatusBar(QStatusBar):
    """Shows what the job queue runs; the cancel button cancels it."""

    def __init__(self, jobs: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self.job_label = QLabel()
        self.job_label.setObjectName("jobLabel")
        self.progress = QProgressBar()
        self.progress.setObjectName("jobProgress")
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setObjectName("cancelJobButton")
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the running job")
        self.cancel_button.clicked.connect(self._cancel)
        for w in (self.job_label, self.progress, self.cancel_button):
            self.addPermanentWidget(w)
            w.hide()
        jobs.job_changed.connect(self._on_job_changed)

    def _cancel(self) -> None:
        if self._jobs.running is not None:
            self._jobs.running.cancel()

    def _on_job_changed(self, handle: JobHandle) -> None:
        running = self._jobs.running
        visible = running is not None
        for w in (self.job_label, self.progress, self.cancel_button):
            w.setVisible(visible)
        if running is None:
            return
        p = running.progress
        stage = p.stage if p is not None else running.title
        self.job_label.setText(f"{stage}  {format_eta(running.eta_s)}".strip())
        if p is None or p.fraction is None:
            self.progress.setRange(0, 0)  # busy indicator
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(p.fraction * 1000))
