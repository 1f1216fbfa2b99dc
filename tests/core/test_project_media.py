"""Media references: fingerprints, statuses on open, relinking as an undoable edit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evp_studio.errors import InvalidInputError, MediaError
from evp_studio.project import (
    Changes,
    Document,
    MediaRef,
    MediaRole,
    MediaStatus,
    check_media,
    hash_media,
)
from evp_studio.project.media_ref import HASH_HEAD_BYTES


def test_hash_is_sha256_of_head_and_size(tmp_path: Path) -> None:
    small = tmp_path / "small.wav"
    small.write_bytes(b"RIFF....WAVE")
    expected = hashlib.sha256(b"RIFF....WAVE" + b"12").hexdigest()  # content, then its size
    assert hash_media(small) == f"sha256:{expected}"


def test_hash_reads_only_the_head_but_sees_the_size(tmp_path: Path) -> None:
    head = bytes(range(256)) * (HASH_HEAD_BYTES // 256)
    a, b, c = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.mp4"
    a.write_bytes(head + b"tail-1")
    b.write_bytes(head + b"tail-2")  # differs after 8 MiB only: same fingerprint
    c.write_bytes(head + b"tail-22")  # different size
    assert hash_media(a) == hash_media(b) != hash_media(c)


def test_hash_of_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="nothing.wav: file not found"):
        hash_media(tmp_path / "nothing.wav")


def test_check_media_statuses(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"one")
    ref = MediaRef.from_file(clip)
    assert check_media(ref) is MediaStatus.OK
    assert check_media(MediaRef("clip.mp4", ref.content_hash), tmp_path) is MediaStatus.OK
    clip.write_bytes(b"two")
    assert check_media(ref) is MediaStatus.CHANGED
    assert check_media(MediaRef(ref.path, "")) is MediaStatus.OK  # unknown hash
    clip.unlink()
    assert check_media(ref) is MediaStatus.MISSING
    assert check_media(MediaRef(str(tmp_path), "")) is MediaStatus.MISSING  # a folder


def test_resolve_relative_and_absolute(tmp_path: Path) -> None:
    assert MediaRef("media/../a.wav", "").resolve(tmp_path) == tmp_path / "a.wav"
    assert MediaRef(str(tmp_path / "b.wav"), "").resolve("/elsewhere") == tmp_path / "b.wav"


@pytest.fixture
def saved_doc(tmp_path: Path) -> tuple[Document, Path, Path]:
    """A saved project whose target and speech files exist."""
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"video frames")
    speech = tmp_path / "line.wav"
    speech.write_bytes(b"speech samples")
    doc = Document()
    doc.set_target(path=video, frame_rate=25, frame_count=50, width=64, height=64)
    doc.set_speech(path=speech)
    doc.save(tmp_path / "p.evp")
    return doc, video, speech


def test_missing_media_opens_with_missing_status(saved_doc: tuple[Document, Path, Path]) -> None:
    doc, video, speech = saved_doc
    assert doc.media_status == {"target": MediaStatus.OK, "speech": MediaStatus.OK}
    video.unlink()
    speech.write_bytes(b"another take")
    assert doc.path is not None
    reopened = Document.open(doc.path)
    assert reopened.media_status == {
        MediaRole.TARGET: MediaStatus.MISSING,
        MediaRole.SPEECH: MediaStatus.CHANGED,
    }
    assert not reopened.is_dirty


def test_relink_is_undoable(saved_doc: tuple[Document, Path, Path], tmp_path: Path) -> None:
    doc, video, _ = saved_doc
    moved = tmp_path / "moved" / "clip.mp4"
    moved.parent.mkdir()
    video.rename(moved)
    assert doc.path is not None
    doc = Document.open(doc.path)
    assert doc.media_status["target"] is MediaStatus.MISSING
    seen: list[Changes] = []
    doc.changed.connect(seen.append)
    old = doc.project.media_ref("target")
    new = doc.relink_media(role="target", new_path=moved)
    assert old is not None and new.content_hash == old.content_hash
    assert doc.media_status["target"] is MediaStatus.OK
    assert seen == [Changes(media=True)] and doc.history.undo_label == "Relink target media"
    assert doc.project.target is not None and doc.project.target.frame_count == 50  # kept
    doc.undo()
    assert doc.project.media_ref("target") == old
    assert doc.media_status["target"] is MediaStatus.MISSING
    doc.redo()
    assert doc.project.media_ref("target") == new
    assert doc.media_status["target"] is MediaStatus.OK


def test_relink_refusals(saved_doc: tuple[Document, Path, Path], tmp_path: Path) -> None:
    doc, _, _ = saved_doc
    depth = len(doc.history)
    with pytest.raises(InvalidInputError, match="no reference"):
        doc.relink_media(role="reference", new_path=tmp_path / "clip.mp4")
    with pytest.raises(InvalidInputError, match="role"):
        doc.relink_media(role="subtitles", new_path=tmp_path / "clip.mp4")
    with pytest.raises(MediaError, match="gone.mp4"):
        doc.relink_media(role="target", new_path=tmp_path / "gone.mp4")
    assert len(doc.history) == depth


def test_media_path_is_absolute(saved_doc: tuple[Document, Path, Path]) -> None:
    doc, video, speech = saved_doc
    assert doc.media_path("target") == video and doc.media_path(MediaRole.SPEECH) == speech
    assert doc.media_path("reference") is None
    assert Document.new(name="Empty").media_path("target") is None
