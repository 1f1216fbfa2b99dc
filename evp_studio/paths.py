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


def cache_dir() -> Path:
    """Folder for derived data: landmark tracks, features, thumbnails (created on demand)."""
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
    else:
        root = Path(__file__).resolve().parent.parent / "resources"
    return root / name
