"""Helpers of the packaging tests: dpkg into a temporary root, desktop-entry checks, runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DPKG_FLAGS = ("--force-not-root", "--force-script-chrootless", "--log=/dev/null")


def has_dpkg() -> bool:
    """dpkg and dpkg-deb are on PATH (a Debian-family system)."""
    return shutil.which("dpkg") is not None and shutil.which("dpkg-deb") is not None


def dpkg(root: Path, *args: str) -> str:
    """Run dpkg on the temporary root ``root`` (no root rights, no chroot); returns stdout.

    The package's maintainer scripts, if it had any, would run without a chroot with
    ``DPKG_ROOT`` set, the way dpkg runs them for a foreign root.
    """
    db = root / "var" / "lib" / "dpkg"
    if not (db / "status").exists():
        for sub in ("info", "updates", "triggers"):
            (db / sub).mkdir(parents=True, exist_ok=True)
        (db / "status").touch()
        (db / "available").touch()
    done = subprocess.run(
        ["dpkg", *DPKG_FLAGS, f"--root={root}", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"dpkg {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def leftovers(root: Path) -> list[str]:
    """Paths under ``root`` outside dpkg's own database (``var/lib/dpkg``)."""
    keep = {"var", "var/lib", "var/lib/dpkg"}
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if rel in keep or rel.startswith("var/lib/dpkg/"):
            continue
        found.append(rel)
    return sorted(found)


def deb_fields(deb: Path) -> dict[str, str]:
    """The control fields of a .deb (first line of each)."""
    out = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True, text=True)
    fields: dict[str, str] = {}
    for line in out.stdout.splitlines():
        if line and not line.startswith(" "):
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def deb_contents(deb: Path) -> dict[str, str]:
    """``{path: link target or ""}`` of a .deb's files (paths without the leading ``./``)."""
    out = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True)
    entries = {}
    for line in out.stdout.splitlines():
        name = line.split(None, 5)[5]
        path, _, target = name.partition(" -> ")
        entries[path.removeprefix("./").rstrip("/")] = target
    return entries


def evict(folder: Path) -> None:
    """Drop ``folder``'s files from the page cache (no root needed), for a cold start.

    Written pages are flushed first (``fsync``) since only clean pages can be dropped. On a
    virtual machine the host may still cache the disk, so "cold" reads can be faster than
    from a real disk.
    """
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of every file and folder, to spot writes."""
    return {
        p.relative_to(folder).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in folder.rglob("*")
    }


@dataclass(frozen=True)
class Run:
    """A finished command."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run(cmd: list[str], home: Path, timeout: float = 600) -> Run:
    """Run an installed program offscreen with its user folders in ``home``."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", EVP_STUDIO_HOME=str(home))
    env.pop("PYTHONPATH", None)  # the bundle must not need the source tree
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)


# --- freedesktop desktop entries (Desktop Entry Specification 1.5) ---------------------------

MAIN_CATEGORIES = {
    "AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics", "Network",
    "Office", "Science", "Settings", "System", "Utility",
}  # fmt: skip
# Additional categories used here -> the main categories they need beside them
ADDITIONAL_CATEGORIES = {"AudioVideoEditing": {"Audio", "AudioVideo", "Video"}}
_KEY = re.compile(r"^[A-Za-z0-9-]+(\[[A-Za-z_@.]+\])?$")
_LISTS = {"Categories", "Keywords", "MimeType", "Actions", "OnlyShowIn", "NotShowIn", "Implements"}
_BOOLEANS = {"Terminal", "StartupNotify", "NoDisplay", "Hidden", "DBusActivatable"}


def desktop_entry_problems(text: str) -> list[str]:
    """Problems of a desktop entry under the specification's rules used here ([] = valid)."""
    problems: list[str] = []
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines or lines[0] != "[Desktop Entry]":
        return ["the first group must be [Desktop Entry]"]
    entry: dict[str, str] = {}
    for line in lines[1:]:
        if line.startswith("["):
            break  # other groups (actions) are not used by our entry
        key, sep, value = line.partition("=")
        if not sep or not _KEY.match(key.strip()) or key != key.strip():
            problems.append(f"not a key=value line: {line!r}")
            continue
        if key in entry:
            problems.append(f"duplicate key {key}")
        entry[key] = value
    for key in ("Type", "Name", "Exec"):
        if key not in entry:
            problems.append(f"required key {key} is missing")
    if entry.get("Type") != "Application":
        problems.append(f"Type={entry.get('Type')}, expected Application")
    for key in _LISTS & entry.keys():
        if not entry[key].endswith(";"):
            problems.append(f"{key} must end with ';'")
    for key in _BOOLEANS & entry.keys():
        if entry[key] not in ("true", "false"):
            problems.append(f"{key}={entry[key]} is not true/false")
    categories = [c for c in entry.get("Categories", "").split(";") if c]
    main = [c for c in categories if c in MAIN_CATEGORIES]
    if not main:
        problems.append("Categories has no registered main category")
    for c in categories:
        if c in MAIN_CATEGORIES:
            continue
        if c not in ADDITIONAL_CATEGORIES:
            problems.append(f"category {c} is not known to this checker")
        elif not ADDITIONAL_CATEGORIES[c] & set(main):
            problems.append(f"category {c} needs one of {sorted(ADDITIONAL_CATEGORIES[c])}")
    icon = entry.get("Icon", "")
    if "/" in icon or icon.endswith((".png", ".svg", ".xpm")):
        problems.append("Icon must be a theme name without path or extension")
    codes = re.findall(r"%(.)", entry.get("Exec", ""))
    bad = [c for c in codes if c not in "fFuUick%"]
    if bad or sum(c in "fFuU" for c in codes) > 1:
        problems.append(f"Exec has invalid field codes: {entry.get('Exec')}")
    return problems
