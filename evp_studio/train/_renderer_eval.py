"""Held-out scores and preview images of a renderer during training."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from evp_studio.errors import ExportError
from evp_studio.eval.image import psnr, ssim
from evp_studio.models.renderer import RendererGenerator
from evp_studio.render.neural import NeuralRenderer, to_image, to_tensor
from evp_studio.train._renderer_data import GuidanceSource, RendererData


def held_out_scores(
    model: RendererGenerator,
    data: RendererData,
    guidance: GuidanceSource,
    device: str,
    max_frames: int,
) -> dict[str, Any]:
    """PSNR (dB) and SSIM of held-out frames rendered as at inference.

    The first two held-out frames are given as real (vid2vid ``use_real_img``); the rest
    are generated from the previous generated frames and scored against the real ones.
    """
    start = data.n_train
    stop = min(data.n_frames, start + max(3, max_frames))
    crops = np.asarray(data.frames[start:stop])
    maps = [guidance.make(c, data.landmarks[start + i]) for i, c in enumerate(crops)]
    size = crops.shape[1]
    renderer = NeuralRenderer(model, (0, 0, size), "", device)
    out = np.stack(list(renderer.stream(crops, maps, paste=False)))
    value = psnr(out[2:], crops[2:])
    return {
        "frames": int(len(crops) - 2),
        "first_frame": int(start + 2),
        "psnr": 99.0 if math.isinf(value) else round(float(value), 3),
        "ssim": round(float(ssim(out[2:], crops[2:])), 4),
    }


@torch.inference_mode()
def write_preview(
    path: Path,
    model: RendererGenerator,
    data: RendererData,
    guidance: GuidanceSource,
    device: str,
) -> None:
    """Write a PNG ``guidance | generated | real`` of the middle held-out frame.

    The previous frames fed to the generator are the real ones (teacher forcing, as in
    training). The guidance panel shows channel 0 (the edge map).

    Raises
    ------
    ExportError
        When the image cannot be written.
    """
    t = data.n_train + max(2, (data.n_frames - data.n_train) // 2)
    crops = np.asarray(data.frames[t - 2 : t + 1])
    g = guidance.make(crops[2], data.landmarks[t])
    model.eval()
    x = to_tensor(crops, device)
    fake = model(torch.from_numpy(g).to(device)[None], torch.cat([x[1], x[0]])[None])[0]
    edges = (np.clip(g[0], 0.0, 1.0) * 255).astype(np.uint8)
    grid = np.concatenate([np.repeat(edges[..., None], 3, -1), to_image(fake), crops[2]], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    if not cv2.imwrite(str(tmp), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ExportError(path, "cannot write the preview image")
    tmp.replace(path)
