"""Reading MEAD-layout datasets: the real MEAD corpus and our synthetic one.

Public API::

    scan_mead(root, *, views=("front",), require=("video", "audio"), verify=False)
        -> MeadScan(root, clips: tuple[Clip, ...], summary: ScanSummary)
    split_clips(clips, *, scheme="paper" | "actors", ...) -> {"train", "val", "test"}
    emotion_pairs(clips, *, content="mead" | "same_id") -> list[tuple[Clip, Clip]]
    content_group(clip, *, content="mead") -> int | None

Layout and accepted quirks: see :mod:`evp_studio.data._mead_scan`; split and pairing
rules and their sources: see :mod:`evp_studio.data._mead_split`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from evp_studio.data._mead_records import (
    LEVELS,
    VIEWS,
    Clip,
    MeadScan,
    ScanSummary,
    Skipped,
    SkipReason,
)
from evp_studio.data._mead_scan import Item, ItemKey, Walker
from evp_studio.data._mead_split import (
    MEAD_COMMON_SENTENCES,
    MEAD_SHARED_SENTENCES,
    PAPER_TEST_SENTENCES,
    PAPER_VAL_SENTENCES,
    SPLITS,
    ContentMode,
    SplitScheme,
    content_group,
    emotion_pairs,
    split_clips,
)
from evp_studio.errors import InvalidInputError
from evp_studio.media import probe
from evp_studio.project import EMOTIONS

__all__ = [
    "LEVELS",
    "MEAD_COMMON_SENTENCES",
    "MEAD_SHARED_SENTENCES",
    "PAPER_TEST_SENTENCES",
    "PAPER_VAL_SENTENCES",
    "SPLITS",
    "VIEWS",
    "Clip",
    "ContentMode",
    "MeadScan",
    "ScanSummary",
    "SkipReason",
    "Skipped",
    "SplitScheme",
    "content_group",
    "emotion_pairs",
    "scan_mead",
    "split_clips",
]

log = logging.getLogger(__name__)

LAYOUT = (
    "expected actor folders laid out as <actor>/video/front/<emotion>/level_<k>/<nnn>.mp4 "
    "and <actor>/audio/<emotion>/level_<k>/<nnn>.m4a (MEAD's per-actor tar parts, unpacked)"
)
REQUIREMENTS = ("video", "audio", "ground_truth")
MAX_WARNINGS = 20  # skipped items logged one per line; the rest are counted


def scan_mead(
    root: str | Path,
    *,
    views: Sequence[str] | None = ("front",),
    require: Sequence[str] = ("video", "audio"),
    verify: bool = False,
) -> MeadScan:
    """Find the clips of a MEAD-layout dataset and report what had to be left out.

    Each skipped item is logged as one warning (the first :data:`MAX_WARNINGS`, then a
    count), the totals as one info line.

    Parameters
    ----------
    root
        The dataset folder, holding actor folders (``M003``, ``W009`` ...) or being one.
    views
        Camera views to read (see :data:`VIEWS`); None reads all seven. A clip is made
        per (recording, view); audio and ground truth are shared between views.
    require
        What a clip must have, from ``"video"``, ``"audio"``, ``"ground_truth"``;
        recordings lacking one are skipped (``"video without audio"`` ...).
    verify
        Also open every kept file (:func:`evp_studio.media.probe`) and skip unreadable
        ones; slow on the full corpus.

    Returns
    -------
    MeadScan
        Clips sorted by actor, label, level, sentence and view, plus the summary.

    Raises
    ------
    InvalidInputError
        When the root is missing, not a folder, empty or yields no clip (the message
        names the folder, the expected layout and the first skipped items), or when
        ``views`` / ``require`` name something unknown.
    """
    root = Path(root)
    wanted_views = _check_choices("view", VIEWS if views is None else views, VIEWS)
    required = _check_choices("requirement", require, REQUIREMENTS)
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "folder not found"
        raise InvalidInputError(f"{root}: dataset {problem}; {LAYOUT}")
    if not any(root.iterdir()):
        raise InvalidInputError(f"{root}: dataset folder is empty; {LAYOUT}")
    walker = Walker(root, wanted_views)
    walker.walk()
    clips: list[Clip] = []
    readable: dict[Path, str | None] = {}
    for key in sorted(walker.items):
        for clip in _clips_of(key, walker.items[key]):
            if _keep(clip, required, walker, readable if verify else None):
                clips.append(clip)
    clips.sort(key=lambda c: c.sort_key)
    counts = Counter((c.actor, c.emotion, c.level) for c in clips)
    summary = ScanSummary(root, dict(counts), tuple(walker.skipped))
    _log_summary(summary)
    if not clips:
        listed = "; ".join(str(s) for s in summary.skipped[:5])
        more = f" and {len(summary.skipped) - 5} more" if len(summary.skipped) > 5 else ""
        found = f" Left out: {listed}{more}." if listed else ""
        raise InvalidInputError(f"{root}: no usable clips found; {LAYOUT}.{found}")
    return MeadScan(root, tuple(clips), summary)


def _check_choices(what: str, given: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(given, str):
        given = (given,)
    unknown = [g for g in given if g not in allowed]
    if unknown:
        raise InvalidInputError(f"unknown {what} {unknown}; choose from {', '.join(allowed)}")
    return tuple(dict.fromkeys(given))


def _clips_of(key: ItemKey, item: Item) -> Iterator[Clip]:
    """One clip per view found (ground truth on front only), or one without video."""
    actor, emotion, level, sentence = key
    label = EMOTIONS.index(emotion)
    if not item.videos:
        yield Clip(actor, emotion, label, level, sentence, "", None, item.audio, item.ground_truth)
    for view in (v for v in VIEWS if v in item.videos):
        truth = item.ground_truth if view == "front" else None
        video = item.videos[view]
        yield Clip(actor, emotion, label, level, sentence, view, video, item.audio, truth)


def _keep(
    clip: Clip, required: tuple[str, ...], walker: Walker, readable: dict[Path, str | None] | None
) -> bool:
    """Check a clip against the requirements (and, with ``readable``, open its files)."""
    missing = [r for r in required if getattr(clip, r) is None]
    if missing:
        if clip.video is None and clip.audio is None:
            assert clip.ground_truth is not None
            walker.skip(clip.ground_truth, SkipReason.GROUND_TRUTH_ONLY)
        elif "audio" in missing and clip.video is not None:
            walker.skip(clip.video, SkipReason.VIDEO_WITHOUT_AUDIO, "no matching audio file")
        elif "video" in missing and clip.audio is not None:
            views = ", ".join(walker.views)
            walker.skip(clip.audio, SkipReason.AUDIO_WITHOUT_VIDEO, f"no {views} video")
        else:
            present = clip.video or clip.audio
            assert present is not None
            walker.skip(present, SkipReason.NO_GROUND_TRUTH, "no landmarks/ .npz")
        return False
    if readable is None:
        return True
    for path, stream in ((clip.video, "video"), (clip.audio, "audio")):
        if path is None:
            continue
        if path not in readable:
            readable[path] = _problem(path, stream)
        problem = readable[path]
        if problem is not None:
            walker.skip(path, SkipReason.UNREADABLE, problem)
            return False
    return True


def _problem(path: Path, stream: str) -> str | None:
    """What makes a media file unusable, or None."""
    try:
        info = probe(path)
    except InvalidInputError as e:
        return str(e)
    if stream == "video" and info.video is None:
        return "no video stream"
    if stream == "audio" and not info.has_audio:
        return "no audio stream"
    return None


def _log_summary(summary: ScanSummary) -> None:
    for item in summary.skipped[:MAX_WARNINGS]:
        log.warning("MEAD scan: skipped %s", item)
    if len(summary.skipped) > MAX_WARNINGS:
        log.warning(
            "MEAD scan: %d more skipped items not listed (see ScanSummary.skipped)",
            len(summary.skipped) - MAX_WARNINGS,
        )
    log.info("MEAD scan: %s", summary.describe())
