"""Keyframe verbs of :class:`~evp_studio.project.document.Document` (kept apart for size)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from psygnal import SignalInstance

from evp_studio.errors import InvalidInputError
from evp_studio.project._validate import require_int
from evp_studio.project.commands import AddKeyframe, RemoveKeyframe, ReplaceKeyframe
from evp_studio.project.history import Changes, CommandStack
from evp_studio.project.model import (
    Easing,
    EmotionTrack,
    Keyframe,
    Project,
    new_key_id,
    to_easing,
)

log = logging.getLogger(__name__)


class KeyframeEditsMixin:
    """Keyframe editing verbs; every one that changes the project pushes one undo entry."""

    history: CommandStack
    changed: SignalInstance
    if TYPE_CHECKING:

        @property
        def project(self) -> Project: ...

    def require_key(self, key_id: str) -> Keyframe:
        """Return the key with this id.

        Raises
        ------
        InvalidInputError
            When the project has no such key.
        """
        key = self.project.emotion.key_by_id(key_id)
        if key is None:
            raise InvalidInputError(f"no keyframe with id {key_id!r}")
        return key

    def add_keyframe(
        self, *, frame: int, emotion: str, intensity: float, easing: Easing | str = Easing.LINEAR
    ) -> Keyframe:
        """Add a key; a key already at ``frame`` is replaced (keeping its id) in one step.

        Parameters
        ----------
        frame
            Target-video frame index, >= 0.
        emotion
            One of ``EMOTIONS``.
        intensity
            0 to 1.
        easing
            Interpolation towards the next key.

        Returns
        -------
        Keyframe
            The key now at ``frame``.

        Raises
        ------
        InvalidInputError
            When a value is invalid; nothing is changed then.
        """
        key = Keyframe(new_key_id(), frame, emotion, intensity, to_easing(easing))
        existing = self.project.emotion.key_at(key.frame)
        if existing is None:
            self.history.push(AddKeyframe(key))
            return key
        key = replace(key, id=existing.id)
        if key != existing:
            self.history.push(ReplaceKeyframe(existing, key, label="Replace keyframe"))
        return key

    def remove_keyframes(self, *, key_ids: Iterable[str]) -> None:
        """Remove keys as one undo step.

        Raises
        ------
        InvalidInputError
            When an id is unknown; nothing is removed then.
        """
        keys = [self.require_key(key_id) for key_id in dict.fromkeys(key_ids)]
        if not keys:
            return
        label = "Remove keyframe" if len(keys) == 1 else f"Remove {len(keys)} keyframes"
        with self.history.macro(label):
            for key in keys:
                self.history.push(RemoveKeyframe(key.id))

    def replace_keyframes(
        self, *, keys: Iterable[Keyframe], label: str = "Replace keyframes"
    ) -> list[Keyframe]:
        """Replace every key by ``keys`` as one undo step (e.g. keys made from the speech).

        Parameters
        ----------
        keys
            The new keys; they must not share a frame or an id.
        label
            Undo menu text.

        Returns
        -------
        list of Keyframe
            The keys now in the track, sorted by frame.

        Raises
        ------
        InvalidInputError
            When two new keys share a frame or an id; nothing is changed then.
        """
        new = EmotionTrack(list(keys)).keys  # validates: sorted, one key per frame, unique ids
        old = list(self.project.emotion.keys)
        if new == old:
            return new
        with self.history.macro(label):
            for key in old:
                self.history.push(RemoveKeyframe(key.id, label=label))
            for key in new:
                self.history.push(AddKeyframe(key, label=label))
        return list(self.project.emotion.keys)

    def move_keyframes(self, *, key_ids: Iterable[str], delta: int) -> list[Keyframe]:
        """Shift keys by ``delta`` frames as one undo step.

        Returns
        -------
        list of Keyframe
            The moved keys, in the order of ``key_ids``.

        Raises
        ------
        InvalidInputError
            When an id is unknown, a key would land before frame 0, or on a frame held by a
            key that is not moving. Nothing is changed then.
        """
        delta = require_int(delta, "delta")
        keys = [self.require_key(key_id) for key_id in dict.fromkeys(key_ids)]
        if not keys or delta == 0:
            return keys
        moving = {key.id for key in keys}
        targets = {key.frame + delta for key in keys}
        if min(targets) < 0:
            raise InvalidInputError(
                f"cannot move keyframes by {delta}: one would land on frame {min(targets)}"
            )
        for other in self.project.emotion.keys:
            if other.id not in moving and other.frame in targets:
                raise InvalidInputError(
                    f"cannot move keyframes by {delta}: frame {other.frame} already holds "
                    "a keyframe that is not moving"
                )
        # Move the leading key first so no step lands on a key that has not moved yet.
        order = sorted(keys, key=lambda key: key.frame, reverse=delta > 0)
        moved = {key.id: replace(key, frame=key.frame + delta) for key in order}
        label = "Move keyframe" if len(keys) == 1 else f"Move {len(keys)} keyframes"
        with self.history.macro(label):
            for key in order:
                self.history.push(ReplaceKeyframe(key, moved[key.id]))
        return [moved[key.id] for key in keys]

    def update_keyframe(
        self,
        *,
        key_id: str,
        frame: int | None = None,
        emotion: str | None = None,
        intensity: float | None = None,
        easing: Easing | str | None = None,
    ) -> Keyframe:
        """Change some fields of a key as one undo step (None keeps a field).

        Returns
        -------
        Keyframe
            The key as it now is.

        Raises
        ------
        InvalidInputError
            When the id is unknown, a value is invalid or ``frame`` holds another key.
        """
        old = self.require_key(key_id)
        given: dict[str, Any] = {
            "frame": frame,
            "emotion": emotion,
            "intensity": intensity,
            "easing": easing,
        }
        new = replace(old, **{name: value for name, value in given.items() if value is not None})
        if new == old:
            return old
        label = "Move keyframe" if new.frame != old.frame else "Edit keyframe"
        self.history.push(ReplaceKeyframe(old, new, label=label))
        return new

    def preview_keyframe(
        self, *, key_id: str, frame: int | None = None, intensity: float | None = None
    ) -> Keyframe:
        """Change a key live during a drag, without recording it (emits ``changed``).

        End the drag with :meth:`commit_keyframe_drag`. A frame held by another key is
        refused quietly (the key stays where it is), since a drag passes over other keys.

        Returns
        -------
        Keyframe
            The key as it now is.

        Raises
        ------
        InvalidInputError
            When the id is unknown, ``frame`` < 0 or ``intensity`` is outside [0, 1].
        """
        old = self.require_key(key_id)
        new = replace(
            old,
            frame=old.frame if frame is None else frame,
            intensity=old.intensity if intensity is None else intensity,
        )
        other = self.project.emotion.key_at(new.frame)
        if new == old or (other is not None and other.id != key_id):
            return old
        self.project.emotion.replace(key_id, new)
        self.changed.emit(Changes(keyframes=True))
        return new

    def commit_keyframe_drag(self, *, key_id: str, original: Keyframe) -> Keyframe:
        """Record a finished drag as one command from ``original`` to the key as it is now.

        Returns
        -------
        Keyframe
            The key as it now is (nothing is recorded when it equals ``original``).

        Raises
        ------
        InvalidInputError
            When the key no longer exists.
        """
        current = self.require_key(key_id)
        if current == original:
            return current
        label = "Move keyframe" if current.frame != original.frame else "Edit keyframe"
        self.history.push(ReplaceKeyframe(original, current, label=label))
        return current
