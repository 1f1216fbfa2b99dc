"""Error types of EVP Studio.

Every message names the file (or value) at fault and what is wrong with it, so that the
CLI can print it as one line and the GUI can show it in a dialog unchanged.
"""

from __future__ import annotations

from pathlib import Path


class EvpError(Exception):
    """Base class of every error EVP Studio raises on purpose."""


class InvalidInputError(ValueError, EvpError):
    """Input the user gave us cannot be used: bad media, no face, wrong length, ..."""


class MediaError(InvalidInputError):
    """A media file cannot be opened, decoded or lacks what is needed.

    Parameters
    ----------
    path
        The file at fault.
    problem
        What is wrong, in words a user understands.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class NoAudioStreamError(MediaError):
    """The file has no audio stream where one is needed."""


class NoVideoStreamError(MediaError):
    """The file has no video stream where one is needed."""


class ExportError(EvpError):
    """Writing an output file failed; no partial file is left behind."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ProjectFormatError(InvalidInputError):
    """A project file is corrupt, from a newer schema, or has wrong types."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        where = str(self.path) if self.path is not None else "project"
        super().__init__(f"{where}: {problem}")


class ModelNotFoundError(EvpError, FileNotFoundError):
    """A model weights file is missing (the message says where it was looked for)."""


class ModelChecksumError(InvalidInputError):
    """A bundled model file does not have its registered sha256: the installation is damaged.

    Parameters
    ----------
    path
        The file at fault.
    expected, actual
        The registered and the computed sha256 (hex); ``expected`` is None when the
        file's manifest is missing or unreadable.
    problem
        What is wrong and what to do, in words a user understands.
    """

    def __init__(self, path: str | Path, expected: str | None, actual: str, problem: str) -> None:
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        super().__init__(f"{self.path}: {problem}")


class Cancelled(EvpError):  # noqa: N818 - a state, not a failure: the user asked for it
    """A long job was cancelled by the user; never shown as an error."""
