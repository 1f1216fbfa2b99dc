"""load_audio: any container to 16 kHz mono float32, keeping frequency and level."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from evp_studio.errors import InvalidInputError, NoAudioStreamError
from evp_studio.media import load_audio, probe
from tests.core.media_fixtures import rms_db, tone_peak_hz, write_test_video, write_tone

SECONDS = 1.0
FREQ = 440.0
LEVEL_DB = rms_db(0.5 * np.sin(2 * np.pi * FREQ * np.arange(16000) / 16000))


def _steady(audio: np.ndarray) -> np.ndarray:
    """The middle of a tone, away from codec start-up and padding."""
    return audio[len(audio) // 8 : -len(audio) // 8]


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".m4a", ".flac"])
def test_formats_resample_44k1_to_16k(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"tone{suffix}"
    write_tone(path, freq=FREQ, seconds=SECONDS, rate=44100)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.shape[0] - 16000 * SECONDS) <= 1152 * 16000 / 44100 + 1  # <= 1 mp3 frame
    assert abs(tone_peak_hz(audio, 16000) - FREQ) < 2
    assert abs(rms_db(_steady(audio)) - LEVEL_DB) < 1
    assert np.abs(audio).max() <= 1.0


def test_stereo_is_averaged_to_mono_at_the_same_level(tmp_path: Path) -> None:
    path = tmp_path / "stereo.flac"
    write_tone(path, freq=FREQ, seconds=SECONDS, rate=48000, channels=2, amplitude=0.9)
    assert probe(path).audio[0].channels == 2
    audio = load_audio(path)
    assert abs(rms_db(audio) - (LEVEL_DB + 20 * np.log10(0.9 / 0.5))) < 0.1
    assert np.abs(audio).max() < 0.95  # not lifted into clipping


def test_video_own_track(tmp_path: Path) -> None:
    path = tmp_path / "talk.mp4"
    write_test_video(path, n_frames=25, rate=Fraction(25), with_tone=300.0)
    audio = load_audio(path)
    assert audio.shape[0] == 16000  # exactly 1 s: AAC padding cut at the declared end
    assert abs(tone_peak_hz(audio, 16000) - 300.0) < 2


def test_start_and_duration(tmp_path: Path) -> None:
    path = tmp_path / "ramp.wav"
    write_tone(path, freq=FREQ, seconds=2.0, rate=16000)
    full = load_audio(path)
    part = load_audio(path, start_s=0.5, duration_s=0.25)
    assert part.shape == (4000,)
    np.testing.assert_allclose(part, full[8000:12000], atol=1e-6)
    assert load_audio(path, start_s=5.0).shape == (0,)


def test_stream_index_must_be_audio(tmp_path: Path) -> None:
    path = tmp_path / "talk.mp4"
    write_test_video(path, n_frames=5, with_tone=300.0)
    audio_index = probe(path).audio[0].index
    assert load_audio(path, stream_index=audio_index).shape[0] > 0
    with pytest.raises(NoAudioStreamError, match="stream 0 is not an audio stream"):
        load_audio(path, stream_index=0)


def test_bad_request_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="-1"):
        load_audio(tmp_path / "x.wav", sample_rate=-1)
