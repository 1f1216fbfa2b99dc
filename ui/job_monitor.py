"""Live view of a job's output folder: its loss curve and its newest sample frame.

A training job writes ``losses.csv`` (a header, then one row per step; the trainer rewrites
the file at every checkpoint) and ``previews/step_NNNNNN.png``. :class:`LossLog` reads the
CSV incrementally; :class:`JobMonitor` polls both on a timer while the job runs.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import BinaryIO

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ui.workers import JobHandle

log = logging.getLogger(__name__)

LOSSES = "losses.csv"
PREVIEWS = "previews"
POLL_MS = 500
_TAIL_BYTES = 64
_CURVE_PEN = pg.mkPen((255, 170, 60), width=2)
_NOT_PLOTTED = frozenset({"step", "epoch"})


class LossLog:
    """Rows of a growing loss CSV, read incrementally.

    Reads from where the previous poll stopped while the file only grows; when it shrinks,
    is replaced, or its last bytes read have changed (the trainer rewrites it), it is read
    again from the top and only rows with a step past the last one seen are added. A last
    line without its newline is left for the next poll.

    Parameters
    ----------
    path
        The CSV file; it may not exist yet.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: list[str] = []
        self.values: dict[str, list[float]] = {}
        self._offset = 0
        self._inode: int | None = None
        self._partial = ""
        self._tail = b""  # the last bytes read, to notice a file rewritten in place
        self._last_step = -math.inf

    def __len__(self) -> int:
        return len(self.values.get("step", ()))

    def poll(self) -> int:
        """Read what was added since the last poll; returns the number of new rows."""
        try:
            st = self.path.stat()
            if st.st_size == self._offset and st.st_ino == self._inode:
                return 0
            with open(self.path, "rb") as f:
                data = self._read_new(f, st.st_ino, st.st_size)
        except OSError:
            return 0  # not written yet, or being replaced: try again at the next poll
        lines = (self._partial + data.decode("utf-8", errors="replace")).split("\n")
        self._partial = lines.pop()
        return sum(self._add(line.strip()) for line in lines)

    def _read_new(self, f: BinaryIO, inode: int, size: int) -> bytes:
        """The bytes after the last read, or the whole file when it was rewritten."""
        if inode == self._inode and size >= self._offset:
            start = self._offset - len(self._tail)
            f.seek(start)
            data = f.read()
            if data.startswith(self._tail):  # the bytes already read are still there
                return self._keep(data[len(self._tail) :], start + len(data))
        self._inode, self._partial, self._tail, self.columns = inode, "", b"", []
        f.seek(0)
        data = f.read()
        return self._keep(data, len(data))

    def _keep(self, new: bytes, end: int) -> bytes:
        self._offset = end
        self._tail = (self._tail + new)[-_TAIL_BYTES:]
        return new

    def _add(self, line: str) -> int:
        if not line:
            return 0
        cells = line.split(",")
        if not self.columns:
            self.columns = cells
            for name in cells:
                self.values.setdefault(name, [])
            return 0
        try:
            row = dict(zip(self.columns, map(float, cells), strict=True))
        except ValueError:
            return 0  # a header or a torn line
        step = row.get("step", self._last_step + 1)
        if step <= self._last_step:
            return 0
        self._last_step = step
        for name, value in row.items():
            self.values.setdefault(name, []).append(value)
        return 1

    def series(self, column: str) -> tuple[list[float], list[float]]:
        """``(steps, values)`` of ``column``; empty when it is unknown."""
        values = self.values.get(column, [])
        steps = self.values.get("step", list(map(float, range(1, len(values) + 1))))
        return steps[: len(values)], values


def newest_sample(folder: Path) -> Path | None:
    """The newest ``previews/step_*.png`` of a run folder (names sort by step)."""
    try:
        samples = sorted((folder / PREVIEWS).glob("step_*.png"))
    except OSError:
        return None
    return samples[-1] if samples else None


class JobMonitor(QWidget):
    """The loss curve and the latest sample frame of one job's ``monitor_dir``.

    Polls every :data:`POLL_MS` ms while the watched job is queued or running, and once more
    when it ends.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobMonitor")
        self.handle: JobHandle | None = None
        self.log: LossLog | None = None
        self.sample_path: Path | None = None
        self.title = QLabel()
        self.title.setObjectName("jobMonitorTitle")
        self.column = QComboBox()
        self.column.setObjectName("lossColumn")
        self.column.setToolTip("Loss term to plot")
        self.column.currentTextChanged.connect(lambda _t: self._redraw())
        self.plot = pg.PlotWidget(background=(30, 30, 34))
        self.plot.setObjectName("lossPlot")
        self.plot.setMinimumHeight(120)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "step")
        self.curve = self.plot.plot(pen=_CURVE_PEN)
        self.sample = QLabel("No sample yet")
        self.sample.setObjectName("jobSample")
        self.sample.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sample.setMinimumHeight(64)
        self.sample.setToolTip("Newest sample: guidance | generated | real (a held-out frame)")
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.column)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.sample, 1)
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)

    def watch(self, handle: JobHandle) -> None:
        """Show ``handle``'s monitor folder (it must have one)."""
        assert handle.monitor_dir is not None
        if self.handle is not handle:
            self.handle = handle
            self.log = LossLog(handle.monitor_dir / LOSSES)
            self.sample_path = None
            self.sample.clear()
            self.sample.setText("No sample yet")
            self.column.blockSignals(True)
            self.column.clear()
            self.column.blockSignals(False)
            self.curve.setData([], [])
        self.title.setText(f"{handle.title} — {handle.monitor_dir}")
        self.job_updated(handle)

    def job_updated(self, handle: JobHandle) -> None:
        """Poll now; keep polling while the job is queued or running."""
        if handle is not self.handle:
            return
        self.poll()
        if handle.state in ("queued", "running"):
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()

    def stop(self) -> None:
        """Stop polling (the panel is closing)."""
        self._timer.stop()

    def points(self) -> int:
        """Points on the loss curve now."""
        return len(self.curve.xData) if self.curve.xData is not None else 0

    def poll(self) -> None:
        """Read new loss rows and the newest sample, and redraw what changed."""
        if self.handle is None or self.log is None or self.handle.monitor_dir is None:
            return
        if self.log.poll():
            self._sync_columns()
            self._redraw()
        newest = newest_sample(self.handle.monitor_dir)
        if newest is not None and newest != self.sample_path:
            pixmap = QPixmap(str(newest))
            if not pixmap.isNull():  # a PNG still being written loads as null: retry later
                self.sample_path = newest
                self._show_sample(pixmap)

    def _sync_columns(self) -> None:
        assert self.log is not None
        wanted = [c for c in self.log.columns if c not in _NOT_PLOTTED]
        have = [self.column.itemText(i) for i in range(self.column.count())]
        if wanted != have:
            self.column.blockSignals(True)
            self.column.clear()
            self.column.addItems(wanted)
            self.column.setCurrentIndex(wanted.index("total") if "total" in wanted else 0)
            self.column.blockSignals(False)

    def _redraw(self) -> None:
        if self.log is None:
            return
        steps, values = self.log.series(self.column.currentText())
        self.curve.setData(steps, values)
        self.plot.setLabel("left", self.column.currentText())

    def _show_sample(self, pixmap: QPixmap) -> None:
        width = max(self.sample.width(), 192)
        scaled = pixmap.scaledToWidth(min(width, pixmap.width() * 4))
        self.sample.setPixmap(scaled)
        step = self.sample_path.stem.removeprefix("step_") if self.sample_path else ""
        self.sample.setToolTip(f"Sample at step {int(step) if step.isdigit() else step}")
