"""Small file-system helpers shared by every atomic writer (project files, exports)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

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
