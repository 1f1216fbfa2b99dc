"""Benchmark of the training-free warp renderer: frames per second on CPU at 256 and 512 px.

A synthetic actor speaks one sentence (``--frames`` frames); every frame is re-rendered with the
mouth of another part of the clip (so the mouth bank is used about half the time). Three
timings per size, each the best of ``--repeats`` passes:

- ``render``: :meth:`WarpRenderer.render` on frames already in memory;
- ``render_encode``: the same plus H.264 encode with :class:`VideoWriter` (``ExportConfig``
  default, x264 ``--preset``);
- ``decode_render_encode``: :meth:`WarpRenderer.render_index` from a :class:`VideoReader`
  (decode included), then encode: the export path.

OpenCV runs with ``--threads`` threads (x264 picks its own).

Usage::

    OMP_NUM_THREADS=1 python bench/bench_warp.py [--sizes 256 512] [--frames 100] [--json F]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from evp_studio.data import face as F
from evp_studio.media import ExportConfig, VideoReader, VideoWriter
from evp_studio.render.warp import WarpRenderer, mouth_opening

SENTENCE = [("sil", 0.0, 0.3), ("aa", 0.3, 0.7), ("PP", 0.7, 0.8), ("E", 0.8, 1.2),
            ("O", 1.2, 1.6), ("FF", 1.6, 1.8), ("I", 1.8, 2.2), ("U", 2.2, 2.6),
            ("sil", 2.6, 4.0)]  # fmt: skip


def make_clip(size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` frames of a synthetic speaker at ``size``x``size`` and their landmarks."""
    rng = np.random.default_rng(7)
    shape, ap = F.identity_shape(rng), F.appearance_for(rng)
    track = F.mouth_track(SENTENCE, n, 25.0)
    pose = F.head_motion(n, 25.0, rng, size=(size, size))
    anim = F.animate(shape, track, "neutral", 0.0, pose)
    bg = F.make_background(ap, (size, size), rng)
    frames = [F.render_frame(p, ap, size=(size, size), background=bg, neutral=shape)
              for p in anim.landmarks2d]  # fmt: skip
    return np.array(frames), anim.landmarks2d.astype(np.float64)


def new_landmarks(lmk: np.ndarray) -> np.ndarray:
    """Each frame keeps its pose but takes the mouth (and chin) of the frame half a clip away."""
    n = len(lmk)
    new = lmk.copy()
    parts = list(range(4, 13)) + list(range(48, 68))
    for t in range(n):
        other = (t + n // 2) % n
        offset = lmk[t, 27:36].mean(axis=0) - lmk[other, 27:36].mean(axis=0)
        new[t, parts] = lmk[other, parts] + offset
    return new


def best_fps(fn: object, n: int, repeats: int) -> float:
    assert callable(fn)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return n / min(runs)


def bench_size(size: int, n: int, repeats: int, preset: str, tmp: Path) -> dict[str, object]:
    frames, lmk = make_clip(size, n)
    new = new_landmarks(lmk)
    t0 = time.perf_counter()
    renderer = WarpRenderer(list(frames), lmk)
    build_s = time.perf_counter() - t0
    config = ExportConfig(preset=preset)
    inserted = 0

    def render() -> None:
        nonlocal inserted
        renderer.reset()
        inserted = 0
        for t in range(n):
            renderer.render(frames[t], lmk[t], new[t])
            inserted += int(mouth_opening(new[t]) > mouth_opening(lmk[t]) + 0.01)

    def render_encode() -> None:
        renderer.reset()
        with VideoWriter(tmp / "out.mp4", width=size, height=size, frame_rate=Fraction(25),
                         config=config) as writer:  # fmt: skip
            for t in range(n):
                writer.write(renderer.render(frames[t], lmk[t], new[t]))

    src = tmp / f"target{size}.mp4"
    with VideoWriter(src, width=size, height=size, frame_rate=Fraction(25),
                     config=ExportConfig(crf=12, preset="veryfast")) as writer:  # fmt: skip
        for f in frames:
            writer.write(f)

    def decode_render_encode() -> None:
        with (
            VideoReader(src) as reader,
            VideoWriter(
                tmp / "out2.mp4", width=size, height=size, frame_rate=Fraction(25), config=config
            ) as writer,
        ):
            r = WarpRenderer(reader, lmk)
            for t in range(n):
                writer.write(r.render_index(t, new[t]))

    def encode_only() -> None:
        with VideoWriter(tmp / "out3.mp4", width=size, height=size, frame_rate=Fraction(25),
                         config=config) as writer:  # fmt: skip
            for t in range(n):
                writer.write(frames[t])

    fps = {
        "render": best_fps(render, n, repeats),
        "encode_only": best_fps(encode_only, n, repeats),
        "render_encode": best_fps(render_encode, n, repeats),
        "decode_render_encode_incl_bank_build": best_fps(decode_render_encode, n, repeats),
    }
    return {
        "size": size,
        "frames": n,
        "bank_entries": len(renderer.bank),
        "frames_with_bank_interior": int(inserted),
        "build_s": round(build_s, 4),
        "fps": {k: round(v, 1) for k, v in fps.items()},
        "render_ms": round(1000 / fps["render"], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--preset", default=ExportConfig().preset)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        results = [
            bench_size(s, args.frames, args.repeats, args.preset, Path(tmp)) for s in args.sizes
        ]
    report = {"threads": args.threads, "x264_preset": args.preset, "results": results}
    text = json.dumps(report, indent=2)
    sys.stdout.write(text + "\n")
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
