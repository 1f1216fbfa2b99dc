"""Speech + project emotion -> landmarks on the target video's own frame times.

Public API::

    frame_emotion_codes(source, n_frames=, category_codes=, track=, speech=, reference=,
                        target_frames=) -> (T, d_e)
    silence_mask(audio_16k, n_frames, threshold_db=-45, hold_frames=2) -> (T,) in [0, 1]
    close_mouth(pred, example, mask) -> (T, 68, 2)
    closed_mouth_frame(pred) -> (68, 2)
    resample_to_times(frames, src_fps=25, times_s=) -> (N, ...)
    predict_project_landmarks(audio, target, predictor, ...) -> Job[ProjectLandmarks]

Timelines. The models run at 25 fps (row ``k`` is the frame starting at ``k / 25`` s, as in
:mod:`evp_studio.pipeline.encode`); the speech starts at the target's first frame. Emotion
keyframes are target frame indices, so each 25 fps frame is mapped to a fractional target
frame through the target's own timestamps (variable frame rate works).

Length mismatch (decisions):

* Speech shorter than the video: the audio is padded with silence to the video's length, so
  the model predicts over silence and :func:`silence_mask` closes the mouth smoothly there;
  the head keeps the target's own motion.
* Speech longer than the video: the target's frames repeat ping-pong (0..N-1, N-2..1, 0, ...)
  at the video's median frame period until the speech ends. ``ProjectLandmarks.target_index``
  says which target frame each output frame shows, so the renderer uses the same frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import gcd
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from evp_studio.errors import InvalidInputError
from evp_studio.geometry import OneEuro, align_to_target, fit_pose, to_canonical
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.pipeline.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from evp_studio.project import EMOTIONS, EmotionSource

if TYPE_CHECKING:
    from evp_studio.models.audio2landmark_io import LandmarkPredictor
    from evp_studio.pipeline.encode import SpeechCodes

__all__ = [
    "JAW_POINTS",
    "MOUTH_POINTS",
    "ProjectLandmarks",
    "close_mouth",
    "closed_mouth_frame",
    "frame_emotion_codes",
    "predict_project_landmarks",
    "resample_to_times",
    "silence_mask",
]

MOUTH_POINTS = tuple(range(48, 68))  # iBUG outer (48-59) and inner (60-67) lips
JAW_POINTS = tuple(range(5, 12))  # chin part of the contour, moved by the jaw's opening
_INNER_UPPER, _INNER_LOWER = (61, 62, 63), (67, 66, 65)  # facing inner-lip points
_FLOOR_DB = -120.0  # level of digital silence, dBFS


class WeightedTrack(Protocol):
    """What keyframed emotion needs: ``EmotionTrack`` or ``Project``."""

    def emotion_weights(self, frames: npt.ArrayLike) -> np.ndarray: ...


class TargetTrack(Protocol):
    """What the stage reads of a :class:`evp_studio.landmarks.LandmarkTrack`."""

    @property
    def landmarks(self) -> np.ndarray:
        """(N, 68, 2) px, gaps filled."""

    @property
    def lost(self) -> np.ndarray:
        """(N,) bool."""

    @property
    def timestamps(self) -> np.ndarray:
        """(N,) s."""


# -- emotion ------------------------------------------------------------------------------------


def _moving_average(x: np.ndarray, frames: int) -> np.ndarray:
    """Centred box average over ``frames`` rows (odd-rounded), edges padded by repetition."""
    half = max(0, int(frames)) // 2
    if half == 0 or x.shape[0] < 2:
        return x
    padded = np.concatenate([np.repeat(x[:1], half, 0), x, np.repeat(x[-1:], half, 0)])
    csum = np.cumsum(np.concatenate([np.zeros_like(x[:1]), padded]), axis=0)
    return (csum[2 * half + 1 :] - csum[: -2 * half - 1]) / (2 * half + 1)


def _fit_rows(codes: np.ndarray, n_frames: int) -> np.ndarray:
    """``codes`` cut or extended (last row repeated) to ``n_frames`` rows."""
    if codes.shape[0] >= n_frames:
        return codes[:n_frames]
    return np.concatenate([codes, np.repeat(codes[-1:], n_frames - codes.shape[0], 0)])


def frame_emotion_codes(
    source: EmotionSource | str,
    *,
    n_frames: int,
    category_codes: np.ndarray,
    track: WeightedTrack | None = None,
    speech: SpeechCodes | None = None,
    reference: SpeechCodes | None = None,
    target_frames: npt.ArrayLike | None = None,
    smooth_frames: int = 0,
) -> np.ndarray:
    """Emotion code of every 25 fps frame, from keyframes, the speech or a reference clip.

    Parameters
    ----------
    source
        ``"keyframes"``: the category mean codes mixed by the track's weights (a key
        ``(c, a)`` weighs ``a`` on ``c`` and ``1 - a`` on neutral, see
        :mod:`evp_studio.project.emotion`); the codes are blended linearly, as the official
        code blends stored emotion features. ``"speech"``: the speech's own per-frame codes.
        ``"reference"``: the mean code of the reference clip on every frame.
    n_frames
        Number of 25 fps frames T.
    category_codes
        ``(8, d_e)`` per-emotion mean codes in :data:`EMOTIONS` order; NaN rows for
        emotions the model never saw.
    track
        The emotion keyframes (``EmotionTrack`` or ``Project``), for ``"keyframes"``.
    speech
        The speech's codes, for ``"speech"`` (rows beyond its end repeat the last one).
    reference
        The reference clip's codes, for ``"reference"``.
    target_frames
        ``(T,)`` target frame position of each 25 fps frame (fractional); None: the target
        runs at 25 fps (``k``).
    smooth_frames
        For ``"speech"``: centred moving average over this many frames (0: none).

    Returns
    -------
    np.ndarray
        ``(n_frames, d_e)`` float32.

    Raises
    ------
    InvalidInputError
        On an unknown source, a missing input for it, wrong shapes, or when a keyframe uses an
        emotion whose category code is NaN (the message names the emotion).
    """
    try:
        mode = EmotionSource(source)
    except ValueError:
        allowed = ", ".join(EmotionSource)
        raise InvalidInputError(
            f"emotion source must be one of {allowed}; got {source!r}"
        ) from None
    if n_frames < 1:
        raise InvalidInputError(f"n_frames must be >= 1, got {n_frames}")
    cats = np.asarray(category_codes, dtype=np.float32)
    if cats.ndim != 2 or cats.shape[0] != len(EMOTIONS):
        raise InvalidInputError(f"category_codes must be (8, d_e), got {cats.shape}")
    d_e = cats.shape[1]

    if mode is EmotionSource.KEYFRAMES:
        if track is None:
            raise InvalidInputError("keyframed emotion needs the project's emotion track")
        frames = np.arange(n_frames, dtype=np.float64)
        if target_frames is not None:
            frames = np.asarray(target_frames, dtype=np.float64)
            if frames.shape != (n_frames,):
                raise InvalidInputError(f"target_frames must be ({n_frames},), got {frames.shape}")
        weights = np.asarray(track.emotion_weights(frames), dtype=np.float64)
        unknown = np.asarray(np.isnan(cats).any(axis=1), dtype=bool)
        used = (weights > 0).any(axis=0)
        bad = [EMOTIONS[i] for i in np.flatnonzero(unknown & used)]
        if bad:
            raise InvalidInputError(
                f"the keyframes use {', '.join(bad)}, which the landmark model's speech "
                "encoder never saw (no category code); pick another emotion or a model "
                "trained with it"
            )
        out = weights @ np.where(unknown[:, None], 0.0, cats.astype(np.float64))
        return out.astype(np.float32)

    codes = speech if mode is EmotionSource.SPEECH else reference
    if codes is None:
        raise InvalidInputError(f"emotion source {mode.value!r} needs the {mode.value}'s codes")
    emo = np.asarray(codes.emotion, dtype=np.float32)
    if emo.ndim != 2 or emo.shape[1] != d_e or emo.shape[0] < 1:
        raise InvalidInputError(
            f"{mode.value} emotion codes are {emo.shape}, expected (T, {d_e}) with T >= 1"
        )
    if mode is EmotionSource.REFERENCE:
        return np.repeat(emo.mean(axis=0, keepdims=True), n_frames, axis=0)
    return _moving_average(_fit_rows(emo, n_frames), smooth_frames).astype(np.float32)


# -- silence ------------------------------------------------------------------------------------


def _runs(mask: np.ndarray) -> list[tuple[int, int, bool]]:
    """Runs of equal values as ``(start, stop, value)``."""
    edges = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    bounds = [0, *edges.tolist(), mask.size]
    return [(a, b, bool(mask[a])) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def silence_mask(
    audio_16k: np.ndarray,
    n_frames: int,
    *,
    threshold_db: float = -45.0,
    hold_frames: int = 2,
    min_silence_frames: int = 10,
    ramp_frames: int = 4,
) -> np.ndarray:
    """How much the mouth should close in each 25 fps frame: 1 in silence, 0 in speech.

    Like the official ``check_volume``/``change_mouth`` (reference notes, section 1), with a
    level threshold instead of the sign-sensitive ``|sum of samples| > 0.1``:

    1. per frame (640 samples), RMS in dB relative to the clip's speech level (the 95th
       percentile of the frame levels); a frame is voiced above ``threshold_db``;
    2. voiced frames with no voiced neighbour are cleared (clicks);
    3. voiced stretches are extended by ``hold_frames`` on each side (trailing consonants);
    4. silent stretches shorter than ``min_silence_frames`` count as voiced (short pauses
       between words keep the predicted mouth; the official code uses 20);
    5. inside each silence the weight ramps up over ``ramp_frames`` frames (0.2, 0.4, 0.6,
       0.8 for 4, as the official code) and is 1 further in, so voiced frames stay 0.

    Parameters
    ----------
    audio_16k
        ``(n,)`` mono samples at 16 kHz; frames past the end count as silent.
    n_frames
        Number of 25 fps frames T.
    threshold_db
        Level below the speech level (dB, negative) under which a frame is silent.
    hold_frames
        Frames kept voiced after and before speech.
    min_silence_frames
        Shortest silence that closes the mouth.
    ramp_frames
        Frames of the linear ramp into a silence.

    Returns
    -------
    np.ndarray
        ``(n_frames,)`` float32 in [0, 1].

    Raises
    ------
    InvalidInputError
        For non-1-D or non-finite audio, ``n_frames < 1`` or a non-negative threshold.
    """
    audio = np.asarray(audio_16k, dtype=np.float64)
    if audio.ndim != 1 or not np.isfinite(audio).all():
        raise InvalidInputError(f"silence_mask: expected finite mono samples, got {audio.shape}")
    if n_frames < 1:
        raise InvalidInputError(f"silence_mask: n_frames must be >= 1, got {n_frames}")
    if not threshold_db < 0:
        raise InvalidInputError(f"silence_mask: threshold_db must be negative, got {threshold_db}")
    chunks = np.zeros(n_frames * SAMPLES_PER_FRAME)
    m = min(audio.size, chunks.size)
    chunks[:m] = audio[:m]
    rms = np.sqrt(np.mean(chunks.reshape(n_frames, SAMPLES_PER_FRAME) ** 2, axis=1))
    level = np.maximum(20.0 * np.log10(np.maximum(rms, 1e-12)), _FLOOR_DB)
    speech_level = float(np.percentile(level, 95))
    voiced = (level > speech_level + threshold_db) & (level > _FLOOR_DB)

    alone = voiced.copy()
    alone[1:] &= ~voiced[:-1]
    alone[:-1] &= ~voiced[1:]
    voiced &= ~alone
    if hold_frames > 0 and voiced.any():
        voiced = _distance_to_true(voiced) <= hold_frames
    for start, stop, value in _runs(voiced):
        inner = 0 < start and stop < n_frames  # silence at the ends closes at any length
        if not value and inner and stop - start < min_silence_frames:
            voiced[start:stop] = True
    if not voiced.any():
        return np.ones(n_frames, np.float32)
    dist = _distance_to_true(voiced)
    return np.clip(dist / (max(0, ramp_frames) + 1), 0.0, 1.0).astype(np.float32)


def _distance_to_true(mask: np.ndarray) -> np.ndarray:
    """``(T,)`` int64 distance in frames from each frame to the nearest True one (some True).

    Linear time and memory: the index of the last True at or before each frame and of the
    next True at or after it, by running maximum / minimum (10 minutes are 15,000 frames).
    """
    n = mask.size
    idx = np.arange(n, dtype=np.int64)
    far = 2 * n + 1
    before = np.maximum.accumulate(np.where(mask, idx, -far))
    after = np.minimum.accumulate(np.where(mask, idx, far)[::-1])[::-1]
    return np.minimum(idx - before, after - idx)


def closed_mouth_frame(pred: np.ndarray) -> np.ndarray:
    """The predicted frame with the smallest inner-lip opening (the official choice).

    Parameters
    ----------
    pred
        ``(T, 68, 2)`` canonical landmarks (y down).

    Returns
    -------
    np.ndarray
        ``(68, 2)`` float32.
    """
    pts = np.asarray(pred, dtype=np.float32)
    gap = (pts[:, _INNER_LOWER, 1] - pts[:, _INNER_UPPER, 1]).mean(axis=1)
    return pts[int(np.nanargmin(gap))].copy()


def close_mouth(pred: np.ndarray, example: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend the mouth (48-67) and jaw (5-11) points towards ``example`` by ``mask``.

    Parameters
    ----------
    pred
        ``(T, 68, 2)`` canonical predictions.
    example
        ``(68, 2)`` closed-mouth landmarks in the same space.
    mask
        ``(T,)`` weight of ``example`` in [0, 1] (:func:`silence_mask`).

    Returns
    -------
    np.ndarray
        ``(T, 68, 2)`` float32; every other point is ``pred`` unchanged.

    Raises
    ------
    InvalidInputError
        On shapes that do not fit together or a mask outside [0, 1].
    """
    p = np.asarray(pred, dtype=np.float32)
    ex = np.asarray(example, dtype=np.float32)
    w = np.asarray(mask, dtype=np.float32)
    if p.ndim != 3 or p.shape[1:] != (68, 2) or ex.shape != (68, 2) or w.shape != p.shape[:1]:
        raise InvalidInputError(
            f"close_mouth: pred {p.shape}, example {ex.shape}, mask {w.shape}; expected "
            "(T, 68, 2), (68, 2), (T,)"
        )
    if not (np.all(w >= 0) and np.all(w <= 1)):
        raise InvalidInputError("close_mouth: mask values must lie in [0, 1]")
    out = p.copy()
    idx = list(JAW_POINTS + MOUTH_POINTS)
    out[:, idx] = p[:, idx] + w[:, None, None] * (ex[None, idx] - p[:, idx])
    return out


