"""Side outputs of an export (landmarks, guidance maps, keyframes), overlays, path checks."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from evp_studio.cli import main
from evp_studio.errors import Cancelled, ExportError, InvalidInputError
from evp_studio.jobs import CancelToken, run_job
from evp_studio.media import ExportConfig, VideoReader, probe
from evp_studio.pipeline import export_checks
from evp_studio.pipeline.export import (
    ExportResult,
    Overlays,
    SideOutputs,
    burn_timecode,
    export_project,
    make_overlay,
    plan_export,
)
from evp_studio.pipeline.export_checks import (
    PlannedOutput,
    check_outputs,
    estimate_video_bytes,
)
from evp_studio.pipeline.landmarks import ProjectLandmarks
from evp_studio.pipeline.side_outputs import (
    landmark_tracks,
    read_landmark_tracks,
    write_guidance_maps,
    write_keyframes,
    write_landmark_tracks,
)
from tests.core.export_clips import make_project, unwritable_folder
from tests.core.renderer_clips import write_face_clip


def _placed(lm: np.ndarray, target_index: np.ndarray) -> ProjectLandmarks:
    n = len(target_index)
    return ProjectLandmarks(
        canonical=np.zeros((n, 68, 2), np.float32),
        landmarks=lm[target_index] + 1.5,
        times_s=np.arange(n) / 25.0,
        target_index=target_index,
        silence=np.zeros(n, np.float32),
        emotion_codes=np.zeros((n, 4), np.float32),
        speech_frames=n,
    )


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    return write_face_clip(tmp_path_factory.mktemp("face") / "face.mp4", 12)


def _tracks() -> tuple[SimpleNamespace, ProjectLandmarks]:
    rng = np.random.default_rng(0)
    lm = (rng.uniform(10, 100, (8, 68, 2))).astype(np.float32)
    lost = np.zeros(8, bool)
    lost[3] = True
    placed = _placed(lm, np.array([0, 1, 2, 3, 4, 5, 6, 7, 6, 5], np.int64))
    placed.landmarks[7, 10] = np.nan  # no pose at output frame 7
    return SimpleNamespace(landmarks=lm, lost=lost), placed


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".json"])
def test_landmark_tracks_round_trip(tmp_path: Path, suffix: str) -> None:
    target, placed = _tracks()
    tracks = landmark_tracks(target, placed, start=2, stop=10, frame_rate=Fraction(30000, 1001))
    path = write_landmark_tracks(tmp_path / f"lm{suffix}", tracks)
    back = read_landmark_tracks(path)
    assert back.frames.tolist() == list(range(2, 10))
    assert back.target_frames.tolist() == [2, 3, 4, 5, 6, 7, 6, 5]
    assert back.face_lost.tolist() == [False, True, False, False, False, False, False, False]
    np.testing.assert_allclose(back.times_s, np.arange(2, 10) / 25.0)
    np.testing.assert_allclose(back.detected, target.landmarks[back.target_frames], atol=1e-3)
    expected = placed.landmarks[2:10]
    finite = np.isfinite(expected).all(axis=-1)
    np.testing.assert_allclose(back.predicted[finite], expected[finite], atol=1e-3)
    assert np.isnan(back.predicted[5, 10]).all() and np.isfinite(back.predicted[5, 11]).all()
    if suffix != ".csv":
        assert back.frame_rate == Fraction(30000, 1001)
    assert [p.name for p in tmp_path.iterdir()] == [f"lm{suffix}"]  # no temp file left


def test_landmark_csv_and_json_are_plain(tmp_path: Path) -> None:
    target, placed = _tracks()
    tracks = landmark_tracks(target, placed, start=0, stop=3)
    with open(write_landmark_tracks(tmp_path / "lm.csv", tracks), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and rows[1]["frame"] == "1" and float(rows[1]["time_s"]) == 0.04
    assert float(rows[2]["detected_y67"]) == pytest.approx(target.landmarks[2, 67, 1], abs=1e-3)
    data = json.loads(write_landmark_tracks(tmp_path / "lm.json", tracks).read_text())
    assert data["format"] == "evp-studio-landmarks" and data["units"] == "px"
    assert len(data["frames"][0]["predicted"]) == 68


def test_landmark_errors_name_the_file(tmp_path: Path) -> None:
    target, placed = _tracks()
    tracks = landmark_tracks(target, placed, start=0, stop=2)
    with pytest.raises(InvalidInputError, match=r"lm\.txt"):
        write_landmark_tracks(tmp_path / "lm.txt", tracks)
    with pytest.raises(ExportError, match="missing"):
        write_landmark_tracks(tmp_path / "missing" / "lm.npz", tracks)
    with pytest.raises(InvalidInputError, match="outside"):
        landmark_tracks(target, placed, start=5, stop=20)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InvalidInputError, match=r"bad\.json"):
        read_landmark_tracks(tmp_path / "bad.json")


def test_keyframes_json(tmp_path: Path) -> None:
    doc = make_project(tmp_path)
    data = json.loads(write_keyframes(tmp_path / "keys.json", doc.project).read_text())
    assert data["format"] == "evp-studio-keyframes" and data["frame_rate"] == "25/1"
    assert data["emotions"][4] == "happy" and len(data["emotions"]) == 8
    second = data["keyframes"][1]
    assert (second["frame"], second["emotion"], second["emotion_index"]) == (20, "sad", 6)
    assert second["intensity"] == 0.5 and second["easing"] == "linear"
    assert second["time_s"] == pytest.approx(0.8) and second["timecode"] == "00:00:00:20"


def test_guidance_maps_are_a_png_sequence(
    tmp_path: Path, face_clip: tuple[Path, np.ndarray]
) -> None:
    video, lm = face_clip
    placed = _placed(lm, np.arange(12))
    placed.landmarks[4] = np.nan  # no pose: the frame's own edges only
    folder = tmp_path / "guide"
    with VideoReader(video) as reader:
        n = run_job(write_guidance_maps(folder, reader, placed, start=2, stop=6))
        assert n == 4
        names = sorted(p.name for p in folder.iterdir())
        assert names == [f"guidance_{i:06d}.png" for i in range(2, 6)]
        img = cv2.imread(str(folder / names[0]), cv2.IMREAD_UNCHANGED)
        assert img.shape == (128, 128) and img.dtype == np.uint8
        assert 0.005 < (img > 128).mean() < 0.3  # edges and the face sketch
        # A new sequence replaces the old one whole.
        run_job(write_guidance_maps(folder, reader, placed, start=0, stop=2))
        assert sorted(p.name for p in folder.iterdir()) == [
            "guidance_000000.png",
            "guidance_000001.png",
        ]
        # A cancelled run leaves the previous sequence and no temp folder.
        token = CancelToken()
        job = write_guidance_maps(folder, reader, placed, start=0, stop=12, cancel=token)
        next(job)
        token.cancel()
        with pytest.raises(Cancelled):
            run_job(job)
    assert len(list(folder.iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guide"]
    (folder / "notes.txt").write_text("mine")
    with VideoReader(video) as reader, pytest.raises(ExportError, match="not guidance maps"):
        run_job(write_guidance_maps(folder, reader, placed, start=0, stop=2))


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    yield from unwritable_folder(tmp_path)


def test_output_checks(tmp_path: Path, unwritable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = tmp_path / "out.mp4"
    video.write_bytes(b"old")
    guide = tmp_path / "guide"
    check = check_outputs([PlannedOutput(video, 1000), PlannedOutput(guide, 1000, folder=True)])
    assert check.ok and check.existing == (video,)

    check = check_outputs([PlannedOutput(unwritable / "out.mp4", 1000)])
    assert not check.ok and str(unwritable) in check.messages[0]
    with pytest.raises(ExportError, match="cannot write|does not exist"):
        check.raise_for_problems()
    check = check_outputs([PlannedOutput(tmp_path / "nope" / "out.mp4")])
    assert "does not exist" in check.messages[0]
    check = check_outputs([PlannedOutput(tmp_path)])
    assert "is a folder" in check.messages[0]
    check = check_outputs([PlannedOutput(video), PlannedOutput(video)])
    assert "two outputs" in check.messages[0]
    guide.mkdir()
    (guide / "mine.txt").write_text("x")
    check = check_outputs([PlannedOutput(guide, folder=True)])
    assert "other files" in check.messages[0]

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        export_checks.shutil, "disk_usage", lambda _p: usage._replace(free=50 * 2**20)
    )
    assert check_outputs([PlannedOutput(video, 10 * 2**20)]).ok
    check = check_outputs([PlannedOutput(video, 100 * 2**20)])
    assert "not enough free space" in check.messages[0] and "52.4 MB is free" in check.messages[0]
    assert not list(tmp_path.glob(".evp-write-check-*"))


def test_size_estimates() -> None:
    def size(**kw: object) -> int:
        args: dict = {"frames": 250, "width": 512, "height": 512, "frame_rate": 25, **kw}
        return estimate_video_bytes(**args)

    h264 = size(export=ExportConfig(crf=18))
    assert 1e6 < h264 < 10e6  # 10 s at 512 px
    assert size(export=ExportConfig(crf=30)) < h264 < size(export=ExportConfig(crf=10))
    prores = ExportConfig(container="mov", video_codec="prores", prores_profile=3)
    assert size(export=prores) > 5 * h264


def test_overlays_draw_timecode_and_landmarks() -> None:
    frame = np.full((96, 128, 3), 120, np.uint8)
    stamped = burn_timecode(frame, "00:00:01:05")
    changed = np.abs(stamped.astype(int) - frame).max(axis=2) > 30
    assert changed[60:, :64].mean() > 0.05 and not changed[:40].any()
    lm = np.zeros((3, 68, 2), np.float32)
    lm[:, :, 0] = np.linspace(40, 90, 68)
    lm[:, :, 1] = 30 + 10 * np.sin(np.arange(68))
    overlay = make_overlay(Overlays(landmarks=True), frame_rate=Fraction(25), landmarks=lm)
    assert overlay is not None
    drawn = np.abs(overlay(2, frame).astype(int) - frame).max(axis=2) > 30
    assert drawn[15:45, 35:95].mean() > 0.05 and not drawn[60:].any()
    assert make_overlay(Overlays(), frame_rate=Fraction(25)) is None
    with pytest.raises(InvalidInputError):
        make_overlay(Overlays(landmarks=True), frame_rate=Fraction(25))


def test_export_project_writes_video_side_outputs_and_overlays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evp_studio.pipeline import render  # noqa: PLC0415

    predictions: list[object] = []
    real_project_landmarks = render.project_landmarks

    def counted(*args: object, **kwargs: object) -> object:
        predictions.append(args[0])
        return real_project_landmarks(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "project_landmarks", counted)
    doc = make_project(tmp_path)
    out = tmp_path / "out.mp4"
    side = SideOutputs(
        landmarks=(tmp_path / "lm.npz", tmp_path / "lm.csv"),
        guidance_dir=tmp_path / "guide",
        keyframes=tmp_path / "keys.json",
    )
    overlays = Overlays(landmarks=True, timecode=True)
    result = run_job(
        export_project(doc.project, out, side=side, overlays=overlays, frame_range=(5, 25))
    )
    assert isinstance(result, ExportResult) and result.render is not None
    assert len(predictions) == 1  # the side outputs' landmarks drive the render too
    assert set(result.side_outputs) == {*side.landmarks, side.guidance_dir, side.keyframes}
    info = probe(out)
    assert info.video is not None and info.video.frame_count == 20
    assert len(info.audio) == 1 and info.audio[0].codec == "aac"
    tracks = read_landmark_tracks(tmp_path / "lm.csv")
    assert tracks.frames.tolist() == list(range(5, 25))
    assert np.isfinite(tracks.predicted).all() and not tracks.face_lost.any()
    assert len(list((tmp_path / "guide").glob("guidance_*.png"))) == 20

    plain = tmp_path / "plain.mp4"
    run_job(export_project(doc.project, plain, frame_range=(5, 25)))
    with VideoReader(out) as a, VideoReader(plain) as b:
        diff = np.abs(a.read(10).astype(int) - b.read(10)).max(axis=2) > 60
    h = diff.shape[0]
    assert diff[int(0.85 * h) :, :80].mean() > 0.05  # the timecode, bottom left
    pts = tracks.predicted[10]
    x0, y0 = pts.min(axis=0).astype(int)
    x1, y1 = pts.max(axis=0).astype(int)
    assert diff[y0 : y1 + 1, x0 : x1 + 1].mean() > 0.02  # the landmark lines on the face
    assert diff[: y0 - 10].mean() < 0.01  # nothing above the face


def test_export_refuses_an_unwritable_folder_before_work(tmp_path: Path, unwritable: Path) -> None:
    doc = make_project(tmp_path)
    with pytest.raises(ExportError, match=str(unwritable)):
        run_job(export_project(doc.project, unwritable / "out.mp4"))
    planned = plan_export(doc.project, tmp_path / "x.mp4", frame_range=(0, 10))
    assert planned[0].bytes < plan_export(doc.project, tmp_path / "x.mp4")[0].bytes


def test_cli_render_with_side_outputs(tmp_path: Path) -> None:
    doc = make_project(tmp_path)
    project = doc.save(tmp_path / "p.evp")
    out = tmp_path / "cli.mp4"
    args = ["render", str(project), "-o", str(out), "--range", "0:6"]
    extra = [
        "--landmarks-out",
        str(tmp_path / "lm.json"),
        "--keyframes-out",
        str(tmp_path / "k.json"),
    ]
    assert (
        main([*args, *extra, "--guidance-dir", str(tmp_path / "g"), "--overlay", "timecode"]) == 0
    )
    assert probe(out).video.frame_count == 6  # type: ignore[union-attr]
    assert len(read_landmark_tracks(tmp_path / "lm.json")) == 6
    assert json.loads((tmp_path / "k.json").read_text())["keyframes"][0]["emotion"] == "happy"
    assert len(os.listdir(tmp_path / "g")) == 6
    assert main([*args, "--landmarks-out", str(tmp_path / "lm.txt")]) == 2
