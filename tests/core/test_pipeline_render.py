"""End to end: the bundled demo project rendered with the warp renderer and default weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evp_studio.cli import main
from evp_studio.errors import ExportError, InvalidInputError
from evp_studio.jobs import run_job
from evp_studio.media import VideoReader, load_audio, probe
from evp_studio.paths import resource_path
from evp_studio.pipeline.render import render_project
from evp_studio.project import load_project

DEMO = resource_path("demo/demo.evp")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "demo.mp4"
    assert main(["render", str(DEMO), "-o", str(out), "--range", "100:140"]) == 0
    return out


def test_demo_renders_a_playable_file_with_the_speech(rendered: Path) -> None:
    info = probe(rendered)
    assert info.video is not None and info.video.frame_count == 40
    assert info.video.codec == "h264" and (info.video.width, info.video.height) == (512, 512)
    assert len(info.audio) == 1 and info.audio[0].codec == "aac"
    # The sound is the speech from 100/25 s to 140/25 s of the project's timeline.
    project = load_project(DEMO)
    assert project.speech is not None
    speech = load_audio(project.speech.media.resolve(), sample_rate=16000)
    got = load_audio(rendered, sample_rate=16000)
    expected = speech[4 * 16000 : 4 * 16000 + got.shape[0]]
    assert abs(got.shape[0] - 1.6 * 16000) < 0.05 * 16000
    corr = np.corrcoef(got[: expected.shape[0]], expected)[0, 1]
    assert corr > 0.8  # AAC round trip of the same stretch of speech


def test_the_face_moves_and_the_background_stays(rendered: Path) -> None:
    project = load_project(DEMO)
    assert project.target is not None
    with VideoReader(rendered) as out, VideoReader(project.target.media.resolve()) as src:
        diffs = []
        for k in range(0, 40, 5):
            a = out.read(k).astype(np.float32)
            b = src.read(100 + k).astype(np.float32)
            diffs.append(np.abs(a - b).mean(axis=2))
    diff = np.mean(diffs, axis=0)
    corners = np.concatenate([diff[:60, :60].ravel(), diff[:60, -60:].ravel()])
    assert corners.mean() < 3.0  # compression noise only
    # The mouth (lower middle of the face) changed more than the corners.
    face = diff[250:360, 190:330]
    assert face.max() > 20 and face.mean() > 2 * corners.mean()


def test_bad_output_and_range_leave_nothing(tmp_path: Path) -> None:
    project = load_project(DEMO)
    with pytest.raises(InvalidInputError, match="range"):
        run_job(render_project(project, tmp_path / "x.mp4", frame_range=(300, 400)))
    with pytest.raises(ExportError, match="missing"):
        run_job(render_project(project, tmp_path / "missing" / "x.mp4", frame_range=(0, 3)))
    assert list(tmp_path.iterdir()) == []


def test_neural_renderer_renders_the_project(tmp_path: Path) -> None:
    from evp_studio.train.renderer import RendererTrainConfig, train_renderer  # noqa: PLC0415

    project = load_project(DEMO)
    assert project.target is not None
    video = project.target.media.resolve()
    config = RendererTrainConfig(preset="tiny", steps=3, batch_size=2, eval_frames=4)
    trained = run_job(train_renderer(video, tmp_path / "run", config))
    out = tmp_path / "neural.mp4"
    args = ["render", str(DEMO), "-o", str(out), "--range", "0:8", "--renderer", "neural"]
    assert main([*args, "--neural-checkpoint", str(trained.checkpoint)]) == 0
    with VideoReader(out) as got, VideoReader(video) as src:
        assert got.frame_count == 8
        first = np.abs(got.read(0).astype(int) - src.read(0).astype(int)).mean()
        later = np.abs(got.read(6).astype(int) - src.read(6).astype(int)).mean()
    assert first < 3.0  # vid2vid: the first frames are the real ones
    assert later > first  # later ones come from the (barely trained) generator
    assert main(args) == 2  # no checkpoint: a clear error, no file


_FULL_DISK_CHILD = """
import resource, signal, sys
from evp_studio.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.exit(main(["render", sys.argv[2], "-o", sys.argv[3], "--range", "0:200"]))
"""


def test_a_disk_that_fills_up_during_the_render_leaves_nothing(tmp_path: Path) -> None:
    """A real write failure in the encoder (a file size limit), not a mocked one."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from evp_studio.landmarks import track_landmarks  # noqa: PLC0415

    project = load_project(DEMO)
    assert project.target is not None
    run_job(track_landmarks(project.target.media.resolve()))  # cached before the limit
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "full.mp4"
    child = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_CHILD, str(150_000), str(DEMO), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.returncode == 2, child.stderr
    assert f"\nevp-studio: error: {out}: writing failed" in child.stderr
    assert list(out_dir.iterdir()) == []  # no partial file, no temp file
