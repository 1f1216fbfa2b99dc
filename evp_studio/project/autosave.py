"""Autosave files and crash recovery. Writing and reading only: the UI drives the timer.

Each open document autosaves to one file in ``paths.autosave_dir()``: ``<stem>-<hash>`` of
the project's path, or ``untitled-<id>`` for a document never saved. Beside it,
``<autosave>.lock`` holds the pid of the process that writes it. On start-up an autosave is
offered for recovery only when no live process holds its lock (so a second instance does not
"recover" the first one's open work) and it is newer than its original file (or there is
none). A pid reused by an unrelated process after a reboot hides the autosave until that
process exits; that rare miss is preferred over offering a live session's file.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import re
import sys
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evp_studio.errors import ProjectFormatError
from evp_studio.fileio import atomic_write_text
from evp_studio.paths import autosave_dir
from evp_studio.project.document import Document
from evp_studio.project.io import project_from_dict, project_to_dict

log = logging.getLogger(__name__)

AUTOSAVE_SUFFIX = ".evp-autosave"
LOCK_SUFFIX = ".lock"
AUTOSAVE_FORMAT = 1


@dataclass(frozen=True)
class RecoveryCandidate:
    """An autosave left behind by a session that ended without saving.

    Parameters
    ----------
    autosave_path
        The autosave file.
    original_path
        The project file it belongs to, None for a project never saved.
    saved_at
        When the autosave was written (timezone-aware, UTC).
    name
        The project's name, for the recovery dialog.
    """

    autosave_path: Path
    original_path: Path | None
    saved_at: datetime
    name: str


class Autosaver:
    """Writes, finds, recovers and discards autosaves.

    Parameters
    ----------
    directory
        Where autosaves live; ``paths.autosave_dir()`` (looked up at each call) when None.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._directory = Path(directory) if directory is not None else None
        self._untitled: weakref.WeakKeyDictionary[Document, str] = weakref.WeakKeyDictionary()
        self._written: weakref.WeakKeyDictionary[Document, Path] = weakref.WeakKeyDictionary()

    @property
    def directory(self) -> Path:
        """The folder holding the autosaves (created on demand)."""
        if self._directory is None:
            return autosave_dir()
        self._directory.mkdir(parents=True, exist_ok=True)
        return self._directory

    def autosave_path_for(self, doc: Document) -> Path:
        """Return the autosave file of ``doc`` (it changes when the document is saved as).

        Parameters
        ----------
        doc
            The document.

        Returns
        -------
        Path
            ``<stem>-<16 hex of sha256(project path)>.evp-autosave``, or
            ``untitled-<12 hex>.evp-autosave`` (stable for this document) when unsaved.
        """
        if doc.path is None:
            stem = self._untitled.setdefault(doc, f"untitled-{uuid.uuid4().hex[:12]}")
        else:
            digest = hashlib.sha256(os.fsencode(os.path.abspath(doc.path))).hexdigest()[:16]
            slug = re.sub(r"[^A-Za-z0-9_-]+", "-", doc.path.stem).strip("-")[:40] or "project"
            stem = f"{slug}-{digest}"
        return self.directory / f"{stem}{AUTOSAVE_SUFFIX}"

    def write(self, doc: Document) -> Path:
        """Write the document and its metadata atomically, and hold the lock.

        Returns
        -------
        Path
            The autosave file.

        Raises
        ------
        ExportError
            When the file cannot be written (the previous autosave is intact).
        """
        target = self.autosave_path_for(doc)
        payload: dict[str, Any] = {
            "autosave_format": AUTOSAVE_FORMAT,
            "original_path": str(doc.path) if doc.path is not None else None,
            "saved_at": datetime.now(UTC).isoformat(),
            "name": doc.project.name,
            "project": project_to_dict(doc.project, None),
        }
        atomic_write_text(_lock_path(target), f"{os.getpid()}\n")
        atomic_write_text(target, json.dumps(payload, ensure_ascii=False))
        previous = self._written.get(doc)
        if previous is not None and previous != target:
            _remove_autosave(previous)
        self._written[doc] = target
        return target

    def discard(self, doc: Document) -> None:
        """Remove the autosave of ``doc`` and its lock (after a clean save or close)."""
        paths = {self.autosave_path_for(doc)}
        written = self._written.pop(doc, None)
        if written is not None:
            paths.add(written)
        for path in paths:
            _remove_autosave(path)

    def discard_candidate(self, candidate: RecoveryCandidate) -> None:
        """Remove an autosave the user chose not to recover."""
        _remove_autosave(candidate.autosave_path)

    def find_recoverable(self) -> list[RecoveryCandidate]:
        """Return the autosaves left by crashed sessions, newest first.

        Skipped: autosaves locked by a live process, autosaves not newer than their
        original file, and unreadable ones (logged).
        """
        found: list[RecoveryCandidate] = []
        for path in sorted(self.directory.glob(f"*{AUTOSAVE_SUFFIX}")):
            if _held_by_live_process(path):
                continue
            try:
                candidate = _read_candidate(path)
            except ProjectFormatError as e:
                log.warning("ignoring unreadable autosave: %s", e)
                continue
            if _newer_than_original(candidate):
                found.append(candidate)
        return sorted(found, key=lambda candidate: candidate.saved_at, reverse=True)

    def recover(self, candidate: RecoveryCandidate) -> Document:
        """Open an autosave as a dirty document whose path is the original file.

        Saving the returned document writes the original file; this process now holds
        the autosave's lock and later writes replace it.

        Raises
        ------
        ProjectFormatError
            When the autosave cannot be read.
        """
        payload = _read_payload(candidate.autosave_path)
        project = project_from_dict(payload["project"], path=candidate.autosave_path)
        doc = Document(project, path=candidate.original_path)
        doc.history.reset_clean()
        if candidate.original_path is None:
            self._untitled[doc] = candidate.autosave_path.name.removesuffix(AUTOSAVE_SUFFIX)
        self._written[doc] = candidate.autosave_path
        atomic_write_text(_lock_path(candidate.autosave_path), f"{os.getpid()}\n")
        return doc


