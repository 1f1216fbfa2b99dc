"""References from a project to its media files, and checks that they are still there.

A :class:`MediaRef` records a path and a fast content fingerprint. The fingerprint is the
SHA-256 of the file's first 8 MiB followed by its size in bytes (as ASCII digits): reading a
whole multi-gigabyte video on every project load would take seconds, while the head of a
container (headers, first GOPs) plus the exact size catches re-encodes, truncation and a
different file under the same name. Two files that differ only after 8 MiB and have the same
size are reported as equal; that is the accepted price.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from evp_studio.errors import InvalidInputError, MediaError
from evp_studio.project._validate import require_text

log = logging.getLogger(__name__)

HASH_HEAD_BYTES = 8 * 1024 * 1024
_CHUNK = 1024 * 1024
_HASH_TEXT = re.compile(r"sha256:[0-9a-f]{64}")


class MediaStatus(StrEnum):
    """Whether a referenced media file can be used as recorded."""

    OK = "ok"
    MISSING = "missing"  # not found (or unreadable) where the project says
    CHANGED = "changed"  # found, but its content hash differs from the recorded one


def hash_media(path: str | os.PathLike[str]) -> str:
    """Return the fast content fingerprint ``"sha256:<hex>"`` of a media file.

    Parameters
    ----------
    path
        The file to fingerprint.

    Returns
    -------
    str
        ``"sha256:"`` + hex digest of (first 8 MiB of the file + its size in ASCII digits).

    Raises
    ------
    MediaError
        When the file cannot be read; the message names the path.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            remaining = HASH_HEAD_BYTES
            while remaining > 0:
                chunk = handle.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                digest.update(chunk)
                remaining -= len(chunk)
    except FileNotFoundError as e:
        raise MediaError(Path(path), "file not found") from e
    except OSError as e:
        raise MediaError(Path(path), f"cannot read the file ({e.strerror or e})") from e
    digest.update(str(size).encode("ascii"))
    return f"sha256:{digest.hexdigest()}"


@dataclass(frozen=True)
class MediaRef:
    """A media file used by the project.

    Parameters
    ----------
    path
        The file's path. In memory it is absolute once a project was loaded or the media
        was set through the document; the project file stores it relative to the project's
        folder when possible. :meth:`resolve` accepts both forms.
    content_hash
        ``"sha256:<hex>"`` from :func:`hash_media`, or ``""`` when unknown (never CHANGED).

    Raises
    ------
    InvalidInputError
        When the path is empty or the hash is malformed.
    """

    path: str
    content_hash: str

    def __post_init__(self) -> None:
        require_text(self.path, "media path")
        if self.content_hash != "" and not (
            isinstance(self.content_hash, str) and _HASH_TEXT.fullmatch(self.content_hash)
        ):
            raise InvalidInputError(
                f"content_hash must look like 'sha256:<64 hex digits>', got {self.content_hash!r}"
            )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MediaRef:
        """Fingerprint a file and return a reference holding its absolute path.

        Raises
        ------
        MediaError
            When the file cannot be read.
        """
        absolute = os.path.abspath(path)
        return cls(path=absolute, content_hash=hash_media(absolute))

    def resolve(self, base_dir: str | os.PathLike[str] | None = None) -> Path:
        """Return the absolute path of the file.

        Parameters
        ----------
        base_dir
            The project file's folder, against which a relative path is resolved; None
            means the current working directory.

        Returns
        -------
        Path
            A normalised absolute path (symlinks are kept as they are).
        """
        path = Path(self.path).expanduser()
        if not path.is_absolute():
            path = Path(base_dir if base_dir is not None else os.getcwd()) / path
        return Path(os.path.normpath(os.path.abspath(path)))


def check_media(ref: MediaRef, base_dir: str | os.PathLike[str] | None = None) -> MediaStatus:
    """Tell whether the file behind ``ref`` is present and unchanged.

    Parameters
    ----------
    ref
        The reference to check.
    base_dir
        The project file's folder, for relative paths (see :meth:`MediaRef.resolve`).

    Returns
    -------
    MediaStatus
        OK, MISSING (absent or unreadable: it cannot be used either way) or CHANGED.
    """
    path = ref.resolve(base_dir)
    if not path.is_file():
        return MediaStatus.MISSING
    if not ref.content_hash:
        return MediaStatus.OK
    try:
        current = hash_media(path)
    except MediaError as e:
        log.warning("media file cannot be read: %s", e)
        return MediaStatus.MISSING
    return MediaStatus.OK if current == ref.content_hash else MediaStatus.CHANGED
