"""Project files: save -> load identity, atomic saves, strict errors, migration, paths."""

from __future__ import annotations

import json
import os
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evp_studio.errors import ExportError, ProjectFormatError
from evp_studio.project import (
    EMOTIONS,
    Easing,
    EmotionSource,
    EmotionTrack,
    Keyframe,
    MediaRef,
    Project,
    ReferenceClip,
    RenderSettings,
    SpeechTrack,
    TargetVideo,
    load_project,
    project_from_dict,
    project_to_dict,
    save_project,
)

HASH = "sha256:" + "0" * 64


def sample_project(media_dir: Path) -> Project:
    return Project(
        name="Interview",
        target=TargetVideo(
            MediaRef(str(media_dir / "take.mp4"), HASH), Fraction(30000, 1001), 900, 640, 480
        ),
        speech=SpeechTrack(MediaRef(str(media_dir / "line.wav"), ""), 12),
        reference=None,
        emotion_source=EmotionSource.KEYFRAMES,
        emotion=EmotionTrack(
            [
                Keyframe("a1", 0, "happy", 0.75, Easing.EASE_IN_OUT),
                Keyframe("a2", 40, "sad", 1.0),
                Keyframe("a3", 80, "angry", 0.5, Easing.HOLD),
            ]
        ),
        render=RenderSettings(crf=20, in_frame=10, out_frame=500),
    )


# -- identity ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def identity_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("identity")


def media_refs(base: Path) -> st.SearchStrategy[MediaRef]:
    names = st.text("abcxyz_- é", min_size=1, max_size=8).map(str.strip).filter(bool)
    folders = st.sampled_from([base, base / "media", base.parent / "elsewhere", Path("/abs")])
    hashes = st.sampled_from(["", HASH])
    return st.builds(
        lambda folder, name, digest: MediaRef(os.path.normpath(folder / f"{name}.mp4"), digest),
        folders,
        names,
        hashes,
    )


