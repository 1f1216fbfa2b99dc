"""28x12 windows: the official test-time indexing, counts vs audio length, timing, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import python_speech_features as psf

from evp_studio.audio import (
    MIN_SAMPLES,
    AudioFeatures,
    audio_windows,
    evp_features,
    extract_features,
    frame_windows,
    n_frames_for,
    n_windows_for,
)
from evp_studio.errors import InvalidInputError, MediaError
from evp_studio.media import load_audio, write_audio

LENGTHS = [0, 1, 80, 81, 640, 720, 721, 1280, 1360, 1361, 16000, 16080, 16081, 23456]


def official_n_windows(n_samples: int) -> int:
    """Windows the official loop makes: ind in 3 .. floor(T/4) - 4 on psf's padded MFCC."""
    padded = np.zeros(n_samples + 2 * 1920)
    t_mfcc = psf.mfcc(padded, 16000, winstep=0.01).shape[0]
    return len(range(3, t_mfcc // 4 - 4 + 1))


@pytest.mark.parametrize("n", LENGTHS)
def test_count_matches_official_loop_and_closed_form(n: int) -> None:
    expected = official_n_windows(n)
    assert n_frames_for(n) == expected == max(0, (n - 81) // 640)


def test_count_vs_duration_rule() -> None:
    # a whole number k of 640-sample frames gives k - 1 windows; 81 more samples give k
    for k in [1, 2, 25, 250]:
        assert n_frames_for(640 * k) == k - 1
        assert n_frames_for(640 * k + 80) == k - 1
        assert n_frames_for(640 * k + 81) == k
    assert n_frames_for(MIN_SAMPLES - 1) == 0 and n_frames_for(MIN_SAMPLES) == 1


@pytest.mark.parametrize("n", [721, 1361, 16000, 23456])
def test_audio_windows_shape(n: int) -> None:
    audio = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 0.1
    windows = audio_windows(audio)
    assert windows.shape == (n_frames_for(n), 28, 12)
    assert windows.dtype == np.float32 and windows.flags.c_contiguous


def test_window_k_is_the_official_rows() -> None:
    audio = np.random.default_rng(1).standard_normal(12_345) * 0.1
    feats = evp_features(audio)  # (T, 12)
    windows = frame_windows(feats)
    t_mfcc = feats.shape[0]
    official = [feats[(ind - 3) * 4 : (ind + 4) * 4] for ind in range(3, t_mfcc // 4 - 4 + 1)]
    training = [feats[4 * i : 4 * i + 28] for i in range((t_mfcc - 28) // 4 + 1)]
    assert windows.shape[0] == len(official) == len(training) == n_windows_for(t_mfcc)
    for k, (a, b) in enumerate(zip(official, training, strict=True)):
        assert np.array_equal(windows[k], a) and np.array_equal(windows[k], b)


def test_frame_windows_is_a_read_only_view() -> None:
    feats = np.arange(60 * 12, dtype=np.float32).reshape(60, 12)
    windows = frame_windows(feats)
    assert windows.shape == (9, 28, 12)  # 60 // 4 - 6
    assert np.shares_memory(windows, feats) and not windows.flags.writeable
    assert frame_windows(feats[:27]).shape == (0, 28, 12)
    assert frame_windows(feats[:, :5]).shape == (9, 28, 5)
    with pytest.raises(InvalidInputError, match="shape"):
        frame_windows(feats[0])


def test_window_k_is_centred_on_video_frame_k() -> None:
    # noise only in video frame j = samples 640j .. 640j + 639; silence elsewhere
    j, n_frames = 10, 20
    audio = np.zeros(640 * n_frames + 81)
    audio[640 * j : 640 * (j + 1)] = np.random.default_rng(2).standard_normal(640)
    windows = audio_windows(audio)
    assert windows.shape[0] == n_frames
    centre = np.abs(windows[:, 12:16, :]).max(axis=(1, 2))  # rows of the window's own frame
    assert centre[j] > 1.0  # the noisy frame
    assert np.all(centre[: j - 1] < 1e-3) and np.all(centre[j + 2 :] < 1e-3)


def test_short_audio_gives_zero_windows_or_a_clear_error() -> None:
    assert audio_windows(np.zeros(720)).shape == (0, 28, 12)
    with pytest.raises(InvalidInputError, match="720 samples"):
        extract_features(np.zeros(720, dtype=np.float32))
    with pytest.raises(InvalidInputError, match="0 samples"):
        extract_features(np.zeros(0, dtype=np.float32))
    with pytest.raises(InvalidInputError, match="0 samples"):
        audio_windows(np.zeros(0))
    with pytest.raises(InvalidInputError, match="negative"):
        n_frames_for(-1)


def test_extract_features_from_file(tmp_path: Path) -> None:
    t = np.arange(22050) / 22050
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    path = write_audio(tmp_path / "tone.wav", tone, 22050)
    feats = extract_features(path)
    audio = load_audio(path, sample_rate=16000)
    assert feats.n_frames == n_frames_for(audio.shape[0]) == feats.windows.shape[0]
    assert (feats.fps, feats.sample_rate) == (25.0, 16000)
    assert np.array_equal(feats.windows, audio_windows(audio))
    np.testing.assert_allclose(feats.frame_times_s()[:3], [0.0, 0.04, 0.08])


def test_extract_features_errors_name_the_source(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="22050 Hz"):
        extract_features(np.zeros(22050, dtype=np.float32), sample_rate=22050)
    bogus = tmp_path / "not_audio.wav"
    bogus.write_bytes(b"this is not a wav file")
    with pytest.raises(MediaError, match="not_audio.wav"):
        extract_features(bogus)
    short = write_audio(tmp_path / "short.wav", np.zeros(300, dtype=np.float32), 16000)
    with pytest.raises(InvalidInputError, match="short.wav"):
        extract_features(short)


def test_audio_features_validates_its_shape() -> None:
    with pytest.raises(InvalidInputError, match="expected"):
        AudioFeatures(windows=np.zeros((3, 28, 12), dtype=np.float32), n_frames=4)
    with pytest.raises(InvalidInputError, match="float32"):
        AudioFeatures(windows=np.zeros((3, 28, 12)), n_frames=3)
