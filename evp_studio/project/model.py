"""The project document: plain dataclasses, no Qt, no behaviour beyond validation.

``Project`` is mutable and is changed only by commands (see ``commands.py``); the values it
holds (keys, media references, settings) are frozen and are replaced whole, so that a
command's ``old`` and ``new`` snapshots can never be altered behind the history's back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from evp_studio.codecs import X264_PRESETS
from evp_studio.errors import InvalidInputError
from evp_studio.project._validate import (
    require_choice,
    require_int,
    require_optional_int,
    require_text,
    to_frame_rate,
)
from evp_studio.project.emotion import (
    EMOTIONS,
    NEUTRAL_INDEX,
    Easing,
    EmotionTrack,
    Keyframe,
    new_key_id,
    to_easing,
)
from evp_studio.project.media_ref import MediaRef, MediaStatus

__all__ = [
    "EMOTIONS",
    "NEUTRAL_INDEX",
    "RENDERERS",
    "X264_PRESETS",
    "Easing",
    "EmotionSource",
    "EmotionTrack",
    "Keyframe",
    "MediaRef",
    "MediaRole",
    "MediaStatus",
    "Project",
    "ReferenceClip",
    "RenderSettings",
    "SpeechTrack",
    "TargetVideo",
    "new_key_id",
    "to_easing",
]

RENDERERS: tuple[str, ...] = ("warp", "neural")


class EmotionSource(StrEnum):
    """Where the emotion comes from; keyframes override the others where present."""

    KEYFRAMES = "keyframes"
    SPEECH = "speech"  # the emotion carried by the speech track itself
    REFERENCE = "reference"  # the emotion of a reference clip (paper Fig. 1a)


class MediaRole(StrEnum):
    """The media slots of a project; also the keys of ``Document.media_status``."""

    TARGET = "target"
    SPEECH = "speech"
    REFERENCE = "reference"


def _to_role(value: object) -> MediaRole:
    if isinstance(value, str) and value in {role.value for role in MediaRole}:
        return MediaRole(value)
    allowed = ", ".join(MediaRole)
    raise InvalidInputError(f"media role must be one of {allowed}; got {value!r}")


def _require_media(value: object, owner: str) -> None:
    if not isinstance(value, MediaRef):
        raise InvalidInputError(f"{owner}.media must be a MediaRef, got {value!r}")


@dataclass(frozen=True)
class TargetVideo:
    """The talking-head video the speech is put on.

    Parameters
    ----------
    media
        The video file.
    frame_rate
        Exact frames per second (``Fraction(30000, 1001)``, not 29.97); ints and strings
        like ``"30000/1001"`` are converted.
    frame_count
        Number of frames, >= 1.
    width, height
        Frame size in pixels, >= 1.
    """

    media: MediaRef
    frame_rate: Fraction
    frame_count: int
    width: int
    height: int

    def __post_init__(self) -> None:
        _require_media(self.media, "target")
        object.__setattr__(self, "frame_rate", to_frame_rate(self.frame_rate))
        for name in ("frame_count", "width", "height"):
            value = require_int(getattr(self, name), f"target {name}", minimum=1)
            object.__setattr__(self, name, value)

    @property
    def duration(self) -> Fraction:
        """Length of the video in seconds, exact."""
        return self.frame_count / self.frame_rate


@dataclass(frozen=True)
class SpeechTrack:
    """The speech the person will say.

    Parameters
    ----------
    media
        The audio (or video-with-audio) file.
    offset_frames
        Start of the speech on the target's timeline, in target frames; negative values
        skip the beginning of the speech.
    """

    media: MediaRef
    offset_frames: int = 0

    def __post_init__(self) -> None:
        _require_media(self.media, "speech")
        object.__setattr__(
            self, "offset_frames", require_int(self.offset_frames, "speech offset_frames")
        )


@dataclass(frozen=True)
class ReferenceClip:
    """A clip whose emotion is transferred when the source is ``EmotionSource.REFERENCE``."""

    media: MediaRef

    def __post_init__(self) -> None:
        _require_media(self.media, "reference")


@dataclass(frozen=True)
class RenderSettings:
    """How the result is rendered and encoded.

    Parameters
    ----------
    renderer
        ``"warp"`` (training-free) or ``"neural"`` (per-target Edge-to-Video).
    width, height
        Output size in pixels, None to keep the target's (one None keeps the aspect).
    crf
        H.264 constant rate factor, 0 (lossless) to 51.
    preset
        x264 speed preset, one of :data:`X264_PRESETS`.
    in_frame, out_frame
        Half-open range ``[in_frame, out_frame)`` of target frames to render; None means
        the start / the end of the clip.

    Raises
    ------
    InvalidInputError
        When a value is out of range; the message names the field and the value.
    """

    renderer: str = "warp"
    width: int | None = None
    height: int | None = None
    crf: int = 18
    preset: str = "medium"
    in_frame: int | None = None
    out_frame: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "renderer", require_choice(self.renderer, "renderer", RENDERERS))
        set_(self, "preset", require_choice(self.preset, "preset", X264_PRESETS))
        set_(self, "crf", require_int(self.crf, "crf", minimum=0))
        if self.crf > 51:
            raise InvalidInputError(f"crf must be in [0, 51], got {self.crf}")
        for name in ("width", "height"):
            set_(self, name, require_optional_int(getattr(self, name), name, minimum=1))
        for name in ("in_frame", "out_frame"):
            set_(self, name, require_optional_int(getattr(self, name), name, minimum=0))
        if (
            self.in_frame is not None
            and self.out_frame is not None
            and self.out_frame <= self.in_frame
        ):
            raise InvalidInputError(
                f"out_frame ({self.out_frame}) must be after in_frame ({self.in_frame})"
            )


@dataclass
class Project:
    """An EVP Studio project: media, emotion keyframes and render settings.

    Parameters
    ----------
    name
        Shown in the title bar; not the file name.
    target, speech, reference
        The media, each None until set.
    emotion_source
        Where the emotion comes from.
    emotion
        The emotion keyframes.
    render
        Render and export settings.
    """

    name: str
    target: TargetVideo | None = None
    speech: SpeechTrack | None = None
    reference: ReferenceClip | None = None
    emotion_source: EmotionSource = EmotionSource.KEYFRAMES
    emotion: EmotionTrack = field(default_factory=EmotionTrack)
    render: RenderSettings = field(default_factory=RenderSettings)

    def __post_init__(self) -> None:
        require_text(self.name, "project name")
        try:
            self.emotion_source = EmotionSource(self.emotion_source)
        except ValueError as e:
            allowed = ", ".join(EmotionSource)
            raise InvalidInputError(
                f"emotion_source must be one of {allowed}; got {self.emotion_source!r}"
            ) from e

    @classmethod
    def new(cls, name: str = "Untitled") -> Project:
        """Return an empty project with default settings."""
        return cls(name=name)

    def emotion_weights(self, frames: npt.ArrayLike) -> np.ndarray:
        """Return ``(T, 8)`` float32 emotion weights at ``frames``; see ``EmotionTrack``."""
        return self.emotion.emotion_weights(frames)

    def media_ref(self, role: MediaRole | str) -> MediaRef | None:
        """Return the media reference in slot ``role``, or None when the slot is empty.

        Raises
        ------
        InvalidInputError
            When ``role`` is not a :class:`MediaRole` value.
        """
        holder = getattr(self, _to_role(role).value)
        return holder.media if holder is not None else None

    def media_refs(self) -> dict[MediaRole, MediaRef]:
        """Return the media references of the filled slots, keyed by role."""
        refs = {role: self.media_ref(role) for role in MediaRole}
        return {role: ref for role, ref in refs.items() if ref is not None}

    def set_media_ref(self, role: MediaRole | str, ref: MediaRef) -> None:
        """Point the filled slot ``role`` at another file, keeping its other fields.

        Raises
        ------
        InvalidInputError
            When the slot is empty or ``role`` is unknown.
        """
        role = _to_role(role)
        holder = getattr(self, role.value)
        if holder is None:
            raise InvalidInputError(f"the project has no {role.value} media to relink")
        setattr(self, role.value, replace(holder, media=ref))
