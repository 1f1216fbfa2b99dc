"""Training data of the per-video renderer: face crops, landmarks in crop px, frame sequences.

The crops of the whole video are decoded once into ``out_dir/data/frames_<size>.npy`` (a
memory-mapped uint8 array, reused when the video and crop are unchanged), so that memory
stays bounded for long clips. Guidance maps are made per item from the crop and its
landmarks (they are cheap, and storing 15 float channels per frame would not be).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.render.guidance import GuidanceConfig, guidance_map, n_channels
from evp_studio.render.neural import crop_box, crop_frame, crop_landmarks, to_tensor

GuidanceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class GuidanceSource:
    """How guidance maps are made: ``make(crop (S,S,3) uint8, landmarks (68,2) crop px)``.

    ``make`` returns ``(channels, S, S)`` float32; ``settings`` is stored in checkpoints.
    """

    channels: int
    make: GuidanceFn
    settings: dict[str, Any]


def default_guidance(size: int) -> GuidanceSource:
    """The official 15-channel input (edge map + 14 part distance maps) at ``size`` px.

    The sketch is 1 px wide per 256 px of crop (the official one is ~2 px at 512).
    """
    config = GuidanceConfig(distance_maps=True, edge_width=max(1, size // 256))

    def make(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return guidance_map(frame, landmarks, config)

    return GuidanceSource(n_channels(config), make, dataclasses.asdict(config))


@dataclass(frozen=True)
class RendererData:
    """One target video prepared for training."""

    frames: np.ndarray  # (T, S, S, 3) uint8 crops (memory-mapped)
    landmarks: np.ndarray  # (T, 68, 2) float32 px in crop coordinates
    usable: np.ndarray  # (T,) bool: the face was detected in the frame
    box: tuple[int, int, int]  # (x0, y0, side) px in the full frame
    frame_size: tuple[int, int]  # (width, height) px
    n_train: int  # frames 0..n_train-1 train; the rest (the last `holdout`) are held out

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(len(self.frames))

    def train_targets(self, rollout: int = 1) -> np.ndarray:
        """Indices t of training sequences ending at frame t, all inside the training part.

        Parameters
        ----------
        rollout
            Frames generated per sequence: frames ``t - rollout - 1 .. t`` must be training
            frames, and the face must be found in the ``rollout`` generated ones (their
            guidance maps come from its landmarks).
        """
        t = np.arange(rollout + 1, self.n_train)
        ok = np.ones(t.size, bool)
        for back in range(rollout):
            ok &= self.usable[t - back]
        return t[ok]

    def summary(self) -> dict[str, Any]:
        """Plain-data description for the checkpoint."""
        return {
            "n_frames": self.n_frames,
            "n_train": self.n_train,
            "n_holdout": self.n_frames - self.n_train,
            "frame_size": list(self.frame_size),
            "crop_box": list(self.box),
        }


def split_point(n_frames: int, holdout: float) -> int:
    """Frames kept for training: all but the last ``ceil(holdout * n)`` (at least 3 held out).

    Raises
    ------
    InvalidInputError
        When the clip is too short to leave 3 training and 3 held-out frames.
    """
    n_hold = max(3, math.ceil(holdout * n_frames))
    if n_frames - n_hold < 3:
        raise InvalidInputError(
            f"the video has {n_frames} frames: too short to train a renderer (it needs at "
            f"least 3 training frames besides the {n_hold} held out)"
        )
    return n_frames - n_hold


def prepare_data(
    video: Path,
    landmarks: np.ndarray,
    lost: np.ndarray,
    *,
    size: int,
    holdout: float,
    folder: Path,
    video_hash: str,
    cancel: CancelToken | None = None,
) -> Job[RendererData]:
    """Decode and crop the video (or reuse the crops in ``folder``); yields Progress.

    Raises
    ------
    InvalidInputError
        When landmarks and frames disagree in count, or the clip is too short.
    """
    from evp_studio.media import VideoReader  # noqa: PLC0415

    n = len(landmarks)
    if landmarks.shape[1:] != (68, 2) or not np.isfinite(landmarks).all():
        raise InvalidInputError(f"landmarks must be finite (T, 68, 2), got {landmarks.shape}")
    n_train = split_point(n, holdout)
    with VideoReader(video) as reader:
        if reader.frame_count != n:
            raise InvalidInputError(
                f"{video} has {reader.frame_count} frames but the landmarks cover {n}"
            )
        first = reader.read(0)
        box = crop_box(landmarks[0], first.shape)
        meta = {"hash": video_hash, "box": list(box), "size": size, "n": n}
        npy, meta_file = folder / f"frames_{size}.npy", folder / f"frames_{size}.json"
        if not (meta_file.exists() and json.loads(meta_file.read_text()) == meta and npy.exists()):
            folder.mkdir(parents=True, exist_ok=True)
            meta_file.unlink(missing_ok=True)
            out = np.lib.format.open_memmap(
                npy, mode="w+", dtype=np.uint8, shape=(n, size, size, 3)
            )
            for i, frame in enumerate(reader.iter_frames(cancel=cancel)):
                out[i] = crop_frame(frame, box, size)
                if i % 16 == 0 or i == n - 1:
                    yield Progress("Cropping frames", i + 1, n)
            out.flush()
            del out
            meta_file.write_text(json.dumps(meta), encoding="utf-8")
        frames = np.load(npy, mmap_mode="r")
        size_wh = (int(first.shape[1]), int(first.shape[0]))
    return RendererData(
        frames=frames,
        landmarks=crop_landmarks(landmarks, box, size),
        usable=~np.asarray(lost, bool),
        box=box,
        frame_size=size_wh,
        n_train=n_train,
    )


class SequenceDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Items ``(guidance, frames)`` of the sequence ending at a target frame t.

    ``guidance`` is ``(R, C, S, S)`` for frames ``t - R + 1 .. t`` and ``frames`` is
    ``(R + 2, 3, S, S)`` in [-1, 1] for frames ``t - R - 1 .. t``, where ``R`` is the rollout:
    the two real frames that start the sequence, then the R frames to generate. The trainer
    uses the last ``L <= R`` of them (see :func:`evp_studio.train.renderer.rollout_inputs`);
    with ``L = 1`` it is the teacher-forced triple ``(t-2, t-1) -> t``.
    """

    def __init__(
        self, data: RendererData, guidance: GuidanceSource, targets: np.ndarray, rollout: int = 1
    ) -> None:
        if rollout < 1:
            raise InvalidInputError(f"rollout must be >= 1, got {rollout}")
        self.data, self.guidance = data, guidance
        self.targets, self.rollout = np.asarray(targets), rollout

    def __len__(self) -> int:
        return int(len(self.targets))

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        t, r = int(self.targets[i]), self.rollout
        frames = np.asarray(self.data.frames[t - r - 1 : t + 1])
        maps = [
            self.guidance.make(frames[k + 2], self.data.landmarks[t - r + 1 + k]) for k in range(r)
        ]
        g = torch.from_numpy(np.ascontiguousarray(np.stack(maps), np.float32))
        return g, to_tensor(frames)
