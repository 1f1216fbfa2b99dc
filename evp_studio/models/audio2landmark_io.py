"""Audio-to-landmark model files and the inference API (``LandmarkPredictor``).

One format serves training checkpoints (``evp_studio.train.landmarks``) and shipped
weights. It is a dict that ``torch.load(weights_only=True)`` reads::

    "format"          "evp-studio.audio2landmark"
    "format_version"  1
    "model_config"    dataclasses.asdict(Audio2LandmarkConfig)
    "model"           state_dict of Audio2Landmark (float16 or float32; the buffers
                      ``basis_mean``, ``basis``, ``code_mean``, ``code_scale`` always float32)
    "seq_len"         frames per training sequence; inference runs chunks of this length
    "encoder"         the speech encoder the model was trained with (fine-tuned or not), in
                      the inference format of :mod:`evp_studio.models.io`: a dict with
                      "model_config", "model" (Ec, Ee, Ce) and "category_codes"; or None
    "emotions"        label order, must equal evp_studio.project.EMOTIONS
    "metrics", "data", "source", ...   free-form plain data, kept in ``meta``

Carrying the encoder keeps a landmark model and the codes it was trained on together: the
pipeline encodes speech with ``LandmarkPredictor.encoder`` (wrap it in
``evp_studio.pipeline.encode.SpeechEncoder``), never with another encoder file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evp_studio.errors import InvalidInputError
from evp_studio.models.audio2landmark import Audio2Landmark, Audio2LandmarkConfig
from evp_studio.models.disentangle import DisentangleModel
from evp_studio.models.io import (
    LoadedDisentangle,
    category_codes_from,
    checked_tensors,
    inference_state,
    model_from_state,
)
from evp_studio.project import EMOTIONS
from evp_studio.train.checkpoint import load_checkpoint, save_checkpoint

__all__ = [
    "FORMAT",
    "DEFAULT_WEIGHTS",
    "LandmarkPredictor",
    "LoadedAudio2Landmark",
    "example_landmarks",
    "export_landmark_weights",
    "load_audio2landmark",
    "save_landmark_weights",
]

FORMAT = "evp-studio.audio2landmark"
FORMAT_VERSION = 1
DEFAULT_WEIGHTS = "audio2landmark-small"
DEFAULT_SEQ_LEN = 32
_BASIS = ("basis_mean", "basis", "code_mean", "code_scale")  # kept float32


@dataclass(frozen=True)
class LoadedAudio2Landmark:
    """A validated audio-to-landmark model file."""

    model: Audio2Landmark  # float32, eval mode, on the CPU
    encoder: LoadedDisentangle | None  # the speech encoder it was trained with
    seq_len: int  # frames per training sequence (the inference chunk)
    meta: dict[str, Any]  # every other key of the file (metrics, data, config, ...)
    path: Path | None


def _config_from(raw: Any, where: str) -> Audio2LandmarkConfig:
    fields = {f.name for f in dataclasses.fields(Audio2LandmarkConfig)}
    if not isinstance(raw, Mapping) or set(raw) != fields:
        got = sorted(raw) if isinstance(raw, Mapping) else raw
        raise InvalidInputError(f"{where}: 'model_config' is {got}, expected keys {sorted(fields)}")
    try:
        return Audio2LandmarkConfig(**raw)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"{where}: bad 'model_config': {e}") from e


def _model_from(state: Mapping[str, Any], where: str) -> Audio2Landmark:
    config = _config_from(state.get("model_config"), where)
    weights = state.get("model")
    if not isinstance(weights, Mapping):
        raise InvalidInputError(f"{where}: 'model' (the weights) is missing")
    model = Audio2Landmark(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        listed = ", ".join((missing + extra)[:4])
        raise InvalidInputError(
            f"{where}: not a {config.size} audio-to-landmark model: {len(missing)} missing "
            f"and {len(extra)} unexpected weights ({listed} ...)"
        )
    model.load_state_dict(checked_tensors(weights, expected, where, config.size))
    return model.eval()


def _encoder_from(raw: Any, where: str) -> LoadedDisentangle | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"{where}: 'encoder' must be a dict or None")
    model, has_decoder = model_from_state(raw, f"{where} (encoder)")
    codes = category_codes_from(
        raw.get("category_codes"), model.config.emotion_dim, f"{where} (encoder)"
    )
    meta = {k: v for k, v in raw.items() if k not in ("model", "category_codes")}
    return LoadedDisentangle(model, codes, has_decoder, meta, None)


def load_audio2landmark(path: str | Path) -> LoadedAudio2Landmark:
    """Load a training checkpoint or exported weights, checking every tensor.

    Parameters
    ----------
    path
        The ``.pt`` file.

    Returns
    -------
    LoadedAudio2Landmark
        The model in eval mode on the CPU, its encoder and the file's other data.

    Raises
    ------
    InvalidInputError
        When the file is unreadable, of another format or size, holds non-finite weights,
        uses another emotion label order, or its encoder's code sizes do not fit the model.
    """
    path = Path(path)
    where = str(path)
    state = load_checkpoint(path)
    if state.get("format") != FORMAT:
        raise InvalidInputError(
            f"{where}: format {state.get('format')!r} is not an audio-to-landmark model"
        )
    if state.get("format_version") != FORMAT_VERSION:
        raise InvalidInputError(
            f"{where}: format version {state.get('format_version')} is not supported (this "
            f"build reads {FORMAT_VERSION}); update EVP Studio"
        )
    if list(state.get("emotions", EMOTIONS)) != list(EMOTIONS):
        raise InvalidInputError(f"{where}: emotion labels are not in the order {list(EMOTIONS)}")
    model = _model_from(state, where)
    encoder = _encoder_from(state.get("encoder"), where)
    if encoder is not None:
        dims = (encoder.model.config.content_dim, encoder.model.config.emotion_dim)
        if dims != (model.config.content_dim, model.config.emotion_dim):
            raise InvalidInputError(
                f"{where}: the encoder gives codes of sizes {dims}, the model needs "
                f"{(model.config.content_dim, model.config.emotion_dim)}"
            )
    seq_len = state.get("seq_len", DEFAULT_SEQ_LEN)
    if not isinstance(seq_len, int) or seq_len < 2:
        raise InvalidInputError(f"{where}: 'seq_len' must be an integer >= 2, got {seq_len!r}")
    skip = ("model", "optimizer", "encoder", "seq_len")
    meta = {k: v for k, v in state.items() if k not in skip}
    return LoadedAudio2Landmark(model, encoder, seq_len, meta, path)


def landmark_state(model: Audio2Landmark, *, half: bool) -> dict[str, torch.Tensor]:
    """The model's state_dict, float16 when ``half`` except the float32 buffers."""
    return {
        k: (v.half() if half and k not in _BASIS else v.float()).detach().cpu().clone()
        for k, v in model.state_dict().items()
    }