def _lock_path(autosave: Path) -> Path:
    return autosave.with_name(autosave.name + LOCK_SUFFIX)


def _remove_autosave(path: Path) -> None:
    for file in (path, _lock_path(path)):
        with contextlib.suppress(FileNotFoundError):
            file.unlink()


def _read_payload(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ProjectFormatError(path, f"cannot read the autosave ({e.strerror or e})") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProjectFormatError(path, f"corrupt autosave ({e})") from e
    if not isinstance(payload, dict) or payload.get("autosave_format") != AUTOSAVE_FORMAT:
        raise ProjectFormatError(path, "not an autosave of this EVP Studio version")
    if not isinstance(payload.get("project"), dict):
        raise ProjectFormatError(path, 'autosave has no "project" object')
    return payload


def _read_candidate(path: Path) -> RecoveryCandidate:
    payload = _read_payload(path)
    original = payload.get("original_path")
    name = payload.get("name")
    try:
        saved_at = datetime.fromisoformat(str(payload.get("saved_at")))
    except ValueError as e:
        raise ProjectFormatError(path, "autosave has no valid saved_at time") from e
    if not (original is None or isinstance(original, str)) or not isinstance(name, str):
        raise ProjectFormatError(path, "autosave metadata has wrong types")
    if saved_at.tzinfo is None:
        saved_at = saved_at.replace(tzinfo=UTC)
    return RecoveryCandidate(path, Path(original) if original else None, saved_at, name)


def _newer_than_original(candidate: RecoveryCandidate) -> bool:
    if candidate.original_path is None:
        return True
    try:
        modified = candidate.original_path.stat().st_mtime
    except FileNotFoundError:
        return True  # the original is gone: the autosave is all that is left
    except OSError as e:
        log.warning("cannot check %s: %s", candidate.original_path, e)
        return True
    return candidate.saved_at.timestamp() > modified


def _held_by_live_process(autosave: Path) -> bool:
    try:
        pid = int(_lock_path(autosave).read_text(encoding="ascii").strip())
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as e:
        log.warning("ignoring unreadable autosave lock of %s: %s", autosave, e)
        return False
    return pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Return True when a process with this id is running (ours included).

    Parameters
    ----------
    pid
        Process id.

    Returns
    -------
    bool
        False for ids <= 0 and for processes that do not exist.
    """
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence and permission check only
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    return True


def _pid_alive_windows(pid: int) -> bool:
    # os.kill(pid, 0) would *terminate* the process on Windows; ask the kernel instead.
    if sys.platform != "win32":
        raise RuntimeError("_pid_alive_windows is for Windows only")
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    process_query_limited_information, still_active, access_denied = 0x1000, 259, 5
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == access_denied
    try:
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(ok) and code.value == still_active
    finally:
        kernel32.CloseHandle(handle)