def projects(base: Path) -> st.SearchStrategy[Project]:
    keys = st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(EMOTIONS),
            st.floats(0, 1),
            st.sampled_from(list(Easing)),
        ),
        max_size=8,
        unique_by=lambda entry: entry[0],
    ).map(lambda entries: EmotionTrack([Keyframe(f"id{f}", f, e, a, s) for f, e, a, s in entries]))
    rates = st.sampled_from(
        [Fraction(30000, 1001), Fraction(25), Fraction(60), Fraction(24000, 1001)]
    )
    targets = st.none() | st.builds(
        TargetVideo,
        media_refs(base),
        rates,
        st.integers(1, 10**6),
        st.integers(1, 4096),
        st.integers(1, 4096),
    )
    speeches = st.none() | st.builds(SpeechTrack, media_refs(base), st.integers(-500, 500))
    references = st.none() | st.builds(ReferenceClip, media_refs(base))
    renders = st.builds(
        RenderSettings,
        renderer=st.sampled_from(["warp", "neural"]),
        width=st.none() | st.integers(1, 4096),
        crf=st.integers(0, 51),
        in_frame=st.none() | st.integers(0, 10),
    )
    return st.builds(
        Project,
        name=st.text(min_size=1, max_size=20).filter(str.strip),
        target=targets,
        speech=speeches,
        reference=references,
        emotion_source=st.sampled_from(list(EmotionSource)),
        emotion=keys,
        render=renders,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_save_load_identity(identity_dir: Path, data: st.DataObject) -> None:
    path = identity_dir / "project.evp"
    project = data.draw(projects(identity_dir))
    save_project(project, path)
    assert load_project(path) == project


def test_file_is_readable_json_with_relative_paths_and_exact_rate(tmp_path: Path) -> None:
    path = tmp_path / "p.evp"
    save_project(sample_project(tmp_path / "media"), path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "schema_version": 1,')
    data = json.loads(text)
    assert data["target"]["media"]["path"] == "media/take.mp4"
    assert data["target"]["frame_rate"] == "30000/1001"
    assert data["emotion"]["keys"][0] == {
        "id": "a1", "frame": 0, "emotion": "happy", "intensity": 0.75, "easing": "ease-in-out",
    }  # fmt: skip
    absolute = project_to_dict(sample_project(tmp_path / "media"), None)
    assert absolute["speech"]["media"]["path"] == str(tmp_path / "media" / "line.wav")


def test_relative_media_follow_a_moved_project_folder(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    (folder / "media").mkdir(parents=True)
    clip = folder / "media" / "clip.mp4"
    clip.write_bytes(b"frames")
    project = Project.new("Moving")
    project.reference = ReferenceClip(MediaRef.from_file(clip))
    save_project(project, folder / "moving.evp")
    moved = shutil.move(folder, tmp_path / "renamed")
    loaded = load_project(Path(moved) / "moving.evp")
    assert loaded.reference is not None
    assert Path(loaded.reference.media.path) == tmp_path / "renamed" / "media" / "clip.mp4"


# -- atomic save ------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["replace", "fsync", "dumps"])
def test_failed_save_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "p.evp"
    save_project(Project.new("Old"), path)
    before = path.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    target = {"replace": (os, "replace"), "fsync": (os, "fsync"), "dumps": (json, "dumps")}
    monkeypatch.setattr(*target[failing], fail)
    with pytest.raises((ExportError, OSError)) as info:
        save_project(Project.new("New"), path)
    if failing != "dumps":
        assert isinstance(info.value, ExportError) and str(path) in str(info.value)
        assert "No space left" in str(info.value)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.evp"]


def test_save_keeps_file_permissions(tmp_path: Path) -> None:
    path = tmp_path / "p.evp"
    save_project(Project.new(), path)
    path.chmod(0o640)
    save_project(Project.new("Again"), path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_save_to_missing_folder_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="nowhere"):
        save_project(Project.new(), tmp_path / "nowhere" / "p.evp")


# -- bad files --------------------------------------------------------------------------------


def write(tmp_path: Path, content: str | bytes | dict[str, Any]) -> Path:
    path = tmp_path / "bad.evp"
    if isinstance(content, dict):
        content = json.dumps(content)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def good_dict(tmp_path: Path) -> dict[str, Any]:
    return project_to_dict(sample_project(tmp_path), tmp_path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"schema_version": 1,\n  "name": }',
            "not valid JSON: Expecting value at line 2, column 11",
        ),
        ("", "not valid JSON: Expecting value at line 1, column 1"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        ("[1, 2]", "top level: expected an object, got [1, 2]"),
        ("{}", 'missing key "schema_version"'),
        ('{"schema_version": "1"}', 'schema_version: expected an integer >= 0, got "1"'),
        (
            '{"schema_version": 7}',
            "made by a newer EVP Studio (schema 7, this version reads up to 1)",
        ),
    ],
)
def test_unreadable_files(tmp_path: Path, content: str | bytes, expected: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ProjectFormatError) as info:
        load_project(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectFormatError, match="file not found"):
        load_project(tmp_path / "absent.evp")


def _set(data: dict[str, Any], location: tuple[Any, ...], value: Any) -> None:
    for part in location[:-1]:
        data = data[part]
    if value is _DELETE:
        del data[location[-1]]
    else:
        data[location[-1]] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("location", "value", "expected"),
    [
        (
            ("emotion", "keys", 2, "intensity"),
            "high",
            'emotion.keys[2].intensity: expected a number in [0, 1], got "high"',
        ),
        (
            ("emotion", "keys", 1, "intensity"),
            1.5,
            "emotion.keys[1].intensity: expected a number in [0, 1], got 1.5",
        ),
        (
            ("emotion", "keys", 0, "frame"),
            -4,
            "emotion.keys[0].frame: expected an integer >= 0, got -4",
        ),
        (
            ("emotion", "keys", 0, "frame"),
            2.5,
            "emotion.keys[0].frame: expected an integer >= 0, got 2.5",
        ),
        (
            ("emotion", "keys", 1, "emotion"),
            "joy",
            'emotion.keys[1].emotion: expected one of "angry"',
        ),
        (
            ("emotion", "keys", 1, "easing"),
            "bounce",
            'emotion.keys[1].easing: expected one of "linear"',
        ),
        (
            ("emotion", "keys", 1, "frame"),
            0,
            "emotion.keys[1].frame: frame 0 is also used by emotion.keys[0]",
        ),
        (
            ("emotion", "keys", 1, "id"),
            "a1",
            'emotion.keys[1].id: id "a1" is also used by emotion.keys[0]',
        ),
        (("emotion", "keys"), {}, "emotion.keys: expected a list, got {}"),
        (("emotion", "keys", 2, "intensity"), _DELETE, 'emotion.keys[2]: missing key "intensity"'),
        (("emotion", "keys", 2, "colour"), "red", "emotion.keys[2].colour: unknown key"),
        (
            ("target", "frame_rate"),
            29.97,
            'target.frame_rate: expected a frame rate like "30000/1001"',
        ),
        (("target", "frame_rate"), "0/1", "target.frame_rate: expected a frame rate"),
        (("target", "width"), True, "target.width: expected an integer >= 1, got true"),
        (("target", "media", "path"), "", "target.media.path: expected a non-empty string"),
        (("target", "media", "content_hash"), "md5:1", "target.media.content_hash: expected"),
        (("target", "media"), _DELETE, 'target: missing key "media"'),
        (("speech", "offset_frames"), None, "speech.offset_frames: expected an integer, got null"),
        (("reference",), [], "reference: expected an object, got []"),
        (("render", "crf"), 60, "render.crf: expected an integer in [0, 51], got 60"),
        (("render", "in_frame"), 600, "render: out_frame (500) must be after in_frame (600)"),
        (("render",), _DELETE, 'top level: missing key "render"'),
        (("emotion_source",), "vibes", 'emotion_source: expected one of "keyframes"'),
        (("name",), 3, "name: expected a non-empty string, got 3"),
        (("crff",), 3, "crff: unknown key"),
    ],
)
def test_wrong_values_name_file_and_location(
    tmp_path: Path, location: tuple[Any, ...], value: Any, expected: str
) -> None:
    data = good_dict(tmp_path)
    _set(data, location, value)
    path = write(tmp_path, data)
    with pytest.raises(ProjectFormatError) as info:
        load_project(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_optional_key_fields_default(tmp_path: Path) -> None:
    data = good_dict(tmp_path)
    del data["emotion"]["keys"][0]["id"]
    del data["emotion"]["keys"][0]["easing"]
    del data["generator"]
    key = project_from_dict(data, path=tmp_path / "x.evp").emotion.keys[0]
    assert key.easing is Easing.LINEAR and len(key.id) == 12