# -- time ---------------------------------------------------------------------------------------


def resample_to_times(
    frames: np.ndarray, src_fps: float = FPS, *, times_s: npt.ArrayLike
) -> np.ndarray:
    """Linear interpolation of frames at ``k / src_fps`` s to other times (VFR allowed).

    Parameters
    ----------
    frames
        ``(T, ...)`` values, T >= 1.
    src_fps
        Rate of ``frames``.
    times_s
        ``(N,)`` seconds; times before the first or after the last frame take that frame.

    Returns
    -------
    np.ndarray
        ``(N, ...)`` float (float32 for float32 input).

    Raises
    ------
    InvalidInputError
        On empty frames, a non-positive rate or non-finite / non-1-D times.
    """
    f = np.asarray(frames)
    t = np.asarray(times_s, dtype=np.float64)
    if f.ndim < 1 or f.shape[0] < 1:
        raise InvalidInputError(f"resample_to_times: no frames (shape {f.shape})")
    if not (np.isfinite(src_fps) and src_fps > 0):
        raise InvalidInputError(f"resample_to_times: src_fps must be positive, got {src_fps}")
    if t.ndim != 1 or not np.isfinite(t).all():
        raise InvalidInputError(f"resample_to_times: times must be finite (N,), got {t.shape}")
    pos = np.clip(t * src_fps, 0.0, f.shape[0] - 1)
    i0 = np.minimum(np.floor(pos).astype(np.int64), f.shape[0] - 1)
    i1 = np.minimum(i0 + 1, f.shape[0] - 1)
    a = (pos - i0).reshape((-1,) + (1,) * (f.ndim - 1))
    dtype = f.dtype if np.issubdtype(f.dtype, np.floating) else np.float64
    return (f[i0] * (1.0 - a) + f[i1] * a).astype(dtype)