def save_landmark_weights(
    path: str | Path,
    model: Audio2Landmark,
    *,
    encoder: DisentangleModel | None,
    category_codes: np.ndarray | torch.Tensor | None,
    seq_len: int,
    half: bool = True,
    **meta: Any,
) -> None:
    """Write an inference file: the model, its basis and its speech encoder.

    Parameters
    ----------
    path
        Output ``.pt`` file (written atomically).
    model
        The trained audio-to-landmark model.
    encoder
        The speech encoder it was trained with, or None.
    category_codes
        The encoder's (8, emotion_dim) per-emotion codes, or None.
    seq_len
        Frames per training sequence.
    half
        Store weights as float16 (the basis and code statistics stay float32).
    **meta
        Plain data stored alongside (``metrics``, ``data``, ``source``, ...).

    Raises
    ------
    ExportError
        When the file cannot be written.
    """
    state = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": dataclasses.asdict(model.config),
        "model": landmark_state(model, half=half),
        "seq_len": int(seq_len),
        "encoder": None if encoder is None else inference_state(encoder, category_codes, half=half),
        "emotions": list(EMOTIONS),
        **meta,
    }
    save_checkpoint(path, state)


def export_landmark_weights(checkpoint: str | Path, out: str | Path, **meta: Any) -> Path:
    """Write the float16 inference file of a training checkpoint (the shipped weights).

    Parameters
    ----------
    checkpoint
        A training run's ``checkpoint.pt``.
    out
        The inference file to write.
    **meta
        Extra plain data (e.g. ``command``); the run's config, data summary, metrics and
        git revision are copied.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    InvalidInputError
        When the checkpoint is not a valid audio-to-landmark model.
    ExportError
        When ``out`` cannot be written.
    """
    loaded = load_audio2landmark(checkpoint)
    enc = loaded.encoder
    copied = ("config", "data", "metrics", "git_revision", "step", "epoch")
    kept = {k: loaded.meta[k] for k in copied if k in loaded.meta}
    save_landmark_weights(
        out,
        loaded.model,
        encoder=None if enc is None else enc.model,
        category_codes=None if enc is None else enc.category_codes,
        seq_len=loaded.seq_len,
        source=str(checkpoint),
        **kept,
        **meta,
    )
    return Path(out)


