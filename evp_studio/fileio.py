"""Small file-system helpers shared by every atomic writer (project files, exports, reports)."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import uuid
from pathlib import Path

from evp_studio.errors import ExportError

log = logging.getLogger(__name__)


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX; Windows cannot fsync folders).

    Failures are logged, not raised: the file is in place already, only durability is in
    doubt, and some file systems refuse to fsync a folder.
    """
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as e:
        log.debug("cannot open %s to fsync it: %s", folder, e)
        return
    try:
        os.fsync(fd)
    except OSError as e:
        log.debug("cannot fsync folder %s: %s", folder, e)
    finally:
        os.close(fd)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8); see :func:`atomic_write_bytes`.

    Parameters
    ----------
    path
        The file to write.
    text
        Its new content.

    Raises
    ------
    ExportError
        When the file cannot be written; the old file is intact.
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file.

    The temp file lives in the same folder (``os.replace`` is only atomic within one file
    system) and is removed on any failure, leaving the old file as it was. An existing
    file's permission bits are kept.

    Parameters
    ----------
    path
        The file to write.
    data
        Its new content.

    Raises
    ------
    ExportError
        When the file cannot be written (full disk, read-only folder, ...); the old file
        is intact and no temp file is left behind.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            reason = e.strerror or str(e)
            raise ExportError(
                path, f"cannot write the file ({reason}); it was left unchanged"
            ) from e
        raise
    fsync_folder(path.parent)
