"""Upgrades of older project files to the current schema, one step per version.

Schema 0 is the pre-release format written by development builds before 0.1::

    {
      "schema_version": 0,
      "name": "Interview",
      "target": {"path": "clip.mp4", "hash": "sha256:...", "fps": 29.97,
                 "frames": 300, "size": [640, 480]},            # or null
      "speech": {"path": "speech.wav", "hash": "sha256:...", "offset": 0},  # or null
      "reference": {"path": "angry.mp4", "hash": "sha256:..."},        # or null
      "emotion_source": "keyframes",
      "keyframes": [[0, "happy", 0.5], [30, "sad", 1.0]],  # [frame, emotion, intensity]
      "render": {"renderer": "warp", "crf": 18, "preset": "medium"}   # optional
    }

It stored the frame rate as a float, keys as bare lists (always linear, no ids), media as
flat objects, and had no output size or render range. Values are checked by the schema-1
reader after the upgrade; a step checks only the shape it needs to convert.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

from evp_studio.errors import ProjectFormatError
from evp_studio.project._json_checks import (
    FormatProblem,
    expect_int,
    expect_list,
    expect_object,
    expect_str,
    item,
    show,
)
from evp_studio.project.model import RenderSettings, new_key_id

SCHEMA_VERSION = 1

_NTSC_TOLERANCE = 0.01


def fraction_from_fps(fps: float) -> Fraction:
    """Return the exact rate a float fps stands for: 29.97 -> 30000/1001, 25.0 -> 25.

    Rates within 0.01 of N * 1000/1001 map to that NTSC rate; others are read as the
    decimal they print as (12.5 -> 25/2).
    """
    ntsc = round(fps * 1.001)
    if abs(fps - round(fps)) > 1e-9 and abs(fps * 1.001 - ntsc) < _NTSC_TOLERANCE:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(repr(float(fps))).limit_denominator(1001)


def _v0_media(data: dict[str, Any]) -> dict[str, Any]:
    return {"path": data["path"], "content_hash": data.get("hash", "")}


def _v0_target(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    data = expect_object(
        value, "target", required=("path", "fps", "frames", "size"), optional=("hash",)
    )
    fps = data["fps"]
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps < 1000:
        raise FormatProblem("target.fps", f"expected a positive number, got {show(fps)}")
    size = expect_list(data["size"], "target.size")
    if len(size) != 2:
        raise FormatProblem("target.size", f"expected [width, height], got {show(size)}")
    rate = fraction_from_fps(fps)
    return {
        "media": _v0_media(data),
        "frame_rate": f"{rate.numerator}/{rate.denominator}",
        "frame_count": data["frames"],
        "width": size[0],
        "height": size[1],
    }


def _v0_speech(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    data = expect_object(value, "speech", required=("path",), optional=("hash", "offset"))
    return {"media": _v0_media(data), "offset_frames": data.get("offset", 0)}


def _v0_reference(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    data = expect_object(value, "reference", required=("path",), optional=("hash",))
    return {"media": _v0_media(data)}


def _v0_key(value: object, location: str) -> dict[str, Any]:
    entry = expect_list(value, location)
    if len(entry) != 3:
        raise FormatProblem(location, f"expected [frame, emotion, intensity], got {show(entry)}")
    frame, emotion, intensity = entry
    return {
        "id": new_key_id(),
        "frame": expect_int(frame, item(location, 0), minimum=0),
        "emotion": expect_str(emotion, item(location, 1)),
        "intensity": intensity,
        "easing": "linear",
    }


def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    top = expect_object(
        data,
        "",
        required=("schema_version", "name", "target", "speech", "keyframes"),
        optional=("reference", "emotion_source", "render"),
    )
    keys = expect_list(top["keyframes"], "keyframes")
    render: dict[str, Any] = dict(vars(RenderSettings()))
    old_render = expect_object(
        top.get("render", {}), "render", required=(), optional=("renderer", "crf", "preset")
    )
    render.update(old_render)
    return {
        "schema_version": 1,
        "name": top["name"],
        "target": _v0_target(top["target"]),
        "speech": _v0_speech(top["speech"]),
        "reference": _v0_reference(top.get("reference")),
        "emotion_source": top.get("emotion_source", "keyframes"),
        "emotion": {"keys": [_v0_key(key, item("keyframes", i)) for i, key in enumerate(keys)]},
        "render": render,
    }


#: ``_STEPS[n]`` upgrades a schema-n dict to schema n + 1.
_STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1}


def migrate(data: object, *, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Upgrade a project dict of any older schema to the current one, step by step.

    Parameters
    ----------
    data
        The parsed file; it is not modified.
    path
        The file it came from, named in errors.

    Returns
    -------
    dict
        A dict of schema :data:`SCHEMA_VERSION` (``data`` itself when already current).

    Raises
    ------
    ProjectFormatError
        When the version is unknown, newer than this build reads, or the old data cannot
        be converted (the location refers to the old layout).
    """
    file = Path(path) if path is not None else None
    try:
        version = read_schema_version(data)
    except FormatProblem as e:
        raise ProjectFormatError(file, str(e)) from e
    if version > SCHEMA_VERSION:
        raise ProjectFormatError(
            file,
            f"made by a newer EVP Studio (schema {version}, this version reads up to "
            f"{SCHEMA_VERSION}); please update EVP Studio to open it",
        )
    current = cast(dict[str, Any], data)  # read_schema_version checked it is an object
    if version == SCHEMA_VERSION:
        return current
    upgraded = copy.deepcopy(current)
    try:
        for step in range(version, SCHEMA_VERSION):
            upgraded = _STEPS[step](upgraded)
    except FormatProblem as e:
        raise ProjectFormatError(file, f"{e} (in a schema {version} file)") from e
    return upgraded


def read_schema_version(data: object) -> int:
    """Return the ``schema_version`` of a parsed file, checking only that key.

    Raises
    ------
    FormatProblem
        When the top level is not an object or the key is missing or not an integer >= 0.
    """
    if not isinstance(data, dict):
        raise FormatProblem("", f"expected an object, got {show(data)}")
    if "schema_version" not in data:
        raise FormatProblem("", 'missing key "schema_version" (is this an EVP Studio project?)')
    return expect_int(data["schema_version"], "schema_version", minimum=0)
