"""Inference of the neural Edge-to-Video renderer trained per target video.

The renderer works on a square face crop fixed from the first frame (vid2vid
``get_crop_coords`` with EVP's 2.1x landmark width, see ``evp_official_facts.md`` section 5),
resized to the model's size. :meth:`NeuralRenderer.stream` takes the target frames and the
guidance maps (already in crop coordinates, see :meth:`NeuralRenderer.crop_landmarks`) and
yields full frames: the first two are the real target frames (vid2vid ``--use_real_img``),
every later crop is generated from the two previous outputs and pasted back into its target
frame with a feathered edge. Frames are processed one at a time (streaming).

Public API::

    crop_box(landmarks, frame_shape, scale=2.1) -> (x0, y0, side)
    crop_frame(frame, box, size) -> (size, size, 3) uint8
    crop_landmarks(landmarks, box, size) -> (..., 68, 2) float32
    paste_crop(frame, crop, box, feather=0.06) -> (H, W, 3) uint8
    NeuralRenderer.load(checkpoint, *, video_hash=None, device="cpu", preset=None)
    export_renderer(checkpoint, out, **meta) -> out  (float16 generator only)
    renderer.stream(frames, guidance) -> Iterator[(H, W, 3) uint8]; renderer.warnings
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from evp_studio.errors import InvalidInputError
from evp_studio.models.renderer import N_PREV, RendererConfig, RendererGenerator
from evp_studio.render.guidance import face_crop_box

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "NeuralRenderer",
    "crop_box",
    "crop_frame",
    "crop_landmarks",
    "export_renderer",
    "generator_from_state",
    "paste_crop",
]

log = logging.getLogger(__name__)

FORMAT = "evp-studio-renderer"
FORMAT_VERSION = 1
CROP_SCALE = 2.1  # EVP: square side = 2.1 x landmark width (vid2vid default 2.5)


def crop_box(
    landmarks: np.ndarray, frame_shape: tuple[int, ...], scale: float = CROP_SCALE
) -> tuple[int, int, int]:
    """The square face crop of one frame's landmarks as ``(x0, y0, side)``.

    :func:`evp_studio.render.guidance.face_crop_box` (vid2vid ``get_crop_coords``).

    Parameters
    ----------
    landmarks
        ``(68, 2)`` px.
    frame_shape
        ``(H, W, ...)`` of the frame.
    scale
        Side as a multiple of the landmarks' width.

    Returns
    -------
    tuple[int, int, int]
        ``(x0, y0, side)`` px, inside the frame (the side is at most the frame's shorter one).

    Raises
    ------
    InvalidInputError
        On non-finite landmarks or a degenerate (under 8 px) face.
    """
    x0, y0, x1, _ = face_crop_box(landmarks, frame_shape, scale)
    if x1 - x0 < 8:
        raise InvalidInputError(f"the face crop is {x1 - x0} px wide: the face is too small")
    return x0, y0, x1 - x0


def crop_frame(frame: np.ndarray, box: tuple[int, int, int], size: int) -> np.ndarray:
    """Cut ``box`` out of ``frame`` and resize it to ``(size, size, 3)`` uint8."""
    x0, y0, side = box
    patch = frame[y0 : y0 + side, x0 : x0 + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(patch), (size, size), interpolation=interp)


def crop_landmarks(landmarks: np.ndarray, box: tuple[int, int, int], size: int) -> np.ndarray:
    """Map ``(..., 68, 2)`` frame px into the crop's px (float32)."""
    x0, y0, side = box
    k = size / side
    origin = np.array([x0, y0], np.float32)
    return ((np.asarray(landmarks, np.float32) - origin) * k).astype(np.float32)


def _feather_mask(side: int, feather: float) -> np.ndarray:
    """``(side, side, 1)`` float32: 1 inside, a linear ramp to 0 over ``feather * side``."""
    ramp = max(1, int(round(feather * side)))
    d = np.minimum(np.arange(side), np.arange(side)[::-1]).astype(np.float32)
    edge = np.clip(d / ramp, 0.0, 1.0)  # the outermost pixels keep the frame
    return np.minimum(edge[:, None], edge[None, :])[..., None]


def paste_crop(
    frame: np.ndarray, crop: np.ndarray, box: tuple[int, int, int], feather: float = 0.06
) -> np.ndarray:
    """Put a generated crop back into its frame, blending over a feathered edge.

    Parameters
    ----------
    frame
        ``(H, W, 3)`` uint8 target frame (not modified).
    crop
        ``(S, S, 3)`` uint8 generated crop.
    box
        ``(x0, y0, side)`` the crop was cut from.
    feather
        Width of the blend ramp as a fraction of the side.

    Returns
    -------
    np.ndarray
        ``(H, W, 3)`` uint8.
    """
    x0, y0, side = box
    patch = cv2.resize(crop, (side, side), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    mask = _feather_mask(side, feather)
    out = frame.copy()
    region = out[y0 : y0 + side, x0 : x0 + side].astype(np.float32)
    out[y0 : y0 + side, x0 : x0 + side] = np.clip(
        mask * patch + (1.0 - mask) * region + 0.5, 0, 255
    ).astype(np.uint8)
    return out


def to_tensor(images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """``(..., S, S, 3)`` uint8 -> ``(..., 3, S, S)`` float32 in [-1, 1]."""
    t = torch.from_numpy(np.array(images, dtype=np.uint8, order="C")).to(
        device
    )  # copy: may be a read-only memmap
    return t.movedim(-1, -3).float() / 127.5 - 1.0


def to_image(t: torch.Tensor) -> np.ndarray:
    """``(3, S, S)`` in [-1, 1] -> ``(S, S, 3)`` uint8."""
    x = ((t.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x.movedim(-3, -1).cpu().numpy()


def generator_from_state(state: dict[str, Any], path: Path | str) -> RendererGenerator:
    """Rebuild the generator of a renderer checkpoint and check its weights.

    Raises
    ------
    InvalidInputError
        When the file is no renderer checkpoint, names an unknown preset, its weights do not
        fit its sizes, or hold NaN/inf.
    """
    if state.get("format") != FORMAT:
        raise InvalidInputError(
            f"{path} is not a renderer checkpoint (format {state.get('format')!r})"
        )
    if int(state.get("format_version", 0)) > FORMAT_VERSION:
        raise InvalidInputError(
            f"{path} has renderer format {state.get('format_version')}, newer than "
            f"{FORMAT_VERSION}: update EVP Studio"
        )
    config = _model_config(state, path)
    weights = state.get("generator")
    if not isinstance(weights, dict):
        raise InvalidInputError(f"{path}: the checkpoint has no generator weights")
    bad = [k for k, v in weights.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise InvalidInputError(f"{path}: renderer weights hold NaN/inf ({', '.join(bad[:3])})")
    model = RendererGenerator(config)
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise InvalidInputError(f"{path}: not a usable renderer checkpoint ({first})") from e
    return model.eval()


def _model_config(state: dict[str, Any], path: Path | str) -> RendererConfig:
    """The checkpoint's sizes, which must be those of a known preset's design."""
    try:
        config = RendererConfig.from_dict(dict(state["model_config"]))
        RendererConfig.of_preset(config.preset, config.guidance_channels)
    except (KeyError, TypeError, ValueError) as e:  # InvalidInputError is a ValueError
        raise InvalidInputError(f"{path}: not a usable renderer checkpoint ({e})") from e
    return config


_EXPORTED = ("model_config", "video", "guidance", "config", "metrics", "git_revision", "step")


def export_renderer(checkpoint: str | Path, out: str | Path, **meta: Any) -> Path:
    """Write the inference file of a renderer training checkpoint: the generator only.

    The discriminators and optimiser states are dropped and the generator's weights are
    stored as float16 (they are cast back to float32 on load), which makes the file about a
    sixth of the checkpoint. :meth:`NeuralRenderer.load` reads both kinds.

    Parameters
    ----------
    checkpoint
        A run's ``checkpoint.pt`` (:func:`evp_studio.train.renderer.train_renderer`).
    out
        The file to write, atomically.
    **meta
        Extra plain data to store (e.g. ``command``).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    InvalidInputError
        When ``checkpoint`` is no usable renderer checkpoint.
    ExportError
        When ``out`` cannot be written.
    """
    from evp_studio.train.checkpoint import load_checkpoint, save_checkpoint  # noqa: PLC0415

    path = Path(checkpoint)
    state = load_checkpoint(path)
    model = generator_from_state(state, path)  # validates before anything is written
    weights = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    slim = {k: state[k] for k in _EXPORTED if k in state}
    save_checkpoint(
        Path(out),
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **slim,
            "generator": weights,
            "inference_only": True,
            "source": str(path),
            **meta,
        },
    )
    return Path(out)


class NeuralRenderer:
    """A trained per-video renderer, ready to stream frames.

    Parameters
    ----------
    model
        The generator (eval mode).
    box
        ``(x0, y0, side)`` face crop of the target video.
    video_hash
        Content hash of the video it was trained on.
    device
        Where it runs.
    """

    def __init__(
        self,
        model: RendererGenerator,
        box: tuple[int, int, int],
        video_hash: str,
        device: str = "cpu",
    ) -> None:
        self.model = model.to(device).eval()
        self.box = box
        self.video_hash = video_hash
        self.device = device
        self.size = model.config.size
        self.warnings: list[str] = []

    @classmethod
    def load(
        cls,
        checkpoint: str | Path,
        *,
        video_hash: str | None = None,
        device: str = "cpu",
        preset: str | None = None,
    ) -> NeuralRenderer:
        """Load a renderer trained by :func:`evp_studio.train.renderer.train_renderer`.

        Parameters
        ----------
        checkpoint
            Its ``checkpoint.pt``.
        video_hash
            Content hash (:func:`evp_studio.project.hash_media`) of the video to render;
            when it differs from the training video's, a warning is logged and added to
            :attr:`warnings` (a renderer only knows its own target's look).
        device
            ``"cpu"`` or ``"cuda"``.
        preset
            When given, the checkpoint must be of this preset.

        Returns
        -------
        NeuralRenderer

        Raises
        ------
        InvalidInputError
            On an unreadable or broken checkpoint, or another preset than asked for.
        """
        from evp_studio.train.checkpoint import load_checkpoint  # noqa: PLC0415

        path = Path(checkpoint)
        state = load_checkpoint(path)
        model = generator_from_state(state, path)
        if preset is not None and model.config.preset != preset:
            raise InvalidInputError(f"{path} is a {model.config.preset!r} renderer, not {preset!r}")
        video = state.get("video", {})
        box = tuple(int(v) for v in video.get("crop_box", ()))
        if len(box) != 3:
            raise InvalidInputError(f"{path}: the checkpoint has no crop box")
        renderer = cls(model, (box[0], box[1], box[2]), str(video.get("hash", "")), device)
        if video_hash is not None and video_hash != renderer.video_hash:
            msg = (
                f"{path} was trained on another video ({video.get('path', '?')}); it renders "
                "that person's look, so faces will be wrong: train a renderer on this video"
            )
            log.warning(msg)
            renderer.warnings.append(msg)
        return renderer

    def crop_landmarks(self, landmarks: np.ndarray) -> np.ndarray:
        """Frame px -> this renderer's crop px, for making guidance maps."""
        return crop_landmarks(landmarks, self.box, self.size)

    def crop_frame(self, frame: np.ndarray) -> np.ndarray:
        """The ``(S, S, 3)`` uint8 crop of a target frame."""
        self._check_frame(frame)
        return crop_frame(frame, self.box, self.size)

    def _check_frame(self, frame: np.ndarray) -> None:
        x0, y0, side = self.box
        if frame.ndim != 3 or frame.shape[0] < y0 + side or frame.shape[1] < x0 + side:
            raise InvalidInputError(
                f"frame of shape {frame.shape} does not hold the renderer's crop {self.box}: "
                "is it the video the renderer was trained on?"
            )

    def _check_guidance(self, g: np.ndarray) -> None:
        want = (self.model.config.guidance_channels, self.size, self.size)
        if g.shape != want:
            raise InvalidInputError(f"guidance map of shape {g.shape}, expected {want}")

    @torch.inference_mode()
    def stream(
        self, frames: Iterable[np.ndarray], guidance: Iterable[np.ndarray], *, paste: bool = True
    ) -> Iterator[np.ndarray]:
        """Render frame after frame.

        Parameters
        ----------
        frames
            ``(H, W, 3)`` uint8 target frames.
        guidance
            ``(C, S, S)`` float32 guidance map per frame, in crop coordinates.
        paste
            True: yield full frames with the crop pasted back; False: yield the crops.

        Yields
        ------
        np.ndarray
            ``(H, W, 3)`` (or ``(S, S, 3)``) uint8; the first two are the real frames.

        Raises
        ------
        InvalidInputError
            On frames or guidance maps of the wrong shape.
        """
        prev: list[torch.Tensor] = []  # most recent first, (1, 3, S, S)
        for frame, g in zip(frames, guidance, strict=False):
            self._check_frame(frame)
            crop = crop_frame(frame, self.box, self.size)
            if len(prev) < N_PREV:
                prev.insert(0, to_tensor(crop, self.device)[None])
                yield frame.copy() if paste else crop
                continue
            g = np.asarray(g, np.float32)
            self._check_guidance(g)
            gt = torch.from_numpy(g).to(self.device)[None]
            out = self.model(gt, torch.cat(prev, dim=1))
            prev = [out, prev[0]]
            img = to_image(out[0])
            yield paste_crop(frame, img, self.box) if paste else img
