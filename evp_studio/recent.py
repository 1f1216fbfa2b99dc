"""The recent-files list, stored as JSON in the config folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from evp_studio import paths
from evp_studio.fileio import atomic_write_text

log = logging.getLogger(__name__)

MAX_RECENT = 10


def _store() -> Path:
    return paths.config_dir() / "recent.json"


def recent_files() -> list[Path]:
    """Most recent first. A broken list file is logged and treated as empty."""
    store = _store()
    try:
        items = json.loads(store.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable recent-files list %s: %s", store, exc)
        return []
    if not isinstance(items, list):
        log.warning("ignoring recent-files list %s: expected a list", store)
        return []
    return [Path(p) for p in items if isinstance(p, str)]


def add_recent(path: str | Path) -> list[Path]:
    """Put ``path`` first in the list (once), keep at most :data:`MAX_RECENT`, and save it."""
    path = Path(path).resolve()
    items = [path] + [p for p in recent_files() if p != path]
    items = items[:MAX_RECENT]
    atomic_write_text(_store(), json.dumps([str(p) for p in items], indent=2))
    return items
