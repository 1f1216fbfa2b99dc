"""evaluate_dirs and ``evp-studio eval`` end to end on tiny generated clips."""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from evp_studio.cli_eval import add_eval_commands
from evp_studio.errors import InvalidInputError
from evp_studio.eval import (
    COLUMNS,
    EvalReport,
    evaluate_dirs,
    psnr_frames,
    ssim_frames,
    train_emotion_classifier,
)
from evp_studio.media import ExportConfig, VideoReader, VideoWriter
from tests.core.test_eval_support import emotion_clips, random_similarity, talking

HEADER = (
    "| Method/Score | M-LD ↓ | M-LVD ↓ | F-LD ↓ | F-LVD ↓ | SSIM ↑ | PSNR ↑ | FID ↓ "
    "| Emotion acc. ↑ |"
)
CLIP_A = "M003/video/front/happy/level_1/001"  # label from the MEAD path: happy
CLIP_B = "extra/clip_b"  # label "sad" in the ground-truth npz
CLIP_C = "M003/video/front/angry/level_1/002"  # ground truth only: skipped
CLIP_D = "clip_d"  # prediction 2 frames shorter, same landmarks, no label
N = 8
D_SHIFT, JITTER = 2.0, 1.0  # face-frame px


def _frames(n: int, side: int = 64, seed: int = 0) -> np.ndarray:
    base = skimage.data.astronaut()[::8, ::8][:side, :side]
    return np.stack([np.roll(base, 2 * t + seed, axis=1) for t in range(n)])


def _write(folder: Path, key: str, frames: np.ndarray | None, **npz: object) -> None:
    path = folder / key
    path.parent.mkdir(parents=True, exist_ok=True)
    if frames is not None:
        cfg = ExportConfig(preset="ultrafast")
        h, w = frames.shape[1:3]
        with VideoWriter(path.with_suffix(".mp4"), width=w, height=h, frame_rate=Fraction(25),
                         config=cfg) as writer:  # fmt: skip
            for frame in frames:
                writer.write(frame)
    if npz:
        np.savez(path.with_suffix(".npz"), **npz)  # type: ignore[arg-type]


