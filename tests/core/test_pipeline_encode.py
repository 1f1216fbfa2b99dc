"""Speech encoding at inference: model files, input checks, the encode API and CLI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.signal import resample_poly

from evp_studio.audio import n_frames_for
from evp_studio.cli import main
from evp_studio.errors import ExportError, InvalidInputError
from evp_studio.media import write_audio
from evp_studio.models import DisentangleConfig, DisentangleModel
from evp_studio.models.io import load_disentangle, save_inference_weights
from evp_studio.pipeline.encode import SpeechEncoder
from evp_studio.project import EMOTIONS
from evp_studio.train.checkpoint import load_checkpoint, save_checkpoint

PS_RAW = Path("/usr/share/pocketsphinx/test/data/goforward.raw")


def speech() -> np.ndarray:
    if not PS_RAW.exists():
        pytest.fail(f"{PS_RAW} missing: install Debian pocketsphinx-testdata")
    return (np.fromfile(PS_RAW, dtype="<i2") / 32768.0).astype(np.float32)


@pytest.fixture(scope="module")
def model() -> DisentangleModel:
    torch.manual_seed(3)
    m = DisentangleModel(DisentangleConfig.small())
    with torch.no_grad():  # give batch norm real statistics so codes are not all alike
        m.train()
        m(torch.randn(64, 1, 28, 12) * 15)
    return m.eval()


@pytest.fixture(scope="module")
def weights(model: DisentangleModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("w") / "enc.pt"
    codes = np.arange(8 * 64, dtype=np.float32).reshape(8, 64)
    codes[3] = np.nan  # an emotion the model never saw
    save_inference_weights(path, model, codes, metrics={"note": "test"})
    return path


def test_inference_file_is_small_and_loads_without_decoder(
    weights: Path, model: DisentangleModel
) -> None:
    loaded = load_disentangle(weights)
    assert not loaded.has_decoder and loaded.meta["metrics"] == {"note": "test"}
    assert weights.stat().st_size < 3_000_000  # float16 Ec + Ee + Ce of the small size
    x = torch.randn(16, 1, 28, 12) * 15
    with torch.no_grad():
        ref_c, ref_e = model(x)
        c, e = loaded.model(x)
    assert loaded.model.training is False
    # float16 storage: a few parts in a thousand of the code scale
    assert float((c - ref_c).abs().max()) < 5e-3 * float(ref_c.abs().max()) + 1e-3
    assert float((e - ref_e).abs().max()) < 5e-3 * float(ref_e.abs().max()) + 1e-3


def test_encode_real_speech(weights: Path) -> None:
    audio = speech()
    enc = SpeechEncoder.load(weights)
    codes = enc.encode(audio, 16000)
    t = n_frames_for(audio.shape[0])
    assert codes.content.shape == (t, 128) and codes.emotion.shape == (t, 64)
    assert codes.emotion_probs.shape == (t, 8)
    np.testing.assert_allclose(codes.emotion_probs.sum(axis=1), 1.0, atol=1e-5)
    assert (codes.content >= 0).all() and (codes.emotion >= 0).all()  # post-ReLU codes
    assert codes.warnings == ()
    assert codes.times_s()[1] == pytest.approx(0.04)
    # Codes follow the speech: different frames get different content codes.
    assert np.std(codes.content, axis=0).mean() > 1e-3
    assert codes.dominant_emotion()[0] in EMOTIONS


def test_other_sample_rates_are_resampled(weights: Path) -> None:
    audio = speech()
    enc = SpeechEncoder.load(weights)
    ref = enc.encode(audio, 16000)
    at48 = resample_poly(audio, 3, 1).astype(np.float32)
    got = enc.encode(at48, 48000)
    assert got.n_frames == ref.n_frames
    scale = float(np.abs(ref.content).mean())
    assert float(np.abs(got.content - ref.content).mean()) < 0.1 * scale


def test_category_codes(weights: Path, model: DisentangleModel, tmp_path: Path) -> None:
    codes = SpeechEncoder.load(weights).category_codes()
    assert codes.shape == (8, 64) and np.isnan(codes[3]).all() and codes[0, 1] == 1
    bare = tmp_path / "bare.pt"
    save_inference_weights(bare, model, None)
    with pytest.raises(InvalidInputError, match="no per-emotion codes"):
        SpeechEncoder.load(bare).category_codes()


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (np.zeros(16000, np.float32), "silent"),
        (np.full(16000, np.nan, np.float32), "NaN"),
        (np.full(500, 0.1, np.float32), "too short"),
        (np.zeros((2, 100), np.float32), "mono"),
    ],
)
def test_unusable_audio_is_refused(weights: Path, audio: np.ndarray, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        SpeechEncoder.load(weights).encode(audio, 16000, name="take3.wav")


def test_clipped_audio_warns(weights: Path) -> None:
    audio = np.clip(speech() * 20, -1, 1)
    codes = SpeechEncoder.load(weights).encode(audio, 16000, name="loud.wav")
    assert len(codes.warnings) == 1 and "loud.wav" in codes.warnings[0]
    assert "clipped" in codes.warnings[0]


def _state(path: Path) -> dict:
    return load_checkpoint(path)


def test_nan_weights_are_refused(weights: Path, tmp_path: Path) -> None:
    state = _state(weights)
    key = "emo_encoder.emotion_eocder_fc.0.weight"
    state["model"][key][0, 0] = float("nan")
    bad = tmp_path / "nan.pt"
    save_checkpoint(bad, state)
    with pytest.raises(InvalidInputError, match=f"nan.pt.*{key}.*NaN"):
        load_disentangle(bad)


def test_model_of_another_size_is_refused(weights: Path, tmp_path: Path) -> None:
    state = _state(weights)
    state["model_config"] = dataclasses.asdict(DisentangleConfig.paper())
    bad = tmp_path / "mixed.pt"
    save_checkpoint(bad, state)
    with pytest.raises(InvalidInputError, match="mixed.pt.*shape"):
        load_disentangle(bad)


def test_other_files_are_refused(weights: Path, tmp_path: Path) -> None:
    state = _state(weights)
    del state["model"]["classify.last_fc.weight"]
    missing = tmp_path / "missing.pt"
    save_checkpoint(missing, state)
    with pytest.raises(InvalidInputError, match="1 missing"):
        load_disentangle(missing)

    state = _state(weights)
    state["emotions"] = sorted(EMOTIONS, reverse=True)
    order = tmp_path / "order.pt"
    save_checkpoint(order, state)
    with pytest.raises(InvalidInputError, match="order"):
        load_disentangle(order)

    state = _state(weights)
    state["format"] = "something.else"
    other = tmp_path / "other.pt"
    save_checkpoint(other, state)
    with pytest.raises(InvalidInputError, match="not a disentanglement model"):
        load_disentangle(other)

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInputError, match="junk.pt"):
        load_disentangle(junk)


def test_save_npz_is_atomic(weights: Path, tmp_path: Path) -> None:
    codes = SpeechEncoder.load(weights).encode(speech(), 16000)
    with pytest.raises(ExportError, match="nowhere"):
        codes.save_npz(tmp_path / "nowhere" / "codes.npz")
    out = tmp_path / "codes.npz"
    codes.save_npz(out)
    assert [p.name for p in tmp_path.iterdir()] == ["codes.npz"]


def test_cli_encode(weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wav = tmp_path / "speech.wav"
    write_audio(wav, speech(), 16000)
    out = tmp_path / "codes.npz"
    assert main(["encode", str(wav), "-o", str(out), "--checkpoint", str(weights)]) == 0
    with np.load(out) as npz:
        assert set(npz.files) == {"content", "emotion", "emotion_probs", "times_s", "emotions"}
        t = npz["content"].shape[0]
        assert npz["emotion"].shape == (t, 64) and npz["emotion_probs"].shape == (t, 8)
        assert npz["times_s"].shape == (t,)
        assert tuple(npz["emotions"].tolist()) == EMOTIONS
    assert "frames" in capsys.readouterr().out


def test_cli_encode_bad_input(
    weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "gone.wav"
    assert main(["encode", str(missing), "-o", str(tmp_path / "c.npz")]) == 2
    assert "gone.wav" in capsys.readouterr().err  # the audio is named before model loading
    silent = tmp_path / "silent.wav"
    write_audio(silent, np.zeros(16000, np.float32), 16000)
    args = ["encode", str(silent), "-o", str(tmp_path / "c.npz"), "--checkpoint", str(weights)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "silent.wav" in err and "silent" in err and not (tmp_path / "c.npz").exists()
