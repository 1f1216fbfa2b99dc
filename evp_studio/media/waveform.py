"""Multi-resolution min/max envelopes of an audio track for a zoomable waveform view.

Level 0 holds the min and max of every ``base_bucket`` samples; level ``k`` holds buckets
of ``base_bucket * 2**k`` samples, each the pairwise reduction of level ``k-1``. Audio is
decoded in chunks and reduced as it arrives, so memory is bounded by the envelope (one
hour at 16 kHz with 64-sample buckets: 900k pairs, 7.2 MB float32, x2 for the pyramid).
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evp_studio.errors import InvalidInputError, MediaError
from evp_studio.jobs import CancelToken, Job, Progress, run_job
from evp_studio.media.audio import decode_mono, expected_samples, open_audio

# Samples gathered before reducing a batch: large enough that numpy does the work.
_BATCH_SAMPLES = 1 << 16
# Report progress about every this many output samples (10 s at 16 kHz).
_REPORT_SAMPLES = 160_000


@dataclass(frozen=True)
class WaveformEnvelope:
    """Min/max pyramid of a mono audio track.

    Parameters
    ----------
    sample_rate
        Hz of the samples the buckets were taken over.
    base_bucket
        Samples per level-0 bucket.
    n_samples
        Length of the audio, samples.
    levels
        ``levels[k] = (mins, maxs)``, each ``(ceil(n_samples / (base_bucket * 2**k)),)``
        float32 in [-1, 1]; the last bucket of a level may cover fewer samples.
    """

    sample_rate: int
    base_bucket: int
    n_samples: int
    levels: list[tuple[np.ndarray, np.ndarray]]

    @property
    def duration_s(self) -> float:
        """Length of the audio, seconds."""
        return self.n_samples / self.sample_rate

    def bucket_samples(self, level: int) -> int:
        """Samples per bucket at ``level``."""
        return self.base_bucket * 2**level

    def for_range(
        self, t0_s: float, t1_s: float, max_points: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the buckets over ``[t0_s, t1_s)`` at the coarsest fitting level.

        The level is the coarsest one that still has at least ``max_points`` buckets over
        the range (level 0 when none has), so a view gets between ``max_points`` and about
        twice that many points whatever its zoom.

        Parameters
        ----------
        t0_s, t1_s
            Range, seconds; clamped to the audio.
        max_points
            Wanted resolution, e.g. the view's width in pixels.

        Returns
        -------
        tuple[np.ndarray, np.ndarray, np.ndarray]
            ``(times_s, mins, maxs)``: ``(M,)`` float64 bucket start times and ``(M,)``
            float32 extremes.
        """
        t0_s, t1_s = max(t0_s, 0.0), min(t1_s, self.duration_s)
        if t1_s <= t0_s or max_points <= 0:
            empty = np.zeros(0, np.float32)
            return np.zeros(0, np.float64), empty, empty
        span = (t1_s - t0_s) * self.sample_rate
        level = 0
        while level + 1 < len(self.levels) and span / self.bucket_samples(level + 1) >= max_points:
            level += 1
        size = self.bucket_samples(level)
        mins, maxs = self.levels[level]
        i0 = int(np.floor(t0_s * self.sample_rate / size))
        i1 = min(int(np.ceil(t1_s * self.sample_rate / size)), mins.shape[0])
        times = np.arange(i0, i1, dtype=np.float64) * (size / self.sample_rate)
        return times, mins[i0:i1], maxs[i0:i1]


