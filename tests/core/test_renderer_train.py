"""Training a tiny renderer on a synthetic clip: losses, previews, split, resume, inference."""

from __future__ import annotations

import csv
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

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


def _frames_and_maps(
    renderer: NeuralRenderer, video: Path, lm: np.ndarray, start: int, stop: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Frames ``start .. stop-1`` of ``video`` and their guidance maps in the renderer's crop."""
    guidance = default_guidance(renderer.size)
    with VideoReader(video) as reader:
        frames = list(reader.iter_frames(start, stop))
    maps = [
        guidance.make(renderer.crop_frame(f), renderer.crop_landmarks(lm[start + i]))
        for i, f in enumerate(frames)
    ]
    return frames, maps


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
    frames, maps = _frames_and_maps(renderer, video, lm, 30, 36)
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


def test_rollout_grows_from_teacher_forcing_to_its_length() -> None:
    from evp_studio.train.renderer import rollout_length  # noqa: PLC0415

    config = RendererTrainConfig(preset="tiny", steps=100, rollout=3, rollout_ramp=0.5)
    lengths = [rollout_length(s, config) for s in range(100)]
    assert lengths[0] == 1 and lengths[24] == 1
    assert lengths[25] == 2 and lengths[49] == 2
    assert set(lengths[50:]) == {3}
    assert lengths == sorted(lengths)
    forcing = RendererTrainConfig(preset="tiny", steps=100, rollout=1)
    assert {rollout_length(s, forcing) for s in range(100)} == {1}
    at_once = RendererTrainConfig(preset="tiny", steps=100, rollout=4, rollout_ramp=0.0)
    assert rollout_length(0, at_once) == 4


class _Recorder(torch.nn.Module):
    """A 'generator' that returns a constant image per call and records its guidance."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[float, torch.Tensor]] = []

    def forward(self, guidance: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        self.calls.append((float(guidance[0, 0, 0, 0]), prev.clone()))
        return torch.full_like(prev[:, :3], 10.0 * len(self.calls))


def _sequence(r: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Guidance value = frame number t-R+1+k; frame value = its number t-R-1+j (t = 100)."""
    guidance = torch.stack([torch.full((1, 2, 4, 4), 100.0 - r + 1 + k) for k in range(r)], 1)
    frames = torch.stack([torch.full((1, 3, 4, 4), 100.0 - r - 1 + j) for j in range(r + 2)], 1)
    return guidance, frames


def test_teacher_forcing_feeds_the_real_previous_frames() -> None:
    from evp_studio.train.renderer import rollout_inputs  # noqa: PLC0415

    gen = _Recorder()
    guid, prev, real, seq = rollout_inputs(gen, *_sequence(3), 1)
    assert gen.calls == []
    assert float(guid[0, 0, 0, 0]) == 100 and float(real[0, 0, 0, 0]) == 100
    assert prev[0, :3].unique().tolist() == [99.0] and prev[0, 3:].unique().tolist() == [98.0]
    assert [float(seq[0, 3 * k, 0, 0]) for k in range(3)] == [98.0, 99.0, 100.0]


def test_generated_sequences_feed_the_generators_own_frames() -> None:
    from evp_studio.train.renderer import rollout_inputs  # noqa: PLC0415

    gen = _Recorder()
    guid, prev, real, seq = rollout_inputs(gen, *_sequence(3), 3)
    # frames 98 and 99 are generated, from real 97, 96 and then from the first output
    assert [g for g, _ in gen.calls] == [98.0, 99.0]
    first_prev = gen.calls[0][1]
    assert first_prev[0, :3].unique().tolist() == [97.0]
    assert first_prev[0, 3:].unique().tolist() == [96.0]
    assert gen.calls[1][1][0, :3].unique().tolist() == [10.0]  # the first generated frame
    assert prev[0, :3].unique().tolist() == [20.0] and prev[0, 3:].unique().tolist() == [10.0]
    assert float(guid[0, 0, 0, 0]) == 100 and float(real[0, 0, 0, 0]) == 100
    assert [float(seq[0, 3 * k, 0, 0]) for k in range(3)] == [98.0, 99.0, 100.0]
    with pytest.raises(ValueError, match="does not fit"):
        rollout_inputs(gen, *_sequence(3), 4)


def test_sequence_items_pair_each_map_with_its_frame() -> None:
    from evp_studio.render.neural import to_tensor  # noqa: PLC0415
    from evp_studio.train._renderer_data import RendererData, SequenceDataset  # noqa: PLC0415

    rng = np.random.default_rng(0)
    n, size = 12, 16
    frames = rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8)
    landmarks = rng.uniform(2, 14, (n, 68, 2)).astype(np.float32)
    usable = np.ones(n, bool)
    usable[6] = False
    data = RendererData(frames, landmarks, usable, (0, 0, size), (size, size), n_train=10)
    # a sequence of rollout 3 ending at t uses the landmarks of t-2, t-1, t
    assert data.train_targets(3).tolist() == [4, 5, 9]
    assert data.train_targets(1).tolist() == [2, 3, 4, 5, 7, 8, 9]
    made: list[tuple[int, int]] = []

    def make(frame: np.ndarray, lm: np.ndarray) -> np.ndarray:
        f = int(np.flatnonzero((frames == frame).all(axis=(1, 2, 3)))[0])
        k = int(np.flatnonzero((landmarks == lm).all(axis=(1, 2)))[0])
        made.append((f, k))
        return np.full((1, size, size), f, np.float32)

    from evp_studio.train._renderer_data import GuidanceSource  # noqa: PLC0415

    ds = SequenceDataset(data, GuidanceSource(1, make, {}), data.train_targets(3), rollout=3)
    g, x = ds[2]  # t = 9
    assert made == [(7, 7), (8, 8), (9, 9)]
    assert g.shape == (3, 1, size, size) and g[:, 0, 0, 0].tolist() == [7, 8, 9]
    assert x.shape == (5, 3, size, size)
    assert torch.equal(x, to_tensor(frames[5:10]))


