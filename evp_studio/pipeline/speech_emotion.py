"""The emotion a speech track carries, per target frame, and keyframes that reproduce it.

Public API::

    analyse_emotion_audio(path, whole_clip=False, device="cpu") -> Job[EmotionProbs]
    detect_emotion(probs, times_s, frame_rate, offset_frames, n_frames=None) -> DetectedEmotion
    detect_whole_clip(probs_row, n_frames) -> DetectedEmotion
    keys_from_detected(detected, easing=LINEAR) -> list[Keyframe]
    keys_from_speech(probs, times_s, frame_rate, offset_frames, ...) -> list[Keyframe]

The probabilities are Ce(Ee(speech)) of the speech encoder the landmark model carries, the
same codes that drive the landmarks when the project's emotion source is ``speech``. For a
reference clip the pipeline feeds the clip's *mean* emotion code to every frame
(:func:`evp_studio.pipeline.landmarks.frame_emotion_codes`), so its detection is one row,
Ce(mean code), held over the whole timeline.

Detection per frame: each category's probability is median-filtered over ``median_s``; the
dominant category changes only when another one leads it by ``hysteresis``; stretches shorter
than ``min_segment_s`` join their longer neighbour. Intensity is the dominant category's
smoothed probability mapped from chance (1/8) to certainty (1) onto [0, 1]; a neutral
stretch has intensity 0, as a neutral key means "no emotion" whatever its intensity.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.pipeline.constants import FPS, SAMPLE_RATE
from evp_studio.project import EMOTIONS, NEUTRAL_INDEX, Easing, Keyframe, new_key_id

if TYPE_CHECKING:
    from evp_studio.pipeline.encode import SpeechEncoder

__all__ = [
    "DetectedEmotion",
    "EmotionProbs",
    "analyse_emotion_audio",
    "detect_emotion",
    "detect_whole_clip",
    "keys_from_detected",
    "keys_from_speech",
]

MEDIAN_S = 0.36  # median filter span (9 rows at 25 fps)
HYSTERESIS = 0.1  # lead in probability another category needs to take over
MIN_SEGMENT_S = 0.5  # shorter stretches of one category join a neighbour
_CHANCE = 1.0 / len(EMOTIONS)


@dataclass(frozen=True)
class EmotionProbs:
    """Emotion probabilities of one audio file: the analysis job's result."""

    path: Path  # the audio (or video) file analysed
    probs: np.ndarray  # (T, 8) float32, rows sum to 1, EMOTIONS order
    times_s: np.ndarray  # (T,) float64 s from the audio's start, start of each row's window
    whole_clip: bool = False  # True: one row, Ce of the clip's mean code, for every frame


@dataclass(frozen=True)
class DetectedEmotion:
    """The detected emotion on the target's timeline."""

    frames: np.ndarray  # (N,) int64 target frame indices, consecutive
    category: np.ndarray  # (N,) int64 index into EMOTIONS
    intensity: np.ndarray  # (N,) float32 in [0, 1], 0 where the category is neutral

    def __len__(self) -> int:
        return int(self.frames.size)

    def weights(self) -> np.ndarray:
        """``(N, 8)`` float32 weight vectors, as a key ``(category, intensity)`` means them."""
        out = np.zeros((len(self), len(EMOTIONS)), np.float32)
        rows = np.arange(len(self))
        out[rows, NEUTRAL_INDEX] = 1.0 - self.intensity
        out[rows, self.category] += self.intensity
        return out


def _empty() -> DetectedEmotion:
    return DetectedEmotion(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))


