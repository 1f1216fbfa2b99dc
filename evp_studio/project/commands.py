"""The undoable edits of a project. Each captures old and new values when created.

Keyframe commands refer to keys by id; the value objects they hold (``Keyframe``,
``TargetVideo``, ``RenderSettings``, ...) are frozen, so the snapshots cannot drift.
"""

from __future__ import annotations

from typing import Any, ClassVar

from evp_studio.project.history import Changes, Command
from evp_studio.project.model import (
    EmotionSource,
    Keyframe,
    MediaRef,
    MediaRole,
    Project,
    ReferenceClip,
    RenderSettings,
    SpeechTrack,
    TargetVideo,
)

_KEYS = Changes(keyframes=True)


class AddKeyframe(Command):
    """Insert a new key (its frame must be free).

    Parameters
    ----------
    key
        The key to insert.
    label
        Undo menu text.
    """

    def __init__(self, key: Keyframe, *, label: str = "Add keyframe") -> None:
        self.key = key
        self.label = label

    def do(self, doc: Project) -> Changes:
        doc.emotion.insert(self.key)
        return _KEYS

    def undo(self, doc: Project) -> Changes:
        doc.emotion.remove(self.key.id)
        return _KEYS


class RemoveKeyframe(Command):
    """Remove the key with ``key_id``; the removed key is captured when it is done.

    Parameters
    ----------
    key_id
        Id of the key to remove.
    label
        Undo menu text.
    """

    def __init__(self, key_id: str, *, label: str = "Remove keyframe") -> None:
        self.key_id = key_id
        self.label = label
        self.removed: Keyframe | None = None

    def do(self, doc: Project) -> Changes:
        self.removed = doc.emotion.remove(self.key_id)
        return _KEYS

    def undo(self, doc: Project) -> Changes:
        if self.removed is None:
            raise RuntimeError("RemoveKeyframe.undo called before do")
        doc.emotion.insert(self.removed)
        return _KEYS


class ReplaceKeyframe(Command):
    """Replace a key by an edited copy: move, change category, intensity or easing.

    Used once per drag (on release), so a drag is one undo step.

    Parameters
    ----------
    old
        The key as it was.
    new
        The key as it becomes (usually the same id).
    label
        Undo menu text.
    """

    def __init__(self, old: Keyframe, new: Keyframe, *, label: str = "Edit keyframe") -> None:
        self.old = old
        self.new = new
        self.label = label

    def do(self, doc: Project) -> Changes:
        doc.emotion.replace(self.old.id, self.new)
        return _KEYS

    def undo(self, doc: Project) -> Changes:
        doc.emotion.replace(self.new.id, self.old)
        return _KEYS


class _SetAttribute(Command):
    """Set one attribute of the project from ``old`` to ``new`` (values are immutable)."""

    attribute: ClassVar[str]
    changes: ClassVar[Changes]
    default_label: ClassVar[str]

    def __init__(self, old: Any, new: Any, *, label: str | None = None) -> None:
        self.old = old
        self.new = new
        self.label = label if label is not None else self.default_label

    def do(self, doc: Project) -> Changes:
        setattr(doc, self.attribute, self.new)
        return self.changes

    def undo(self, doc: Project) -> Changes:
        setattr(doc, self.attribute, self.old)
        return self.changes


class SetEmotionSource(_SetAttribute):
    """Switch where the emotion comes from (``old``/``new``: :class:`EmotionSource`)."""

    attribute = "emotion_source"
    changes = Changes(source=True)
    default_label = "Change emotion source"
    old: EmotionSource
    new: EmotionSource


class SetTarget(_SetAttribute):
    """Set or clear the target video (``old``/``new``: :class:`TargetVideo` or None)."""

    attribute = "target"
    changes = Changes(media=True)
    default_label = "Set target video"
    old: TargetVideo | None
    new: TargetVideo | None


class SetSpeech(_SetAttribute):
    """Set, clear or shift the speech track (``old``/``new``: :class:`SpeechTrack` or None)."""

    attribute = "speech"
    changes = Changes(media=True)
    default_label = "Set speech"
    old: SpeechTrack | None
    new: SpeechTrack | None


class SetReference(_SetAttribute):
    """Set or clear the reference clip (``old``/``new``: :class:`ReferenceClip` or None)."""

    attribute = "reference"
    changes = Changes(media=True)
    default_label = "Set reference clip"
    old: ReferenceClip | None
    new: ReferenceClip | None


class SetRenderSettings(_SetAttribute):
    """Replace the render settings (``old``/``new``: :class:`RenderSettings`)."""

    attribute = "render"
    changes = Changes(settings=True)
    default_label = "Change render settings"
    old: RenderSettings
    new: RenderSettings


class RenameProject(_SetAttribute):
    """Rename the project (``old``/``new``: str)."""

    attribute = "name"
    changes = Changes(name=True)
    default_label = "Rename project"
    old: str
    new: str


class RelinkMedia(Command):
    """Point a media slot at another file (a moved or replaced file), keeping the rest.

    Parameters
    ----------
    role
        The slot: target, speech or reference.
    old, new
        The references before and after.
    label
        Undo menu text.
    """

    def __init__(
        self, role: MediaRole, old: MediaRef, new: MediaRef, *, label: str | None = None
    ) -> None:
        self.role = MediaRole(role)
        self.old = old
        self.new = new
        self.label = label if label is not None else f"Relink {self.role.value} media"

    def do(self, doc: Project) -> Changes:
        doc.set_media_ref(self.role, self.new)
        return Changes(media=True)

    def undo(self, doc: Project) -> Changes:
        doc.set_media_ref(self.role, self.old)
        return Changes(media=True)
