"""The one module that knows where files live.

Order of precedence for the user folders: the ``EVP_STUDIO_HOME`` environment variable,
then a ``portable`` marker file next to the executable (everything lives beside it), then
the platform's own folders from platformdirs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "EVPStudio"
HOME_ENV = "EVP_STUDIO_HOME"


def _base_override() -> Path | None:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    exe_dir = Path(sys.executable).resolve().parent
    if getattr(sys, "frozen", False) and (exe_dir / "portable").exists():
        return exe_dir / "user"
    return None


def _user_dir(kind: str) -> Path:
    base = _base_override()
    if base is not None:
        path = base / kind
    else:
        getter = {
            "config": platformdirs.user_config_dir,
            "cache": platformdirs.user_cache_dir,
            "data": platformdirs.user_data_dir,
            "log": platformdirs.user_log_dir,
        }[kind]
        path = Path(getter(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Folder for settings and the recent-files list (created on demand)."""
    return _user_dir("config")


_cache_override: Path | None = None  # the user's cache-folder preference, set at start-up


def set_cache_override(folder: str | os.PathLike[str] | None) -> None:
    """Make :func:`cache_dir` return ``folder`` (the cache-folder preference); None undoes it."""
    global _cache_override
    _cache_override = Path(folder).expanduser() if folder is not None else None


def cache_dir() -> Path:
    """Folder for derived data: landmark tracks, features, thumbnails (created on demand).

    The cache-folder preference (:func:`set_cache_override`) comes before everything else.
    """
    if _cache_override is not None:
        _cache_override.mkdir(parents=True, exist_ok=True)
        return _cache_override
    return default_cache_dir()


def default_cache_dir() -> Path:
    """The cache folder when the user chose none (created on demand)."""
    return _user_dir("cache")


def data_dir() -> Path:
    """Folder for user data such as autosaves and downloaded models (created on demand)."""
    return _user_dir("data")


def log_dir() -> Path:
    """Folder for log files (created on demand)."""
    return _user_dir("log")


def autosave_dir() -> Path:
    """Folder holding autosave files of open projects (created on demand)."""
    path = data_dir() / "autosave"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resource_path(name: str) -> Path:
    """Return the path of a bundled resource, from source or from a frozen build.

    From source: the repository's ``resources/``. In a PyInstaller build, ``resources/``
    lies in the bundle's data folder ``sys._MEIPASS`` (``<bundle>/_internal``, or
    ``Contents/Frameworks`` in a macOS ``.app``); another freezer (``sys.frozen`` without
    ``_MEIPASS``) keeps it next to the executable.

    Parameters
    ----------
    name
        Path relative to the ``resources/`` folder, e.g. ``"demo/demo.evp"``.

    Returns
    -------
    The absolute path (which may not exist; callers check).
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        root = Path(frozen_root) / "resources"
    elif getattr(sys, "frozen", False):
        root = Path(sys.executable).resolve().parent / "resources"
    else:
        root = Path(__file__).resolve().parent.parent / "resources"
    return root / name
