"""Checks of an export's output paths before any work starts: exists, writable, free space.

Public API::

    estimate_video_bytes(frames=, width=, height=, frame_rate=, export=) -> int
    estimate_guidance_bytes(frames=, width=, height=) -> int
    check_outputs([PlannedOutput(path, bytes, folder=False), ...]) -> OutputCheck
    OutputCheck.existing / .problems / .ok / .raise_for_problems()

An existing file is not a problem (the UI asks before replacing it); a missing or read-only
folder, a file name that is a folder, a guidance folder holding other files, the same path
planned twice, or a disk without room for the estimate are.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from evp_studio.errors import ExportError
from evp_studio.media import ExportConfig
from evp_studio.pipeline._guidance_sequence import foreign_files

__all__ = [
    "OutputCheck",
    "PlannedOutput",
    "check_outputs",
    "estimate_guidance_bytes",
    "estimate_video_bytes",
    "format_bytes",
]

# Generous bits per pixel per frame, so that the estimate errs on the large side.
H264_BITS_PER_PIXEL_CRF18 = 0.3  # talking heads at crf 18 take ~0.1; x264 halves per +6 crf
# Apple's ProRes white paper, 1920x1080 at 29.97 fps: 45, 102, 147, 220, 330, 500 Mb/s.
PRORES_BITS_PER_PIXEL = (0.73, 1.64, 2.36, 3.54, 5.31, 8.04)
GUIDANCE_BYTES_PER_PIXEL = 0.25  # 8-bit grey PNG of sparse edges; measured ~0.05
SPACE_MARGIN = 1.2  # headroom over the estimate (the temp file, file-system overhead)
MIN_FREE_BYTES = 16 * 2**20


@dataclass(frozen=True)
class PlannedOutput:
    """One file (or PNG-sequence folder) an export will write, with its estimated size."""

    path: Path
    bytes: int = 0
    folder: bool = False


@dataclass(frozen=True)
class OutputCheck:
    """What :func:`check_outputs` found.

    Parameters
    ----------
    existing
        Outputs that exist and would be replaced (ask the user first).
    problems
        ``(path, what is wrong)`` pairs that block the export.
    needed_bytes
        The estimated size of everything planned.
    """

    existing: tuple[Path, ...]
    problems: tuple[tuple[Path, str], ...]
    needed_bytes: int

    @property
    def ok(self) -> bool:
        """True when nothing blocks the export."""
        return not self.problems

    @property
    def messages(self) -> tuple[str, ...]:
        """The problems as one-line messages naming the path."""
        return tuple(f"{path}: {text}" for path, text in self.problems)

    def raise_for_problems(self) -> None:
        """Raise the first problem.

        Raises
        ------
        ExportError
            Naming the path and what is wrong.
        """
        if self.problems:
            path, text = self.problems[0]
            raise ExportError(path, text)


def format_bytes(n: float) -> str:
    """``"1.2 GB"`` style size (decimal units, as file managers show them)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def estimate_video_bytes(
    *, frames: int, width: int, height: int, frame_rate: Fraction | float, export: ExportConfig
) -> int:
    """Upper-side estimate of an exported video's size in bytes (picture and sound).

    Parameters
    ----------
    frames
        Frames to encode.
    width, height
        Output size, px.
    frame_rate
        Frames per second (for the audio's duration).
    export
        Codec, CRF or ProRes profile, audio bit rate.

    Returns
    -------
    int
    """
    if export.video_codec == "prores":
        bpp = PRORES_BITS_PER_PIXEL[export.prores_profile]
        audio_bps = export.audio_sample_rate * 2 * 16  # stereo 16-bit PCM at most
    else:
        bpp = H264_BITS_PER_PIXEL_CRF18 * 2.0 ** ((18 - export.crf) / 6.0)
        audio_bps = export.audio_bitrate
    video_bits = bpp * width * height * frames
    audio_bits = audio_bps * frames / float(frame_rate)
    return int((video_bits + audio_bits) / 8)


def estimate_guidance_bytes(*, frames: int, width: int, height: int) -> int:
    """Upper-side estimate of a guidance PNG sequence's size in bytes."""
    return int(GUIDANCE_BYTES_PER_PIXEL * width * height * frames)


def _writable_problem(folder: Path) -> str | None:
    """Why files cannot be created in ``folder``, or None when one can."""
    if not folder.exists():
        return "the folder does not exist"
    if not folder.is_dir():
        return "is not a folder"
    try:
        fd, probe = tempfile.mkstemp(prefix=".evp-write-check-", dir=folder)
    except OSError as e:
        return f"cannot write in this folder ({e.strerror or e})"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def _path_problem(out: PlannedOutput) -> str | None:
    path = out.path
    if not out.folder and path.is_dir():
        return "is a folder; give a file name"
    if out.folder and path.exists():
        if not path.is_dir():
            return "is a file; give a folder for the PNG sequence"
        others = foreign_files(path)
        if others:
            return (
                f"holds other files ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''})"
                "; choose an empty or new folder for the guidance maps"
            )
    return None


def _exists(out: PlannedOutput) -> bool:
    if out.folder:
        return out.path.is_dir() and any(out.path.iterdir())
    return out.path.is_file()


def check_outputs(planned: Sequence[PlannedOutput]) -> OutputCheck:
    """Check the outputs of an export before it starts.

    Parameters
    ----------
    planned
        Every file and folder the export writes, with estimated sizes.

    Returns
    -------
    OutputCheck
        Existing outputs (to confirm) and problems (which block the export).
    """
    problems: list[tuple[Path, str]] = []
    existing: list[Path] = []
    seen: set[Path] = set()
    folder_problems: dict[Path, str | None] = {}
    need: dict[Path, int] = defaultdict(int)  # bytes per folder that receives them
    for out in planned:
        path = Path(os.path.abspath(out.path))
        out = PlannedOutput(path, out.bytes, out.folder)
        if path in seen:
            problems.append((path, "is planned for two outputs; give each its own path"))
            continue
        seen.add(path)
        if path.parent not in folder_problems:
            folder_problems[path.parent] = _writable_problem(path.parent)
        folder_problem = folder_problems[path.parent]
        problem = _path_problem(out) if folder_problem is None else None
        if folder_problem is not None:
            problems.append((path.parent, folder_problem))
        elif problem is not None:
            problems.append((path, problem))
        else:
            need[path.parent] += out.bytes
            if _exists(out):
                existing.append(path)
    problems += _space_problems(need)
    unique = list(dict.fromkeys(problems))
    return OutputCheck(tuple(existing), tuple(unique), sum(o.bytes for o in planned))


def _space_problems(need: dict[Path, int]) -> list[tuple[Path, str]]:
    """Compare the bytes each file system receives with its free space."""
    per_device: dict[int, tuple[Path, int]] = {}
    for folder, n in need.items():
        device = folder.stat().st_dev
        first, total = per_device.get(device, (folder, 0))
        per_device[device] = (first, total + n)
    problems = []
    for folder, n in per_device.values():
        free = shutil.disk_usage(folder).free
        wanted = int(n * SPACE_MARGIN) + MIN_FREE_BYTES
        if wanted > free:
            problems.append(
                (
                    folder,
                    f"not enough free space: the export needs about {format_bytes(wanted)}, "
                    f"{format_bytes(free)} is free",
                )
            )
    return problems
