"""The headless CLI, run in-process through ``main([...])`` and once through its entry point."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from evp_studio import __version__
from evp_studio.cli import main
from tests.core.media_fixtures import write_empty_wav, write_test_video, write_tone

ERROR_PREFIX = "evp-studio: error: "


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    """``main`` configures the root logger once per process; undo it after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    if hasattr(root, "_evp_configured"):
        del root._evp_configured


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 30000/1001 clip with and without audio, a wav tone, an empty wav."""
    folder = tmp_path_factory.mktemp("cli_media")
    paths = {
        "av": folder / "talk.mp4",
        "silent": folder / "silent.mp4",
        "tone": folder / "tone.wav",
        "empty_wav": folder / "nothing.wav",
    }
    rate = Fraction(30000, 1001)
    write_test_video(paths["av"], n_frames=30, rate=rate, with_tone=440.0)
    write_test_video(paths["silent"], n_frames=30, rate=rate)
    write_tone(paths["tone"], freq=440, seconds=0.5)
    write_empty_wav(paths["empty_wav"])
    return paths


def cli(*argv: str | os.PathLike[str]) -> int:
    """Run ``evp-studio ARGV`` in-process; return the exit status (argparse's too)."""
    try:
        return main([str(arg) for arg in argv])
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1


def one_error_line(err: str, path: Path) -> str:
    """Assert ``err`` is exactly one ``evp-studio: error:`` line naming ``path``; return it."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(ERROR_PREFIX), err
    assert str(path) in lines[0], err
    return lines[0]


def show_json(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert cli("project", "show", "--json", project) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


@pytest.fixture
def project(tmp_path: Path, media: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> Path:
    """A saved project: the clip with audio as target, the wav tone as speech."""
    path = tmp_path / "take.evp"
    assert cli("project", "new", path, "--video", media["av"], "--speech", media["tone"]) == 0
    assert capsys.readouterr().out == f"created {path}\n"
    return path


# -- info ------------------------------------------------------------------------------------


def test_info_describes_video_exactly(
    media: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("info", media["av"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert str(media["av"]) in out
    video = next(line for line in out.splitlines() if line.startswith("video:"))
    assert "h264 64x48 yuv420p" in video
    assert "30000/1001 fps (29.970)" in video
    assert "30 frames" in video
    audio = next(line for line in out.splitlines() if line.startswith("audio:"))
    assert "aac 48000 Hz, 1 ch" in audio


def test_info_audio_only_says_no_video(
    media: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("info", media["tone"]) == 0
    out = capsys.readouterr().out
    assert "video:      none" in out
    assert "pcm_s16le 16000 Hz, 1 ch, 0:00:00.500" in out


@pytest.mark.parametrize(
    ("name", "video", "audio_codecs"),
    [
        ("av", True, ["aac"]),
        ("silent", True, []),
        ("tone", False, ["pcm_s16le"]),
    ],
)
def test_info_json_has_probe_fields(
    name: str,
    video: bool,
    audio_codecs: list[str],
    media: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli("info", "--json", media[name]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["path"] == str(media[name])
    assert data["size_bytes"] == media[name].stat().st_size
    assert data["has_audio"] is bool(audio_codecs)
    assert [a["codec"] for a in data["audio"]] == audio_codecs
    if video:
        v = data["video"]
        assert v["frame_rate"] == "30000/1001"
        assert isinstance(v["fps"], float) and v["fps"] == pytest.approx(29.97, abs=1e-3)
        assert v["frame_count"] == 30
        assert (v["codec"], v["width"], v["height"]) == ("h264", 64, 48)
    else:
        assert data["video"] is None
        assert data["audio"][0]["sample_rate"] == 16000
        assert data["audio"][0]["duration_s"] == pytest.approx(0.5)


def _moov_at_end(path: Path) -> bool:
    data = path.read_bytes()
    return data.find(b"moov") > data.find(b"mdat") > 0


def _first_half(source: Path, dest: Path) -> Path:
    data = source.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "truncated"])
def test_info_on_bad_file_is_one_error_line(
    kind: str, tmp_path: Path, media: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.touch()
    elif kind == "text":
        path.write_text("a shopping list, not a video\n" * 20)
    elif kind == "truncated":
        assert _moov_at_end(media["av"])  # PyAV's default: the index is cut off with the tail
        _first_half(media["av"], path)
    problem = {
        "missing": "file does not exist",
        "empty": "file is empty (0 bytes)",
        "text": "not a media file",
        "truncated": "truncated",
    }[kind]
    assert cli("info", path) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert problem in one_error_line(err, path)


def test_info_on_truncated_file_with_index_first_describes_what_is_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    whole = tmp_path / "whole.mp4"
    write_test_video(whole, n_frames=100, size=(128, 96), gop=10, faststart=True)
    assert not _moov_at_end(whole)
    cut = _first_half(whole, tmp_path / "cut.mp4")
    assert cli("info", "--json", cut) == 0
    out, err = capsys.readouterr()
    assert err == ""  # the truncation warning goes to the log, not the terminal
    frames = json.loads(out)["video"]["frame_count"]
    assert 5 < frames < 100
    assert f"header says 100 frames, only {frames} are readable" in caplog.text


# -- project new / show ----------------------------------------------------------------------


def test_project_new_and_show(
    project: Path, media: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("project", "show", project) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == f"project:  take  ({project})"
    assert f"target:   {media['av']}" in lines
    assert f"speech:   {media['tone']}" in lines
    assert "video:    64x48, 30000/1001 fps, 30 frames" in lines
    assert "emotion:  from keyframes, 0 keyframe(s)" in lines
    assert "MISSING" not in out


def test_project_show_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = show_json(project, capsys)
    assert data["schema_version"] == 1
    assert data["target"]["frame_rate"] == "30000/1001"
    assert data["target"]["frame_count"] == 30
    assert data["target"]["media"]["content_hash"].startswith("sha256:")
    assert data["speech"]["offset_frames"] == 0
    assert data["emotion"] == {"keys": []}
    assert data["media_status"] == {"target": "ok", "speech": "ok"}


def test_project_new_refuses_to_overwrite_without_force(
    project: Path, media: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before = project.read_bytes()
    assert cli("project", "new", project, "--video", media["silent"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "already exists (use --force" in one_error_line(err, project)
    assert project.read_bytes() == before

    assert cli("project", "new", project, "--speech", media["tone"], "--force") == 0
    assert capsys.readouterr().out == f"created {project}\n"
    data = show_json(project, capsys)
    assert data["target"] is None
    assert data["speech"]["media"]["path"].endswith("tone.wav")


def test_project_show_marks_deleted_media_missing(
    tmp_path: Path, media: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    video = shutil.copy(media["av"], tmp_path / "gone.mp4")
    speech = shutil.copy(media["tone"], tmp_path / "gone.wav")
    path = tmp_path / "p.evp"
    assert cli("project", "new", path, "--video", video, "--speech", speech) == 0
    Path(video).unlink()
    Path(speech).unlink()
    capsys.readouterr()

    assert cli("project", "show", path) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert f"target:   {video}  [MISSING]" in out.splitlines()
    assert f"speech:   {speech}  [MISSING]" in out.splitlines()
    assert show_json(path, capsys)["media_status"] == {"target": "missing", "speech": "missing"}


def _edited(project: Path, name: str, edit: Callable[[dict[str, Any]], object]) -> Path:
    data = json.loads(project.read_text(encoding="utf-8"))
    edit(data)
    path = project.with_name(name)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_project_show_bad_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("project", "add-key", project, "--frame", "3", "--emotion", "sad") == 0
    corrupt = project.with_name("corrupt.evp")
    corrupt.write_text('{"schema_version": 1, "name": ', encoding="utf-8")
    newer = _edited(project, "newer.evp", lambda d: d.update(schema_version=99))
    wrong = _edited(
        project, "wrong.evp", lambda d: d["emotion"]["keys"][0].update(intensity="high")
    )
    missing = project.with_name("nowhere.evp")
    expected = {
        corrupt: "not valid JSON",
        newer: "newer EVP Studio (schema 99",
        wrong: 'emotion.keys[0].intensity: expected a number in [0, 1], got "high"',
        missing: "file not found",
    }
    capsys.readouterr()
    for path, problem in expected.items():
        assert cli("project", "show", path) == 2, path
        out, err = capsys.readouterr()
        assert out == ""
        assert problem in one_error_line(err, path)


def test_project_new_speech_without_audio(
    tmp_path: Path, media: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.evp"
    assert cli("project", "new", path, "--video", media["av"], "--speech", media["silent"]) == 2
    line = one_error_line(capsys.readouterr().err, media["silent"])
    assert "has no audio stream" in line
    assert not path.exists()


def test_project_new_speech_of_zero_length(
    tmp_path: Path, media: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.evp"
    args = ("project", "new", path, "--video", media["av"], "--speech", media["empty_wav"])
    assert cli(*args) == 2
    assert "audio stream has no samples" in one_error_line(
        capsys.readouterr().err, media["empty_wav"]
    )
    assert not path.exists()


def test_project_new_target_without_video(
    tmp_path: Path, media: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.evp"
    assert cli("project", "new", path, "--video", media["tone"]) == 2
    assert "no video stream" in one_error_line(capsys.readouterr().err, media["tone"])
    assert not path.exists()


# -- project add-key -------------------------------------------------------------------------


def test_add_key_percent_and_fraction(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("project", "add-key", project)
    assert cli(*args, "--frame", "10", "--emotion", "happy", "--intensity", "75%") == 0
    assert capsys.readouterr().out == f"{project}: key at frame 10: happy 75% linear\n"
    assert cli(*args, "--frame", "20", "--emotion", "sad", "--intensity", "0.5") == 0
    capsys.readouterr()

    assert cli("project", "show", project) == 0
    out = capsys.readouterr().out
    assert "emotion:  from keyframes, 2 keyframe(s)" in out
    keys = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert [k[1:] for k in keys] == [
        ["frame", "10", "happy", "75%", "linear"],
        ["frame", "20", "sad", "50%", "linear"],
    ]
    saved = show_json(project, capsys)["emotion"]["keys"]
    assert [(k["frame"], k["emotion"], k["intensity"]) for k in saved] == [
        (10, "happy", 0.75),
        (20, "sad", 0.5),
    ]


def test_add_key_at_existing_frame_replaces_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("project", "add-key", project, "--frame", "10")
    assert cli(*args, "--emotion", "happy", "--intensity", "75%") == 0
    first = show_json(project, capsys)["emotion"]["keys"]
    assert cli(*args, "--emotion", "angry", "--intensity", "0.25", "--easing", "hold") == 0
    keys = show_json(project, capsys)["emotion"]["keys"]
    assert len(keys) == 1
    assert keys[0] == first[0] | {"emotion": "angry", "intensity": 0.25, "easing": "hold"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "intensity must be a number or a percentage, got 'abc'"),
        ("1.5", "intensity must be in [0, 1] or 0%..100%, got '1.5'"),
        ("150%", "intensity must be in [0, 1] or 0%..100%, got '150%'"),
        ("-0.1", "intensity must be in [0, 1] or 0%..100%, got '-0.1'"),
        ("nan", "intensity must be in [0, 1] or 0%..100%, got 'nan'"),
    ],
)
def test_add_key_bad_intensity_changes_nothing(
    value: str, message: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = project.read_bytes()
    args = ("project", "add-key", project, "--frame", "10", "--emotion", "happy")
    assert cli(*args, "--intensity", value) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        err.splitlines()[-1]
        == f"evp-studio project add-key: error: argument --intensity: {message}"
    )
    assert project.read_bytes() == before


def test_add_key_bad_emotion_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("project", "add-key", project, "--frame", "4", "--emotion", "sad") == 0
    before = project.read_bytes()
    assert cli("project", "add-key", project, "--frame", "4", "--emotion", "joy") == 2
    err = capsys.readouterr().err
    assert "argument --emotion: invalid choice: 'joy'" in err
    assert project.read_bytes() == before


def test_add_key_negative_frame_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = project.read_bytes()
    assert cli("project", "add-key", project, "--frame", "-1", "--emotion", "sad") == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"{ERROR_PREFIX}{project}: keyframe frame must be >= 0, got -1"]
    assert project.read_bytes() == before


# -- render, version, entry point ------------------------------------------------------------


def test_render_refuses_a_target_without_a_face_and_the_untrained_neural_renderer(
    project: Path, media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.mp4"
    assert cli("render", project, "-o", output) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines
    assert last.startswith(ERROR_PREFIX) and str(media["av"]) in last and "no face" in last
    assert cli("render", project, "-o", output, "--renderer", "neural") == 2
    assert "neural renderer" in capsys.readouterr().err
    assert cli("render", project, "-o", output, "--range", "5") == 2  # argparse: not START:STOP
    assert "START:STOP" in capsys.readouterr().err
    assert not output.exists() and list(tmp_path.iterdir()) == [project]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--version") == 0
    assert capsys.readouterr().out == f"EVP Studio {__version__}\n"


def _console_script() -> Path:
    name = "evp-studio.exe" if sys.platform == "win32" else "evp-studio"
    script = Path(sysconfig.get_path("scripts")) / name
    assert script.is_file(), f"{script} is not installed (pip install -e .)"
    return script


def test_entry_point_success_and_failure(media: dict[str, Path], tmp_path: Path) -> None:
    script = _console_script()
    done = subprocess.run(
        [script, "info", "--json", media["av"]], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["video"]["frame_rate"] == "30000/1001"

    missing = tmp_path / "missing.mp4"
    done = subprocess.run([script, "info", missing], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (2, "")
    assert "file does not exist" in one_error_line(done.stderr, missing)


def test_add_key_past_the_end_of_the_target_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = project.read_bytes()
    assert cli("project", "add-key", project, "--frame", "10000", "--emotion", "sad") == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and str(project) in lines[0] and "past the end" in lines[0]
    assert project.read_bytes() == before
