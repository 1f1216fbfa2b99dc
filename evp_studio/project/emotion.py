"""Emotion keyframes and the track that turns them into per-frame category weights.

A keyframe ``(c, a)`` at frame ``f`` means the weight vector
``a * onehot(c) + (1 - a) * onehot(neutral)`` over :data:`EMOTIONS`. Between two keys the
vector is interpolated with the *earlier* key's easing; before the first key and after the
last one the nearest key's vector holds. Frames are integer indices of the target video.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from evp_studio.errors import InvalidInputError
from evp_studio.project._validate import (
    require_choice,
    require_int,
    require_text,
    require_unit_interval,
)

#: The 8 MEAD emotion categories, in the official code's label order (used everywhere).
EMOTIONS: tuple[str, ...] = (
    "angry",
    "contempt",
    "disgusted",
    "fear",
    "happy",
    "neutral",
    "sad",
    "surprised",
)
NEUTRAL_INDEX = 5
assert EMOTIONS[NEUTRAL_INDEX] == "neutral"

_FRAME = attrgetter("frame")


class Easing(StrEnum):
    """How the emotion moves from a key to the next one."""

    LINEAR = "linear"
    EASE_IN_OUT = "ease-in-out"  # smoothstep 3t^2 - 2t^3
    HOLD = "hold"  # keep this key's value until the next key


_EASING_VALUES = frozenset(easing.value for easing in Easing)


def to_easing(value: object) -> Easing:
    """Return ``value`` as an :class:`Easing` (its string value is accepted).

    Raises
    ------
    InvalidInputError
        When the value names no easing.
    """
    if isinstance(value, str) and value in _EASING_VALUES:
        return Easing(value)
    allowed = ", ".join(Easing)
    raise InvalidInputError(f"easing must be one of {allowed}; got {value!r}")


def new_key_id() -> str:
    """Return a fresh stable keyframe id (12 hex digits of a uuid4)."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Keyframe:
    """One emotion key. Frozen: an edit replaces the key, so commands can keep old and new.

    Parameters
    ----------
    id
        Stable id used by commands and views (see :func:`new_key_id`).
    frame
        Frame index of the target video, >= 0.
    emotion
        One of :data:`EMOTIONS`.
    intensity
        0 (neutral) to 1 (full emotion).
    easing
        Interpolation from this key to the next one.

    Raises
    ------
    InvalidInputError
        When any field is out of range or of the wrong type; the message names the value.
    """

    id: str
    frame: int
    emotion: str
    intensity: float
    easing: Easing = Easing.LINEAR

    def __post_init__(self) -> None:
        require_text(self.id, "keyframe id")
        object.__setattr__(self, "frame", require_int(self.frame, "keyframe frame", minimum=0))
        object.__setattr__(self, "emotion", require_choice(self.emotion, "emotion", EMOTIONS))
        intensity = require_unit_interval(self.intensity, "keyframe intensity")
        object.__setattr__(self, "intensity", intensity)
        object.__setattr__(self, "easing", to_easing(self.easing))

    def weights(self) -> np.ndarray:
        """Return this key's weight vector, shape (8,) float64, summing to 1."""
        vector = np.zeros(len(EMOTIONS), dtype=np.float64)
        vector[NEUTRAL_INDEX] = 1.0 - self.intensity
        vector[EMOTIONS.index(self.emotion)] += self.intensity
        return vector


