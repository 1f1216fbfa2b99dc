"""Autosave: write, find after a crash, recover, discard, and the live-process lock."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evp_studio.paths import autosave_dir
from evp_studio.project import Autosaver, Document, Project, project_to_dict
from evp_studio.project.autosave import pid_alive


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EVP_STUDIO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert not pid_alive(process.pid)
    return process.pid


def crash(autosave: Path, pid: int) -> None:
    """Pretend the process that wrote ``autosave`` died: its lock names a dead pid."""
    autosave.with_name(autosave.name + ".lock").write_text(f"{pid}\n")


def edited_doc(tmp_path: Path, *, saved: bool) -> Document:
    doc = Document(Project.new("Crashy"))
    if saved:
        doc.save(tmp_path / "crashy.evp")
    doc.add_keyframe(frame=3, emotion="angry", intensity=0.6)
    return doc


def original(doc: Document) -> Path:
    assert doc.path is not None
    return doc.path


def test_autosave_paths(tmp_path: Path, home: Path) -> None:
    saver = Autosaver()
    untitled = Document()
    path = saver.autosave_path_for(untitled)
    assert path.parent == autosave_dir() and path.parent.is_relative_to(home)
    assert path.name.startswith("untitled-") and path == saver.autosave_path_for(untitled)
    assert saver.autosave_path_for(Document()) != path
    saved = edited_doc(tmp_path, saved=True)
    assert saver.autosave_path_for(saved).name.startswith("crashy-")


def test_write_holds_a_lock_and_is_not_offered_while_alive(tmp_path: Path) -> None:
    saver = Autosaver()
    doc = edited_doc(tmp_path, saved=True)
    path = saver.write(doc)
    payload = json.loads(path.read_text())
    assert payload["original_path"] == str(doc.path) and payload["name"] == "Crashy"
    assert payload["saved_at"].endswith("+00:00")
    assert payload["project"] == project_to_dict(doc.project)
    assert path.with_name(path.name + ".lock").read_text().strip() == str(os.getpid())
    assert saver.find_recoverable() == []  # our own, live session
    crash(path, os.getppid())  # another live process holds it
    assert Autosaver().find_recoverable() == []


def test_crashed_session_is_recovered(tmp_path: Path, dead_pid: int) -> None:
    doc = edited_doc(tmp_path, saved=True)
    path = Autosaver().write(doc)
    crash(path, dead_pid)
    os.utime(original(doc), (time.time() - 60, time.time() - 60))  # saved before the autosave
    saver = Autosaver()  # a new session
    [candidate] = saver.find_recoverable()
    assert candidate.autosave_path == path and candidate.original_path == doc.path
    assert candidate.name == "Crashy"
    recovered = saver.recover(candidate)
    assert recovered.is_dirty and recovered.title == "Crashy*"
    assert recovered.path == doc.path
    assert project_to_dict(recovered.project) == project_to_dict(doc.project)
    assert saver.find_recoverable() == []  # this session holds it now
    recovered.save()
    saver.discard(recovered)
    assert not path.exists() and not path.with_name(path.name + ".lock").exists()
    assert Document.open(original(doc)).project.emotion.keys == doc.project.emotion.keys


def test_autosave_older_than_its_original_is_not_offered(tmp_path: Path, dead_pid: int) -> None:
    doc = edited_doc(tmp_path, saved=True)
    path = Autosaver().write(doc)
    crash(path, dead_pid)
    os.utime(original(doc), (time.time() + 60, time.time() + 60))  # saved after the autosave
    assert Autosaver().find_recoverable() == []


def test_untitled_and_unlocked_autosaves_are_offered(tmp_path: Path, dead_pid: int) -> None:
    first = Autosaver().write(edited_doc(tmp_path, saved=False))
    crash(first, dead_pid)
    second = Autosaver().write(Document(Project.new("Second")))
    second.with_name(second.name + ".lock").unlink()
    saver = Autosaver()
    candidates = saver.find_recoverable()
    assert {c.autosave_path for c in candidates} == {first, second}
    assert candidates[0].saved_at >= candidates[1].saved_at  # newest first
    recovered = saver.recover(next(c for c in candidates if c.autosave_path == first))
    assert recovered.path is None and recovered.is_dirty
    assert saver.write(recovered) == first  # keeps using the recovered file
    saver.discard_candidate(next(c for c in candidates if c.autosave_path == second))
    assert not second.exists()


def test_save_as_moves_the_autosave(tmp_path: Path) -> None:
    saver = Autosaver()
    doc = edited_doc(tmp_path, saved=False)
    untitled = saver.write(doc)
    doc.save(tmp_path / "named.evp")
    named = saver.write(doc)
    assert named != untitled and named.exists() and not untitled.exists()
    saver.discard(doc)
    assert list(autosave_dir().iterdir()) == []


def test_corrupt_autosave_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    (autosave_dir() / "broken.evp-autosave").write_text("{not json")
    (autosave_dir() / "other.evp-autosave").write_text('{"autosave_format": 99}')
    with caplog.at_level(logging.WARNING):
        assert Autosaver().find_recoverable() == []
    assert "broken.evp-autosave" in caplog.text and "other.evp-autosave" in caplog.text


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(0)
    assert not pid_alive(-5)
