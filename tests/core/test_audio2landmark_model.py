"""Audio-to-landmark network: sizes, official key names, files, the predictor."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from evp_studio import weights
from evp_studio.errors import InvalidInputError, ModelNotFoundError
from evp_studio.models import DisentangleConfig, DisentangleModel
from evp_studio.models.audio2landmark import Audio2Landmark, Audio2LandmarkConfig
from evp_studio.models.audio2landmark_io import (
    LandmarkPredictor,
    example_landmarks,
    load_audio2landmark,
    save_landmark_weights,
)
from evp_studio.train.checkpoint import load_checkpoint, save_checkpoint


def _trained_like(config: Audio2LandmarkConfig, seed: int = 0) -> Audio2Landmark:
    """A model with random non-zero weights everywhere (the head starts at zero)."""
    torch.manual_seed(seed)
    model = Audio2Landmark(config)
    with torch.no_grad():
        for p in model.decoder.lstm_fc.parameters():
            p.normal_(0.0, 0.05)
        dim = 2 * config.n_points
        q, _ = torch.linalg.qr(torch.randn(dim, config.n_coeffs))
        model.set_basis(0.1 * torch.randn(dim), q)
        n = config.content_dim + config.emotion_dim
        model.set_code_stats(torch.rand(n), 1.0 + torch.rand(n))
    return model.eval()


def _inputs(config: Audio2LandmarkConfig, t: int, seed: int = 1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    content = rng.random((t, config.content_dim), np.float32) * 5
    emotion = rng.random((t, config.emotion_dim), np.float32) * 2
    identity = rng.normal(0, 0.5, (68, 2)).astype(np.float32)
    return content, emotion, identity


@pytest.mark.parametrize("size", ["paper", "small"])
def test_shapes_and_untrained_model_predicts_identity(size: str) -> None:
    config = Audio2LandmarkConfig.of_size(size)
    model = Audio2Landmark(config).eval()
    content = torch.rand(2, 7, config.content_dim)
    emotion = torch.rand(2, 7, config.emotion_dim)
    identity = torch.randn(2, 68, 2)
    out = model(content, emotion, identity)
    assert out.shape == (2, 7, 68, 2) and out.dtype == torch.float32
    torch.testing.assert_close(out, identity[:, None].expand_as(out))  # zero-initialised head
    with pytest.raises(InvalidInputError, match="audio2landmark inputs"):
        model(content[..., :5], emotion, identity)


def test_paper_size_official_key_names_and_shapes() -> None:
    config = Audio2LandmarkConfig.paper()
    assert config.lstm_input == 896 == 128 * 7
    shapes = {k: tuple(v.shape) for k, v in Audio2Landmark(config).state_dict().items()}
    official = {
        "lm_encoder.lmark_encoder.0.weight": (256, 16),
        "lm_encoder.lmark_encoder.2.weight": (512, 256),
        "decoder.lstm.weight_ih_l0": (4 * 256, 896),
        "decoder.lstm.weight_hh_l2": (4 * 256, 256),
        "decoder.lstm.bias_ih_l2": (4 * 256,),
        "decoder.lstm_fc.0.weight": (16, 256),
        "decoder.lstm_fc.0.bias": (16,),
    }
    for key, shape in official.items():
        assert shapes[key] == shape
    ours = {"basis_mean", "basis", "code_mean", "code_scale"}
    assert {k for k in shapes if not k.startswith(("lm_encoder.", "decoder."))} == ours
    assert not any(k.startswith("decoder.lstm.") and k.endswith("_l3") for k in shapes)
    small = Audio2Landmark(Audio2LandmarkConfig.small()).state_dict()
    assert small["decoder.lstm_fc.2.weight"].shape == (32, 128)  # two-layer head
    assert small["decoder.lstm.weight_ih_l0"].shape == (4 * 128, 128 + 64 + 256)


def test_config_and_basis_validation() -> None:
    with pytest.raises(InvalidInputError, match="n_coeffs"):
        Audio2LandmarkConfig.small().with_coeffs(137)
    with pytest.raises(InvalidInputError, match="size"):
        Audio2LandmarkConfig.of_size("huge")
    model = Audio2Landmark(Audio2LandmarkConfig.small())
    with pytest.raises(InvalidInputError, match="landmark basis"):
        model.set_basis(torch.zeros(136), torch.zeros(136, 16))
    with pytest.raises(InvalidInputError, match="NaN"):
        model.set_basis(torch.full((136,), float("nan")), torch.zeros(136, 32))
    with pytest.raises(InvalidInputError, match="positive scale"):
        model.set_code_stats(torch.zeros(192), torch.zeros(192))


def _encoder() -> DisentangleModel:
    torch.manual_seed(3)
    return DisentangleModel(DisentangleConfig.small()).eval()


def test_save_load_round_trip_float16(tmp_path: Path) -> None:
    config = Audio2LandmarkConfig.small()
    model, encoder = _trained_like(config), _encoder()
    codes = np.random.default_rng(0).random((8, 64)).astype(np.float32)
    codes[1] = np.nan  # an emotion absent from the training data
    path = tmp_path / "a2l.pt"
    save_landmark_weights(
        path, model, encoder=encoder, category_codes=codes, seq_len=24, metrics={"x": 1.0}
    )
    loaded = load_audio2landmark(path)
    assert loaded.seq_len == 24 and loaded.meta["metrics"] == {"x": 1.0}
    state = torch.load(path, weights_only=True)
    assert state["model"]["decoder.lstm.weight_ih_l0"].dtype == torch.float16
    assert state["model"]["basis"].dtype == torch.float32  # the basis keeps full precision
    torch.testing.assert_close(loaded.model.basis, model.basis)
    assert loaded.encoder is not None and loaded.encoder.category_codes is not None
    np.testing.assert_array_equal(loaded.encoder.category_codes, codes)
    assert "decoder.decon.0.weight" not in state["encoder"]["model"]  # inference part only
    content, emotion, identity = _inputs(config, 40)
    full = LandmarkPredictor(dataclasses.replace(loaded, model=model)).predict(
        content, emotion, identity
    )
    half = LandmarkPredictor(loaded).predict(content, emotion, identity)
    assert half.shape == (40, 68, 2) and half.dtype == np.float32
    np.testing.assert_allclose(half, full, atol=5e-3)


def test_bad_files_are_refused(tmp_path: Path) -> None:
    model = _trained_like(Audio2LandmarkConfig.small())
    good = tmp_path / "good.pt"
    save_landmark_weights(good, model, encoder=None, category_codes=None, seq_len=32)
    state = load_checkpoint(good)

    def refused(name: str, change: dict[str, object], match: str) -> None:
        bad = tmp_path / name
        save_checkpoint(bad, {**state, **change})
        with pytest.raises(InvalidInputError, match=match):
            load_audio2landmark(bad)

    paper = dataclasses.asdict(Audio2LandmarkConfig.paper())
    refused("size.pt", {"model_config": paper}, "not a paper audio-to-landmark model|shape")
    nan = dict(state["model"])
    nan["decoder.lstm.weight_hh_l1"] = torch.full_like(nan["decoder.lstm.weight_hh_l1"], np.nan)
    refused("nan.pt", {"model": nan}, r"weight_hh_l1.*NaN")
    refused("format.pt", {"format": "evp-studio.disentangle"}, "not an audio-to-landmark")
    refused("version.pt", {"format_version": 9}, "version 9")
    refused("labels.pt", {"emotions": ["happy"] * 8}, "order")
    paper_encoder = {"model_config": dataclasses.asdict(DisentangleConfig.paper())}
    paper_encoder["model"] = {}
    refused("encoder.pt", {"encoder": paper_encoder}, "encoder")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_audio2landmark(tmp_path / "junk.pt")
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_audio2landmark(tmp_path / "missing.pt")


def test_predictor_chunks_long_input_smoothly(tmp_path: Path) -> None:
    config = Audio2LandmarkConfig.small()
    model = _trained_like(config)
    path = tmp_path / "a2l.pt"
    save_landmark_weights(path, model, encoder=None, category_codes=None, seq_len=16, half=False)
    predictor = LandmarkPredictor.load(path)
    content, emotion, identity = _inputs(config, 100)
    out = predictor.predict(content, emotion, identity)
    assert out.shape == (100, 68, 2) and np.isfinite(out).all()
    one_run = predictor.predict(content, emotion, identity, chunk=100)
    np.testing.assert_allclose(out[:8], one_run[:8], atol=1e-5)  # first half-chunk: chunk 0 only
    # blending never jumps more than the predictions themselves move between frames
    assert np.abs(np.diff(out, axis=0)).max() <= 1.5 * np.abs(np.diff(one_run, axis=0)).max()
    short = predictor.predict(content[:5], emotion[:5], identity)
    np.testing.assert_allclose(short, one_run[:5], atol=1e-5)
    with pytest.raises(InvalidInputError, match="predict"):
        predictor.predict(content, emotion[:-1], identity)
    bad = content.copy()
    bad[3, 0] = np.nan
    with pytest.raises(InvalidInputError, match="content holds NaN"):
        predictor.predict(bad, emotion, identity)


def test_chunks_run_in_batches_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evp_studio.models import audio2landmark_io  # noqa: PLC0415

    config = Audio2LandmarkConfig.small()
    path = tmp_path / "a2l.pt"
    model = _trained_like(config)
    save_landmark_weights(path, model, encoder=None, category_codes=None, seq_len=16, half=False)
    predictor = LandmarkPredictor.load(path)
    content, emotion, identity = _inputs(config, 100)  # 12 chunks of 16 frames
    calls: list[int] = []
    run = predictor._run

    def counted(*args: object) -> np.ndarray:
        calls.append(len(args[3]))  # type: ignore[arg-type]
        return run(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(predictor, "_run", counted)
    together = predictor.predict(content, emotion, identity)
    monkeypatch.setattr(audio2landmark_io, "_CHUNK_BATCH", 5)
    batched = predictor.predict(content, emotion, identity)
    assert calls == [12, 5, 5, 2]
    np.testing.assert_allclose(batched, together, atol=1e-5)


def test_default_weights_from_the_registry(tmp_path: Path) -> None:
    spec = weights.REGISTRY["audio2landmark-small"]
    assert spec.bundled and spec.filename == "audio2landmark_small.pt"
    if not spec.bundled_path() or not spec.bundled_path().is_file():  # type: ignore[union-attr]
        with pytest.raises(ModelNotFoundError, match="audio2landmark_small.pt"):
            LandmarkPredictor.load()
    path = tmp_path / "mine.pt"
    save_landmark_weights(
        path,
        _trained_like(Audio2LandmarkConfig.small()),
        encoder=_encoder(),
        category_codes=None,
        seq_len=32,
    )
    weights.install("audio2landmark-small", path)
    predictor = LandmarkPredictor.load()
    assert predictor.encoder is not None and predictor.content_dim == 128
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(InvalidInputError):
        weights.install("audio2landmark-small", tmp_path / "junk.pt")


def test_example_landmarks_ignores_lost_frames() -> None:
    frames = np.random.default_rng(0).normal(size=(5, 68, 2)).astype(np.float32)
    frames[2] = np.nan
    np.testing.assert_allclose(example_landmarks(frames), frames[[0, 1, 3, 4]].mean(0), atol=1e-6)
    with pytest.raises(InvalidInputError, match="no frame"):
        example_landmarks(np.full((3, 68, 2), np.nan))
