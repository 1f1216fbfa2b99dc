"""Speech to content and emotion codes, one row per 25 fps frame (paper 3.2 at inference).

Public API::

    SpeechEncoder.load(path=None, device="cpu")   # None: the default weights (registry)
    encoder.encode(audio, sample_rate) -> SpeechCodes
    encoder.encode_file(path) -> SpeechCodes       # any file load_audio reads, video too
    encoder.category_codes() -> (8, d_e)           # per-emotion mean code, drives keyframes
    encode(audio, sample_rate=16000) -> SpeechCodes   # with a cached default encoder

Row ``k`` of every array belongs to the 25 fps frame starting at ``k / 25`` s (the MFCC window
of :func:`evp_studio.audio.audio_windows`). Input checks: non-finite samples, audio shorter
than one frame and silent audio are errors; clipped audio is encoded with a warning in
``SpeechCodes.warnings`` (emotion from clipped speech leans towards the loud emotions).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
import torch

from evp_studio.audio import audio_windows
from evp_studio.errors import ExportError, InvalidInputError
from evp_studio.fileio import fsync_folder
from evp_studio.media import load_audio
from evp_studio.models.io import LoadedDisentangle, load_disentangle
from evp_studio.pipeline.constants import FPS, SAMPLE_RATE
from evp_studio.project import EMOTIONS

__all__ = ["SpeechCodes", "SpeechEncoder", "check_speech", "encode"]

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = "disentangle-small"
SILENCE_PEAK = 10 ** (-60 / 20)  # peak below -60 dBFS: nothing to encode
CLIP_LEVEL = 0.999  # |sample| at or above this counts as clipped
CLIP_WARN_FRACTION = 0.001  # warn when more than 0.1 % of samples are clipped
_BATCH = 512


@dataclass(frozen=True)
class SpeechCodes:
    """Per-frame codes of a speech track (rows: 25 fps frames)."""

    content: np.ndarray  # (T, content_dim) float32, Ec
    emotion: np.ndarray  # (T, emotion_dim) float32, Ee
    emotion_probs: np.ndarray  # (T, 8) float32, softmax of Ce(Ee), EMOTIONS order
    warnings: tuple[str, ...] = ()  # problems with the input that did not stop encoding

    @property
    def n_frames(self) -> int:
        """Number of 25 fps frames T."""
        return int(self.content.shape[0])

    def times_s(self) -> np.ndarray:
        """Return (T,) float64 start time of each row's frame, seconds."""
        return np.arange(self.n_frames, dtype=np.float64) / FPS

    def dominant_emotion(self) -> tuple[str, float]:
        """Return the emotion with the highest mean probability, and that probability."""
        mean = self.emotion_probs.mean(axis=0)
        best = int(mean.argmax())
        return EMOTIONS[best], float(mean[best])

    def save_npz(self, path: str | Path) -> None:
        """Write ``content``, ``emotion``, ``emotion_probs``, ``times_s``, ``emotions``.

        The file is written to a temp file beside ``path`` and renamed on success.

        Parameters
        ----------
        path
            The ``.npz`` file.

        Raises
        ------
        ExportError
            When the folder is missing or not writable, or the disk is full.
        """
        path = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as e:
            raise ExportError(path, f"cannot write here: {e.strerror or e}") from e
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(
                    f,
                    content=self.content,
                    emotion=self.emotion,
                    emotion_probs=self.emotion_probs,
                    times_s=self.times_s(),
                    emotions=np.array(EMOTIONS),
                )
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise ExportError(path, f"cannot write the codes: {e.strerror or e}") from e
        fsync_folder(path.parent)