def test_the_exported_renderer_is_small_and_renders_like_the_checkpoint(
    trained: RendererTrainResult, clip: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    from evp_studio.render.neural import export_renderer  # noqa: PLC0415

    video, lm = clip
    slim = export_renderer(trained.checkpoint, tmp_path / "r.pt", command="test")
    assert slim.stat().st_size < 0.25 * trained.checkpoint.stat().st_size
    state = load_checkpoint(slim)
    assert state["inference_only"] and state["command"] == "test"
    assert {"d_image", "opt_g"}.isdisjoint(state)
    full = NeuralRenderer.load(trained.checkpoint, video_hash=hash_media(video))
    small = NeuralRenderer.load(slim, video_hash=hash_media(video))
    assert small.box == full.box and small.warnings == []
    frames, maps = _frames_and_maps(full, video, lm, 30, 34)
    a = list(full.stream(iter(frames), iter(maps)))
    b = list(small.stream(iter(frames), iter(maps)))
    for x, y in zip(a[2:], b[2:], strict=True):
        assert np.abs(x.astype(int) - y.astype(int)).max() <= 3  # float16 weights
    with pytest.raises(InvalidInputError, match="not a renderer checkpoint"):
        save_checkpoint(tmp_path / "other.pt", {"format": "something else"})
        export_renderer(tmp_path / "other.pt", tmp_path / "never.pt")
    assert not (tmp_path / "never.pt").exists()


def test_cli_trains_and_exports_with_a_manifest(
    clip: tuple[Path, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json  # noqa: PLC0415

    from evp_studio.cli import main  # noqa: PLC0415

    video, _ = clip  # the CLI tracks the synthetic face with dlib, for real
    out = tmp_path / "run"
    code = main(
        ["train", "renderer", "--video", str(video), "--out", str(out), "--preset", "tiny",
         "--steps", "4", "--batch-size", "2", "--rollout", "2", "--preview-every", "2",
         "--checkpoint-every", "4", "--export", str(tmp_path / "renderer.pt")]
    )  # fmt: skip
    assert code == 0
    manifest = json.loads((tmp_path / "renderer.json").read_text())
    assert manifest["file"] == "renderer.pt" and len(manifest["sha256"]) == 64
    assert manifest["config"]["rollout"] == 2 and manifest["metrics"]["steps"] == 4
    assert "--rollout 2" in manifest["command"]
    assert "exported" in capsys.readouterr().out