def _mouth_moved(face: np.ndarray, offsets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    moved = face.copy()
    moved[:, 48:68] += offsets[:, None]
    return random_similarity(moved, rng)


class AlwaysHappy:
    """Emotion classifier stub: every clip is happy."""

    def predict(self, sequence: np.ndarray) -> np.ndarray:
        return np.eye(8)[4]


@pytest.fixture(scope="module")
def clip_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval_clips")
    pred, gt = root / "pred", root / "gt"
    rng = np.random.default_rng(0)
    face = talking(N, rng)
    frames_a, frames_b = _frames(N), _frames(N, seed=5)
    noisy_b = np.clip(frames_b + rng.normal(0, 6, frames_b.shape), 0, 255).astype(np.uint8)
    jitter = np.stack([JITTER * np.where(np.arange(N) % 2 == 0, 1.0, -1.0), np.zeros(N)], 1)
    gt_marks = random_similarity(face, rng)
    _write(gt, CLIP_A, frames_a, landmarks=gt_marks)
    _write(pred, CLIP_A, frames_a, landmarks=_mouth_moved(face, np.full((N, 2), [D_SHIFT, 0]), rng))
    _write(gt, CLIP_B, frames_b, lmk2d=np.dstack([gt_marks, np.zeros((N, 68))]), label="sad")
    _write(pred, CLIP_B, noisy_b, landmarks=_mouth_moved(face, jitter, rng))
    _write(gt, CLIP_C, frames_a, landmarks=gt_marks)
    _write(gt, CLIP_D, _frames(N, seed=9), landmarks=gt_marks)
    _write(pred, CLIP_D, _frames(N - 2, seed=9), landmarks=gt_marks)
    return pred, gt


def _expected_image_metrics(pred: Path, gt: Path) -> tuple[float, float, int]:
    ssims, psnrs = [], []
    for key in (CLIP_A, CLIP_B, CLIP_D):
        with VideoReader((pred / key).with_suffix(".mp4")) as rp:
            with VideoReader((gt / key).with_suffix(".mp4")) as rg:
                n = min(rp.frame_count, rg.frame_count)
                p, g = np.stack(list(rp.iter_frames(0, n))), np.stack(list(rg.iter_frames(0, n)))
        ssims.append(ssim_frames(p, g))
        psnrs.append(psnr_frames(p, g))
    all_psnr = np.concatenate(psnrs)
    finite = all_psnr[np.isfinite(all_psnr)]
    return float(np.concatenate(ssims).mean()), float(finite.mean()), all_psnr.size - finite.size


def test_evaluate_dirs_gives_the_known_values(clip_dirs: tuple[Path, Path]) -> None:
    pred, gt = clip_dirs
    report = evaluate_dirs(pred, gt, extractor="pixels", classifier=AlwaysHappy())
    m = report.metrics
    assert m["M-LD"] is not None and m["M-LVD"] is not None
    assert [c.key for c in report.clips] == sorted([CLIP_A, CLIP_B, CLIP_D])
    # frame-weighted: A has a constant mouth error of 2, B a jitter of 1, D none; 8 frames each
    assert m["M-LD"] == pytest.approx((D_SHIFT * N + JITTER * N) / (3 * N), rel=1e-9)
    assert m["F-LD"] == pytest.approx(m["M-LD"] * 20 / 68, rel=1e-9)
    assert m["M-LVD"] == pytest.approx(2 * JITTER * (N - 1) / (3 * (N - 1)), rel=1e-9)
    assert m["F-LVD"] == pytest.approx(m["M-LVD"] * 20 / 68, rel=1e-9)
    ssim_value, psnr_value, identical = _expected_image_metrics(pred, gt)
    assert m["SSIM"] == pytest.approx(ssim_value, rel=1e-12)
    assert m["PSNR"] == pytest.approx(psnr_value, rel=1e-12)
    assert identical >= N  # clip A is the same video: every frame decodes identically
    assert f"{identical} of {3 * N - 2} frames are identical" in report.notes["PSNR"]
    assert report.fid is not None and report.fid.n_pred == report.fid.n_gt == 3 * N - 2
    assert m["FID"] is not None and m["FID"] > 0 and report.fid.biased
    assert m["Emotion acc."] == pytest.approx(50.0)  # A is happy, B is sad
    assert report.emotion_accuracy_gt == pytest.approx(50.0)
    assert report.skipped == [CLIP_C]
    assert f"{CLIP_C}: no prediction for this ground truth; skipped" in report.warnings
    assert any("6 (pred) and 8 (gt) frames" in w for w in report.warnings)


def test_report_json_and_markdown_have_the_paper_columns(clip_dirs: tuple[Path, Path]) -> None:
    pred, gt = clip_dirs
    report = evaluate_dirs(pred, gt, extractor="pixels")
    data = json.loads(report.to_json())
    assert data["columns"] == list(COLUMNS) == [
        "M-LD", "M-LVD", "F-LD", "F-LVD", "SSIM", "PSNR", "FID", "Emotion acc.",
    ]  # fmt: skip
    assert data["metrics"]["M-LD"] == pytest.approx(report.metrics["M-LD"])
    assert data["metrics"]["Emotion acc."] is None
    assert data["notes"]["Emotion acc."] == "no emotion classifier given"
    clip_a = next(c for c in data["clips"] if c["key"] == CLIP_A)
    assert clip_a["PSNR"] is None and clip_a["SSIM"] == pytest.approx(1.0)
    assert any("infinite" in note for note in clip_a["notes"])
    assert clip_a["label"] == "happy"
    assert data["skipped"] == [CLIP_C]
    lines = report.to_markdown().splitlines()
    assert "Clips: 3 compared, 1 skipped." in lines
    row = lines.index(HEADER)
    cells = [c.strip() for c in lines[row + 2].strip("|").split("|")]
    assert cells[1] == f"{report.metrics['M-LD']:.2f}"
    assert cells[-1].startswith("—")  # emotion accuracy cannot be computed ...
    units = lines[row + 4]
    assert units.startswith("Units: M-/F-LD px and M-/F-LVD px per frame, of a face whose")
    assert "outer-eye-corner distance is 100 px" in units and "FID squared 'pixels'" in units
    footnote = next(x for x in lines if "Emotion acc.: no emotion classifier given" in x)
    assert footnote[0] == cells[-1][-1]  # ... and its footnote says why


def test_only_psnr_of_identical_clips_is_infinite_and_null_in_json(tmp_path: Path) -> None:
    frames = _frames(3)
    for folder in (tmp_path / "p", tmp_path / "g"):
        _write(folder, "same", frames)
    report = evaluate_dirs(tmp_path / "p", tmp_path / "g", extractor="pixels")
    assert report.metrics["PSNR"] == float("inf") and report.metrics["SSIM"] == 1.0
    data = json.loads(report.to_json())
    assert data["metrics"]["PSNR"] is None and "infinite PSNR" in data["notes"]["PSNR"]
    assert data["metrics"]["M-LD"] is None and "landmarks" in data["notes"]["M-LD"]
    assert "| ∞" in report.to_markdown()


def test_landmarks_detected_on_real_face_videos(tmp_path: Path) -> None:
    img = skimage.data.astronaut()[:256, 128:384]
    frames = np.stack([np.roll(img, 3 * t, axis=0) for t in range(3)])
    for folder in (tmp_path / "p", tmp_path / "g"):
        _write(folder, "face", frames)
    report = evaluate_dirs(tmp_path / "p", tmp_path / "g", landmarks_source="detect")
    assert isinstance(report, EvalReport)
    assert report.metrics["M-LD"] == pytest.approx(0.0, abs=1e-9)
    assert report.clips[0].filled_frames == 0 and report.clips[0].landmark_frames == 3
    assert report.settings["fid_features"] == "dlib-face" and report.fid_no_face_frames == 0
    assert report.fid is not None and report.fid.dim == 128 and report.fid.biased


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evp-studio")
    add_eval_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cli_writes_json_and_markdown_and_prints_the_table(
    clip_dirs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pred, gt = clip_dirs
    clips, labels = emotion_clips(2, seed=1, frames=(26, 30))
    model, _ = train_emotion_classifier(clips, labels, epochs=2)
    model.save(tmp_path / "emotion.pt")
    out = tmp_path / "reports" / "run1"
    args = _parser().parse_args(
        ["eval", "--pred", str(pred), "--gt", str(gt), "-o", str(out), "--fid-features", "pixels",
         "--classifier", str(tmp_path / "emotion.pt")]
    )  # fmt: skip
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert HEADER in printed.splitlines()
    assert (tmp_path / "reports" / "run1.md").read_text(encoding="utf-8") == printed
    data = json.loads((tmp_path / "reports" / "run1.json").read_text(encoding="utf-8"))
    assert data["settings"]["fid_features"] == "pixels"
    assert 0.0 <= data["metrics"]["Emotion acc."] <= 100.0  # 2 labelled clips, loaded model


def test_cli_refuses_bad_folders(clip_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    pred, gt = clip_dirs
    empty = tmp_path / "empty"
    empty.mkdir()
    unrelated = tmp_path / "unrelated"
    _write(unrelated, "other", None, landmarks=np.zeros((2, 68, 2)))
    cases = [
        (tmp_path / "missing", gt, "missing: --pred folder does not exist"),
        (pred, empty, "empty: --gt folder holds no clip"),
        (unrelated, gt, "no clip is in both folders"),
    ]
    for p, g, message in cases:
        args = _parser().parse_args(["eval", "--pred", str(p), "--gt", str(g)])
        with pytest.raises(InvalidInputError, match=message):
            args.func(args)