def _resample(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == SAMPLE_RATE:
        return audio
    from scipy.signal import resample_poly  # noqa: PLC0415 - only for arrays at other rates

    g = gcd(sample_rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, sample_rate // g).astype(np.float32)


def check_speech(audio: np.ndarray, name: str) -> tuple[str, ...]:
    """Check mono samples before encoding; return warnings, raise for unusable input.

    Parameters
    ----------
    audio
        (n,) samples in [-1, 1].
    name
        Names the source in messages.

    Returns
    -------
    tuple of str
        Warnings (clipping).

    Raises
    ------
    InvalidInputError
        For non-1-D, empty, non-finite or silent audio.
    """
    if audio.ndim != 1 or audio.size == 0:
        raise InvalidInputError(f"{name}: expected mono samples, got shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise InvalidInputError(f"{name}: audio holds NaN or infinite samples")
    peak = float(np.abs(audio).max())
    if peak < SILENCE_PEAK:
        raise InvalidInputError(
            f"{name}: the audio is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS); "
            "there is no speech to encode"
        )
    clipped = float(np.mean(np.abs(audio) >= CLIP_LEVEL))
    if clipped > CLIP_WARN_FRACTION:
        return (
            f"{name}: {100 * clipped:.1f} % of the samples are clipped at full scale; "
            "the detected emotion may lean towards loud emotions",
        )
    return ()


class SpeechEncoder:
    """Ec, Ee and Ce of a trained disentanglement model, ready to encode speech.

    Parameters
    ----------
    loaded
        A model file from :func:`evp_studio.models.io.load_disentangle`.
    device
        Torch device to run on.
    """

    def __init__(self, loaded: LoadedDisentangle, device: str = "cpu") -> None:
        self.loaded = loaded
        self.device = device
        self.model = loaded.model.to(device).eval()

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "cpu") -> SpeechEncoder:
        """Load a model file, or the default weights when ``path`` is None.

        Parameters
        ----------
        path
            A training checkpoint, exported or converted weights; None for the registry's
            ``disentangle-small``.
        device
            Torch device.

        Returns
        -------
        SpeechEncoder

        Raises
        ------
        ModelNotFoundError
            When the default weights are missing.
        InvalidInputError
            When the file is not a valid disentanglement model.
        """
        if path is None:
            from evp_studio.weights import resolve  # noqa: PLC0415 - registry on demand

            path = resolve(DEFAULT_WEIGHTS)
        return cls(load_disentangle(path), device)

    @property
    def content_dim(self) -> int:
        """Size of a content code."""
        return int(self.model.config.content_dim)

    @property
    def emotion_dim(self) -> int:
        """Size of an emotion code."""
        return int(self.model.config.emotion_dim)

    def category_codes(self) -> np.ndarray:
        """Return the (8, emotion_dim) mean emotion code of each category (EMOTIONS order).

        Returns
        -------
        np.ndarray
            float32; rows of emotions the model never saw are NaN.

        Raises
        ------
        InvalidInputError
            When the model file carries no category codes (e.g. converted SER weights
            without ``--features``).
        """
        codes = self.loaded.category_codes
        if codes is None:
            raise InvalidInputError(
                f"{self.loaded.path}: the model has no per-emotion codes; keyframed emotion "
                "needs a model trained by EVP Studio or converted with --features"
            )
        return codes.copy()

    @torch.inference_mode()
    def encode(
        self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE, *, name: str = "audio samples"
    ) -> SpeechCodes:
        """Encode mono samples.

        Parameters
        ----------
        audio
            (n,) float samples in [-1, 1].
        sample_rate
            Rate of ``audio``, Hz (resampled to 16 kHz when different).
        name
            Names the source in messages.

        Returns
        -------
        SpeechCodes

        Raises
        ------
        InvalidInputError
            For silent, non-finite or too-short audio (< 45 ms: no frame).
        """
        audio = np.asarray(audio, dtype=np.float32)
        warnings = check_speech(audio, name)
        for text in warnings:
            log.warning("%s", text)
        audio = _resample(audio, sample_rate)
        windows = audio_windows(audio)
        if windows.shape[0] == 0:
            raise InvalidInputError(
                f"{name}: {audio.shape[0] / SAMPLE_RATE * 1000:.0f} ms of audio is too short "
                "for one 25 fps frame (at least 45 ms)"
            )
        content, emotion, logits = [], [], []
        for start in range(0, windows.shape[0], _BATCH):
            x = torch.from_numpy(windows[start : start + _BATCH]).unsqueeze(1).to(self.device)
            c, e = self.model(x)
            content.append(c.float().cpu())
            emotion.append(e.float().cpu())
            logits.append(self.model.classify(e).float().cpu())
        probs = torch.softmax(torch.cat(logits), dim=1)
        return SpeechCodes(
            content=torch.cat(content).numpy(),
            emotion=torch.cat(emotion).numpy(),
            emotion_probs=probs.numpy(),
            warnings=warnings,
        )

    def encode_file(self, path: str | Path) -> SpeechCodes:
        """Encode the first audio stream of a file (wav, mp3, m4a, a video's track, ...).

        Parameters
        ----------
        path
            The media file.

        Returns
        -------
        SpeechCodes

        Raises
        ------
        InvalidInputError
            When the file cannot be read or its audio is unusable (see :meth:`encode`).
        """
        audio = load_audio(path, sample_rate=SAMPLE_RATE)
        return self.encode(audio, SAMPLE_RATE, name=str(path))


@lru_cache(maxsize=1)
def _default_encoder() -> SpeechEncoder:
    return SpeechEncoder.load()


def encode(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> SpeechCodes:
    """Encode mono samples with the default weights (loaded once).

    Parameters
    ----------
    audio
        (n,) float samples in [-1, 1].
    sample_rate
        Rate of ``audio``, Hz.

    Returns
    -------
    SpeechCodes
        ``content`` (T, d_c), ``emotion`` (T, d_e), ``emotion_probs`` (T, 8).

    Raises
    ------
    ModelNotFoundError
        When the default weights are missing.
    InvalidInputError
        For unusable audio (see :meth:`SpeechEncoder.encode`).
    """
    return _default_encoder().encode(audio, sample_rate)
