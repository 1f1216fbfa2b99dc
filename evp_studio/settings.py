"""The user's preferences (``config_dir()/preferences.json``) and the derived-data cache.

Public API::

    Preferences(device="auto", landmark_backend="dlib", cache_folder=None, ...)
    load_preferences(path=None) -> Preferences        # never fails: defaults + logged warnings
    read_preferences(path) -> (Preferences, problems)  # the same, with the problems returned
    parse_preferences(data, source=...) -> Preferences # strict: the first problem raises
    save_preferences(prefs, path=None) -> Path         # atomic
    cache_usage(root=None) -> CacheUsage; clear_cache(root=None); trim_cache(limit, root=None)

A preferences file that cannot be used never stops the application: a value that fails its
check is reset to its default, an unknown key is dropped, and in both cases the file is
copied to ``preferences.json.bak`` first and a warning names the file and the key. Only the
folders of :data:`CACHE_KINDS` inside the cache folder are ever measured or deleted, so a
cache folder the user pointed somewhere shared keeps the user's own files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from evp_studio import paths
from evp_studio.errors import InvalidInputError
from evp_studio.fileio import atomic_write_text
from evp_studio.recent import MAX_RECENT

__all__ = [
    "BACKENDS",
    "CACHE_KINDS",
    "DEVICES",
    "SCHEMA_VERSION",
    "THEMES",
    "CacheUsage",
    "Preferences",
    "cache_usage",
    "clear_cache",
    "load_preferences",
    "parse_preferences",
    "preferences_path",
    "read_preferences",
    "save_preferences",
    "trim_cache",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "preferences.json"
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
BACKENDS: tuple[str, ...] = ("dlib", "fan")  # evp_studio.landmarks.BACKENDS (not imported: dlib)
THEMES: tuple[str, ...] = ("dark", "light")
MAX_AUTOSAVE_S = 24 * 3600

#: Sub-folders of the cache folder that EVP Studio writes, with what they hold.
CACHE_KINDS: dict[str, str] = {
    "landmarks": "Landmark tracks",
    "thumbnails": "Thumbnails",
    "features": "Audio and landmark features",
    "numba": "Compiled code (numba)",
}
_KEEP_WHEN_TRIMMING = frozenset({"numba"})  # compiled code is small and slow to rebuild


def _int_in(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(
            f"{name} must be a whole number from {low} to {high}; got {value!r}"
        )
    return value


def _choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


@dataclass(frozen=True)
class Preferences:
    """What the user chose in Edit ▸ Preferences.

    Parameters
    ----------
    device
        Where models run: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
    landmark_backend
        Face landmark detector: ``"dlib"`` (offline, the default) or ``"fan"``.
    cache_folder
        Folder for derived data instead of the platform's cache folder; None: the default.
    cache_limit_mb
        Size the cache is trimmed to (oldest files first), MiB; 0: no limit.
    autosave_interval_s
        Seconds between autosaves of unsaved changes; 0: autosave off.
    theme
        ``"dark"`` or ``"light"`` (Qt's Fusion default).
    recent_count
        Entries shown in File ▸ Open Recent (at most :data:`evp_studio.recent.MAX_RECENT`).

    Raises
    ------
    InvalidInputError
        When a value is out of range; the message names the key.
    """

    device: str = "auto"
    landmark_backend: str = "dlib"
    cache_folder: Path | None = None
    cache_limit_mb: int = 4096
    autosave_interval_s: int = 60
    theme: str = "dark"
    recent_count: int = 10

    def __post_init__(self) -> None:
        _choice(self.device, "device", DEVICES)
        _choice(self.landmark_backend, "landmark_backend", BACKENDS)
        _choice(self.theme, "theme", THEMES)
        _int_in(self.cache_limit_mb, "cache_limit_mb", 0, 10_000_000)
        _int_in(self.autosave_interval_s, "autosave_interval_s", 0, MAX_AUTOSAVE_S)
        _int_in(self.recent_count, "recent_count", 1, MAX_RECENT)
        folder = self.cache_folder
        if folder is not None:
            if not isinstance(folder, str | os.PathLike) or not str(folder).strip():
                raise InvalidInputError(
                    f"cache_folder must be a folder path or null; got {folder!r}"
                )
            object.__setattr__(self, "cache_folder", Path(folder).expanduser())

    def resolved_device(self, *, cuda_available: bool) -> str:
        """The torch device to use: ``"auto"`` picks CUDA when ``cuda_available``."""
        if self.device == "auto":
            return "cuda" if cuda_available else "cpu"
        return self.device

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to the file (with ``schema_version``)."""
        data = asdict(self)
        data["cache_folder"] = None if self.cache_folder is None else str(self.cache_folder)
        return {"schema_version": SCHEMA_VERSION, **data}


_KEYS = tuple(f.name for f in fields(Preferences))


def preferences_path() -> Path:
    """The preferences file, ``config_dir()/preferences.json``."""
    return paths.config_dir() / FILE_NAME


def _check_version(data: Mapping[str, Any], source: str) -> list[str]:
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return [f"{source}: schema_version must be a positive whole number; got {version!r}"]
    if version > SCHEMA_VERSION:
        return [
            f"{source}: written by a newer EVP Studio (schema_version {version}, this one "
            f"reads {SCHEMA_VERSION}); keys it does not know are ignored"
        ]
    return []


def _parse(data: object, source: str) -> tuple[Preferences, list[str]]:
    """Every problem of ``data`` as a message; the preferences with bad keys at defaults."""
    if not isinstance(data, dict):
        return Preferences(), [f"{source}: expected a JSON object, got {type(data).__name__}"]
    problems = _check_version(data, source)
    values: dict[str, Any] = {}
    defaults = Preferences()
    for key, value in data.items():
        if key == "schema_version":
            continue
        if key not in _KEYS:
            problems.append(f"{source}: unknown key {key!r} ignored")
            continue
        try:
            replace(defaults, **{key: value})
        except InvalidInputError as e:
            problems.append(f"{source}: key {key!r}: {e}; using the default")
            continue
        values[key] = value
    return Preferences(**values), problems


def parse_preferences(data: object, *, source: str = FILE_NAME) -> Preferences:
    """Read preferences from a parsed JSON object, strictly.

    Parameters
    ----------
    data
        The object (``json.loads`` of the file).
    source
        Names the file in messages.

    Returns
    -------
    Preferences

    Raises
    ------
    InvalidInputError
        At the first problem: not an object, a bad schema_version, an unknown key or a bad
        value; the message names ``source`` and the key.
    """
    prefs, problems = _parse(data, source)
    if problems:
        raise InvalidInputError(problems[0])
    return prefs


def read_preferences(path: str | os.PathLike[str] | None = None) -> tuple[Preferences, list[str]]:
    """Load the preferences file leniently; never raises for the file's content.

    A missing file gives the defaults without a problem. Any problem (unreadable file,
    invalid JSON, unknown keys, bad values) is returned as a message naming the file and
    the key, and the file is copied to ``<name>.bak`` so that nothing the user wrote is lost
    when the preferences are next saved.

    Parameters
    ----------
    path
        The file; None for :func:`preferences_path`.

    Returns
    -------
    tuple of Preferences and list of str
        The preferences (bad keys at their defaults) and the problems found.
    """
    file = Path(path) if path is not None else preferences_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Preferences(), []
    except OSError as e:
        return Preferences(), [f"{file}: cannot read the preferences ({e}); using the defaults"]
    except UnicodeDecodeError as e:
        prefs, problems = Preferences(), [f"{file}: not UTF-8 text ({e}); using the defaults"]
    else:
        prefs, problems = _parse_text(text, file)
    if problems:
        _back_up(file)
    return prefs, problems


def _parse_text(text: str, file: Path) -> tuple[Preferences, list[str]]:
    try:
        data = json.loads(text)
    except ValueError as e:
        return Preferences(), [f"{file}: not valid JSON ({e}); using the defaults"]
    return _parse(data, str(file))


def _back_up(file: Path) -> None:
    backup = file.with_name(file.name + ".bak")
    try:
        shutil.copyfile(file, backup)
    except OSError as e:
        log.warning("could not copy %s to %s: %s", file, backup, e)


def load_preferences(path: str | os.PathLike[str] | None = None) -> Preferences:
    """Load the preferences, logging each problem as a warning (see :func:`read_preferences`).

    Parameters
    ----------
    path
        The file; None for :func:`preferences_path`.

    Returns
    -------
    Preferences
        Never raises for a bad file: defaults stand in for what cannot be used.
    """
    prefs, problems = read_preferences(path)
    for problem in problems:
        log.warning("%s", problem)
    return prefs


def save_preferences(prefs: Preferences, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the preferences atomically (temp file, fsync, rename).

    Parameters
    ----------
    prefs
        What to write.
    path
        The file; None for :func:`preferences_path`.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        When the file cannot be written; the old file is left as it was.
    """
    file = Path(path) if path is not None else preferences_path()
    atomic_write_text(file, json.dumps(prefs.to_dict(), indent=2) + "\n")
    return file


# -- the cache ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheUsage:
    """Bytes used by EVP Studio's cache, in all and per kind (keys of :data:`CACHE_KINDS`)."""

    total: int
    by_kind: dict[str, int]


def _files(folder: Path) -> Iterator[os.DirEntry[str]]:
    """Regular files under ``folder``, recursively; links are not followed."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as e:
        log.warning("cannot list %s: %s", folder, e)
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _files(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                yield entry
        except OSError as e:
            log.debug("skipping %s: %s", entry.path, e)


def _size(entry: os.DirEntry[str]) -> int:
    try:
        return entry.stat(follow_symlinks=False).st_size
    except OSError:
        return 0


def cache_usage(root: str | os.PathLike[str] | None = None) -> CacheUsage:
    """Measure the cache.

    Parameters
    ----------
    root
        The cache folder; None for :func:`evp_studio.paths.cache_dir`.

    Returns
    -------
    CacheUsage
        Only the folders of :data:`CACHE_KINDS` are counted.
    """
    base = Path(root) if root is not None else paths.cache_dir()
    by_kind = {kind: sum(_size(e) for e in _files(base / kind)) for kind in CACHE_KINDS}
    return CacheUsage(sum(by_kind.values()), by_kind)


def clear_cache(root: str | os.PathLike[str] | None = None) -> int:
    """Delete EVP Studio's cached data (the :data:`CACHE_KINDS` folders, nothing else).

    Parameters
    ----------
    root
        The cache folder; None for :func:`evp_studio.paths.cache_dir`.

    Returns
    -------
    int
        Bytes freed. Files that cannot be deleted are logged and left.
    """
    base = Path(root) if root is not None else paths.cache_dir()
    freed = 0
    for kind in CACHE_KINDS:
        folder = base / kind
        if folder.is_symlink():  # never follow a link out of the cache
            folder.unlink()
            continue
        if not folder.exists():
            continue
        for entry in _files(folder):
            size = _size(entry)
            try:
                os.unlink(entry.path)
            except OSError as e:
                log.warning("could not delete %s from the cache: %s", entry.path, e)
                continue
            freed += size
        shutil.rmtree(folder, ignore_errors=True)  # the emptied folders
    log.info("cleared the cache in %s: %d bytes", base, freed)
    return freed


def trim_cache(limit_bytes: int, root: str | os.PathLike[str] | None = None) -> int:
    """Delete the least recently modified cache files until the cache fits ``limit_bytes``.

    Compiled code (``numba``) is kept; it is small and slow to rebuild.

    Parameters
    ----------
    limit_bytes
        Target size; 0 or less means no limit (nothing is deleted).
    root
        The cache folder; None for :func:`evp_studio.paths.cache_dir`.

    Returns
    -------
    int
        Bytes freed.
    """
    if limit_bytes <= 0:
        return 0
    base = Path(root) if root is not None else paths.cache_dir()
    files: list[tuple[float, int, str]] = []
    used = 0
    for kind in CACHE_KINDS:
        for entry in _files(base / kind):
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            used += st.st_size
            if kind not in _KEEP_WHEN_TRIMMING:
                files.append((st.st_mtime, st.st_size, entry.path))
    freed = 0
    for _mtime, size, path in sorted(files):
        if used - freed <= limit_bytes:
            break
        try:
            os.unlink(path)
        except OSError as e:
            log.warning("could not delete %s from the cache: %s", path, e)
            continue
        freed += size
    if freed:
        log.info("trimmed the cache in %s by %d bytes to fit %d", base, freed, limit_bytes)
    return freed
