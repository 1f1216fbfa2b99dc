"""Older project files are upgraded at load time: the pre-release schema 0 to schema 1."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from evp_studio.errors import ProjectFormatError
from evp_studio.project import (
    SCHEMA_VERSION,
    Easing,
    MediaRef,
    Project,
    RenderSettings,
    SpeechTrack,
    TargetVideo,
    load_project,
    migrate,
    project_to_dict,
    save_project,
)
from evp_studio.project._migrations import fraction_from_fps

HASH = "sha256:" + "0" * 64


def write(tmp_path: Path, content: str | dict[str, Any]) -> Path:
    path = tmp_path / "old.evp"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


V0_FILE = """{
  "schema_version": 0,
  "name": "Old demo",
  "target": {"path": "clip.mp4", "hash": "HASH", "fps": 29.97, "frames": 300, "size": [640, 480]},
  "speech": {"path": "speech.wav", "offset": 5},
  "reference": null,
  "emotion_source": "keyframes",
  "keyframes": [[30, "sad", 1.0], [0, "happy", 0.5]],
  "render": {"renderer": "warp", "crf": 20}
}
""".replace("HASH", HASH)


def test_v0_file_migrates_to_v1(tmp_path: Path) -> None:
    path = write(tmp_path, V0_FILE)
    project = load_project(path)
    assert project.name == "Old demo"
    assert project.target == TargetVideo(
        MediaRef(str(tmp_path / "clip.mp4"), HASH), Fraction(30000, 1001), 300, 640, 480
    )
    assert project.speech == SpeechTrack(MediaRef(str(tmp_path / "speech.wav"), ""), 5)
    assert [(k.frame, k.emotion, k.intensity, k.easing) for k in project.emotion.keys] == [
        (0, "happy", 0.5, Easing.LINEAR),
        (30, "sad", 1.0, Easing.LINEAR),
    ]
    assert project.render == RenderSettings(crf=20)
    save_project(project, path)
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert load_project(path) == project


def test_migrate_leaves_input_alone_and_current_data_unchanged(tmp_path: Path) -> None:
    v0 = json.loads(V0_FILE)
    upgraded = migrate(v0)
    assert v0["schema_version"] == 0 and upgraded["schema_version"] == 1
    current = project_to_dict(Project.new(), tmp_path)
    assert migrate(current) is current


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"keyframes": [[0, "happy"]]}, "keyframes[0]: expected [frame, emotion, intensity]"),
        ({"keyframes": [[0, "joy", 0.5]]}, "emotion.keys[0].emotion: expected one of"),
        ({"target": {"path": "a.mp4", "fps": "fast", "frames": 1, "size": [1, 1]}}, "target.fps"),
    ],
)
def test_bad_v0_files_are_reported(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    data = json.loads(V0_FILE) | change
    path = write(tmp_path, data)
    with pytest.raises(ProjectFormatError, match="schema 0") as info:
        load_project(path)
    assert str(path) in str(info.value) and expected in str(info.value)


@pytest.mark.parametrize(
    ("fps", "rate"),
    [
        (29.97, Fraction(30000, 1001)),
        (23.976, Fraction(24000, 1001)),
        (59.94, Fraction(60000, 1001)),
        (25.0, Fraction(25)),
        (30, Fraction(30)),
        (12.5, Fraction(25, 2)),
    ],
)
def test_v0_float_rates_become_exact(fps: float, rate: Fraction) -> None:
    assert fraction_from_fps(fps) == rate
