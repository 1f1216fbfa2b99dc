"""MFCC against python_speech_features itself (the test-only reference the official code used).

Tolerance: absolute 1e-4 on every coefficient (values reach ~±100; measured errors are
~2e-6, the float32 rounding of our output), on real speech, espeak-ng speech, silence and
white noise.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import python_speech_features as psf
from python_speech_features.base import get_filterbanks

from evp_studio.audio import evp_features, mel_filterbank, padded_mfcc
from evp_studio.audio.mfcc import mfcc
from evp_studio.errors import InvalidInputError
from evp_studio.media import load_audio

ATOL = 1e-4  # absolute tolerance on every MFCC coefficient
PS_DATA = Path("/usr/share/pocketsphinx/test/data")
RAW_FILES = ["goforward.raw", "numbers.raw", "something.raw"]  # 16 kHz s16le mono


def reference(signal: np.ndarray) -> np.ndarray:
    """What the official code computes: psf.mfcc(signal, 16000, winstep=0.01), float64."""
    return psf.mfcc(np.asarray(signal, dtype=np.float64), 16000, winstep=0.01)


def assert_matches(ours: np.ndarray, ref: np.ndarray) -> None:
    assert ours.dtype == np.float32
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=ATOL)


def espeak(tmp_dir: Path, text: str, *, speed: int = 160) -> np.ndarray:
    """Speak ``text`` with espeak-ng and load it at 16 kHz (set-up installs espeak-ng)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed: run bash scripts/dev.sh setup as root")
    out = tmp_dir / f"espeak_{speed}.wav"
    subprocess.run([exe, "-s", str(speed), "-w", str(out), text], check=True)
    return load_audio(out, sample_rate=16000)


def read_raw(name: str) -> np.ndarray:
    path = PS_DATA / name
    if not path.exists():
        pytest.fail(
            f"{path} missing: install Debian pocketsphinx-testdata (scripts/dev.sh setup)"
        )
    return np.fromfile(path, dtype="<i2").astype(np.float64) / 32768.0


def test_filterbank_is_psf_get_filterbanks_exactly() -> None:
    assert np.array_equal(mel_filterbank(16000).T, get_filterbanks(26, 512, 16000, 0, 8000))


@pytest.mark.parametrize("name", RAW_FILES)
def test_real_speech_raw(name: str) -> None:
    x = read_raw(name)
    assert_matches(mfcc(x), reference(x))


def test_real_speech_wav_through_load_audio() -> None:
    path = PS_DATA / "librivox" / "sense_and_sensibility_01_austen_64kb-0870.wav"
    if not path.exists():
        pytest.fail(
            f"{path} missing: install Debian pocketsphinx-testdata (scripts/dev.sh setup)"
        )
    x = load_audio(path, sample_rate=16000)
    assert_matches(mfcc(x), reference(x))


def test_espeak_speech(tmp_path: Path) -> None:
    x = espeak(tmp_path, "Seven emotional portraits were rendered before the deadline.")
    assert_matches(mfcc(x), reference(x))


@pytest.mark.parametrize("n", [1, 399, 400, 401, 560, 16000])
def test_silence_takes_the_log_eps_path(n: int) -> None:
    ours, ref = mfcc(np.zeros(n)), reference(np.zeros(n))
    assert_matches(ours, ref)
    # all-zero frames: log(eps) in every band, so c0 = log(eps) and c1..c12 = 0
    np.testing.assert_allclose(ours[:, 0], np.log(np.finfo(float).eps), atol=ATOL)
    np.testing.assert_allclose(ours[:, 1:], 0.0, atol=ATOL)


@pytest.mark.parametrize("scale", [1e-4, 0.1, 1.0, 3000.0])
def test_white_noise(scale: float) -> None:
    x = np.random.default_rng(7).standard_normal(16000 + 123) * scale
    assert_matches(mfcc(x), reference(x))


def test_frame_count_rule_matches_psf_for_many_lengths() -> None:
    rng = np.random.default_rng(0)
    for n in [1, 2, 399, 400, 401, 559, 560, 561, 720, 721, 1000, 4321]:
        x = rng.standard_normal(n)
        expected = 1 if n <= 400 else 1 + int(np.ceil((n - 400) / 160))
        assert mfcc(x).shape == reference(x).shape == (expected, 13)


def test_float32_input_is_computed_like_the_official_float64_pipeline() -> None:
    x = read_raw("goforward.raw").astype(np.float32)
    assert_matches(mfcc(x), reference(x.astype(np.float64)))


def test_padded_features_replicate_the_official_preprocessing() -> None:
    y = read_raw("something.raw").astype(np.float32)  # librosa.load gives float32
    # the official code: np.insert 1920 zeros in front, np.append 1920 zeros at the end
    padded = np.append(np.insert(y, 0, np.zeros(1920)), np.zeros(1920))
    ref = psf.mfcc(padded, 16000, winstep=0.01)
    assert_matches(padded_mfcc(y), ref)
    feats = evp_features(y)
    assert feats.shape == (ref.shape[0], 12)
    np.testing.assert_allclose(feats, ref[:, 1:], rtol=0, atol=ATOL)


@pytest.mark.parametrize(
    ("signal", "message"),
    [
        (np.zeros(0), "0 samples"),
        (np.zeros((10, 2)), "shape"),
        (np.array([0.0, np.nan, 1.0]), "NaN"),
        (np.array(["a", "b"]), "dtype"),
    ],
)
def test_bad_signals_raise_invalid_input(signal: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        mfcc(signal)


def test_bad_sample_rate_raises() -> None:
    for rate in (-5, 0, 49):
        with pytest.raises(InvalidInputError, match=f"{rate} Hz"):
            mfcc(np.zeros(100), sample_rate=rate)


@pytest.mark.filterwarnings("ignore:The 'warn' function is deprecated:DeprecationWarning")
@pytest.mark.parametrize("rate", [8000, 22050])  # 22050: 551-sample frames, truncated to 512
def test_other_sample_rates_match_psf(rate: int) -> None:
    x = np.random.default_rng(3).standard_normal(rate) * 0.1
    ref = psf.mfcc(x, rate, winstep=0.01)
    assert_matches(mfcc(x, sample_rate=rate), ref)


def test_blocks_of_frames_give_the_same_features_as_one_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from evp_studio.audio import mfcc as mfcc_module  # noqa: PLC0415

    rng = np.random.default_rng(3)
    audio = rng.normal(0, 0.1, 16000 * 3 + 123)  # 300 frames: 4 blocks of 64 and one of 44
    monkeypatch.setattr(mfcc_module, "_BLOCK_FRAMES", 1_000_000)
    whole = mfcc_module.mfcc(audio)
    monkeypatch.setattr(mfcc_module, "_BLOCK_FRAMES", 64)
    blocked = mfcc_module.mfcc(audio)
    assert whole.shape == blocked.shape == (300, 13)
    np.testing.assert_array_equal(whole, blocked)
