"""28x12 MFCC windows, one per 25 fps video frame, cut as the official EVP test code does.

The official inference loop runs ``ind`` from 3 to ``floor(T_mfcc / 4) - 4`` and feeds MFCC
rows ``(ind - 3) * 4 ... (ind + 4) * 4 - 1``: 7 video frames (28 MFCC frames, 280 ms) centred on
the current frame. Writing ``k = ind - 3``, window ``k`` is rows ``4k ... 4k + 27`` and there
are ``N = floor(T_mfcc / 4) - 6`` windows. The training code's ``mfcc[4i : 4i + 28]`` for
``i in range((T - 28) // 4 + 1)`` is the same set of windows (``(T - 28) // 4 + 1 ==
T // 4 - 6`` for ``T >= 28``), so :func:`frame_windows` serves both.

Timing: window ``k`` belongs to video frame ``k``, which starts at ``k / 25`` s in the
original (unpadded) audio; its centre MFCC rows ``4k + 12 ... 4k + 15`` analyse original samples
``640k ... 640k + 879``. For ``n`` samples of 16 kHz audio,
``N = max(0, floor((n - 81) / 640))`` (:func:`n_frames_for`): window ``k`` exists exactly when
``n >= 640 (k + 1) + 81``, i.e. when the audio runs on at least 81 samples past the end of
video frame ``k`` (the padded MFCC must reach row ``4k + 27``). With ``r = n mod 640``:
``N = floor(n / 640)`` when ``r >= 81``, else ``floor(n / 640) - 1``; so a whole number ``K``
of frames (``r = 0``) gives ``K - 1`` windows, and a trailing partial frame never gets one.
Later stages that need one value per frame of a video hold the last window (or pad the
audio by 81 samples plus the missing frame) before resampling to the video's timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from evp_studio.audio.mfcc import evp_features
from evp_studio.errors import InvalidInputError
from evp_studio.media import load_audio
from evp_studio.pipeline.constants import (
    FPS,
    HOP_LENGTH,
    MFCC_WIN_LENGTH,
    N_COEFFS,
    PAD_SAMPLES,
    SAMPLE_RATE,
    WINDOW_FRAMES,
    WINDOW_STRIDE,
)

MIN_SAMPLES: Final = 721  # samples of 16 kHz audio needed for one window (640 + 81)


def n_windows_for(n_mfcc_frames: int) -> int:
    """Return how many windows ``T`` MFCC frames give: ``max(0, T // 4 - 6)``.

    Parameters
    ----------
    n_mfcc_frames
        Number of MFCC frames ``T`` (rows of the padded MFCC).

    Returns
    -------
    int
        ``floor(T / 4) - 6``, or 0 when that is negative (fewer than 28 frames).
    """
    return max(0, n_mfcc_frames // WINDOW_STRIDE - (WINDOW_FRAMES // WINDOW_STRIDE - 1))


def n_frames_for(n_samples: int) -> int:
    """Return the number of 25 fps windows that ``n_samples`` of 16 kHz audio give.

    Parameters
    ----------
    n_samples
        Length of the original (unpadded) audio, samples at 16 kHz.

    Returns
    -------
    int
        ``max(0, floor((n_samples - 81) / 640))``, computed from the padded MFCC length
        ``T = 1 + ceil((n_samples + 3840 - 400) / 160)`` as ``max(0, T // 4 - 6)``.

    Raises
    ------
    InvalidInputError
        When ``n_samples`` is negative.
    """
    if n_samples < 0:
        raise InvalidInputError(f"audio length {n_samples} samples: must not be negative")
    padded = n_samples + 2 * PAD_SAMPLES
    n_mfcc = 1 + -(-(padded - MFCC_WIN_LENGTH) // HOP_LENGTH)  # padded > 400 always
    return n_windows_for(n_mfcc)


def frame_windows(features: np.ndarray) -> np.ndarray:
    """Cut one 28-frame window per video frame: window ``k`` = rows ``4k ... 4k + 27``.

    Parameters
    ----------
    features
        ``(T_mfcc, D)`` MFCC rows (``D = 12`` for the models; any ``D`` works, e.g. 13 when
        windows of the full MFCC are wanted).

    Returns
    -------
    np.ndarray
        ``(N, 28, D)`` read-only strided view of ``features`` (no copy), ``N = n_windows_for
        (T_mfcc)``; ``(0, 28, D)`` when ``T_mfcc < 28``. Copy it (``np.ascontiguousarray``)
        before handing it to code that needs contiguous memory or will write to it.

    Raises
    ------
    InvalidInputError
        When ``features`` is not 2-D.
    """
    feats = np.asarray(features)
    if feats.ndim != 2:
        raise InvalidInputError(f"MFCC features of shape {feats.shape}: expected (T, D)")
    n = n_windows_for(feats.shape[0])
    if n == 0:
        return np.zeros((0, WINDOW_FRAMES, feats.shape[1]), dtype=feats.dtype)
    view = sliding_window_view(feats, WINDOW_FRAMES, axis=0)  # (T - 27, D, 28)
    return view[: (n - 1) * WINDOW_STRIDE + 1 : WINDOW_STRIDE].swapaxes(1, 2)  # (N, 28, D)


def audio_windows(audio: np.ndarray) -> np.ndarray:
    """Return the models' input for every 25 fps frame of 16 kHz audio.

    Parameters
    ----------
    audio
        ``(n,)`` mono samples at 16 kHz, ``n >= 1``.

    Returns
    -------
    np.ndarray
        ``(N, 28, 12)`` float32, C-contiguous: :func:`frame_windows` of
        :func:`~evp_studio.audio.mfcc.evp_features`, ``N = n_frames_for(n)``; 0 windows for
        audio shorter than ``MIN_SAMPLES`` (721 samples, 45 ms).

    Raises
    ------
    InvalidInputError
        When ``audio`` is empty, not 1-D, not real, or has NaN/inf.
    """
    return np.ascontiguousarray(frame_windows(evp_features(audio)))


@dataclass(frozen=True)
class AudioFeatures:
    """The audio front end's output: one 28x12 MFCC window per 25 fps frame.

    Window ``k`` belongs to the video frame starting at ``k / fps`` s of the audio; use
    :meth:`frame_times_s` to resample results onto another video's timestamps.
    """

    windows: np.ndarray  # (N, 28, 12) float32, raw MFCC c1..c12 (not normalised)
    n_frames: int  # N, number of 25 fps frames
    fps: float = float(FPS)  # frames per second of the windows
    sample_rate: int = SAMPLE_RATE  # Hz, rate of the audio the windows came from

    def __post_init__(self) -> None:
        expected = (self.n_frames, WINDOW_FRAMES, N_COEFFS)
        if self.windows.shape != expected or self.windows.dtype != np.float32:
            raise InvalidInputError(
                f"AudioFeatures windows {self.windows.shape} {self.windows.dtype}: "
                f"expected {expected} float32"
            )

    def frame_times_s(self) -> np.ndarray:
        """Return ``(N,)`` float64 start time of each window's video frame, seconds."""
        return np.arange(self.n_frames, dtype=np.float64) / self.fps


def extract_features(
    source: str | Path | np.ndarray, *, sample_rate: int = SAMPLE_RATE
) -> AudioFeatures:
    """Load audio (or take samples) and compute its per-frame MFCC windows.

    Parameters
    ----------
    source
        A media file (any format ``load_audio`` reads; resampled to 16 kHz mono), or ``(n,)``
        mono samples already at 16 kHz.
    sample_rate
        Rate of ``source`` when it is an array, Hz; only 16000 is accepted (resample with
        ``load_audio(path, sample_rate=16000)``). Ignored for files.

    Returns
    -------
    AudioFeatures
        ``n_frames = n_frames_for(n) >= 1`` windows.

    Raises
    ------
    InvalidInputError
        When the samples are at another rate, empty, shorter than ``MIN_SAMPLES`` (721
        samples, 45 ms: no frame), not 1-D, or not finite; ``MediaError`` subclasses of it
        when a file cannot be read.
    """
    if isinstance(source, np.ndarray):
        name = "audio samples"
        if sample_rate != SAMPLE_RATE:
            raise InvalidInputError(
                f"{name} at {sample_rate} Hz: the MFCC front end needs {SAMPLE_RATE} Hz"
            )
        audio = source
    else:
        name = str(source)
        audio = load_audio(source, sample_rate=SAMPLE_RATE)
    try:
        windows = audio_windows(audio)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{name}: {exc}") from exc
    if windows.shape[0] == 0:
        n = int(np.shape(audio)[0])
        raise InvalidInputError(
            f"{name}: audio is {n} samples ({n / SAMPLE_RATE:.3f} s); at least "
            f"{MIN_SAMPLES} samples ({MIN_SAMPLES / SAMPLE_RATE:.3f} s) make one frame"
        )
    return AudioFeatures(windows=windows, n_frames=windows.shape[0])
