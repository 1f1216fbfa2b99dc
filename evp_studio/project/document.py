"""The open document: a project, its file, its undo history and the state of its media.

The GUI and the CLI edit a project only through the verbs of :class:`Document`; each verb
validates its arguments first, then pushes one command (or one macro), so every edit is a
single undo step and a failed edit changes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

from psygnal import Signal

from evp_studio.errors import InvalidInputError
from evp_studio.project._keyframe_edits import KeyframeEditsMixin
from evp_studio.project._validate import require_int, require_text, to_frame_rate
from evp_studio.project.commands import (
    RelinkMedia,
    RenameProject,
    SetEmotionSource,
    SetReference,
    SetRenderSettings,
    SetSpeech,
    SetTarget,
)
from evp_studio.project.history import DEFAULT_MAX_DEPTH, Changes, CommandStack
from evp_studio.project.io import load_project, save_project
from evp_studio.project.media_ref import check_media
from evp_studio.project.model import (
    EmotionSource,
    MediaRef,
    MediaRole,
    MediaStatus,
    Project,
    ReferenceClip,
    RenderSettings,
    SpeechTrack,
    TargetVideo,
)

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


class Document(KeyframeEditsMixin):
    """A project being edited.

    Parameters
    ----------
    project
        The project (a new empty one when None).
    path
        Its file, None until first saved.
    max_undo
        Depth of the undo history.

    Attributes
    ----------
    history : CommandStack
        The undo history; views may read its labels and flags.
    media_status : dict of str to MediaStatus
        For each filled media slot (``"target"``, ``"speech"``, ``"reference"``; the keys
        are :class:`MediaRole` members, which are strings), whether its file is OK, MISSING
        or CHANGED. Refreshed on open and after every edit that touches media.

    Signals
    -------
    changed(Changes)
        After every edit, undo, redo and live preview.
    path_changed(Path)
        After a save under a new file name.
    dirty_changed(bool)
        When the document gains or loses unsaved changes.
    """

    changed = Signal(object)
    path_changed = Signal(object)
    dirty_changed = Signal(bool)

    def __init__(
        self,
        project: Project | None = None,
        *,
        path: PathLike | None = None,
        max_undo: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self._project = project if project is not None else Project.new()
        self._path = Path(os.path.abspath(path)) if path is not None else None
        self.history = CommandStack(self._project, max_depth=max_undo)
        self.media_status: dict[str, MediaStatus] = {}
        self.history.changed.connect(self._on_history_changed)
        self.history.clean_changed.connect(self._on_clean_changed)
        self.refresh_media_status()

    @classmethod
    def new(cls, name: str = "Untitled") -> Document:
        """Return a document holding a new empty project (clean, never saved)."""
        return cls(Project.new(name))

    @classmethod
    def open(cls, path: PathLike) -> Document:
        """Load a project file; missing media give MISSING statuses, never a failure.

        Raises
        ------
        ProjectFormatError
            When the file cannot be read or is not a valid project.
        """
        return cls(load_project(path), path=path)

    # -- state -------------------------------------------------------------------------------

    @property
    def project(self) -> Project:
        """The project; change it only through this document's verbs."""
        return self._project

    @property
    def path(self) -> Path | None:
        """The project file (absolute), None until first saved."""
        return self._path

    @property
    def is_dirty(self) -> bool:
        """True when the project differs from its file (or was never saved)."""
        return not self.history.is_clean

    @property
    def title(self) -> str:
        """The project name, with ``*`` appended when there are unsaved changes."""
        return f"{self._project.name}*" if self.is_dirty else self._project.name

    def save(self, path: PathLike | None = None) -> Path:
        """Save atomically to ``path`` (or the current file) and mark the document clean.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        InvalidInputError
            When no path is given and the document has never been saved.
        ExportError
            When writing fails; the old file is intact and the document stays dirty.
        """
        target = Path(os.path.abspath(path)) if path is not None else self._path
        if target is None:
            raise InvalidInputError("the project has never been saved; choose a file name")
        save_project(self._project, target)
        self.history.set_clean()
        if target != self._path:
            self._path = target
            self.path_changed.emit(target)
        return target

    def undo(self) -> Changes:
        """Undo the last edit; returns what changed."""
        return self.history.undo()

    def redo(self) -> Changes:
        """Redo the last undone edit; returns what changed."""
        return self.history.redo()

    def media_path(self, role: MediaRole | str) -> Path | None:
        """Return the absolute path of the media in slot ``role``, None when it is empty.

        Raises
        ------
        InvalidInputError
            When ``role`` is not a :class:`MediaRole` value.
        """
        ref = self._project.media_ref(role)
        if ref is None:
            return None
        return ref.resolve(self._path.parent if self._path is not None else None)

    def refresh_media_status(self) -> dict[str, MediaStatus]:
        """Check every media file again (e.g. when the window regains focus)."""
        base_dir = self._path.parent if self._path is not None else None
        self.media_status = {
            role: check_media(ref, base_dir) for role, ref in self._project.media_refs().items()
        }
        return self.media_status

    # -- verbs -------------------------------------------------------------------------------

    def set_emotion_source(self, *, source: EmotionSource | str) -> None:
        """Choose where the emotion comes from (keyframes, speech or reference).

        Raises
        ------
        InvalidInputError
            When ``source`` is not an :class:`EmotionSource` value.
        """
        try:
            new = EmotionSource(source)
        except ValueError as e:
            allowed = ", ".join(EmotionSource)
            raise InvalidInputError(f"source must be one of {allowed}; got {source!r}") from e
        if new != self._project.emotion_source:
            self.history.push(SetEmotionSource(self._project.emotion_source, new))

    def set_target(
        self,
        *,
        path: PathLike,
        frame_rate: Fraction | int | str,
        frame_count: int,
        width: int,
        height: int,
    ) -> TargetVideo:
        """Set the target video (probed by the caller) as one undo step.

        Parameters
        ----------
        path
            The video file; it is fingerprinted now.
        frame_rate
            Exact rate, e.g. ``Fraction(30000, 1001)`` or ``"30000/1001"``.
        frame_count, width, height
            From the probe.

        Raises
        ------
        MediaError
            When the file cannot be read.
        InvalidInputError
            When a value is invalid.
        """
        rate = to_frame_rate(frame_rate)
        new = TargetVideo(MediaRef.from_file(path), rate, frame_count, width, height)
        if new != self._project.target:
            self.history.push(SetTarget(self._project.target, new))
        return new

    def set_speech(self, *, path: PathLike | None, offset_frames: int = 0) -> SpeechTrack | None:
        """Set (or with ``path=None`` clear) the speech track as one undo step.

        Raises
        ------
        MediaError
            When the file cannot be read.
        """
        new = None if path is None else SpeechTrack(MediaRef.from_file(path), offset_frames)
        if new != self._project.speech:
            self.history.push(SetSpeech(self._project.speech, new))
        return new

    def set_speech_offset(self, *, offset_frames: int) -> SpeechTrack:
        """Shift the speech on the timeline (in target frames) as one undo step.

        Raises
        ------
        InvalidInputError
            When there is no speech track or the offset is not an integer.
        """
        old = self._project.speech
        if old is None:
            raise InvalidInputError("the project has no speech track to shift")
        new = dataclasses.replace(old, offset_frames=require_int(offset_frames, "offset_frames"))
        if new != old:
            self.history.push(SetSpeech(old, new, label="Shift speech"))
        return new

    def set_reference(self, *, path: PathLike | None) -> ReferenceClip | None:
        """Set (or with ``path=None`` clear) the reference clip as one undo step.

        Raises
        ------
        MediaError
            When the file cannot be read.
        """
        new = None if path is None else ReferenceClip(MediaRef.from_file(path))
        if new != self._project.reference:
            self.history.push(SetReference(self._project.reference, new))
        return new

    def set_render_settings(self, **changes: Any) -> RenderSettings:
        """Change some render settings (``crf=20, preset="slow"``) as one undo step.

        Raises
        ------
        InvalidInputError
            When a name is unknown or a value invalid; nothing is changed then.
        """
        old = self._project.render
        known = {f.name for f in dataclasses.fields(RenderSettings)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidInputError(
                f"unknown render setting {unknown[0]!r}; expected one of {', '.join(sorted(known))}"
            )
        new = dataclasses.replace(old, **changes)
        if new != old:
            self.history.push(SetRenderSettings(old, new))
        return new

    def rename_project(self, *, name: str) -> None:
        """Rename the project as one undo step.

        Raises
        ------
        InvalidInputError
            When ``name`` is empty.
        """
        require_text(name, "project name")
        if name != self._project.name:
            self.history.push(RenameProject(self._project.name, name))

    def relink_media(self, *, role: MediaRole | str, new_path: PathLike) -> MediaRef:
        """Point a media slot at a moved or replaced file as one undo step.

        The new file is fingerprinted; compare the returned ``content_hash`` with the old
        one to warn the user when the content differs.

        Raises
        ------
        InvalidInputError
            When the slot is empty or ``role`` unknown.
        MediaError
            When the new file cannot be read.
        """
        old = self._project.media_ref(role)
        if old is None:
            raise InvalidInputError(f"the project has no {role} media to relink")
        new = MediaRef.from_file(new_path)
        if new != old:
            self.history.push(RelinkMedia(MediaRole(role), old, new))
        return new

    # -- signal relays -----------------------------------------------------------------------

    def _on_history_changed(self, changes: Changes) -> None:
        if changes.media:
            self.refresh_media_status()
        self.changed.emit(changes)

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirty_changed.emit(not clean)
