"""Schema 1 of the project file: the dict writer and the strict reader.

See ``io.py`` for the layout. Media paths are written relative to the project file's folder
when possible and read back as absolute paths.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path, PurePath
from typing import Any, TypeVar

from evp_studio.errors import InvalidInputError
from evp_studio.project._json_checks import (
    FormatProblem,
    child,
    expect_int,
    expect_list,
    expect_number,
    expect_object,
    expect_optional_int,
    expect_str,
    item,
    show,
)
from evp_studio.project.model import (
    EMOTIONS,
    RENDERERS,
    X264_PRESETS,
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
    new_key_id,
)

T = TypeVar("T")

_HASH = re.compile(r"sha256:[0-9a-f]{64}")
_RATE = re.compile(r"([1-9][0-9]*)(?:/([1-9][0-9]*))?")
TOP_KEYS = (
    "schema_version",
    "name",
    "target",
    "speech",
    "reference",
    "emotion_source",
    "emotion",
    "render",
)
RENDER_KEYS = ("renderer", "width", "height", "crf", "preset", "in_frame", "out_frame")

# -- writing ---------------------------------------------------------------------------------


def store_path(path: str, base_dir: Path | None) -> str:
    """Return ``path`` as written to the file: relative to ``base_dir`` when possible."""
    if not os.path.isabs(path):
        return PurePath(path).as_posix()
    if base_dir is None:
        return path
    try:
        relative = os.path.relpath(path, os.path.abspath(base_dir))
    except ValueError:  # another drive on Windows: no relative path exists
        return path
    return PurePath(relative).as_posix()


def _media_to_dict(ref: MediaRef, base_dir: Path | None) -> dict[str, Any]:
    return {"path": store_path(ref.path, base_dir), "content_hash": ref.content_hash}


def write_project(project: Project, base_dir: Path | None) -> dict[str, Any]:
    """Return the schema-1 dict of ``project`` (without ``schema_version``/``generator``)."""
    target = project.target
    speech = project.speech
    reference = project.reference
    return {
        "name": project.name,
        "target": None
        if target is None
        else {
            "media": _media_to_dict(target.media, base_dir),
            "frame_rate": f"{target.frame_rate.numerator}/{target.frame_rate.denominator}",
            "frame_count": target.frame_count,
            "width": target.width,
            "height": target.height,
        },
        "speech": None
        if speech is None
        else {
            "media": _media_to_dict(speech.media, base_dir),
            "offset_frames": speech.offset_frames,
        },
        "reference": None
        if reference is None
        else {"media": _media_to_dict(reference.media, base_dir)},
        "emotion_source": project.emotion_source.value,
        "emotion": {
            "keys": [
                {
                    "id": key.id,
                    "frame": key.frame,
                    "emotion": key.emotion,
                    "intensity": key.intensity,
                    "easing": key.easing.value,
                }
                for key in project.emotion.keys
            ]
        },
        "render": {name: getattr(project.render, name) for name in RENDER_KEYS},
    }


# -- reading ---------------------------------------------------------------------------------


def _build(location: str, make: Callable[[], T]) -> T:
    """Construct a model object, reporting its own validation errors at ``location``."""
    try:
        return make()
    except InvalidInputError as e:
        raise FormatProblem(location, str(e)) from e


def _read_media(value: object, location: str, base_dir: Path | None) -> MediaRef:
    data = expect_object(value, location, required=("path", "content_hash"))
    stored = expect_str(data["path"], child(location, "path"))
    content_hash = data["content_hash"]
    if not isinstance(content_hash, str) or not (
        content_hash == "" or _HASH.fullmatch(content_hash)
    ):
        raise FormatProblem(
            child(location, "content_hash"),
            f'expected "sha256:" and 64 hex digits (or ""), got {show(content_hash)}',
        )
    absolute = MediaRef(stored, content_hash).resolve(base_dir)
    return MediaRef(str(absolute), content_hash)


def _read_rate(value: object, location: str) -> Fraction:
    match = _RATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise FormatProblem(
            location, f'expected a frame rate like "30000/1001" or "25", got {show(value)}'
        )
    return Fraction(int(match.group(1)), int(match.group(2) or 1))


def _read_target(value: object, location: str, base_dir: Path | None) -> TargetVideo | None:
    if value is None:
        return None
    keys = ("media", "frame_rate", "frame_count", "width", "height")
    data = expect_object(value, location, required=keys)
    media = _read_media(data["media"], child(location, "media"), base_dir)
    rate = _read_rate(data["frame_rate"], child(location, "frame_rate"))
    count, width, height = (
        expect_int(data[name], child(location, name), minimum=1) for name in keys[2:]
    )
    return TargetVideo(media, rate, count, width, height)


def _read_speech(value: object, location: str, base_dir: Path | None) -> SpeechTrack | None:
    if value is None:
        return None
    data = expect_object(value, location, required=("media", "offset_frames"))
    media = _read_media(data["media"], child(location, "media"), base_dir)
    return SpeechTrack(media, expect_int(data["offset_frames"], child(location, "offset_frames")))


def _read_reference(value: object, location: str, base_dir: Path | None) -> ReferenceClip | None:
    if value is None:
        return None
    data = expect_object(value, location, required=("media",))
    return ReferenceClip(_read_media(data["media"], child(location, "media"), base_dir))


def _read_key(value: object, location: str) -> Keyframe:
    data = expect_object(
        value, location, required=("frame", "emotion", "intensity"), optional=("id", "easing")
    )
    key_id = expect_str(data["id"], child(location, "id")) if "id" in data else new_key_id()
    frame = expect_int(data["frame"], child(location, "frame"), minimum=0)
    emotion = expect_str(data["emotion"], child(location, "emotion"), choices=EMOTIONS)
    intensity = expect_number(data["intensity"], child(location, "intensity"), 0.0, 1.0)
    easing = Easing(
        expect_str(data.get("easing", "linear"), child(location, "easing"), choices=Easing)
    )
    return Keyframe(key_id, frame, emotion, intensity, easing)


def _read_emotion(value: object, location: str) -> EmotionTrack:
    data = expect_object(value, location, required=("keys",))
    keys_location = child(location, "keys")
    keys: list[Keyframe] = []
    by_frame: dict[int, int] = {}
    by_id: dict[str, int] = {}
    for i, raw in enumerate(expect_list(data["keys"], keys_location)):
        key = _read_key(raw, item(keys_location, i))
        if key.frame in by_frame:
            where = item(keys_location, by_frame[key.frame])
            raise FormatProblem(
                child(item(keys_location, i), "frame"), f"frame {key.frame} is also used by {where}"
            )
        if key.id in by_id:
            where = item(keys_location, by_id[key.id])
            raise FormatProblem(
                child(item(keys_location, i), "id"), f"id {show(key.id)} is also used by {where}"
            )
        by_frame[key.frame] = by_id[key.id] = i
        keys.append(key)
    return EmotionTrack(keys)


def _read_render(value: object, location: str) -> RenderSettings:
    data = expect_object(value, location, required=RENDER_KEYS)
    fields: dict[str, Any] = {
        "renderer": expect_str(data["renderer"], child(location, "renderer"), choices=RENDERERS),
        "preset": expect_str(data["preset"], child(location, "preset"), choices=X264_PRESETS),
        "crf": expect_int(data["crf"], child(location, "crf"), minimum=0),
    }
    if fields["crf"] > 51:
        raise FormatProblem(
            child(location, "crf"), f"expected an integer in [0, 51], got {fields['crf']}"
        )
    for name, minimum in (("width", 1), ("height", 1), ("in_frame", 0), ("out_frame", 0)):
        fields[name] = expect_optional_int(data[name], child(location, name), minimum=minimum)
    return _build(location, lambda: RenderSettings(**fields))


def read_project(data: object, base_dir: Path | None) -> Project:
    """Build a project from a schema-1 dict, checking every value.

    Raises
    ------
    FormatProblem
        At the first wrong, missing or unknown value, with its JSON location.
    """
    top = expect_object(data, "", required=TOP_KEYS, optional=("generator",))
    name = expect_str(top["name"], "name")
    source = EmotionSource(
        expect_str(top["emotion_source"], "emotion_source", choices=EmotionSource)
    )
    return Project(
        name=name,
        target=_read_target(top["target"], "target", base_dir),
        speech=_read_speech(top["speech"], "speech", base_dir),
        reference=_read_reference(top["reference"], "reference", base_dir),
        emotion_source=source,
        emotion=_read_emotion(top["emotion"], "emotion"),
        render=_read_render(top["render"], "render"),
    )