def _check_probs(probs: np.ndarray, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    t = np.asarray(times_s, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(EMOTIONS) or p.shape[0] < 1:
        raise InvalidInputError(f"emotion probabilities must be (T, 8) with T >= 1, got {p.shape}")
    if t.shape != (p.shape[0],):
        raise InvalidInputError(f"times_s must be ({p.shape[0]},), got {t.shape}")
    if not (np.isfinite(p).all() and np.isfinite(t).all()):
        raise InvalidInputError("emotion probabilities and times must be finite")
    if np.any(p < 0) or np.any(np.diff(t) <= 0):
        raise InvalidInputError("probabilities must be >= 0 and times increasing")
    return p, t


def _smooth(p: np.ndarray, rows: int) -> np.ndarray:
    """Median of each category over ``rows`` rows (odd), rows renormalised to sum to 1."""
    if rows > 1 and p.shape[0] > 1:
        from scipy.ndimage import median_filter  # noqa: PLC0415 - scipy only when needed

        p = median_filter(p, size=(rows | 1, 1), mode="nearest")
    total = p.sum(axis=1, keepdims=True)
    return np.divide(p, total, out=np.full_like(p, _CHANCE), where=total > 0)


def _dominant(p: np.ndarray, hysteresis: float) -> np.ndarray:
    """Leading category per row; a change needs a lead of ``hysteresis`` over the current one."""
    best = p.argmax(axis=1)
    out = np.empty(p.shape[0], np.int64)
    current = int(best[0])
    for i, b in enumerate(best.tolist()):
        if b != current and p[i, b] - p[i, current] > hysteresis:
            current = b
        out[i] = current
    return out


def _runs(values: np.ndarray) -> list[list[int]]:
    """Runs of equal values as ``[start, stop, value]``."""
    edges = np.flatnonzero(np.diff(values)) + 1
    bounds = [0, *edges.tolist(), int(values.size)]
    return [[a, b, int(values[a])] for a, b in zip(bounds[:-1], bounds[1:])]


def _merge_short(cats: np.ndarray, min_rows: int) -> np.ndarray:
    """Give each run shorter than ``min_rows`` (shortest first) to its longer neighbour."""
    runs = _runs(cats)
    while len(runs) > 1:
        i = min(range(len(runs)), key=lambda k: runs[k][1] - runs[k][0])
        if runs[i][1] - runs[i][0] >= min_rows:
            break
        neighbours = [k for k in (i - 1, i + 1) if 0 <= k < len(runs)]
        j = max(neighbours, key=lambda k: runs[k][1] - runs[k][0])
        runs[i][2] = runs[j][2]
        merged: list[list[int]] = []
        for run in runs:
            if merged and merged[-1][2] == run[2]:
                merged[-1][1] = run[1]
            else:
                merged.append(run)
        runs = merged
    out = cats.copy()
    for start, stop, value in runs:
        out[start:stop] = value
    return out


def _intensity(p: np.ndarray, cats: np.ndarray) -> np.ndarray:
    """Probability of each row's category mapped from chance..1 onto 0..1 (neutral: 0)."""
    prob = p[np.arange(cats.size), cats]
    level = np.clip((prob - _CHANCE) / (1.0 - _CHANCE), 0.0, 1.0)
    return np.where(cats == NEUTRAL_INDEX, 0.0, level).astype(np.float32)


def detect_emotion(
    probs: np.ndarray,
    times_s: np.ndarray,
    frame_rate: Fraction | float,
    offset_frames: int,
    *,
    n_frames: int | None = None,
    median_s: float = MEDIAN_S,
    hysteresis: float = HYSTERESIS,
    min_segment_s: float = MIN_SEGMENT_S,
) -> DetectedEmotion:
    """The dominant emotion and its intensity on each target frame the speech covers.

    Parameters
    ----------
    probs
        ``(T, 8)`` probabilities per row (EMOTIONS order), e.g. ``SpeechCodes.emotion_probs``.
    times_s
        ``(T,)`` start of each row, s from the speech's start (``SpeechCodes.times_s()``).
    frame_rate
        The target's frame rate (frames per second, exact rationals welcome).
    offset_frames
        Target frame where the speech starts (negative: its start is cut off).
    n_frames
        The target's frame count; frames at or past it are left out. None: no end.
    median_s, hysteresis, min_segment_s
        Smoothing (see the module docstring).

    Returns
    -------
    DetectedEmotion
        Empty when the speech lies outside the target's frames.

    Raises
    ------
    InvalidInputError
        For misshapen, non-finite or negative probabilities, times that do not increase, or
        a non-positive frame rate.
    """
    p, t = _check_probs(probs, times_s)
    rate = float(frame_rate)
    if not rate > 0:
        raise InvalidInputError(f"frame_rate must be positive, got {frame_rate!r}")
    row_s = float(np.median(np.diff(t))) if t.size > 1 else 1.0 / FPS
    smoothed = _smooth(p, max(1, round(median_s / row_s)))
    cats = _merge_short(_dominant(smoothed, hysteresis), max(1, round(min_segment_s / row_s)))
    level = _intensity(smoothed, cats)

    first = max(0, int(np.ceil(offset_frames + t[0] * rate - 1e-9)))
    stop = int(np.ceil(offset_frames + (t[-1] + row_s) * rate - 1e-9))  # exclusive
    if n_frames is not None:
        stop = min(stop, int(n_frames))
    if stop <= first:
        return _empty()
    frames = np.arange(first, stop, dtype=np.int64)
    row = np.searchsorted(t, (frames - offset_frames) / rate + 1e-9, side="right") - 1
    row = np.clip(row, 0, t.size - 1)
    return DetectedEmotion(frames, cats[row], level[row])


def detect_whole_clip(probs_row: np.ndarray, n_frames: int) -> DetectedEmotion:
    """One emotion over frames ``0 .. n_frames - 1`` (a reference clip's, see module doc).

    Parameters
    ----------
    probs_row
        ``(8,)`` or ``(1, 8)`` probabilities.
    n_frames
        The target's frame count.

    Returns
    -------
    DetectedEmotion

    Raises
    ------
    InvalidInputError
        For a misshapen or invalid row.
    """
    p, _ = _check_probs(np.reshape(probs_row, (-1, len(EMOTIONS)))[:1], np.zeros(1))
    p = _smooth(p, 1)
    cat = np.array([int(p[0].argmax())], np.int64)
    level = _intensity(p, cat)
    n = max(0, int(n_frames))
    return DetectedEmotion(
        np.arange(n, dtype=np.int64), np.repeat(cat, n), np.repeat(level, n).astype(np.float32)
    )


def keys_from_detected(
    detected: DetectedEmotion, *, easing: Easing | str = Easing.LINEAR
) -> list[Keyframe]:
    """Keyframes that reproduce a detection: one at the start of each category's stretch.

    Each key's intensity is the median over its stretch, rounded to whole percent.

    Parameters
    ----------
    detected
        From :func:`detect_emotion` or :func:`detect_whole_clip`.
    easing
        Easing of every key.

    Returns
    -------
    list of Keyframe
        Sorted by frame, with fresh ids; empty for an empty detection.
    """
    if len(detected) == 0:
        return []
    keys = []
    for start, stop, cat in _runs(detected.category):
        level = float(np.median(detected.intensity[start:stop]))
        keys.append(
            Keyframe(
                new_key_id(),
                int(detected.frames[start]),
                EMOTIONS[cat],
                round(min(max(level, 0.0), 1.0), 2),
                Easing(easing),
            )
        )
    return keys


def keys_from_speech(
    probs: np.ndarray,
    times_s: np.ndarray,
    frame_rate: Fraction | float,
    offset_frames: int,
    *,
    n_frames: int | None = None,
    median_s: float = MEDIAN_S,
    hysteresis: float = HYSTERESIS,
    min_segment_s: float = MIN_SEGMENT_S,
    easing: Easing | str = Easing.LINEAR,
) -> list[Keyframe]:
    """Keyframes from speech emotion probabilities: :func:`detect_emotion` + keys.

    Parameters
    ----------
    probs, times_s, frame_rate, offset_frames, n_frames, median_s, hysteresis, min_segment_s
        As for :func:`detect_emotion`.
    easing
        Easing of every key.

    Returns
    -------
    list of Keyframe
        A key at each change of the dominant category (see :func:`keys_from_detected`).

    Raises
    ------
    InvalidInputError
        As :func:`detect_emotion`.
    """
    detected = detect_emotion(
        probs,
        times_s,
        frame_rate,
        offset_frames,
        n_frames=n_frames,
        median_s=median_s,
        hysteresis=hysteresis,
        min_segment_s=min_segment_s,
    )
    return keys_from_detected(detected, easing=easing)


def _mean_code_probs(encoder: SpeechEncoder, emotion: np.ndarray) -> np.ndarray:
    import torch  # noqa: PLC0415 - the job runs on a worker; the UI never imports torch

    with torch.inference_mode():
        mean = torch.from_numpy(emotion.mean(axis=0, keepdims=True)).to(encoder.device)
        logits = encoder.model.classify(mean).float().cpu()
        return torch.softmax(logits, dim=1).numpy().astype(np.float32)


def analyse_emotion_audio(
    path: str | Path,
    *,
    whole_clip: bool = False,
    device: str = "cpu",
    predictor_path: str | Path | None = None,
    cancel: CancelToken | None = None,
) -> Job[EmotionProbs]:
    """Emotion probabilities of an audio file with the landmark model's own encoder (a Job).

    Parameters
    ----------
    path
        Any file :func:`evp_studio.media.load_audio` reads (a video's track too).
    whole_clip
        True for a reference clip: one row, Ce of the mean emotion code (what the pipeline
        uses for the ``reference`` source); False: one row per 25 fps frame.
    device
        Torch device.
    predictor_path
        Audio-to-landmark model file; None for the bundled default.
    cancel
        Checked between stages.

    Yields
    ------
    Progress

    Returns
    -------
    EmotionProbs

    Raises
    ------
    InvalidInputError
        When the audio is unusable or the model file carries no speech encoder.
    ModelNotFoundError
        When the default model is missing.
    """
    from evp_studio.media import load_audio  # noqa: PLC0415 - PyAV on the worker only
    from evp_studio.models.audio2landmark_io import LandmarkPredictor  # noqa: PLC0415 - torch
    from evp_studio.pipeline.encode import SpeechEncoder  # noqa: PLC0415 - torch

    path = Path(path)
    stages = ("Loading the speech encoder", f"Reading {path.name}", "Detecting the emotion")

    def step(i: int) -> Progress:
        if cancel is not None:
            cancel.check()
        return Progress(stages[i], i, len(stages))

    yield step(0)
    predictor = LandmarkPredictor.load(predictor_path, device=device)
    if predictor.encoder is None:
        raise InvalidInputError(
            "the landmark model file carries no speech encoder; re-export it with its encoder"
        )
    encoder = SpeechEncoder(predictor.encoder, device)
    yield step(1)
    audio = load_audio(path, sample_rate=SAMPLE_RATE)
    yield step(2)
    codes = encoder.encode(audio, SAMPLE_RATE, name=str(path))
    yield Progress(stages[-1], len(stages), len(stages))
    if whole_clip:
        return EmotionProbs(path, _mean_code_probs(encoder, codes.emotion), np.zeros(1), True)
    return EmotionProbs(path, codes.emotion_probs.astype(np.float32), codes.times_s())
