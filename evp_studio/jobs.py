"""Long-running jobs: progress reports and cooperative cancellation.

A long job is a generator that yields :class:`Progress` and returns its result. The GUI
runs it on a worker thread and aborts it between yields; headless callers and tests pass
a :class:`CancelToken` and call :func:`run_job` to drive it to its return value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from evp_studio.errors import Cancelled

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One progress report of a job.

    Parameters
    ----------
    stage
        What the job is doing, shown to the user ("Decoding audio").
    done, total
        Units of work finished and expected; ``total == 0`` means unknown.
    """

    stage: str
    done: int = 0
    total: int = 0

    @property
    def fraction(self) -> float | None:
        """Completed fraction in [0, 1], or None when the total is unknown."""
        if self.total <= 0:
            return None
        return min(1.0, max(0.0, self.done / self.total))


Job = Generator[Progress, None, T]


class CancelToken:
    """A thread-safe flag a job checks at frame or stage boundaries."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested.

        Raises
        ------
        Cancelled
            When :meth:`cancel` has been called.
        """
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


def run_job(
    job: Job[T],
    *,
    cancel: CancelToken | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> T:
    """Drive a job generator to completion and return its result.

    Parameters
    ----------
    job
        The generator.
    cancel
        Checked after every progress report; the generator is closed when set.
    on_progress
        Called with each report.

    Returns
    -------
    The generator's return value.

    Raises
    ------
    Cancelled
        When ``cancel`` was set while the job ran.
    """
    try:
        while True:
            report = next(job)
            if on_progress is not None:
                on_progress(report)
            if cancel is not None and cancel.cancelled:
                job.close()
                raise Cancelled("cancelled by the user")
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


class EtaEstimator:
    """Estimates the remaining seconds of a job from its progress reports."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start: float | None = None
        self._start_done = 0

    def update(self, progress: Progress) -> float | None:
        """Return the estimated seconds left, or None when it cannot be told yet."""
        now = self._clock()
        if self._start is None or progress.done < self._start_done:
            self._start, self._start_done = now, progress.done
            return None
        rate_done = progress.done - self._start_done
        if progress.total <= 0 or rate_done <= 0:
            return None
        elapsed = now - self._start
        return elapsed / rate_done * (progress.total - progress.done)
