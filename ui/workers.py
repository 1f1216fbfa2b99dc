"""Run core jobs off the GUI thread.

:class:`JobQueue` runs long jobs (generators of :class:`~evp_studio.jobs.Progress`) one at a
time, in order, with superqt's ``GeneratorWorker``. :class:`LatestWinsFetcher` runs short
requests (a preview frame) where only the newest request matters: while one runs, newer
requests replace the pending one instead of queueing.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import FunctionWorker, GeneratorWorker, create_worker

from evp_studio.errors import Cancelled
from evp_studio.jobs import EtaEstimator, Progress

log = logging.getLogger(__name__)

_ids = count(1)


class JobCrashedError(Exception):
    """A job raised RuntimeError; re-raised as this because superqt swallows RuntimeError."""


def _drive(
    job_factory: Callable[[], Generator[Progress, None, Any]],
) -> Generator[Progress, None, Any]:
    """Generator function wrapper so any job factory runs in a GeneratorWorker.

    superqt treats a RuntimeError from the generator as "worker deleted" and never emits
    ``errored`` or ``finished``; torch raises RuntimeError for ordinary failures, so those
    are re-raised as :class:`JobCrashedError`.
    """
    try:
        return (yield from job_factory())
    except RuntimeError as exc:
        raise JobCrashedError(f"{type(exc).__name__}: {exc}") from exc


@dataclass
class JobHandle:
    """A queued or running job as the jobs panel shows it."""

    title: str
    factory: Callable[[], Generator[Progress, None, Any]]
    on_result: Callable[[Any], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    id: int = field(default_factory=lambda: next(_ids))
    progress: Progress | None = None
    eta_s: float | None = None
    state: str = "queued"  # queued | running | done | failed | cancelled
    worker: GeneratorWorker | None = None
    eta: EtaEstimator = field(default_factory=EtaEstimator)
    monitor_dir: Path | None = None  # a folder the job writes live output to (losses, samples)

    def cancel(self) -> None:
        """Ask the job to stop at its next progress report."""
        if self.worker is not None:
            self.worker.quit()
        elif self.state == "queued":
            self.state = "cancelled"


class JobQueue(QObject):
    """Serial executor for long jobs (one at a time; the GPU is a single resource).

    Signals
    -------
    job_changed(JobHandle)
        A job was queued, progressed, or ended.
    job_failed(JobHandle, BaseException)
        A job raised; cancellations are not failures.
    idle_changed(bool)
        True when nothing runs or waits.
    """

    job_changed = Signal(object)
    job_failed = Signal(object, object)
    idle_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._waiting: deque[JobHandle] = deque()
        self._running: JobHandle | None = None

    @property
    def is_idle(self) -> bool:
        """True when no job runs or waits."""
        return self._running is None and not self._waiting

    @property
    def running(self) -> JobHandle | None:
        """The job that runs now, if any."""
        return self._running

    def submit(
        self,
        title: str,
        factory: Callable[[], Generator[Progress, None, Any]],
        *,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        monitor_dir: Path | None = None,
    ) -> JobHandle:
        """Queue a job; ``factory`` is called on the worker thread to make the generator.

        Parameters
        ----------
        title
            Shown in the jobs panel and status bar.
        factory
            Builds the job generator; it must only use the frozen inputs it closes over.
        on_result, on_error
            Called on the GUI thread with the return value or the exception.
        monitor_dir
            A folder the job writes while it runs (a training run's ``losses.csv`` and
            ``previews/``), shown live by the jobs panel.

        Returns
        -------
        The handle, which can cancel the job.
        """
        was_idle = self.is_idle
        handle = JobHandle(title, factory, on_result, on_error, monitor_dir=monitor_dir)
        self._waiting.append(handle)
        self.job_changed.emit(handle)
        if was_idle:
            self.idle_changed.emit(False)
        self._start_next()
        return handle

    def cancel_all(self) -> None:
        """Cancel the running job and drop the waiting ones."""
        for handle in self._waiting:
            handle.state = "cancelled"
            self.job_changed.emit(handle)
        self._waiting.clear()
        if self._running is not None:
            self._running.cancel()

    def wait(self, msecs: int = 10_000) -> None:
        """Block until the running worker has ended (used when the window closes).

        The worker's queued ``finished`` signal may arrive later; the queue is marked idle
        now so that the window can close without spinning the event loop.
        """
        handle = self._running
        if handle is None or handle.worker is None:
            return
        GeneratorWorker.await_workers(msecs)
        if handle.state == "running":
            handle.state = "cancelled" if handle.worker.abort_requested else "done"
        handle.worker = None
        self._running = None

    def _start_next(self) -> None:
        if self._running is not None:
            return
        while self._waiting:
            handle = self._waiting.popleft()
            if handle.state != "cancelled":
                break
        else:
            self.idle_changed.emit(True)
            return
        self._running = handle
        handle.state = "running"
        worker = create_worker(_drive, handle.factory, _start_thread=False, _ignore_errors=True)
        handle.worker = worker
        worker.yielded.connect(partial(self._on_progress, handle))
        worker.returned.connect(partial(self._on_returned, handle))
        worker.errored.connect(partial(self._on_errored, handle))
        worker.aborted.connect(partial(self._on_aborted, handle))
        worker.finished.connect(partial(self._on_finished, handle))
        self.job_changed.emit(handle)
        worker.start()

    def _on_progress(self, handle: JobHandle, progress: Progress) -> None:
        handle.progress = progress
        handle.eta_s = handle.eta.update(progress)
        self.job_changed.emit(handle)

    def _on_returned(self, handle: JobHandle, result: Any) -> None:
        handle.state = "done"
        if handle.on_result is not None:
            handle.on_result(result)

    def _on_errored(self, handle: JobHandle, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            handle.state = "cancelled"
            return
        handle.state = "failed"
        if handle.on_error is not None:
            handle.on_error(exc)
        self.job_failed.emit(handle, exc)

    def _on_aborted(self, handle: JobHandle) -> None:
        handle.state = "cancelled"

    def _on_finished(self, handle: JobHandle) -> None:
        handle.worker = None
        if self._running is handle:
            self._running = None
        self.job_changed.emit(handle)
        self._start_next()


class LatestWinsFetcher(QObject):
    """Runs ``func(request)`` on a worker thread; only the newest pending request survives.

    At most one call runs at a time, so ``func`` may use a resource that is not thread-safe
    (a video decoder). ``result_ready(request, result)`` fires on the GUI thread.
    """

    result_ready = Signal(object, object)
    failed = Signal(object, object)

    def __init__(self, func: Callable[[Any], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._func = func
        self._pending: Any = None
        self._has_pending = False
        self._worker: FunctionWorker | None = None

    @property
    def busy(self) -> bool:
        """True while a request runs or waits."""
        return self._worker is not None or self._has_pending

    def request(self, req: Any) -> None:
        """Ask for ``req``; replaces any request that has not started yet."""
        self._pending, self._has_pending = req, True
        if self._worker is None:
            self._start()

    def wait(self, msecs: int = 5_000) -> None:
        """Drop pending requests and wait for the running one to end."""
        self._has_pending = False
        if self._worker is not None:
            FunctionWorker.await_workers(msecs)

    def _start(self) -> None:
        req, self._pending, self._has_pending = self._pending, None, False
        worker = create_worker(self._func, req, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda r, q=req: self.result_ready.emit(q, r))
        worker.errored.connect(lambda e, q=req: self.failed.emit(q, e))
        worker.finished.connect(self._on_finished)
        self._worker = worker
        worker.start()

    def _on_finished(self) -> None:
        self._worker = None
        if self._has_pending:
            self._start()