def reduce_pairs(mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge neighbouring buckets two by two; an odd last bucket stays on its own.

    Parameters
    ----------
    mins, maxs
        ``(n,)`` one level.

    Returns
    -------
    tuple[np.ndarray, np.ndarray]
        ``(ceil(n / 2),)`` the next coarser level.
    """
    n = mins.shape[0]
    even = n - n % 2
    new_mins = np.minimum(mins[0:even:2], mins[1:even:2])
    new_maxs = np.maximum(maxs[0:even:2], maxs[1:even:2])
    if n % 2:
        new_mins = np.append(new_mins, mins[-1])
        new_maxs = np.append(new_maxs, maxs[-1])
    return new_mins, new_maxs


class _Reducer:
    """Turns a stream of sample chunks into level-0 buckets, one batch at a time."""

    def __init__(self, base_bucket: int) -> None:
        self.base_bucket = base_bucket
        self.n_samples = 0
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._mins: list[np.ndarray] = []
        self._maxs: list[np.ndarray] = []

    def push(self, chunk: np.ndarray) -> None:
        self._pending.append(chunk)
        self._pending_n += chunk.shape[0]
        self.n_samples += chunk.shape[0]
        if self._pending_n >= _BATCH_SAMPLES:
            self._reduce(final=False)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        self._reduce(final=True)
        if not self._mins:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        return np.concatenate(self._mins), np.concatenate(self._maxs)

    def _reduce(self, *, final: bool) -> None:
        if not self._pending:
            return
        batch = np.concatenate(self._pending)
        full = batch.shape[0] - batch.shape[0] % self.base_bucket
        blocks = batch[:full].reshape(-1, self.base_bucket)  # (buckets, base_bucket)
        self._mins.append(blocks.min(axis=1))
        self._maxs.append(blocks.max(axis=1))
        tail = batch[full:]
        if final and tail.shape[0]:
            self._mins.append(tail.min(keepdims=True))
            self._maxs.append(tail.max(keepdims=True))
            tail = tail[:0]
        self._pending = [tail.copy()] if tail.shape[0] else []
        self._pending_n = tail.shape[0]


def build_envelope(
    path: str | Path,
    *,
    sample_rate: int = 16000,
    base_bucket: int = 64,
    cancel: CancelToken | None = None,
) -> Job[WaveformEnvelope]:
    """Compute the envelope of a file's first audio stream, as a job.

    Parameters
    ----------
    path
        Any file with audio.
    sample_rate
        Rate the audio is resampled to before bucketing, Hz.
    base_bucket
        Samples per level-0 bucket.
    cancel
        Checked between decoded chunks.

    Yields
    ------
    Progress
        ``("Reading waveform", samples done, samples expected)``.

    Returns
    -------
    WaveformEnvelope
        The pyramid.

    Raises
    ------
    NoAudioStreamError
        When the file has no audio.
    MediaError
        When it cannot be decoded or has no samples.
    Cancelled
        When ``cancel`` is set.
    """
    path = Path(path)
    if sample_rate <= 0 or base_bucket <= 0:
        raise InvalidInputError(f"{path}: bad envelope rate {sample_rate} / bucket {base_bucket}")
    reducer = _Reducer(base_bucket)
    container, stream = open_audio(path, None)
    with closing(container):
        total = expected_samples(stream, sample_rate)
        next_report = 0
        for chunk in decode_mono(container, stream, path, sample_rate=sample_rate):
            if cancel is not None:
                cancel.check()
            reducer.push(chunk)
            if reducer.n_samples >= next_report:
                yield Progress("Reading waveform", reducer.n_samples, total)
                next_report = reducer.n_samples + _REPORT_SAMPLES
    if reducer.n_samples == 0:
        raise MediaError(path, "audio stream has no samples")
    levels = [reducer.finish()]
    while levels[-1][0].shape[0] > 1:
        levels.append(reduce_pairs(*levels[-1]))
    yield Progress("Reading waveform", reducer.n_samples, reducer.n_samples)
    return WaveformEnvelope(sample_rate, base_bucket, reducer.n_samples, levels)


def compute_envelope(
    path: str | Path,
    *,
    sample_rate: int = 16000,
    base_bucket: int = 64,
    cancel: CancelToken | None = None,
) -> WaveformEnvelope:
    """Run :func:`build_envelope` to completion and return the envelope.

    Parameters
    ----------
    path, sample_rate, base_bucket, cancel
        As :func:`build_envelope`.

    Returns
    -------
    WaveformEnvelope
        The pyramid.

    Raises
    ------
    MediaError
        As :func:`build_envelope`; ``Cancelled`` when ``cancel`` is set.
    """
    job = build_envelope(path, sample_rate=sample_rate, base_bucket=base_bucket, cancel=cancel)
    return run_job(job, cancel=cancel)
