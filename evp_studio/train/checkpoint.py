"""Files of a training run: atomic checkpoints, ``weights_only`` loads, the loss log.

A checkpoint holds only tensors, numbers, strings, lists, tuples, dicts and None, so that
``torch.load(path, weights_only=True)`` can read it without unpickling code.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import pickle
import struct
import subprocess
import uuid
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from evp_studio.errors import ExportError, InvalidInputError
from evp_studio.fileio import fsync_folder

__all__ = [
    "git_revision",
    "load_checkpoint",
    "read_loss_rows",
    "resume_state",
    "save_checkpoint",
    "write_loss_rows",
]

log = logging.getLogger(__name__)


def git_revision(cwd: str | Path | None = None) -> str:
    """Return ``git rev-parse HEAD`` of the source tree, or ``"unknown"``.

    Parameters
    ----------
    cwd
        Folder inside the repository; default: this package's folder.

    Returns
    -------
    str
        The commit hash, or ``"unknown"`` without git or outside a repository.
    """
    folder = Path(cwd) if cwd is not None else Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as e:
        log.debug("git rev-parse failed: %s", e)
        return "unknown"
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and revision else "unknown"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` so that readers see the old or the new file.

    Parameters
    ----------
    path
        The checkpoint file.
    state
        Plain data and tensors only (see the module docstring).

    Raises
    ------
    ExportError
        When the file cannot be written; the old file is intact, no temp file is left.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ExportError(path, f"cannot write the checkpoint: {e}") from e
    fsync_folder(path.parent)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)`` onto the CPU.

    Parameters
    ----------
    path
        The checkpoint file.

    Returns
    -------
    dict
        The saved state.

    Raises
    ------
    InvalidInputError
        When the file is missing, unreadable or holds something else than a dict.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError, struct.error) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidInputError(f"cannot read checkpoint {path}: {first}") from e
    if not isinstance(state, dict):
        raise InvalidInputError(f"{path}: a checkpoint must hold a dict, got {type(state)}")
    return state


def read_loss_rows(path: Path, up_to_step: int) -> list[dict[str, str]]:
    """Rows of a loss CSV with ``step <= up_to_step`` (none when the file is missing)."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [row for row in csv.DictReader(f) if int(row["step"]) <= up_to_step]


def write_loss_rows(path: Path, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """Rewrite a loss CSV with a header of ``columns`` and ``rows``."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)


def resume_state(
    path: Path, config: Mapping[str, Any], resume: bool, may_change: Collection[str] = ()
) -> dict[str, Any] | None:
    """Load the checkpoint a run resumes from, or None to start over.

    Parameters
    ----------
    path
        The checkpoint file; None is returned when it does not exist.
    config
        The new run's config as plain data, compared with the saved ``"config"``.
    resume
        False always starts over.
    may_change
        Config keys that may differ (e.g. ``epochs`` to train longer).

    Returns
    -------
    dict | None
        The saved state.

    Raises
    ------
    InvalidInputError
        When the checkpoint is unreadable or was written with other settings.
    """
    if not (resume and path.exists()):
        return None
    state = load_checkpoint(path)
    saved = state.get("config", {})
    changed = sorted(k for k in config if k not in may_change and saved.get(k) != config[k])
    if changed:
        raise InvalidInputError(
            f"{path} was trained with other settings ({', '.join(changed)}); "
            "pass resume=False or another output folder"
        )
    return state
