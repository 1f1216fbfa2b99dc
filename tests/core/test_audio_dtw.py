"""DTW: recurrence, step pattern, tie-breaking, known warps, and real speech at two rates."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from evp_studio.audio import (
    align_to_reference,
    aligned_windows,
    audio_windows,
    emotion_pair_windows,
    frame_windows,
    padded_mfcc,
)
from evp_studio.audio.dtw import MAX_CELLS, accumulate, dtw
from evp_studio.errors import InvalidInputError
from evp_studio.media import load_audio

ALLOWED_STEPS = {(1, 0), (0, 1), (1, 1)}  # the paper's path constraint (section 3.2)


def textbook_dtw(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Plain-loop DTW written as the paper's eq. 1 and the bundled dtw package describe it.

    Returns the padded accumulated matrix and the path, traced back with ties broken in the
    package's order: diagonal, then a step back in x, then a step back in y.
    """
    r, c = len(x), len(y)
    acc = np.full((r + 1, c + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(r):
        for j in range(c):
            cost = float(np.abs(x[i] - y[j]).sum())
            acc[i + 1, j + 1] = cost + min(acc[i, j], acc[i, j + 1], acc[i + 1, j])
    i, j = r - 1, c - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        move = int(np.argmin([acc[i, j], acc[i, j + 1], acc[i + 1, j]]))
        i, j = (i - 1, j - 1) if move == 0 else (i - 1, j) if move == 1 else (i, j - 1)
        path.append((i, j))
    return acc, path[::-1]


def smooth_features(t: np.ndarray, seed: int = 3, dims: int = 13) -> np.ndarray:
    """``(len(t), dims)`` smooth, non-repeating trajectories sampled at (fractional) times t."""
    rng = np.random.default_rng(seed)
    omega = rng.uniform(0.08, 0.4, 6)
    amp, phase = rng.standard_normal((dims, 6)), rng.uniform(0, 2 * np.pi, (dims, 6))
    return (amp * np.sin(omega * t[:, None, None] + phase)).sum(-1)


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (2, 9), (9, 4), (31, 40), (40, 31)])
def test_accumulate_equals_the_plain_recurrence(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    x, y = rng.standard_normal((shape[0], 4)), rng.standard_normal((shape[1], 4))
    acc, path = textbook_dtw(x, y)
    cost = np.abs(x[:, None] - y[None]).sum(-1)
    np.testing.assert_allclose(accumulate(cost), acc, rtol=1e-12)
    result = dtw(x, y)
    assert [tuple(p) for p in result.path.tolist()] == path
    assert result.total_cost == pytest.approx(acc[-1, -1])
    assert result.total_cost == pytest.approx(cost[result.path[:, 0], result.path[:, 1]].sum())


def test_ties_are_broken_like_the_official_package() -> None:
    # small integer features make many equal costs, so tie-breaking decides the path
    rng = np.random.default_rng(5)
    for _ in range(20):
        x = rng.integers(0, 3, (rng.integers(2, 25), 2)).astype(float)
        y = rng.integers(0, 3, (rng.integers(2, 25), 2)).astype(float)
        assert [tuple(p) for p in dtw(x, y).path.tolist()] == textbook_dtw(x, y)[1]


def test_step_constraint_holds() -> None:
    rng = np.random.default_rng(6)
    for t_x, t_y in [(50, 80), (80, 50), (1, 7), (7, 1), (120, 121)]:
        path = dtw(rng.standard_normal((t_x, 13)), rng.standard_normal((t_y, 13))).path
        assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (t_x - 1, t_y - 1)
        assert {tuple(s) for s in np.diff(path, axis=0).tolist()} <= ALLOWED_STEPS


def test_self_alignment_is_the_identity() -> None:
    x = smooth_features(np.arange(150.0))
    assert np.array_equal(dtw(x, x).path, np.repeat(np.arange(150)[:, None], 2, axis=1))
    assert np.array_equal(align_to_reference(x, x), np.arange(150))


def test_repeated_frames_are_undone() -> None:
    ref = np.random.default_rng(8).standard_normal((90, 13))
    warp = np.sort(np.concatenate([np.arange(90), np.arange(0, 90, 3)]))  # every 3rd twice
    idx = align_to_reference(ref, ref[warp])
    assert np.abs(warp[idx] - np.arange(90)).max() == 0  # exact: frames are distinct
    assert np.all(np.diff(idx) >= 0)


def test_dropped_frames_map_to_a_neighbour() -> None:
    ref = smooth_features(np.arange(120.0))
    kept = np.setdiff1d(np.arange(120), np.arange(1, 120, 3))  # drop every 3rd frame
    idx = align_to_reference(ref, ref[kept])
    assert idx.shape == (120,)
    assert np.abs(kept[idx] - np.arange(120)).max() <= 1


@pytest.mark.parametrize("t_other", [150, 300])  # compressed and stretched
def test_known_smooth_warp_is_recovered_within_one_frame(t_other: int) -> None:
    t_ref = 200
    u = np.arange(t_other) / (t_other - 1)
    times = (t_ref - 1) * (u + 0.5 * np.sin(2 * np.pi * u) / (2 * np.pi))  # monotone warp
    ref, other = smooth_features(np.arange(float(t_ref))), smooth_features(times)
    idx = align_to_reference(ref, other)
    true_idx = np.abs(times[None, :] - np.arange(t_ref)[:, None]).argmin(axis=1)
    assert np.abs(idx - true_idx).max() <= 1


def test_aligned_windows_take_the_warped_rows() -> None:
    rng = np.random.default_rng(9)
    ref, other = rng.standard_normal((70, 13)), rng.standard_normal((95, 13))
    ref_w, other_w = aligned_windows(ref, other)
    warped = other[align_to_reference(ref, other)]
    assert ref_w.shape == other_w.shape == ((70 - 28) // 4 + 1, 28, 12)
    assert ref_w.dtype == other_w.dtype == np.float32
    for k in range(ref_w.shape[0]):
        np.testing.assert_array_equal(ref_w[k], ref[4 * k : 4 * k + 28, 1:].astype(np.float32))
        np.testing.assert_array_equal(other_w[k], warped[4 * k : 4 * k + 28, 1:].astype(np.float32))


def test_bad_inputs_raise() -> None:
    a = np.zeros((10, 13))
    with pytest.raises(InvalidInputError, match="shapes"):
        dtw(a, np.zeros((10, 12)))
    with pytest.raises(InvalidInputError, match="empty"):
        dtw(a, np.zeros((0, 13)))
    with pytest.raises(InvalidInputError, match="NaN"):
        dtw(a, np.full((3, 13), np.nan))
    with pytest.raises(InvalidInputError, match="cells"):
        dtw(np.zeros((MAX_CELLS // 1000 + 1, 1)), np.zeros((1000, 1)))
    with pytest.raises(InvalidInputError, match=r"\(T, 13\)"):
        aligned_windows(np.zeros((40, 12)), np.zeros((40, 12)))
    with pytest.raises(InvalidInputError, match="'angry'"):
        emotion_pair_windows({"sad": np.zeros(8000)})


@pytest.fixture(scope="module")
def two_rates(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    """The same espeak-ng sentence at 130 and 200 words per minute, 16 kHz."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed: run bash scripts/dev.sh setup as root")
    folder = tmp_path_factory.mktemp("espeak_rates")
    text = "The quick brown fox jumps over the lazy dog near the river bank"
    clips = []
    for speed in (130, 200):
        path = folder / f"s{speed}.wav"
        subprocess.run([exe, "-s", str(speed), "-w", str(path), text], check=True)
        clips.append(load_audio(path, sample_rate=16000))
    return clips[0], clips[1]


def test_real_speech_at_two_rates_aligns(two_rates: tuple[np.ndarray, np.ndarray]) -> None:
    slow, fast = two_rates
    assert slow.shape[0] > 1.3 * fast.shape[0]
    ref, other = padded_mfcc(slow), padded_mfcc(fast)
    ref_w, other_w = aligned_windows(ref, other)
    aligned = np.abs(ref_w - other_w).mean()  # mean L1 per coefficient
    naive_w = frame_windows(other[:, 1:])  # same window index, no warping
    n = min(len(naive_w), len(ref_w))
    naive = np.abs(ref_w[:n] - naive_w[:n]).mean()
    stretch = other[np.round(np.linspace(0, len(other) - 1, len(ref))).astype(int)]
    linear = np.abs(ref_w - frame_windows(stretch[:, 1:])).mean()  # uniform time stretch
    # measured: aligned ~4.8, naive ~20.3, linear stretch ~17.1
    assert aligned < 0.4 * naive
    assert aligned < 0.5 * linear


def test_emotion_pair_windows(two_rates: tuple[np.ndarray, np.ndarray]) -> None:
    slow, fast = two_rates
    out = emotion_pair_windows({"angry": slow, "sad": fast})
    assert out["angry"].shape == out["sad"].shape == audio_windows(slow).shape
    assert np.array_equal(out["angry"], audio_windows(slow))  # the reference aligns to itself


def test_emotion_pair_windows_names_the_bad_clip() -> None:
    with pytest.raises(InvalidInputError, match="sad clip"):
        emotion_pair_windows({"angry": np.zeros(8000), "sad": np.zeros(0)})
