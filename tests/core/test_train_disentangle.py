"""Disentanglement training on a tiny synthetic corpus: pairs, losses, checkpoints, DDP."""

from __future__ import annotations

import csv
import dataclasses
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
from evp_studio.train import (
    LOSS_COLUMNS,
    DisentangleTrainConfig,
    TrainResult,
    build_pair_windows,
    load_checkpoint,
    train_disentangle,
)
from evp_studio.train.disentangle import category_codes
from tests.core.ddp_support import assert_ranks_agree, train_on_two_ranks

FAST = DisentangleTrainConfig(batch_size=8, epochs=2, max_steps_per_epoch=6, window_stride=4)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train_corpus")
    run_job(synth_corpus(out, with_overrides(PRESETS["tiny"], video=False)))
    return out


@pytest.fixture(scope="module")
def trained(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    out = tmp_path_factory.mktemp("run")
    return run_job(train_disentangle(corpus, out, FAST))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_pair_dataset_shapes_labels_alignment(corpus: Path, tmp_path: Path) -> None:
    clips = scan_mead(corpus, require=("audio",)).clips
    ds = build_pair_windows(corpus, clips, cache=FeatureCache(tmp_path / "c"), window_stride=2)
    assert ds.summary["pairing"] == "same_id" and ds.summary["pairs"] == 2 * 28
    assert any((tmp_path / "c").rglob("*.npz"))  # per-clip MFCC cached
    same, other = [], []
    for index in range(0, len(ds), max(1, len(ds) // 60)):
        x_im, x_jn, x_in, x_jm, m, n = ds[index]
        assert all(t.shape == (1, 28, 12) and t.dtype == torch.float32 for t in ds[index][:4])
        assert m != n and 0 <= m < 8 and 0 <= n < 8
        same.append(float((x_im - x_in).abs().mean()))  # content i, emotions m and n
        other.append(float((x_im - x_jm).abs().mean()))  # contents i and j, emotion m
    assert np.mean(same) < np.mean(other)


def test_pair_dataset_refuses_unpairable(corpus: Path) -> None:
    angry = [c for c in scan_mead(corpus, require=("audio",)).clips if c.emotion == "angry"]
    with pytest.raises(InvalidInputError, match="no emotion pairs"):
        build_pair_windows(corpus, angry, cache=None)


def test_training_loss_falls_and_csv(trained: TrainResult) -> None:
    rows = _rows(trained.losses_csv)
    assert tuple(rows[0]) == LOSS_COLUMNS
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    assert [int(r["epoch"]) for r in rows] == [0] * 6 + [1] * 6
    total = [float(r["total"]) for r in rows]
    assert np.mean(total[-3:]) < np.mean(total[:3])
    for r in rows:
        parts = sum(float(r[k]) for k in ("cross", "self", "cla", "con"))
        assert float(r["total"]) == pytest.approx(parts, rel=1e-5)
    assert trained.steps == 12 and trained.epochs == 2


def test_checkpoint_round_trip_weights_only(trained: TrainResult) -> None:
    state = torch.load(trained.checkpoint, map_location="cpu", weights_only=True)
    assert state["step"] == 12 and state["epoch"] == 2
    assert state["config"]["ablate"] == [] and state["config"]["lr"] == 2e-4
    assert isinstance(state["git_revision"], str) and state["git_revision"]
    assert state["data"]["items"] > 0 and len(state["metrics"]["epoch_losses"]) == 2
    model = DisentangleModel(DisentangleConfig.small())
    model.load_state_dict(state["model"])
    assert state["optimizer"]["param_groups"][0]["betas"] == (0.5, 0.999)
    assert load_checkpoint(trained.checkpoint)["step"] == 12


def test_category_codes(trained: TrainResult, corpus: Path) -> None:
    d_e = DisentangleConfig.small().emotion_dim
    codes = load_checkpoint(trained.checkpoint)["category_codes"]
    assert codes.shape == (8, d_e) and torch.isfinite(codes).all()
    np.testing.assert_array_equal(codes.numpy(), trained.category_codes)
    two = [c for c in scan_mead(corpus, require=("audio",)).clips if c.emotion in ("angry", "sad")]
    ds = build_pair_windows(corpus, two, cache=None, window_stride=8)
    partial = category_codes(DisentangleModel(DisentangleConfig.small()), ds, "cpu")
    nan_rows = torch.isnan(partial).all(dim=1).tolist()
    assert nan_rows == [label not in (0, 6) for label in range(8)]


def test_resume_continues(trained: TrainResult, tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "run"
    shutil.copytree(trained.checkpoint.parent, out)
    again = run_job(train_disentangle(corpus, out, FAST))  # finished: nothing redone
    assert again.steps == 12 and len(_rows(out / "losses.csv")) == 12
    more = run_job(train_disentangle(corpus, out, dataclasses.replace(FAST, epochs=3)))
    rows = _rows(out / "losses.csv")
    assert more.steps == 18 and [int(r["step"]) for r in rows] == list(range(1, 19))
    assert rows[:12] == _rows(trained.losses_csv)
    with pytest.raises(InvalidInputError, match="other settings"):
        run_job(train_disentangle(corpus, out, dataclasses.replace(FAST, lr=1e-3)))


def test_deterministic_with_seed(trained: TrainResult, corpus: Path, tmp_path: Path) -> None:
    short = dataclasses.replace(FAST, epochs=1, max_steps_per_epoch=3)
    run_job(train_disentangle(corpus, tmp_path, short))
    assert _rows(tmp_path / "losses.csv") == _rows(trained.losses_csv)[:3]


def test_ablate_cla_and_cancel(corpus: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(FAST, epochs=1, max_steps_per_epoch=2, ablate=frozenset({"cla"}))
    result = run_job(train_disentangle(corpus, tmp_path / "a", config))
    rows = _rows(result.losses_csv)
    assert len(rows) == 2 and all(float(r["cla"]) == 0.0 for r in rows)
    assert all(float(r["cross"]) > 0 and float(r["con"]) > 0 for r in rows)
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        run_job(train_disentangle(corpus, tmp_path / "b", config, cancel=cancel))
    with pytest.raises(InvalidInputError, match="ablate"):
        DisentangleTrainConfig(ablate=frozenset({"triplet"}))


def _train_ddp(corpus: str, out: str) -> object:
    config = dataclasses.replace(FAST, epochs=1, max_steps_per_epoch=3)
    return run_job(train_disentangle(corpus, out, config, resume=False))


def test_ddp_two_cpu_ranks(corpus: Path, tmp_path: Path) -> None:
    out, params = tmp_path / "ddp", tmp_path / "params"
    out.mkdir()
    train_on_two_ranks(_train_ddp, params, str(corpus), str(out))
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "losses.csv"]
    assert len(_rows(out / "losses.csv")) == 3
    assert_ranks_agree(params, load_checkpoint(out / "checkpoint.pt")["model"])


def test_cli_trains_and_reports(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json  # noqa: PLC0415

    from evp_studio.cli import main  # noqa: PLC0415
    from evp_studio.models.io import load_disentangle  # noqa: PLC0415
    from evp_studio.weights import file_sha256  # noqa: PLC0415

    out = tmp_path / "run"
    common = ["train", "disentangle", "--data", str(corpus), "--out", str(out)]
    small = ["--epochs", "1", "--batch-size", "4", "--max-steps-per-epoch", "2"]
    export = tmp_path / "models" / "enc.pt"
    args = [*common, *small, "--pretrain-steps", "3", "--export", str(export)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "trained 1 epochs (2 steps)" in printed and str(out / "checkpoint.pt") in printed
    assert (out / "losses.csv").read_text().count("\n") == 3  # header + 2 steps
    # The export is the inference part with a manifest that reproduces and checks it.
    loaded = load_disentangle(export)
    assert not loaded.has_decoder and loaded.category_codes is not None
    manifest = json.loads(export.with_suffix(".json").read_text())
    assert manifest["sha256"] == file_sha256(export) and manifest["seed"] == 0
    assert manifest["command"].startswith("evp-studio train disentangle --data")
    assert "--pretrain-steps 3" in manifest["command"] and "--export" not in manifest["command"]
    assert manifest["data"]["synth_config"]["seed"] == 0
    assert set(manifest["metrics"]["pretrain"]) >= {"emotion_accuracy", "viseme_accuracy"}
    assert manifest["metrics"]["steps"] == 2
    assert main([*common, *small, "--lr", "-1"]) == 2
