"""Waveform envelopes: bounds, pyramid consistency, zoom resolution, bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from evp_studio.errors import Cancelled
from evp_studio.jobs import CancelToken, Progress
from evp_studio.media import build_envelope, compute_envelope, load_audio
from evp_studio.media.waveform import reduce_pairs
from tests.core.media_fixtures import write_tone


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wave") / "tone.wav"
    write_tone(path, freq=3.3, seconds=3.0, rate=16000)  # slow: buckets differ a lot
    return path


def test_envelope_bounds_the_signal(tone: Path) -> None:
    signal = load_audio(tone)
    env = compute_envelope(tone, base_bucket=64)
    assert env.n_samples == signal.shape[0] and env.duration_s == pytest.approx(3.0)
    mins, maxs = env.levels[0]
    assert mins.shape[0] == -(-signal.shape[0] // 64)
    for b in range(mins.shape[0]):
        bucket = signal[b * 64 : (b + 1) * 64]
        assert mins[b] == bucket.min() and maxs[b] == bucket.max()


def test_pyramid_levels_reduce_pairwise(tone: Path) -> None:
    env = compute_envelope(tone, base_bucket=32)
    assert env.levels[-1][0].shape == (1,)
    for k in range(len(env.levels) - 1):
        mins, maxs = reduce_pairs(*env.levels[k])
        assert np.array_equal(mins, env.levels[k + 1][0])
        assert np.array_equal(maxs, env.levels[k + 1][1])
        assert env.levels[k][0].dtype == np.float32


@pytest.mark.parametrize(("t0", "t1", "points"), [(0.0, 3.0, 100), (1.0, 1.5, 50), (0.2, 2.9, 7)])
def test_for_range_gives_requested_resolution(
    tone: Path, t0: float, t1: float, points: int
) -> None:
    env = compute_envelope(tone)
    times, mins, maxs = env.for_range(t0, t1, points)
    assert points <= times.shape[0] <= 2 * points + 2
    assert mins.shape == maxs.shape == times.shape
    assert times[0] <= t0 < times[1] and times[-1] < t1
    assert np.all(mins <= maxs)


def test_for_range_past_finest_level_returns_level_zero(tone: Path) -> None:
    env = compute_envelope(tone, base_bucket=64)
    times, _, _ = env.for_range(1.0, 1.01, 1000)  # 160 samples: only 3-4 buckets exist
    assert times.shape[0] >= 1 and times.shape[0] <= 4


def test_job_reports_progress_and_cancels(tone: Path) -> None:
    job = build_envelope(tone)
    first = next(job)
    assert isinstance(first, Progress) and first.total == 48000
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        compute_envelope(tone, cancel=token)


def test_memory_is_bounded_by_the_envelope(tmp_path: Path) -> None:
    path = tmp_path / "long.flac"
    minutes = 4
    write_tone(path, freq=220.0, seconds=60.0 * minutes, rate=16000)
    decoded_bytes = 60 * minutes * 16000 * 4  # float32 mono: 15.4 MB
    tracemalloc.start()
    try:
        env = compute_envelope(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert env.duration_s == pytest.approx(60.0 * minutes)
    assert peak < decoded_bytes / 8, f"peak {peak} B vs decoded {decoded_bytes} B"
