"""Finding and pairing the clips of a prediction folder and a ground-truth folder.

A clip is named by its path relative to its folder without the suffix
(``M003/video/front/happy/level_1/001``); it has a video (``.mp4``, ``.mov``, ``.mkv``,
``.avi``, ``.webm``), a landmark file (``.npz``) or both. Landmark files hold
``landmarks`` (T, 68, 2) px, as the landmark CLI writes, or ``lmk2d`` (T, 68, 2 or 3) px,
as the synthetic corpus's ground truth does; an optional ``label`` (index into
:data:`evp_studio.project.EMOTIONS`, or its name) gives the clip's emotion, which otherwise
comes from a MEAD-layout path ``<actor>/video/front/<emotion>/level_<k>/<nnn>``.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.eval.landmarks import check_landmarks
from evp_studio.project import EMOTIONS

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")
LANDMARK_KEYS = ("landmarks", "lmk2d")
_MEAD_LABEL = re.compile(r"(?:^|/)(?P<emotion>[a-z]+)/level_\d+/[^/]+$")


@dataclass(frozen=True)
class ClipFiles:
    """The files of one clip in one folder (either may be missing)."""

    video: Path | None = None
    landmarks: Path | None = None


@dataclass(frozen=True)
class ClipPair:
    """A clip present in both folders."""

    key: str
    pred: ClipFiles
    gt: ClipFiles


def find_clips(folder: Path, role: str) -> dict[str, ClipFiles]:
    """Clips under ``folder``, by key.

    Parameters
    ----------
    folder
        Folder to search recursively.
    role
        ``"--pred"`` or ``"--gt"``, for error messages.

    Returns
    -------
    dict
        Key -> files, sorted by key.

    Raises
    ------
    InvalidInputError
        When the folder does not exist, is not a folder or holds no clip.
    """
    if not folder.exists():
        raise InvalidInputError(f"{folder}: {role} folder does not exist")
    if not folder.is_dir():
        raise InvalidInputError(f"{folder}: {role} is not a folder")
    videos: dict[str, Path] = {}
    marks: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        suffix = path.suffix.lower()
        if not path.is_file() or path.name.startswith("."):
            continue
        key = path.relative_to(folder).with_suffix("").as_posix()
        if suffix in VIDEO_SUFFIXES:
            videos[key] = path
        elif suffix == ".npz":
            marks[key] = path
    keys = sorted(set(videos) | set(marks))
    if not keys:
        raise InvalidInputError(
            f"{folder}: {role} folder holds no clip (no {'/'.join(VIDEO_SUFFIXES)} or .npz file)"
        )
    return {k: ClipFiles(videos.get(k), marks.get(k)) for k in keys}


def match_clips(pred_dir: Path, gt_dir: Path) -> tuple[list[ClipPair], list[tuple[str, str]]]:
    """Pair the clips of two folders by key.

    Returns
    -------
    tuple
        ``(pairs, unmatched)``: the clips in both folders, and ``(key, reason)`` for each
        clip that is only in one of them.

    Raises
    ------
    InvalidInputError
        When a folder is missing or empty, or no clip is in both.
    """
    pred = find_clips(pred_dir, "--pred")
    gt = find_clips(gt_dir, "--gt")
    unmatched = [(k, f"only in the predictions ({pred_dir})") for k in pred if k not in gt]
    unmatched += [(k, "no prediction for this ground truth") for k in gt if k not in pred]
    pairs = [ClipPair(k, pred[k], gt[k]) for k in pred if k in gt]
    if not pairs:
        raise InvalidInputError(
            f"{pred_dir} and {gt_dir}: no clip is in both folders (clips are matched by "
            f"relative path, e.g. {next(iter(pred))!r} vs {next(iter(gt))!r})"
        )
    return pairs, unmatched


def _parse_label(value: object, path: Path) -> int:
    if isinstance(value, str) and value in EMOTIONS:
        return EMOTIONS.index(value)
    if isinstance(value, (int, np.integer)) and 0 <= int(value) < len(EMOTIONS):
        return int(value)
    raise InvalidInputError(
        f"{path}: label {value!r} is neither an emotion name nor an index 0..{len(EMOTIONS) - 1}"
    )


def load_landmarks(path: Path) -> tuple[np.ndarray, int | None]:
    """Read a landmark file.

    Returns
    -------
    tuple
        ``(landmarks (T, 68, 2) float64 px, label index or None)``.

    Raises
    ------
    InvalidInputError
        When the file cannot be read or holds no usable landmarks or label.
    """
    wanted = (*LANDMARK_KEYS, "label")
    try:
        with np.load(path, allow_pickle=False) as data:
            found = list(data.files)
            arrays = {k: np.asarray(data[k]) for k in wanted if k in found}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise InvalidInputError(f"{path}: cannot read the landmark file ({e})") from e
    key = next((k for k in LANDMARK_KEYS if k in arrays), None)
    if key is None:
        raise InvalidInputError(f"{path}: has none of the arrays {LANDMARK_KEYS} (found {found})")
    raw = arrays[key]
    if raw.ndim == 3 and raw.shape[1:] == (68, 3):
        raw = raw[..., :2]
    landmarks = check_landmarks(raw, str(path))
    label = None
    if "label" in arrays:
        if arrays["label"].size != 1:
            shape = arrays["label"].shape
            raise InvalidInputError(f"{path}: label has shape {shape}, not one value")
        label = _parse_label(arrays["label"].item(), path)
    return landmarks, label


def label_from_key(key: str) -> int | None:
    """The emotion of a MEAD-layout clip key (``.../<emotion>/level_<k>/<nnn>``), if any."""
    match = _MEAD_LABEL.search(key)
    if match is None or match["emotion"] not in EMOTIONS:
        return None
    return EMOTIONS.index(match["emotion"])
