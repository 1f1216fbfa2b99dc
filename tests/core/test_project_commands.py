"""Every command round-trips; the Document verbs are single, atomic undo steps."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from evp_studio.errors import InvalidInputError, MediaError
from evp_studio.project import (
    AddKeyframe,
    Changes,
    Command,
    Document,
    Easing,
    EmotionSource,
    Keyframe,
    MediaRef,
    MediaRole,
    Project,
    ReferenceClip,
    RelinkMedia,
    RemoveKeyframe,
    RenameProject,
    RenderSettings,
    ReplaceKeyframe,
    SetEmotionSource,
    SetReference,
    SetRenderSettings,
    SetSpeech,
    SetTarget,
    SpeechTrack,
    TargetVideo,
    project_to_dict,
)

REF_A = MediaRef("/media/a.mp4", "sha256:" + "a" * 64)
REF_B = MediaRef("/media/b.mp4", "sha256:" + "b" * 64)
REF_MOVED = MediaRef("/moved/a.mp4", "sha256:" + "a" * 64)
K1 = Keyframe("k1", 10, "happy", 0.5)
K2 = Keyframe("k2", 20, "sad", 1.0, Easing.HOLD)


def populated() -> Project:
    project = Project.new("Round trip")
    project.emotion.insert(K1)
    project.emotion.insert(K2)
    project.target = TargetVideo(REF_A, Fraction(30000, 1001), 300, 64, 48)
    project.speech = SpeechTrack(REF_B, 4)
    return project


COMMANDS: dict[str, Callable[[Project], Command]] = {
    "add": lambda p: AddKeyframe(Keyframe("k3", 30, "fear", 0.25)),
    "remove": lambda p: RemoveKeyframe("k1"),
    "replace-move": lambda p: ReplaceKeyframe(K1, Keyframe("k1", 15, "happy", 0.5)),
    "replace-edit": lambda p: ReplaceKeyframe(K2, Keyframe("k2", 20, "angry", 0.1)),
    "source": lambda p: SetEmotionSource(p.emotion_source, EmotionSource.SPEECH),
    "target": lambda p: SetTarget(p.target, TargetVideo(REF_B, Fraction(25), 100, 32, 32)),
    "target-clear": lambda p: SetTarget(p.target, None),
    "speech": lambda p: SetSpeech(p.speech, SpeechTrack(REF_A, -2)),
    "reference": lambda p: SetReference(p.reference, ReferenceClip(REF_A)),
    "render": lambda p: SetRenderSettings(p.render, RenderSettings("neural", crf=23)),
    "rename": lambda p: RenameProject(p.name, "Other"),
    "relink": lambda p: RelinkMedia(MediaRole.TARGET, p.media_ref("target"), REF_MOVED),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("name", COMMANDS)
def test_command_round_trip(name: str) -> None:
    project = populated()
    command = COMMANDS[name](project)
    s0 = project_to_dict(project)
    assert command.do(project)
    s1 = project_to_dict(project)
    assert s1 != s0
    assert command.undo(project)
    assert project_to_dict(project) == s0
    command.do(project)
    assert project_to_dict(project) == s1
    assert command.label


def test_chain_of_commands_round_trips() -> None:
    project = populated()
    doc = Document(project)
    states = [project_to_dict(project)]
    chain = ["add", "replace-move", "replace-edit", "source", "target", "relink", "speech"]
    chain += ["reference", "render", "rename", "remove", "target-clear"]
    for name in chain:
        doc.history.push(COMMANDS[name](project))
        states.append(project_to_dict(project))
    for expected in reversed(states[:-1]):
        doc.undo()
        assert project_to_dict(project) == expected
    for expected in states[1:]:
        doc.redo()
        assert project_to_dict(project) == expected


# -- Document verbs ---------------------------------------------------------------------------


@pytest.fixture
def doc() -> Document:
    return Document(Project.new("Doc"))


def frames(doc: Document) -> list[int]:
    return [k.frame for k in doc.project.emotion.keys]


def test_add_keyframe_over_an_existing_key_replaces_it_in_one_step(doc: Document) -> None:
    first = doc.add_keyframe(frame=5, emotion="happy", intensity=0.3)
    second = doc.add_keyframe(frame=5, emotion="sad", intensity=0.9, easing="hold")
    assert second.id == first.id and len(doc.history) == 2
    assert doc.project.emotion.keys == [second]
    doc.undo()
    assert doc.project.emotion.keys == [first]
    same = doc.add_keyframe(frame=5, emotion="happy", intensity=0.3)
    assert same == first and doc.history.can_redo  # nothing to do: nothing recorded


def test_add_keyframe_validates_before_changing(doc: Document) -> None:
    for bad in ({"emotion": "joy"}, {"intensity": 2.0}, {"frame": -3}, {"easing": "bounce"}):
        values: dict[str, object] = {"frame": 1, "emotion": "happy", "intensity": 0.5}
        with pytest.raises(InvalidInputError):
            doc.add_keyframe(**(values | bad))  # type: ignore[arg-type]
    assert len(doc.history) == 0 and frames(doc) == []


def test_remove_keyframes_is_one_step(doc: Document) -> None:
    keys = [doc.add_keyframe(frame=f, emotion="happy", intensity=0.5) for f in (1, 2, 3)]
    doc.remove_keyframes(key_ids=[keys[0].id, keys[2].id])
    assert frames(doc) == [2] and doc.history.undo_label == "Remove 2 keyframes"
    doc.undo()
    assert frames(doc) == [1, 2, 3]
    with pytest.raises(InvalidInputError, match="nope"):
        doc.remove_keyframes(key_ids=[keys[0].id, "nope"])
    assert frames(doc) == [1, 2, 3]


def test_move_keyframes_shifts_neighbours_together(doc: Document) -> None:
    keys = [doc.add_keyframe(frame=f, emotion="happy", intensity=0.5) for f in (10, 11, 12)]
    ids = [k.id for k in keys]
    moved = doc.move_keyframes(key_ids=ids, delta=1)
    assert [k.frame for k in moved] == [11, 12, 13] and frames(doc) == [11, 12, 13]
    doc.move_keyframes(key_ids=ids, delta=-11)
    assert frames(doc) == [0, 1, 2]
    assert len(doc.history) == 5
    doc.undo()
    doc.undo()
    assert frames(doc) == [10, 11, 12]


def test_move_keyframes_refuses_collisions_and_negative_frames(doc: Document) -> None:
    a = doc.add_keyframe(frame=10, emotion="happy", intensity=0.5)
    b = doc.add_keyframe(frame=12, emotion="sad", intensity=0.5)
    doc.add_keyframe(frame=20, emotion="fear", intensity=0.5)
    depth = len(doc.history)
    with pytest.raises(InvalidInputError, match="frame 20"):
        doc.move_keyframes(key_ids=[a.id, b.id], delta=8)
    with pytest.raises(InvalidInputError, match="frame -1"):
        doc.move_keyframes(key_ids=[a.id, b.id], delta=-11)
    assert frames(doc) == [10, 12, 20] and len(doc.history) == depth


def test_update_keyframe(doc: Document) -> None:
    key = doc.add_keyframe(frame=1, emotion="happy", intensity=0.5)
    other = doc.add_keyframe(frame=9, emotion="happy", intensity=0.5)
    new = doc.update_keyframe(key_id=key.id, frame=4, easing="ease-in-out")
    assert new == Keyframe(key.id, 4, "happy", 0.5, Easing.EASE_IN_OUT)
    assert doc.history.undo_label == "Move keyframe"
    doc.update_keyframe(key_id=key.id, intensity=1.0)
    assert doc.history.undo_label == "Edit keyframe"
    with pytest.raises(InvalidInputError, match="frame 9"):
        doc.update_keyframe(key_id=key.id, frame=other.frame)
    with pytest.raises(InvalidInputError, match="nope"):
        doc.update_keyframe(key_id="nope", frame=3)
    depth = len(doc.history)
    doc.update_keyframe(key_id=key.id, intensity=1.0)  # no change: no entry
    assert len(doc.history) == depth


def test_drag_previews_without_history_and_commits_once(doc: Document) -> None:
    key = doc.add_keyframe(frame=10, emotion="happy", intensity=0.5)
    blocker = doc.add_keyframe(frame=13, emotion="sad", intensity=0.5)
    seen: list[Changes] = []
    doc.changed.connect(seen.append)
    depth = len(doc.history)
    for frame in (11, 12, 13, 14, 15):  # passes over the blocker
        doc.preview_keyframe(key_id=key.id, frame=frame)
    assert len(doc.history) == depth and seen and all(c.keyframes for c in seen)
    assert doc.require_key(key.id).frame == 15
    assert doc.require_key(blocker.id).frame == 13
    doc.preview_keyframe(key_id=key.id, frame=13)  # occupied: stays put
    assert doc.require_key(key.id).frame == 15
    doc.commit_keyframe_drag(key_id=key.id, original=key)
    assert len(doc.history) == depth + 1 and doc.history.undo_label == "Move keyframe"
    doc.undo()
    assert doc.require_key(key.id) == key
    doc.redo()
    assert doc.require_key(key.id).frame == 15
    doc.preview_keyframe(key_id=key.id, frame=15)
    doc.commit_keyframe_drag(key_id=key.id, original=doc.require_key(key.id))
    assert len(doc.history) == depth + 1


def test_settings_source_and_name_verbs(doc: Document) -> None:
    doc.set_emotion_source(source="reference")
    assert doc.project.emotion_source is EmotionSource.REFERENCE
    with pytest.raises(InvalidInputError, match="vibes"):
        doc.set_emotion_source(source="vibes")
    doc.set_render_settings(crf=23, preset="slow")
    assert doc.project.render == RenderSettings(crf=23, preset="slow")
    with pytest.raises(InvalidInputError, match="crff"):
        doc.set_render_settings(crff=3)
    with pytest.raises(InvalidInputError, match="crf"):
        doc.set_render_settings(crf=99)
    doc.rename_project(name="Named")
    assert doc.title == "Named*"
    with pytest.raises(InvalidInputError):
        doc.rename_project(name="  ")
    assert len(doc.history) == 3
    for _ in range(3):
        doc.undo()
    assert project_to_dict(doc.project) == project_to_dict(Project.new("Doc"))


def test_media_verbs(doc: Document, tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"video")
    speech = tmp_path / "line.wav"
    speech.write_bytes(b"speech")
    target = doc.set_target(
        path=video, frame_rate="30000/1001", frame_count=90, width=64, height=48
    )
    assert target.frame_rate == Fraction(30000, 1001) and Path(target.media.path) == video
    doc.set_speech(path=speech, offset_frames=3)
    doc.set_speech_offset(offset_frames=-2)
    assert doc.project.speech is not None and doc.project.speech.offset_frames == -2
    doc.set_reference(path=video)
    assert set(doc.media_status) == {"target", "speech", "reference"}
    doc.set_reference(path=None)
    assert doc.project.reference is None and "reference" not in doc.media_status
    with pytest.raises(MediaError, match="missing.mp4"):
        doc.set_target(
            path=tmp_path / "missing.mp4", frame_rate=25, frame_count=1, width=1, height=1
        )
    assert len(doc.history) == 5


def test_dirty_state_title_and_signals(doc: Document, tmp_path: Path) -> None:
    dirty: list[bool] = []
    paths: list[Path] = []
    doc.dirty_changed.connect(dirty.append)
    doc.path_changed.connect(paths.append)
    assert not doc.is_dirty and doc.title == "Doc"
    doc.add_keyframe(frame=0, emotion="happy", intensity=1.0)
    assert doc.is_dirty and doc.title == "Doc*" and dirty == [True]
    with pytest.raises(InvalidInputError, match="never been saved"):
        doc.save()
    saved = doc.save(tmp_path / "doc.evp")
    assert not doc.is_dirty and dirty == [True, False] and paths == [saved] == [doc.path]
    doc.undo()
    assert doc.is_dirty
    doc.redo()
    assert not doc.is_dirty
