"""Project files: JSON with a ``schema_version``, saved atomically, read strictly.

A project file (``.evp``) is UTF-8 JSON, indented for people who read or diff it::

    {
      "schema_version": 1,
      "generator": "EVP Studio 0.1.0",
      "name": "Interview take 3",
      "target": {
        "media": {"path": "media/take3.mp4", "content_hash": "sha256:<64 hex>"},
        "frame_rate": "30000/1001",
        "frame_count": 900,
        "width": 1920,
        "height": 1080
      },
      "speech": {"media": {"path": "media/line.wav", "content_hash": "sha256:..."},
                 "offset_frames": 12},
      "reference": null,
      "emotion_source": "keyframes",
      "emotion": {"keys": [
        {"id": "3f2a9c01b7de", "frame": 0, "emotion": "happy", "intensity": 0.75,
         "easing": "ease-in-out"}
      ]},
      "render": {"renderer": "warp", "width": null, "height": null, "crf": 18,
                 "preset": "medium", "in_frame": null, "out_frame": null}
    }

``target``/``speech``/``reference`` may be null. Media paths are relative to the project
file's folder (with ``/``) when the media is on the same drive, absolute otherwise; the frame
rate is an exact ``"num/den"``. Every key is required except ``generator`` and, in a
keyframe, ``id`` (a fresh one is made) and ``easing`` (``"linear"``). Unknown keys are
refused, so a typo in a hand-edited file is reported rather than silently dropped.
Older schemas are upgraded at load time by :func:`migrate`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from evp_studio.errors import ProjectFormatError
from evp_studio.fileio import atomic_write_text
from evp_studio.project._json_checks import FormatProblem
from evp_studio.project._migrations import SCHEMA_VERSION, migrate, read_schema_version
from evp_studio.project._schema_v1 import read_project, write_project
from evp_studio.project.model import Project

__all__ = [
    "PROJECT_SUFFIX",
    "SCHEMA_VERSION",
    "load_project",
    "migrate",
    "project_from_dict",
    "project_to_dict",
    "save_project",
]

log = logging.getLogger(__name__)

PROJECT_SUFFIX = ".evp"


@functools.cache
def _generator() -> str:
    try:
        return f"EVP Studio {metadata.version('evp-studio')}"
    except metadata.PackageNotFoundError:
        return "EVP Studio"


def project_to_dict(
    project: Project, base_dir: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Return the JSON-ready dict of ``project`` in the current schema.

    Parameters
    ----------
    project
        The project.
    base_dir
        The folder of the project file; media paths are written relative to it when
        possible. None writes them as they are held (absolute).

    Returns
    -------
    dict
        Plain JSON types only (str, int, float, bool, None, list, dict).
    """
    base = Path(base_dir) if base_dir is not None else None
    return {"schema_version": SCHEMA_VERSION, "generator": _generator()} | write_project(
        project, base
    )


def project_from_dict(data: object, *, path: str | os.PathLike[str] | None = None) -> Project:
    """Build a project from a parsed project file, upgrading older schemas first.

    Parameters
    ----------
    data
        The parsed JSON (it is not modified).
    path
        The project file: named in errors, and its folder resolves relative media paths
        (None: the current working directory).

    Returns
    -------
    Project
        With absolute media paths.

    Raises
    ------
    ProjectFormatError
        When anything is wrong, missing or unknown; the message names the file and the
        JSON location, e.g. ``emotion.keys[2].intensity: expected a number in [0, 1],
        got "high"``.
    """
    file = Path(path) if path is not None else None
    base_dir = Path(os.path.abspath(path)).parent if path is not None else None
    try:
        version = read_schema_version(data)
    except FormatProblem as e:
        raise ProjectFormatError(file, str(e)) from e
    current = migrate(data, path=file)
    try:
        return read_project(current, base_dir)
    except FormatProblem as e:
        upgraded = (
            f" (after upgrading it from schema {version})" if version < SCHEMA_VERSION else ""
        )
        raise ProjectFormatError(file, f"{e}{upgraded}") from e


def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    """Write ``project`` to ``path`` atomically (temp file, fsync, rename).

    Parameters
    ----------
    project
        The project.
    path
        The project file (conventionally ending in :data:`PROJECT_SUFFIX`).

    Raises
    ------
    ExportError
        When the file cannot be written; an existing file is left intact and no temp
        file remains.
    """
    target = Path(os.path.abspath(path))
    text = json.dumps(project_to_dict(project, target.parent), indent=2, ensure_ascii=False)
    atomic_write_text(target, text + "\n")
    log.info("saved project %s", target)


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a project file, upgrading older schemas.

    Parameters
    ----------
    path
        The project file.

    Returns
    -------
    Project
        With absolute media paths (relative ones are resolved against the file's folder).
        Missing media do not fail the load; see ``check_media``.

    Raises
    ------
    ProjectFormatError
        When the file cannot be read, is not JSON (the message gives line and column),
        is from a newer EVP Studio, or holds a wrong, missing or unknown value.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise ProjectFormatError(path, "file not found") from e
    except OSError as e:
        raise ProjectFormatError(path, f"cannot read the file ({e.strerror or e})") from e
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise ProjectFormatError(path, "not a project file (it is not UTF-8 text)") from e
    except json.JSONDecodeError as e:
        raise ProjectFormatError(
            path, f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from e
    except RecursionError as e:
        raise ProjectFormatError(path, "not a project file (nested too deeply)") from e
    return project_from_dict(data, path=path)
