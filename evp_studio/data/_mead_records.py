"""Records of the MEAD reader: one clip, one skipped item, the summary of a scan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from evp_studio.errors import InvalidInputError
from evp_studio.project import EMOTIONS

#: MEAD's seven camera views (folder names under ``<actor>/video/``), front first.
VIEWS: tuple[str, ...] = ("front", "down", "left_30", "left_60", "right_30", "right_60", "top")

#: Intensity levels MEAD records (neutral only has level 1).
LEVELS: tuple[int, ...] = (1, 2, 3)


@dataclass(frozen=True)
class Clip:
    """One recording: an actor saying one sentence with one emotion at one intensity.

    Parameters
    ----------
    actor
        Actor folder name, e.g. ``"M003"``.
    emotion
        Canonical emotion name, one of :data:`evp_studio.project.EMOTIONS`.
    label
        Index of ``emotion`` in ``EMOTIONS`` (the official code's label order).
    level
        Intensity level, 1..3 (neutral: 1).
    sentence
        MEAD sentence id as in the file name (``001.mp4`` -> 1).
    view
        Camera view folder of ``video`` (``"front"``), or ``""`` for a clip without video.
    video, audio
        The media files, None when absent (only when the scan did not require them).
    ground_truth
        Synthetic corpus only: ``<actor>/landmarks/<emotion>/level_<k>/<nnn>.npz`` (keys
        ``lmk2d`` (T, 68, 2), ``lmk3d`` (T, 68, 3), ``pose`` (T, 6), ``phonemes``); it
        describes the front view, so it is attached to front (and video-less) clips only.

    Raises
    ------
    InvalidInputError
        When the emotion is unknown, the label does not match it, or level/sentence < 1.
    """

    actor: str
    emotion: str
    label: int
    level: int
    sentence: int
    view: str
    video: Path | None
    audio: Path | None
    ground_truth: Path | None

    def __post_init__(self) -> None:
        if self.emotion not in EMOTIONS:
            raise InvalidInputError(f"clip emotion {self.emotion!r} is not one of {EMOTIONS}")
        if self.label != EMOTIONS.index(self.emotion):
            raise InvalidInputError(
                f"clip label {self.label} does not match emotion {self.emotion!r} "
                f"(expected {EMOTIONS.index(self.emotion)})"
            )
        if self.level < 1 or self.sentence < 1:
            raise InvalidInputError(
                f"clip level {self.level} and sentence {self.sentence} must both be >= 1"
            )

    @property
    def key(self) -> str:
        """Stable id, ``"M003/angry/3/001"``; a view other than front is appended."""
        base = f"{self.actor}/{self.emotion}/{self.level}/{self.sentence:03d}"
        return base if self.view in ("front", "") else f"{base}/{self.view}"

    @property
    def sort_key(self) -> tuple[str, int, int, int, int, str]:
        """Order of clips everywhere: actor, label, level, sentence, then view."""
        rank = VIEWS.index(self.view) if self.view in VIEWS else len(VIEWS)
        return (self.actor, self.label, self.level, self.sentence, rank, self.view)


class SkipReason(StrEnum):
    """Why the scanner left something out (the value is what the log shows)."""

    NOT_UNPACKED = "not unpacked"
    ARCHIVE_BESIDE_FOLDER = "archive ignored beside its folder"
    NOT_ACTOR = "not an actor folder"
    UNKNOWN_VIEW = "unknown view folder"
    UNKNOWN_EMOTION = "unknown emotion folder"
    BAD_LEVEL = "unparsable level folder"
    BAD_SENTENCE = "unparsable sentence name"
    NOT_MEDIA = "not a media file"
    UNEXPECTED = "unexpected item"
    EMPTY = "empty folder"
    DUPLICATE = "duplicate clip"
    VIDEO_WITHOUT_AUDIO = "video without audio"
    AUDIO_WITHOUT_VIDEO = "audio without video"
    NO_GROUND_TRUTH = "no ground truth"
    GROUND_TRUTH_ONLY = "ground truth without media"
    UNREADABLE = "unreadable media"


@dataclass(frozen=True)
class Skipped:
    """One thing the scanner left out.

    Parameters
    ----------
    path
        The file or folder, relative to the scanned root.
    reason
        Why.
    detail
        More words for the user (what was expected), may be empty.
    """

    path: Path
    reason: SkipReason
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.reason}: {self.path.as_posix()}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True)
class ScanSummary:
    """What a scan found and what it left out.

    Parameters
    ----------
    root
        The scanned folder.
    counts
        Clips per ``(actor, emotion, level)``.
    skipped
        Everything left out, in the order found.
    """

    root: Path
    counts: Mapping[tuple[str, str, int], int]
    skipped: tuple[Skipped, ...]

    @property
    def n_clips(self) -> int:
        """Clips found."""
        return sum(self.counts.values())

    def per_actor(self) -> dict[str, int]:
        """Clips per actor, actors sorted."""
        totals: Counter[str] = Counter()
        for (actor, _, _), n in self.counts.items():
            totals[actor] += n
        return dict(sorted(totals.items()))

    def per_emotion(self) -> dict[str, int]:
        """Clips per emotion, in label order (emotions without clips left out)."""
        totals: Counter[str] = Counter()
        for (_, emotion, _), n in self.counts.items():
            totals[emotion] += n
        return {e: totals[e] for e in EMOTIONS if e in totals}

    def per_level(self) -> dict[int, int]:
        """Clips per intensity level."""
        totals: Counter[int] = Counter()
        for (_, _, level), n in self.counts.items():
            totals[level] += n
        return dict(sorted(totals.items()))

    def reasons(self) -> dict[SkipReason, int]:
        """Skipped items per reason."""
        return dict(Counter(s.reason for s in self.skipped))

    def skipped_for(self, reason: SkipReason) -> tuple[Skipped, ...]:
        """The skipped items with one reason."""
        return tuple(s for s in self.skipped if s.reason is reason)

    @property
    def not_unpacked(self) -> tuple[Path, ...]:
        """Archives (``video.tar``, ``audio.tar``, ...) found packed, relative to the root."""
        return tuple(s.path for s in self.skipped_for(SkipReason.NOT_UNPACKED))

    def describe(self) -> str:
        """One line for the log or a status bar."""
        actors = self.per_actor()
        emotions = ", ".join(f"{e} {n}" for e, n in self.per_emotion().items())
        text = f"{self.root}: {self.n_clips} clips from {len(actors)} actors ({emotions})"
        if self.skipped:
            reasons = ", ".join(f"{r} {n}" for r, n in self.reasons().items())
            text += f"; skipped {len(self.skipped)} ({reasons})"
        return text


@dataclass(frozen=True)
class MeadScan:
    """The result of :func:`evp_studio.data.mead.scan_mead`.

    Parameters
    ----------
    root
        The scanned folder.
    clips
        Clips found, sorted by :attr:`Clip.sort_key`.
    summary
        Counts and skipped items.
    """

    root: Path
    clips: tuple[Clip, ...]
    summary: ScanSummary
