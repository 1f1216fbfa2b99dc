"""Benchmark of guidance maps (Canny background + landmark sketch [+ 14 distance maps]), one core.

Measures, pinned to one CPU core (``os.sched_setaffinity`` where available), on the
scikit-image astronaut photo resized to 256x256 and 512x512 with its dlib landmarks:

- ``guidance_map`` frames/s with 1 channel (target >= 200 fps at 256x256) and 15 channels;
- its parts: face mask, sketch, background Canny (ours, cv2) and the 14 distance maps;
- ``skimage.feature.canny`` (the official call) on the same frame, and its time over ours.

Each timing is the minimum and the median of ``--repeats`` runs of ``--frames`` calls (the
minimum is the least disturbed by other load on the machine).

Usage::

    python bench/bench_guidance.py [--frames 200] [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import skimage.data
from skimage import feature

from evp_studio.landmarks import DlibBackend, detect_landmarks
from evp_studio.render import (
    GuidanceConfig,
    background_edges,
    distance_maps,
    draw_sketch,
    face_region_mask,
    guidance_map,
)

log = logging.getLogger("bench_guidance")
SIZES = (256, 512)


def pin_one_core() -> str:
    """Restrict this process (and any BLAS threads it starts) to one CPU core."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    cv2.setNumThreads(1)
    return f"pinned to core {core}"


def per_frame_ms(fn: Callable[[], object], frames: int, repeats: int) -> dict[str, float]:
    """Minimum and median ms per call over ``repeats`` runs of ``frames`` calls."""
    fn()  # warm-up: caches, lazy imports
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(frames):
            fn()
        runs.append((time.perf_counter() - t0) * 1e3 / frames)
    return {"min_ms": min(runs), "median_ms": statistics.median(runs)}


def real_frames() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Astronaut frames per size and their (68, 2) px landmarks, detected once at 512."""
    big = cv2.resize(skimage.data.astronaut(), (512, 512), interpolation=cv2.INTER_AREA)
    points = detect_landmarks(big, backend=DlibBackend())[0].points[:, :2].astype(np.float64)
    out = {}
    for size in SIZES:
        img = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
        out[size] = (img, points * (size / 512))
    return out


def bench_size(img: np.ndarray, pts: np.ndarray, frames: int, repeats: int) -> dict[str, Any]:
    """All timings at one frame size."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    mask = face_region_mask(pts, img.shape)
    one, fifteen = GuidanceConfig(), GuidanceConfig(distance_maps=True)
    calls: dict[str, Callable[[], object]] = {
        "guidance_1ch": lambda: guidance_map(img, pts, one),
        "guidance_15ch": lambda: guidance_map(img, pts, fifteen),
        "face_mask": lambda: face_region_mask(pts, img.shape),
        "sketch": lambda: draw_sketch(pts, img.shape),
        "canny_cv2": lambda: background_edges(gray, mask),
        "distance_maps": lambda: distance_maps(pts, img.shape),
    }
    res: dict[str, Any] = {k: per_frame_ms(fn, frames, repeats) for k, fn in calls.items()}
    sk_frames = max(1, frames // 10)  # skimage is slow; fewer calls keep the run short
    res["canny_skimage"] = per_frame_ms(lambda: feature.canny(gray), sk_frames, repeats)
    for key in ("guidance_1ch", "guidance_15ch"):
        res[key]["fps"] = 1e3 / res[key]["min_ms"]
    res["skimage_over_cv2"] = res["canny_skimage"]["min_ms"] / res["canny_cv2"]["min_ms"]
    return res


def _table(results: dict[str, Any]) -> str:
    lines = [f"guidance maps, {results['cpu']}, {results['frames']} frames x repeats"]
    lines.append(f"{'':16}" + "".join(f"{f'{s}x{s} min/med ms':>24}" for s in SIZES))
    keys = ["guidance_1ch", "guidance_15ch", "face_mask", "sketch", "canny_cv2"]
    for key in [*keys, "distance_maps", "canny_skimage"]:
        cells = [results[str(s)][key] for s in SIZES]
        lines.append(
            f"{key:16}" + "".join(f"{c['min_ms']:>15.3f} / {c['median_ms']:6.3f}" for c in cells)
        )
    for key in ("guidance_1ch", "guidance_15ch"):
        fps = "".join(f"{results[str(s)][key]['fps']:>24.0f}" for s in SIZES)
        lines.append(f"{key + ' fps':16}{fps}")
    ratio = "".join(f"{results[str(s)]['skimage_over_cv2']:>23.1f}x" for s in SIZES)
    lines.append(f"{'skimage/cv2':16}{ratio}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table and optionally write JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="calls per timed run")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per measurement")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results: dict[str, Any] = {"frames": args.frames, "cpu": pin_one_core()}
    for size, (img, pts) in real_frames().items():
        log.info("timing %dx%d ...", size, size)
        results[str(size)] = bench_size(img, pts, args.frames, args.repeats)
    sys.stdout.write(_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
