"""Benchmark of face landmark detection and tracking: detection rate, jitter, accuracy, speed.

Real faces only: the LFW subset of scikit-image (100 faces, 100 non-faces, 25x25 px upscaled to
100 px) and clips made from the astronaut photo, encoded with our VideoWriter:

- ``still``: the face still, with Gaussian sensor noise (sigma 4) on every frame; jitter is
  the mean frame-to-frame motion of the 68 points (px) before and after One-Euro smoothing;
- ``moving``: the face drifting and zooming 0.85x-1.15x; error is the mean distance to the
  still photo's landmarks moved by the known transform (px).

Speed is ``track_landmarks`` end to end (decode, detect, fit; model loading excluded) in
frames per second, at ``--threads`` torch/OpenCV threads. The ``fan`` backend runs
face-alignment's real networks with *random* weights (the published ones are not
downloaded), so only its speed is measured: the FAN fit per face, S3FD on a full frame and
on a tracking region, and tracking end to end with dlib's HOG boxes.

Usage::

    python bench/bench_landmarks.py [--frames 100] [--size 640x480] [--threads 1] [--json F]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import skimage.data

from evp_studio.jobs import run_job
from evp_studio.landmarks import (
    DlibBackend,
    FanBackend,
    HogBoxes,
    LandmarkBackend,
    SfdDetector,
    TrackerSettings,
    detect_landmarks,
    finish_track,
    track_landmarks,
)
from evp_studio.landmarks._fan_files import import_face_alignment
from evp_studio.media import VideoWriter


def _lfw(index: int) -> np.ndarray:
    grey = (skimage.data.lfw_subset()[index] * 255).astype(np.uint8)
    up = cv2.copyMakeBorder(
        cv2.resize(grey, (100, 100), interpolation=cv2.INTER_CUBIC), 30, 30, 30, 30,
        cv2.BORDER_REPLICATE,
    )  # fmt: skip
    return np.repeat(up[..., None], 3, axis=-1)


def photo_rates(backend: LandmarkBackend) -> dict[str, float]:
    """Detection rate on 100 LFW faces, false detections on 100 non-faces, ms per image."""
    start = time.perf_counter()
    faces = sum(bool(detect_landmarks(_lfw(i), backend=backend)) for i in range(100))
    others = sum(bool(detect_landmarks(_lfw(i), backend=backend)) for i in range(100, 200))
    ms = (time.perf_counter() - start) / 200 * 1000
    return {
        "lfw_face_rate": faces / 100,
        "lfw_nonface_false_rate": others / 100,
        "ms_per_image": ms,
    }


def _canvas(size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """The astronaut photo scaled so her face box is 30 % of the frame height, and the scale."""
    w, h = size
    k = 0.3 * h / 87  # her face box is 87 px wide in the 512-px photo
    photo = cv2.resize(skimage.data.astronaut(), None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    return photo, k


def write_clip(path: Path, size: tuple[int, int], mats: list[np.ndarray], noise: float) -> Path:
    photo, _ = _canvas(size)
    rng = np.random.default_rng(0)
    w, h = size
    with VideoWriter(path, width=w, height=h, frame_rate=Fraction(25)) as writer:
        for m in mats:
            frame = cv2.warpAffine(photo, m, size, borderValue=(128, 128, 128)).astype(np.float32)
            frame += rng.normal(0.0, noise, frame.shape)
            writer.write(np.clip(frame, 0, 255).astype(np.uint8))
    return path


def _transforms(size: tuple[int, int], n: int, moving: bool) -> list[np.ndarray]:
    w, h = size
    _, k = _canvas(size)
    fx, fy = 222 * k, 127 * k  # the face centre in the scaled photo
    out = []
    for t in range(n):
        s = 1.0 + 0.15 * np.sin(t / 6.0) if moving else 1.0
        dx = 0.05 * w * np.sin(t / 5.0) if moving else 0.0
        tx, ty = w / 2 - s * fx + dx, h * 0.45 - s * fy
        out.append(np.array([[s, 0.0, tx], [0.0, s, ty]]))
    return out


def _timed_track(clip: Path, backend: LandmarkBackend, settings: TrackerSettings) -> Any:
    start = time.perf_counter()
    track = run_job(track_landmarks(clip, settings=settings, backend=backend, use_cache=False))
    return track, time.perf_counter() - start


def _jitter(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=-1).mean())


def clip_metrics(backend: LandmarkBackend, folder: Path, size: tuple[int, int], n: int) -> dict:
    """Detection rate, jitter, accuracy and fps on the still and moving clips."""
    raw_settings = TrackerSettings(smooth=False)
    photo, _ = _canvas(size)
    ref = detect_landmarks(photo, backend=backend)[0].points
    out: dict[str, float] = {}
    for name, moving in (("still", False), ("moving", True)):
        mats = _transforms(size, n, moving)
        clip = write_clip(folder / f"{name}.mp4", size, mats, noise=4.0)
        track, seconds = _timed_track(clip, backend, raw_settings)
        smooth = finish_track(_raw_of(track), TrackerSettings(), backend=backend.name)
        truth = np.stack([ref @ m[:, :2].T + m[:, 2] for m in mats])
        out[f"{name}_detection_rate"] = track.detection_rate
        out[f"{name}_fps"] = n / seconds
        out[f"{name}_jitter_raw_px"] = _jitter(track.landmarks)
        out[f"{name}_jitter_smoothed_px"] = _jitter(smooth.landmarks[5:])
        out[f"{name}_error_raw_px"] = float(np.linalg.norm(track.landmarks - truth, axis=-1).mean())
        out[f"{name}_error_smoothed_px"] = float(
            np.linalg.norm(smooth.landmarks - truth, axis=-1).mean()
        )
    out["eye_distance_px"] = float(np.linalg.norm(ref[45] - ref[36]))
    return out


def _raw_of(track: Any) -> Any:
    from evp_studio.landmarks import RawTrack

    n = track.n_frames
    return RawTrack(track.landmarks_raw, track.confidence, np.zeros((n, 4)), track.timestamps,
                    track.frame_size)  # fmt: skip


def _best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def fan_speed(folder: Path, size: tuple[int, int], n: int, device: str) -> dict[str, float]:
    """FAN and S3FD speeds with random weights (face-alignment's real network code)."""
    import torch

    fa = import_face_alignment()
    from face_alignment.detection.sfd.net_s3fd import s3fd

    torch.manual_seed(0)
    photo, _ = _canvas(size)
    frame = cv2.warpAffine(photo, _transforms(size, 1, False)[0], size)
    box = DlibBackend().detect(frame, min_size=80)[0]
    out = {}
    for flip in (False, True):
        backend = FanBackend(fa.models.FAN(4), detector=HogBoxes(), flip=flip, device=device)
        backend.landmarks(frame, box)  # warm-up
        out[f"fan_fit_ms{'_flip' if flip else ''}"] = (
            _best_of(lambda b=backend: b.landmarks(frame, box)) * 1000  # type: ignore[misc]
        )
    sfd = SfdDetector(s3fd(), device=device, threshold=0.99)
    region = cv2.resize(frame, (288, 288))
    sfd.detect(region, min_size=80)
    out["s3fd_full_frame_ms"] = _best_of(lambda: sfd.detect(frame, min_size=40), 3) * 1000
    out["s3fd_region_ms"] = _best_of(lambda: sfd.detect(region, min_size=80)) * 1000
    hog_fan = FanBackend(fa.models.FAN(4), detector=HogBoxes(), device=device)
    clip = write_clip(folder / "fan.mp4", size, _transforms(size, n, False), noise=4.0)
    _, seconds = _timed_track(clip, hog_fan, TrackerSettings(backend="fan", fan_detector="dlib"))
    out["fan_hog_track_fps"] = n / seconds
    return out


def _size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--fan-frames", type=int, default=10)
    parser.add_argument("--size", type=_size, default=(640, 480))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-fan", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    cv2.setNumThreads(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    results: dict[str, Any] = {"size": list(args.size), "threads": args.threads}
    with tempfile.TemporaryDirectory() as tmp:
        dlib = DlibBackend()
        results["dlib"] = photo_rates(dlib) | clip_metrics(dlib, Path(tmp), args.size, args.frames)
        if not args.skip_fan:
            results["fan_random_weights"] = fan_speed(
                Path(tmp), args.size, args.fan_frames, args.device
            )
    for section, values in results.items():
        if isinstance(values, dict):
            for key, value in values.items():
                sys.stdout.write(f"{section:>20} {key:<28} {value:10.3f}\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