def _frame_period(timestamps: np.ndarray) -> float:
    dt = np.diff(timestamps)
    dt = dt[dt > 0]
    return float(np.median(dt)) if dt.size else 1.0 / FPS


def _ping_pong(n_src: int, n_out: int) -> np.ndarray:
    """Indices 0..n-1, n-2..1, 0.. of length ``n_out``."""
    j = np.arange(n_out)
    if n_src == 1:
        return np.zeros(n_out, np.int64)
    period = 2 * n_src - 2
    j = j % period
    return np.where(j < n_src, j, period - j).astype(np.int64)


# -- the stage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectLandmarks:
    """Landmarks of the edited video, the stage's output."""

    canonical: np.ndarray  # (T, 68, 2) float32, canonical units, 25 fps, mouth closed in silence
    landmarks: np.ndarray  # (N, 68, 2) float32 px on the output frames; NaN where no pose
    times_s: np.ndarray  # (N,) float64 s, each output frame's time (the target's, then extended)
    target_index: np.ndarray  # (N,) int64, the target frame each output frame shows
    silence: np.ndarray  # (T,) float32 in [0, 1], 1 where the mouth is closed
    emotion_codes: np.ndarray  # (T, d_e) float32, what drove the prediction
    speech_frames: int  # 25 fps frames of the speech itself (before silence padding)
    warnings: tuple[str, ...] = ()


