"""Audio-to-landmark training on a tiny synthetic corpus: loss, checkpoints, resume, DDP, CLI."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from evp_studio.data.cache import FeatureCache
from evp_studio.data.mead import scan_mead
from evp_studio.data.synth import PRESETS, synth_corpus, with_overrides
from evp_studio.errors import Cancelled, InvalidInputError
from evp_studio.jobs import CancelToken, run_job
from evp_studio.models import DisentangleConfig, DisentangleModel
from evp_studio.models.audio2landmark_io import LandmarkPredictor, load_audio2landmark
from evp_studio.models.io import save_inference_weights
from evp_studio.train._landmark_data import (
    actor_identities,
    category_means,
    encode_windows,
    load_series,
)
from evp_studio.train.checkpoint import load_checkpoint
from evp_studio.train.landmarks import (
    LANDMARK_LOSS_COLUMNS,
    LandmarkTrainConfig,
    LandmarkTrainResult,
    train_landmarks,
)
from tests.core.ddp_support import assert_ranks_agree, train_on_two_ranks


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("a2l_corpus")
    run_job(synth_corpus(out, with_overrides(PRESETS["tiny"], video=False)))
    return out


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("a2l_cache")


@pytest.fixture(autouse=True)
def _shared_feature_cache(shared_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One feature cache for the module's runs (decoding audio is most of a tiny run)."""
    monkeypatch.setattr("evp_studio.train.landmarks.cache_dir", lambda: shared_cache)
    monkeypatch.setattr("evp_studio.eval.landmark_prediction.cache_dir", lambda: shared_cache)


