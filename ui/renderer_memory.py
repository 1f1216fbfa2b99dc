"""The last neural-renderer checkpoint used for each project, remembered between sessions.

``RenderSettings`` has no checkpoint field, so the choice lives in
``config_dir()/renderer_checkpoints.json``, keyed by the project file (when saved) and by
the target video's content hash (a renderer belongs to the video it was trained on).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from evp_studio import paths
from evp_studio.errors import EvpError
from evp_studio.fileio import atomic_write_text
from evp_studio.project import Document

log = logging.getLogger(__name__)

FILE_NAME = "renderer_checkpoints.json"
MAX_ENTRIES = 200


@dataclass(frozen=True)
class RendererChoice:
    """A remembered checkpoint, and whether the export dialog should start on "neural"."""

    checkpoint: Path
    use_neural: bool = False


def memory_keys(document: Document) -> tuple[str, ...]:
    """The keys ``document``'s choice is stored under, the most specific first."""
    keys = []
    if document.path is not None:
        keys.append(f"project:{Path(document.path).resolve()}")
    target = document.project.target
    if target is not None and target.media.content_hash:
        keys.append(f"target:{target.media.content_hash}")
    return tuple(keys)


def _file() -> Path:
    return paths.config_dir() / FILE_NAME


def _read() -> dict[str, dict[str, object]]:
    path = _file()
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["entries"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("%s: ignoring the remembered renderer checkpoints (%s)", path, e)
        return {}
    if not isinstance(entries, dict):
        log.warning("%s: ignoring the remembered renderer checkpoints (not an object)", path)
        return {}
    return entries


def load_choice(keys: tuple[str, ...]) -> RendererChoice | None:
    """The choice stored under the first of ``keys`` that has one."""
    entries = _read()
    for key in keys:
        entry = entries.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("checkpoint"), str):
            return RendererChoice(Path(str(entry["checkpoint"])), bool(entry.get("use_neural")))
    return None


def save_choice(keys: tuple[str, ...], choice: RendererChoice) -> None:
    """Store ``choice`` under every key; a file that cannot be written is logged, not raised."""
    if not keys:
        return
    entries = _read()
    for key in keys:
        entries.pop(key, None)
        entries[key] = {"checkpoint": str(choice.checkpoint), "use_neural": choice.use_neural}
    kept = dict(list(entries.items())[-MAX_ENTRIES:])  # oldest entries go first
    try:
        atomic_write_text(_file(), json.dumps({"version": 1, "entries": kept}, indent=1))
    except EvpError as e:
        log.warning("cannot remember the renderer checkpoint: %s", e)