def example_landmarks(canonical: np.ndarray) -> np.ndarray:
    """The "example landmark" l_a of a clip: its mean canonical landmarks.

    Parameters
    ----------
    canonical
        (T, 68, 2) canonical landmarks (``evp_studio.geometry.to_canonical``); NaN frames
        (face lost) are ignored.

    Returns
    -------
    np.ndarray
        (68, 2) float32.

    Raises
    ------
    InvalidInputError
        On a wrong shape or when no frame has all points.
    """
    pts = np.asarray(canonical, dtype=np.float64)
    if pts.ndim != 3 or pts.shape[1:] != (68, 2):
        raise InvalidInputError(f"canonical landmarks must be (T, 68, 2), got {pts.shape}")
    good = np.isfinite(pts).all(axis=(1, 2))
    if not good.any():
        raise InvalidInputError("no frame with all 68 landmarks to build the example landmark")
    return pts[good].mean(axis=0).astype(np.float32)


_CHUNK_BATCH = 64  # chunks per model call: bounds memory on long speech (10 min: 940 chunks)


def _chunk_starts(n: int, chunk: int) -> list[int]:
    """Starts of chunks of ``chunk`` frames, hop chunk // 2, the last one ending at ``n``."""
    if n <= chunk:
        return [0]
    hop = max(1, chunk // 2)
    starts = list(range(0, n - chunk, hop))
    return [*starts, n - chunk]


class LandmarkPredictor:
    """Speech codes + example landmark -> canonical landmarks, with a trained model.

    Long inputs run as overlapping chunks of the training sequence length (hop half a
    chunk), each from a zero LSTM state as in training, blended with triangular weights:
    the official code runs the whole clip as one sequence although it trains on 16 frames.

    Parameters
    ----------
    loaded
        A model file from :func:`load_audio2landmark`.
    device
        Torch device to run on.
    """

    def __init__(self, loaded: LoadedAudio2Landmark, device: str = "cpu") -> None:
        self.loaded = loaded
        self.device = device
        self.model = loaded.model.to(device).eval()

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "cpu") -> LandmarkPredictor:
        """Load a model file, or the default weights when ``path`` is None.

        Parameters
        ----------
        path
            A training checkpoint or exported weights; None for the registry's
            ``audio2landmark-small``.
        device
            Torch device.

        Returns
        -------
        LandmarkPredictor

        Raises
        ------
        ModelNotFoundError
            When the default weights are missing.
        InvalidInputError
            When the file is not a valid audio-to-landmark model.
        """
        if path is None:
            from evp_studio.weights import resolve  # noqa: PLC0415 - registry on demand

            path = resolve(DEFAULT_WEIGHTS)
        return cls(load_audio2landmark(path), device)

    @property
    def encoder(self) -> LoadedDisentangle | None:
        """The speech encoder the model was trained with (None: not stored in the file)."""
        return self.loaded.encoder

    @property
    def content_dim(self) -> int:
        """Size of a content code."""
        return int(self.model.config.content_dim)

    @property
    def emotion_dim(self) -> int:
        """Size of an emotion code."""
        return int(self.model.config.emotion_dim)

    def _check(self, content: np.ndarray, emotion: np.ndarray, identity: np.ndarray) -> None:
        t = content.shape[0] if content.ndim == 2 else -1
        if (
            t < 1
            or content.shape != (t, self.content_dim)
            or emotion.shape != (t, self.emotion_dim)
            or identity.shape != (self.model.config.n_points, 2)
        ):
            raise InvalidInputError(
                f"predict: content {content.shape}, emotion {emotion.shape}, identity "
                f"{identity.shape}; expected (T, {self.content_dim}) with T >= 1, "
                f"(T, {self.emotion_dim}), ({self.model.config.n_points}, 2)"
            )
        for name, a in (("content", content), ("emotion", emotion), ("identity", identity)):
            if not np.isfinite(a).all():
                raise InvalidInputError(f"predict: {name} holds NaN or infinite values")

    @torch.inference_mode()
    def _run(
        self,
        content: np.ndarray,
        emotion: np.ndarray,
        identity: np.ndarray,
        starts: list[int],
        span: int,
    ) -> np.ndarray:
        """The model on the chunks starting at ``starts``, as one batch."""
        c = torch.from_numpy(np.stack([content[s : s + span] for s in starts])).to(self.device)
        e = torch.from_numpy(np.stack([emotion[s : s + span] for s in starts])).to(self.device)
        ident = torch.from_numpy(identity)[None].expand(len(starts), -1, -1).to(self.device)
        return self.model(c, e, ident).float().cpu().numpy()

    def predict(
        self,
        content: np.ndarray,
        emotion: np.ndarray,
        identity: np.ndarray,
        *,
        chunk: int | None = None,
    ) -> np.ndarray:
        """Predict canonical landmarks, one frame per row of the codes.

        Parameters
        ----------
        content
            (T, content_dim) content codes (``SpeechCodes.content``).
        emotion
            (T, emotion_dim) emotion codes: from audio, or mixed category codes.
        identity
            (68, 2) canonical example landmark (:func:`example_landmarks` of the target).
        chunk
            Frames per LSTM run; None: the training sequence length.

        Returns
        -------
        np.ndarray
            (T, 68, 2) float32 canonical landmarks.

        Raises
        ------
        InvalidInputError
            On inconsistent shapes or non-finite inputs.
        """
        content = np.asarray(content, dtype=np.float32)
        emotion = np.asarray(emotion, dtype=np.float32)
        identity = np.asarray(identity, dtype=np.float32)
        self._check(content, emotion, identity)
        n, size = content.shape[0], max(2, chunk or self.loaded.seq_len)
        starts = _chunk_starts(n, size)
        span = min(n, size)
        pred = np.concatenate(  # (n_chunks, span, 68, 2)
            [
                self._run(content, emotion, identity, starts[b : b + _CHUNK_BATCH], span)
                for b in range(0, len(starts), _CHUNK_BATCH)
            ]
        )
        if len(starts) == 1:
            return pred[0]
        ramp = np.minimum(np.arange(1, span + 1), np.arange(span, 0, -1)).astype(np.float32)
        total = np.zeros((n, *pred.shape[2:]), np.float32)
        weight = np.zeros(n, np.float32)
        for s, p in zip(starts, pred, strict=True):
            total[s : s + span] += ramp[:, None, None] * p
            weight[s : s + span] += ramp
        return total / weight[:, None, None]