@pytest.fixture(scope="module")
def encoder_file(
    corpus: Path, shared_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A small encoder with random weights and its category codes (no training needed)."""
    torch.manual_seed(7)
    model = DisentangleModel(DisentangleConfig.small()).eval()
    clips = scan_mead(corpus, require=("audio", "ground_truth")).clips
    series = list(load_series(clips, FeatureCache(shared_cache / "features")))
    path = tmp_path_factory.mktemp("encoder") / "encoder.pt"
    save_inference_weights(path, model, category_means(model, series, "cpu"), half=False)
    return path


@pytest.fixture(scope="module")
def fast(encoder_file: Path) -> LandmarkTrainConfig:
    return LandmarkTrainConfig(
        encoder=str(encoder_file),
        batch_size=8,
        seq_len=24,
        seq_stride=8,
        lr=1e-3,
        epochs=2,
        max_steps_per_epoch=12,
    )


@pytest.fixture(scope="module")
def trained(
    corpus: Path, fast: LandmarkTrainConfig, tmp_path_factory: pytest.TempPathFactory
) -> LandmarkTrainResult:
    return run_job(train_landmarks(corpus, tmp_path_factory.mktemp("run"), fast))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_loss_falls_and_csv(trained: LandmarkTrainResult) -> None:
    rows = _rows(trained.losses_csv)
    assert tuple(rows[0]) == LANDMARK_LOSS_COLUMNS
    assert [int(r["step"]) for r in rows] == list(range(1, 25))
    assert [int(r["epoch"]) for r in rows] == [0] * 12 + [1] * 12
    landmark = [float(r["landmark"]) for r in rows]
    assert np.mean(landmark[-6:]) < np.mean(landmark[:6])  # batch losses are noisy
    for r in rows:
        parts = float(r["landmark"]) + float(r["velocity"])  # lambda_vel = 1
        assert float(r["total"]) == pytest.approx(parts, rel=1e-5)
    assert trained.steps == 24 and trained.epochs == 2


def test_checkpoint_contents_and_frozen_encoder(
    trained: LandmarkTrainResult, encoder_file: Path
) -> None:
    state = torch.load(trained.checkpoint, map_location="cpu", weights_only=True)
    assert state["step"] == 24 and state["epoch"] == 2 and state["seq_len"] == 24
    assert state["config"]["lr"] == 1e-3 and state["config"]["finetune_encoders"] is False
    assert isinstance(state["git_revision"], str) and state["git_revision"]
    assert state["data"]["clips"] == 16 and state["data"]["sequences"] > 0
    assert len(state["data"]["encoder"]["sha256"]) == 64
    assert state["optimizer"]["param_groups"][0]["betas"] == (0.5, 0.999)
    assert len(state["metrics"]["epoch_losses"]) == 2
    original = torch.load(encoder_file, weights_only=True)
    for key, value in original["model"].items():
        torch.testing.assert_close(state["encoder"]["model"][key], value, rtol=0, atol=0)
    torch.testing.assert_close(state["encoder"]["category_codes"], original["category_codes"])
    loaded = load_audio2landmark(trained.checkpoint)
    assert loaded.encoder is not None and loaded.model.config.size == "small"
    basis = loaded.model.basis
    torch.testing.assert_close(basis.T @ basis, torch.eye(32), atol=1e-5, rtol=0)


def test_trained_model_beats_the_example_landmark(
    trained: LandmarkTrainResult, corpus: Path, shared_cache: Path
) -> None:
    """Whole clips through the predictor: 24 steps cut the error of predicting l_a alone."""
    predictor = LandmarkPredictor.load(trained.checkpoint)
    assert predictor.encoder is not None
    clips = scan_mead(corpus, require=("audio", "ground_truth")).clips
    series = list(load_series(clips, FeatureCache(shared_cache / "features")))
    identities = actor_identities(series)
    error, baseline = [], []
    for s in series:
        codes = encode_windows(predictor.encoder.model, s.windows, "cpu")
        identity = identities[s.clip.actor]
        out = predictor.predict(codes[:, :128], codes[:, 128:], identity)
        error.append(np.square(out - s.target).sum(-1).mean())
        baseline.append(np.square(identity - s.target).sum(-1).mean())
    assert np.mean(error) < 0.8 * np.mean(baseline)


def test_evaluation_report(trained: LandmarkTrainResult, corpus: Path) -> None:
    from evp_studio.eval.landmark_prediction import METRICS, evaluate_landmark_prediction

    report = run_job(evaluate_landmark_prediction(trained.checkpoint, corpus, split="paper"))
    assert report.clips == 16 and set(report.metrics) == {"audio", "category", "example"}
    assert all(np.isfinite(v[m]) and v[m] >= 0 for v in report.metrics.values() for m in METRICS)
    assert report.metrics["audio"]["F-LD"] < report.metrics["example"]["F-LD"]
    assert len(report.per_emotion) == 8 and "M-LVD" in report.format()
    with pytest.raises(InvalidInputError, match="split"):
        run_job(evaluate_landmark_prediction(trained.checkpoint, corpus, split="val"))


def test_predictor_on_a_trained_checkpoint(trained: LandmarkTrainResult, corpus: Path) -> None:
    from evp_studio.pipeline.encode import SpeechEncoder

    predictor = LandmarkPredictor.load(trained.checkpoint)
    assert predictor.encoder is not None
    clip = scan_mead(corpus, require=("audio", "ground_truth")).clips[0]
    codes = SpeechEncoder(predictor.encoder).encode_file(clip.audio)  # type: ignore[arg-type]
    identity = np.zeros((68, 2), np.float32)
    out = predictor.predict(codes.content, codes.emotion, identity)
    assert out.shape == (codes.n_frames, 68, 2) and np.isfinite(out).all()
    category = predictor.encoder.category_codes
    assert category is not None
    keyed = np.repeat(category[[4]], codes.n_frames, axis=0)  # happy, as a keyframe gives it
    assert predictor.predict(codes.content, keyed, identity).shape == out.shape


def test_resume_continues(
    trained: LandmarkTrainResult, fast: LandmarkTrainConfig, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    shutil.copytree(trained.checkpoint.parent, out)
    again = run_job(train_landmarks(corpus, out, fast))  # finished: nothing redone
    assert again.steps == 24 and len(_rows(out / "losses.csv")) == 24
    more = run_job(train_landmarks(corpus, out, dataclasses.replace(fast, epochs=3)))
    rows = _rows(out / "losses.csv")
    assert more.steps == 36 and [int(r["step"]) for r in rows] == list(range(1, 37))
    assert rows[:24] == _rows(trained.losses_csv)
    with pytest.raises(InvalidInputError, match="other settings"):
        run_job(train_landmarks(corpus, out, dataclasses.replace(fast, lr=1e-4)))


def test_deterministic_with_seed(
    trained: LandmarkTrainResult, fast: LandmarkTrainConfig, corpus: Path, tmp_path: Path
) -> None:
    short = dataclasses.replace(fast, epochs=1, max_steps_per_epoch=3)
    run_job(train_landmarks(corpus, tmp_path, short))
    assert _rows(tmp_path / "losses.csv") == _rows(trained.losses_csv)[:3]


def test_finetuned_encoders_change_and_cancel(
    fast: LandmarkTrainConfig, encoder_file: Path, corpus: Path, tmp_path: Path
) -> None:
    config = dataclasses.replace(
        fast, finetune_encoders=True, epochs=1, max_steps_per_epoch=2, batch_size=4
    )
    result = run_job(train_landmarks(corpus, tmp_path / "ft", config))
    state = load_checkpoint(result.checkpoint)
    original = torch.load(encoder_file, weights_only=True)
    key = "con_encoder.audio_eocder_fc.0.weight"
    assert not torch.equal(state["encoder"]["model"][key], original["model"][key])
    torch.testing.assert_close(  # the classifier Ce is not in the landmark loss
        state["encoder"]["model"]["classify.last_fc.weight"],
        original["model"]["classify.last_fc.weight"],
    )
    assert state["encoder"]["finetuned"] is True
    assert not torch.equal(state["encoder"]["category_codes"], original["category_codes"])
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        run_job(train_landmarks(corpus, tmp_path / "c", fast, cancel=cancel))


def test_bad_settings_are_refused(fast: LandmarkTrainConfig, corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="category_code_prob"):
        LandmarkTrainConfig(category_code_prob=2.0)
    with pytest.raises(InvalidInputError, match="size"):
        LandmarkTrainConfig(size="large")
    paper = dataclasses.replace(fast, size="paper")
    with pytest.raises(InvalidInputError, match="encoder gives 128/64"):
        run_job(train_landmarks(corpus, tmp_path / "p", paper))
    with pytest.raises(InvalidInputError, match="shorter than seq_len"):
        run_job(train_landmarks(corpus, tmp_path / "l", dataclasses.replace(fast, seq_len=500)))


def _train_ddp(corpus: str, out: str, enc: str) -> object:
    config = LandmarkTrainConfig(
        encoder=enc, batch_size=4, seq_len=24, seq_stride=8, epochs=1, max_steps_per_epoch=3
    )
    return run_job(train_landmarks(corpus, out, config, resume=False))


def test_ddp_two_cpu_ranks(corpus: Path, encoder_file: Path, tmp_path: Path) -> None:
    out, params = tmp_path / "ddp", tmp_path / "params"
    out.mkdir()
    train_on_two_ranks(_train_ddp, params, str(corpus), str(out), str(encoder_file))
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "losses.csv"]
    assert len(_rows(out / "losses.csv")) == 3
    assert_ranks_agree(params, load_checkpoint(out / "checkpoint.pt")["model"])


def test_cli_trains_exports_and_reports(
    corpus: Path, encoder_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from evp_studio.cli import main

    out, export = tmp_path / "run", tmp_path / "models" / "audio2landmark_small.pt"
    args = ["train", "landmarks", "--data", str(corpus), "--out", str(out)]
    args += ["--encoder", str(encoder_file), "--epochs", "1", "--batch-size", "4"]
    args += ["--seq-len", "24", "--max-steps-per-epoch", "2"]
    assert main([*args, "--export", str(export)]) == 0
    printed = capsys.readouterr().out
    assert "trained 1 epochs (2 steps)" in printed and str(out / "checkpoint.pt") in printed
    assert (out / "losses.csv").read_text().count("\n") == 3  # header + 2 steps
    manifest = json.loads(export.with_suffix(".json").read_text(encoding="utf-8"))
    from evp_studio.weights import file_sha256

    assert manifest["sha256"] == file_sha256(export) and manifest["seed"] == 0
    assert manifest["command"].startswith("evp-studio train landmarks --data")
    assert manifest["data"]["synth_config"]["actors"] == 2
    assert export.stat().st_size < (out / "checkpoint.pt").stat().st_size / 2  # float16
    assert load_audio2landmark(export).encoder is not None
    assert main([*args, "--lr", "-1"]) == 2