@dataclass
class EmotionTrack:
    """Emotion keyframes kept sorted by frame, with at most one key per frame.

    Mutate it only through :meth:`insert`, :meth:`remove` and :meth:`replace` (which the
    commands call), so that the order and uniqueness invariants hold.

    Parameters
    ----------
    keys
        Initial keys in any order; they are sorted.

    Raises
    ------
    InvalidInputError
        When two keys share a frame or an id.
    """

    keys: list[Keyframe] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keys = sorted(self.keys, key=_FRAME)
        for before, after in zip(self.keys, self.keys[1:]):
            if before.frame == after.frame:
                raise InvalidInputError(f"two keyframes at frame {after.frame}")
        ids = [key.id for key in self.keys]
        if len(set(ids)) != len(ids):
            raise InvalidInputError("two keyframes share an id")

    def __len__(self) -> int:
        return len(self.keys)

    # -- queries ---------------------------------------------------------------------------

    def key_by_id(self, key_id: str) -> Keyframe | None:
        """Return the key with this id, or None."""
        return next((key for key in self.keys if key.id == key_id), None)

    def key_at(self, frame: int) -> Keyframe | None:
        """Return the key sitting exactly at ``frame``, or None."""
        i = bisect.bisect_left(self.keys, frame, key=_FRAME)
        if i < len(self.keys) and self.keys[i].frame == frame:
            return self.keys[i]
        return None

    def next_key(self, frame: float) -> Keyframe | None:
        """Return the first key strictly after ``frame``, or None."""
        i = bisect.bisect_right(self.keys, frame, key=_FRAME)
        return self.keys[i] if i < len(self.keys) else None

    def prev_key(self, frame: float) -> Keyframe | None:
        """Return the last key strictly before ``frame``, or None."""
        i = bisect.bisect_left(self.keys, frame, key=_FRAME)
        return self.keys[i - 1] if i > 0 else None

    def closest_key(self, frame: float) -> Keyframe | None:
        """Return the key nearest to ``frame`` (the earlier one on a tie), or None."""
        i = bisect.bisect_left(self.keys, frame, key=_FRAME)
        candidates = self.keys[max(0, i - 1) : i + 1]
        if not candidates:
            return None
        return min(candidates, key=lambda key: abs(key.frame - frame))

    # -- edits (called by commands) ----------------------------------------------------------

    def insert(self, key: Keyframe) -> None:
        """Insert a key.

        Raises
        ------
        InvalidInputError
            When a key already sits at ``key.frame`` or uses ``key.id``.
        """
        self._check_free(key, ignore_id=None)
        bisect.insort(self.keys, key, key=_FRAME)

    def remove(self, key_id: str) -> Keyframe:
        """Remove the key with this id and return it.

        Raises
        ------
        InvalidInputError
            When no key has this id.
        """
        return self.keys.pop(self._index_of(key_id))

    def replace(self, key_id: str, new: Keyframe) -> Keyframe:
        """Put ``new`` in place of the key with id ``key_id`` and return the old key.

        Raises
        ------
        InvalidInputError
            When no key has ``key_id``, or ``new`` would share a frame or an id with another
            key. The track is unchanged then.
        """
        i = self._index_of(key_id)
        self._check_free(new, ignore_id=key_id)
        old = self.keys.pop(i)
        bisect.insort(self.keys, new, key=_FRAME)
        return old

    def _index_of(self, key_id: str) -> int:
        for i, key in enumerate(self.keys):
            if key.id == key_id:
                return i
        raise InvalidInputError(f"no keyframe with id {key_id!r}")

    def _check_free(self, key: Keyframe, *, ignore_id: str | None) -> None:
        at_frame = self.key_at(key.frame)
        if at_frame is not None and at_frame.id != ignore_id:
            raise InvalidInputError(f"frame {key.frame} already holds a keyframe")
        if key.id != ignore_id and self.key_by_id(key.id) is not None:
            raise InvalidInputError(f"a keyframe with id {key.id!r} already exists")

    # -- evaluation --------------------------------------------------------------------------

    def emotion_weights(self, frames: npt.ArrayLike) -> np.ndarray:
        """Return the emotion weight vector at each of ``frames``, vectorised.

        Parameters
        ----------
        frames
            1-D frame indices of the target video (fractional frames are allowed, e.g. the
            pipeline's 25 fps timestamps expressed in target frames).

        Returns
        -------
        np.ndarray
            ``(T, 8)`` float32 weights over :data:`EMOTIONS`; every row sums to 1.

        Raises
        ------
        InvalidInputError
            When ``frames`` is not 1-D or holds NaN or infinity.
        """
        f = np.asarray(frames, dtype=np.float64)
        if f.ndim != 1:
            raise InvalidInputError(f"frames must be a 1-D array, got shape {f.shape}")
        if not np.all(np.isfinite(f)):
            raise InvalidInputError("frames must be finite numbers")
        out = np.zeros((f.size, len(EMOTIONS)), dtype=np.float32)
        if not self.keys:
            out[:, NEUTRAL_INDEX] = 1.0
            return out
        values = np.stack([key.weights() for key in self.keys])  # (K, 8) float64
        if len(self.keys) == 1:
            out[:] = values[0]
            return out
        key_frames = np.array([key.frame for key in self.keys], dtype=np.float64)
        # Segment i runs from key i to key i+1; frames outside clamp to the end segments,
        # where clipping t to [0, 1] holds the first/last key's value.
        seg = np.clip(np.searchsorted(key_frames, f, side="right") - 1, 0, len(key_frames) - 2)
        start = key_frames[seg]
        t = np.clip((f - start) / (key_frames[seg + 1] - start), 0.0, 1.0)
        easing = np.array([_EASING_CODE[key.easing] for key in self.keys[:-1]])[seg]
        t = np.where(easing == _EASING_CODE[Easing.EASE_IN_OUT], t * t * (3.0 - 2.0 * t), t)
        t = np.where(easing == _EASING_CODE[Easing.HOLD], np.floor(t), t)
        t = t[:, None]
        out[:] = values[seg] * (1.0 - t) + values[seg + 1] * t
        return out


_EASING_CODE: dict[Easing, int] = {easing: code for code, easing in enumerate(Easing)}
