"""Training a tiny renderer on a synthetic clip: losses, previews, split, resume, inference."""

from __future__ import annotations

import csv
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import run_job
from evp_studio.media import VideoReader
from evp_studio.project import hash_media
from evp_studio.render.neural import NeuralRenderer
from evp_studio.train._renderer_data import default_guidance, split_point
from evp_studio.train.checkpoint import load_checkpoint, save_checkpoint
from evp_studio.train.renderer import RendererTrainConfig, RendererTrainResult, train_renderer
from tests.core.renderer_clips import write_face_clip

N_FRAMES = 40
CONFIG = RendererTrainConfig(
    preset="tiny", steps=30, batch_size=2, preview_every=10, checkpoint_every=20, eval_frames=8
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    return write_face_clip(tmp_path_factory.mktemp("clip") / "target.mp4", N_FRAMES)


@pytest.fixture(scope="module")
def trained(
    clip: tuple[Path, np.ndarray], tmp_path_factory: pytest.TempPathFactory
) -> RendererTrainResult:
    video, lm = clip
    out = tmp_path_factory.mktemp("run")
    return run_job(train_renderer(video, out, CONFIG, landmarks=lm))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_training_lowers_l1_and_writes_previews(trained: RendererTrainResult) -> None:
    l1 = [float(r["l1"]) for r in _rows(trained.losses_csv)]
    assert len(l1) == 30
    assert np.mean(l1[-5:]) < 0.6 * np.mean(l1[:5])
    assert [p.name for p in trained.previews] == [f"step_{s:06d}.png" for s in (10, 20, 30)]
    assert all(p.exists() for p in trained.previews)
    import cv2  # noqa: PLC0415

    grid = cv2.imread(str(trained.previews[-1]))
    assert grid.shape == (64, 3 * 64, 3)  # guidance | generated | real


def test_checkpoint_records_video_split_and_held_out_scores(
    trained: RendererTrainResult, clip: tuple[Path, np.ndarray]
) -> None:
    state = load_checkpoint(trained.checkpoint)
    video = state["video"]
    assert video["hash"] == hash_media(clip[0])
    assert video["n_train"] == 36 and video["n_holdout"] == 4  # the last 10 %
    assert len(video["crop_box"]) == 3
    held = state["metrics"]["held_out"]
    assert held["first_frame"] == 38 and held["frames"] == 2
    assert 15.0 < held["psnr"] < 99.0 and 0.0 < held["ssim"] <= 1.0
    assert state["step"] == 30 and state["guidance"]["channels"] == 15


def test_held_out_split_is_the_last_ten_percent() -> None:
    assert split_point(100, 0.1) == 90
    assert split_point(40, 0.1) == 36
    assert split_point(10, 0.1) == 7  # at least 3 held out
    with pytest.raises(InvalidInputError, match="too short"):
        split_point(5, 0.1)


def test_resume_continues_the_run(
    trained: RendererTrainResult, tmp_path: Path, clip: tuple[Path, np.ndarray]
) -> None:
    out = tmp_path / "run"
    shutil.copytree(trained.checkpoint.parent, out)
    longer = RendererTrainConfig(**{**CONFIG.to_dict(), "steps": 33})
    result = run_job(train_renderer(clip[0], out, longer, landmarks=clip[1]))
    assert result.steps == 33
    assert [int(r["step"]) for r in _rows(result.losses_csv)] == list(range(1, 34))
    assert [p.name for p in result.previews] == ["step_000033.png"]  # steps 1-30 not redone
    with pytest.raises(InvalidInputError, match="other settings"):
        other = RendererTrainConfig(**{**CONFIG.to_dict(), "lr": 1e-3})
        run_job(train_renderer(clip[0], out, other, landmarks=clip[1]))


def test_resume_from_another_videos_run_is_refused(
    trained: RendererTrainResult, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    shutil.copytree(trained.checkpoint.parent, out)
    other, lm = write_face_clip(tmp_path / "other.mp4", N_FRAMES, seed=1)
    with pytest.raises(InvalidInputError, match="another video"):
        run_job(train_renderer(other, out, CONFIG, landmarks=lm))


def test_stream_gives_two_real_frames_then_generated_ones(
    trained: RendererTrainResult, clip: tuple[Path, np.ndarray]
) -> None:
    video, lm = clip
    renderer = NeuralRenderer.load(trained.checkpoint, video_hash=hash_media(video))
    assert renderer.warnings == [] and renderer.size == 64
    guidance = default_guidance(64)
    with VideoReader(video) as reader:
        frames = list(reader.iter_frames(30, 36))
    maps = [
        guidance.make(renderer.crop_frame(f), renderer.crop_landmarks(lm[30 + i]))
        for i, f in enumerate(frames)
    ]
    out = list(renderer.stream(iter(frames), iter(maps)))
    assert len(out) == 6 and all(o.shape == frames[0].shape and o.dtype == np.uint8 for o in out)
    assert (out[0] == frames[0]).all() and (out[1] == frames[1]).all()
    x0, y0, side = renderer.box
    for o, f in zip(out[2:], frames[2:], strict=True):
        face = (slice(y0, y0 + side), slice(x0, x0 + side))
        assert not (o[face] == f[face]).all()  # generated
        diff = np.abs(o[face].astype(int) - f[face].astype(int)).mean()
        assert diff < 40  # and close to the real frame after 30 steps
    with pytest.raises(InvalidInputError, match="guidance"):
        list(renderer.stream(iter(frames), iter([m[:1] for m in maps])))


def test_a_checkpoint_of_another_video_warns(
    trained: RendererTrainResult, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        renderer = NeuralRenderer.load(trained.checkpoint, video_hash="sha256:someotherclip")
    assert len(renderer.warnings) == 1 and "another video" in renderer.warnings[0]
    assert "another video" in caplog.text


def test_bad_checkpoints_are_rejected(trained: RendererTrainResult, tmp_path: Path) -> None:
    state = load_checkpoint(trained.checkpoint)
    with pytest.raises(InvalidInputError, match="'tiny' renderer, not 'quality'"):
        NeuralRenderer.load(trained.checkpoint, preset="quality")

    nan = {**state, "generator": {k: v.clone() for k, v in state["generator"].items()}}
    key = next(k for k, v in nan["generator"].items() if v.is_floating_point())
    nan["generator"][key].fill_(float("nan"))
    save_checkpoint(tmp_path / "nan.pt", nan)
    with pytest.raises(InvalidInputError, match="NaN"):
        NeuralRenderer.load(tmp_path / "nan.pt")

    wrong = {**state, "model_config": {**state["model_config"], "preset": "nope"}}
    save_checkpoint(tmp_path / "preset.pt", wrong)
    with pytest.raises(InvalidInputError, match="preset"):
        NeuralRenderer.load(tmp_path / "preset.pt")

    sizes = {**state, "model_config": {**state["model_config"], "ngf": 16}}
    save_checkpoint(tmp_path / "sizes.pt", sizes)
    with pytest.raises(InvalidInputError, match="not a usable renderer"):
        NeuralRenderer.load(tmp_path / "sizes.pt")

    save_checkpoint(tmp_path / "other.pt", {"format": "something else"})
    with pytest.raises(InvalidInputError, match="not a renderer checkpoint"):
        NeuralRenderer.load(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInputError, match="cannot read"):
        NeuralRenderer.load(tmp_path / "junk.pt")


def test_config_validation() -> None:
    with pytest.raises(InvalidInputError, match="amp"):
        RendererTrainConfig(amp=True, device="cpu")
    with pytest.raises(InvalidInputError, match="preset"):
        RendererTrainConfig(preset="huge")
    with pytest.raises(InvalidInputError, match="holdout"):
        RendererTrainConfig(holdout=0.0)


def test_landmarks_of_another_length_are_refused(
    clip: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="frames but the landmarks cover"):
        run_job(train_renderer(clip[0], tmp_path, CONFIG, landmarks=clip[1][:-3]))


def test_cli_registers_the_command() -> None:
    from evp_studio.cli import build_parser  # noqa: PLC0415

    args = build_parser().parse_args(["train", "renderer", "--video", "v.mp4", "--out", "o"])
    assert args.preset == "fast" and args.steps == 20_000 and callable(args.func)