def _resample_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == SAMPLE_RATE:
        return audio
    from scipy.signal import resample_poly  # noqa: PLC0415 - only for other rates

    g = gcd(int(sample_rate), SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, int(sample_rate) // g).astype(np.float32)


def _check_target(target: TargetTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pts = np.asarray(target.landmarks, dtype=np.float64)
    times = np.asarray(target.timestamps, dtype=np.float64)
    lost = np.asarray(getattr(target, "lost", np.zeros(len(times), bool)), dtype=bool)
    n = times.shape[0]
    if n < 1 or pts.shape != (n, 68, 2) or lost.shape != (n,):
        raise InvalidInputError(
            f"target track: landmarks {pts.shape}, timestamps {times.shape}, lost "
            f"{lost.shape}; expected (N, 68, 2), (N,), (N,) with N >= 1"
        )
    if not np.isfinite(times).all() or np.any(np.diff(times) <= 0):
        raise InvalidInputError("target track: timestamps must be finite and increasing")
    if lost.all():
        raise InvalidInputError("target track: the face was not found in any frame")
    return pts, times, lost


def predict_project_landmarks(
    audio: np.ndarray,
    target: TargetTrack,
    predictor: LandmarkPredictor,
    *,
    sample_rate: int = SAMPLE_RATE,
    source: EmotionSource | str = EmotionSource.KEYFRAMES,
    track: WeightedTrack | None = None,
    reference_audio: np.ndarray | None = None,
    speech_smooth_frames: int = 0,
    close_silence: bool = True,
    cancel: CancelToken | None = None,
) -> Job[ProjectLandmarks]:
    """Predict the target's landmarks for new speech and the project's emotion (a Job).

    Steps: encode the speech (padded with silence to the video's length) with the
    predictor's own encoder; emotion codes per :func:`frame_emotion_codes`; identity =
    ``example_landmarks(to_canonical(target))`` over the frames where the face was found;
    predict at 25 fps; close the mouth in silence towards :func:`closed_mouth_frame`;
    resample to the output frame times; ``fit_pose`` on the target's landmarks and
    ``align_to_target`` (smoothed at the target's rate). Length decisions: module docstring.

    Parameters
    ----------
    audio
        ``(n,)`` mono speech samples in [-1, 1].
    target
        The target's :class:`~evp_studio.landmarks.LandmarkTrack` (``landmarks``, ``lost``,
        ``timestamps``).
    predictor
        The audio-to-landmark model; its file must carry its speech encoder.
    sample_rate
        Rate of ``audio`` and ``reference_audio``, Hz.
    source, track
        Emotion source and the keyframes (``EmotionTrack`` or ``Project``) for it.
    reference_audio
        The reference clip's speech, for ``source="reference"``.
    speech_smooth_frames
        Moving average of the speech's own emotion codes (``source="speech"``).
    close_silence
        Close the mouth where the speech is silent.
    cancel
        Checked between stages.

    Yields
    ------
    Progress
        One report per stage.

    Returns
    -------
    ProjectLandmarks

    Raises
    ------
    InvalidInputError
        For unusable audio or target, a missing encoder or emotion input, or an emotion the
        model never saw.
    Cancelled
        When ``cancel`` is set.
    """
    from evp_studio.models.audio2landmark_io import example_landmarks  # noqa: PLC0415 - torch
    from evp_studio.pipeline.encode import SpeechEncoder, check_speech  # noqa: PLC0415

    stages: Sequence[str] = ("Encoding speech", "Predicting landmarks", "Aligning to the target")
    total = len(stages)

    def step(i: int) -> Progress:
        if cancel is not None:
            cancel.check()
        return Progress(stages[i], i, total)

    pts, times, lost = _check_target(target)
    if predictor.encoder is None:
        raise InvalidInputError(
            "the landmark model file carries no speech encoder; re-export it with its encoder"
        )
    speech = np.asarray(audio, dtype=np.float32)
    warnings = check_speech(speech, "speech")
    speech = _resample_audio(speech, sample_rate)
    encoder = SpeechEncoder(predictor.encoder, predictor.device)

    yield step(0)
    period = _frame_period(times)
    video_end = float(times[-1]) + period
    speech_frames = speech.size // SAMPLES_PER_FRAME
    n25 = max(speech_frames, int(np.ceil(video_end * FPS - 1e-9)))
    padded = np.zeros(max(speech.size, n25 * SAMPLES_PER_FRAME), np.float32)
    padded[: speech.size] = speech
    codes = encoder.encode(padded, SAMPLE_RATE, name="speech")
    n25 = codes.n_frames
    ref_codes = None
    if EmotionSource(source) is EmotionSource.REFERENCE:
        if reference_audio is None:
            raise InvalidInputError("emotion source 'reference' needs the reference clip's audio")
        ref = _resample_audio(np.asarray(reference_audio, dtype=np.float32), sample_rate)
        ref_codes = encoder.encode(ref, SAMPLE_RATE, name="reference")

    # output frames: the target's own, then ping-pong at its median period to the speech end
    speech_end = speech_frames / FPS
    extra = max(0, int(np.ceil((speech_end - video_end) / period - 1e-9)))
    out_times = np.concatenate([times, video_end + period * np.arange(extra)])
    index = _ping_pong(times.size, out_times.size)
    frame_pos = np.interp(codes.times_s(), out_times, np.arange(out_times.size, dtype=float))
    emotion = frame_emotion_codes(
        source,
        n_frames=n25,
        category_codes=encoder.category_codes(),
        track=track,
        speech=codes,
        reference=ref_codes,
        target_frames=frame_pos,
        smooth_frames=speech_smooth_frames,
    )

    yield step(1)
    fit = fit_pose(pts)
    canon = to_canonical(np.where(lost[:, None, None], np.nan, pts), fit)
    identity = example_landmarks(canon)
    pred = predictor.predict(codes.content, emotion, identity)
    silence = silence_mask(padded, n25) if close_silence else np.zeros(n25, np.float32)
    if close_silence:
        pred = close_mouth(pred, closed_mouth_frame(pred), silence)

    yield step(2)
    out_pts = pts[index]
    out_fit = fit_pose(out_pts) if extra else fit
    placed = align_to_target(
        resample_to_times(pred, FPS, times_s=out_times),
        out_fit,
        out_pts,
        smooth=OneEuro(fps=1.0 / period),
    )
    yield Progress(stages[-1], total, total)
    return ProjectLandmarks(
        canonical=pred.astype(np.float32),
        landmarks=placed.astype(np.float32),
        times_s=out_times,
        target_index=index,
        silence=silence,
        emotion_codes=emotion,
        speech_frames=speech_frames,
        warnings=warnings,
    )
