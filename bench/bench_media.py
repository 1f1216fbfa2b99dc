"""Benchmark of the media layer: seek latency, decode speed, waveform envelope of 1 hour.

Generates its inputs in a temporary folder (PyAV only), then measures:

- opening a reader (probe + packet index by demuxing);
- random-access latency with a cold cache: one reader with ``cache_bytes=0`` reading
  uniformly random frames, so every read decodes (it seeks unless the target lies ahead
  in the same group of pictures, as real scrubbing would). Reported as median and p95;
- forward scrubbing (``read(i + 1)`` after ``read(i)``) and sequential ``iter_frames``;
- the waveform envelope of a 1-hour mono 16 kHz file: wall time, tracemalloc peak, and
  the growth of the process's peak RSS (measured first, before any video work).

Usage::

    python bench/bench_media.py [--seconds 20] [--audio-minutes 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import cv2
import numpy as np

from evp_studio.media import VideoReader, compute_envelope, iter_thumbnails, probe

log = logging.getLogger("bench_media")


def make_clip(path: Path, *, seconds: float, fps: int, width: int, height: int) -> None:
    """Write an H.264 clip with a 2 s GOP: a panning smooth scene plus sensor-like grain.

    The grain keeps the bit rate near a camera's (several Mbit/s at 1080p), which is what
    decode speed depends on; a clean synthetic pan would decode unrealistically fast.
    """
    rng = np.random.default_rng(0)
    # smooth random scene, 2x wider than the frame so it can pan
    coarse = rng.integers(0, 256, size=(height // 24 + 1, width // 12 + 1, 3), dtype=np.uint8)
    texture = cv2.resize(coarse, (2 * width, height), interpolation=cv2.INTER_CUBIC)
    grain = [rng.normal(0, 5, size=(height, width, 1)).astype(np.int16) for _ in range(8)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 2 * fps
        stream.options = {"crf": "20", "preset": "veryfast", "sc_threshold": "0"}
        for i in range(round(seconds * fps)):
            shift = (i * 8) % (texture.shape[1] - width)
            image = np.clip(texture[:, shift : shift + width] + grain[i % 8], 0, 255)
            image = image.astype(np.uint8)
            image[: height // 8, : width // 8] = (i * 7) % 256  # a changing corner
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def make_long_audio(path: Path, *, minutes: float, rate: int = 16000) -> None:
    """Write speech-like audio (modulated tones + noise) chunk by chunk, never all of it."""
    rng = np.random.default_rng(1)
    total = round(minutes * 60 * rate)
    chunk = rate * 10
    with av.open(str(path), "w") as container:
        stream = cast(av.AudioStream, container.add_stream("aac", rate=rate, layout="mono"))
        for start in range(0, total, chunk):
            t = np.arange(start, min(start + chunk, total)) / rate
            envelope = 0.5 * (1 + np.sin(2 * np.pi * 3.0 * t)) * (np.sin(2 * np.pi * 0.1 * t) > 0)
            voice = np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 720 * t)
            noise = 0.02 * rng.standard_normal(t.shape[0])
            samples = (0.3 * envelope * voice + noise).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _max_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (ru_maxrss is KiB on Linux)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def bench_envelope(path: Path) -> dict[str, float]:
    """Time the envelope, then trace its peak Python-side memory in a second run."""
    rss_before = _max_rss_mb()
    t0 = time.perf_counter()
    envelope = compute_envelope(path)
    seconds = time.perf_counter() - t0
    rss_growth = _max_rss_mb() - rss_before
    tracemalloc.start()
    try:
        compute_envelope(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    envelope_mb = sum(m.nbytes + x.nbytes for m, x in envelope.levels) / 1e6
    return {
        "audio_s": envelope.duration_s,
        "envelope_s": seconds,
        "x_realtime": envelope.duration_s / seconds,
        "tracemalloc_peak_mb": peak / 1e6,
        "ru_maxrss_growth_mb": rss_growth,
        "envelope_mb": envelope_mb,
        "decoded_audio_mb": envelope.n_samples * 4 / 1e6,
    }


def _percentiles_ms(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1000
    return {"median_ms": float(np.median(values)), "p95_ms": float(np.percentile(values, 95))}


def bench_video(path: Path, *, reads: int) -> dict[str, Any]:
    """Open, random access (cold), forward scrubbing, sequential decode, thumbnails."""
    t0 = time.perf_counter()
    info = probe(path)
    probe_s = time.perf_counter() - t0
    frames = info.video.frame_count if info.video else 0
    results: dict[str, Any] = {"probe_s": probe_s, "frames": frames}
    t0 = time.perf_counter()
    with VideoReader(path, cache_bytes=0) as reader:
        results["open_s"] = time.perf_counter() - t0
        n = reader.frame_count
        rng = random.Random(3)
        targets = [rng.randrange(n) for _ in range(reads)]
        latencies = []
        for index in targets:
            t0 = time.perf_counter()
            reader.read(index)
            latencies.append(time.perf_counter() - t0)
        results["random_read"] = _percentiles_ms(latencies) | {"seeks": reader.seek_count}
        start = n // 3
        reader.read(start)
        steps = []
        for index in range(start + 1, min(start + 1 + reads, n)):
            t0 = time.perf_counter()
            reader.read(index)
            steps.append(time.perf_counter() - t0)
        results["forward_step"] = _percentiles_ms(steps)
        t0 = time.perf_counter()
        count = sum(1 for _ in reader.iter_frames())
        results["sequential_fps"] = count / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    thumbs = sum(1 for _ in iter_thumbnails(path, count=20, height=64))
    results["thumbnails_20_s"] = time.perf_counter() - t0
    results["thumbnails"] = thumbs
    return results


def _table(results: dict[str, Any]) -> str:
    video, audio = results["video"], results["envelope"]
    rows = [
        (
            "clip",
            f"{results['clip']['width']}x{results['clip']['height']} "
            f"{results['clip']['fps']} fps, {video['frames']} frames, 2 s GOP, "
            f"{results['clip']['mbit_s']:.1f} Mbit/s",
        ),
        ("probe (demux index)", f"{video['probe_s'] * 1000:.0f} ms"),
        ("open reader", f"{video['open_s'] * 1000:.0f} ms"),
        (
            "random read, cold",
            f"median {video['random_read']['median_ms']:.1f} ms, "
            f"p95 {video['random_read']['p95_ms']:.1f} ms "
            f"({video['random_read']['seeks']} seeks)",
        ),
        (
            "forward scrub step",
            f"median {video['forward_step']['median_ms']:.1f} ms, "
            f"p95 {video['forward_step']['p95_ms']:.1f} ms",
        ),
        ("sequential decode", f"{video['sequential_fps']:.1f} fps (RGB)"),
        ("20 thumbnails", f"{video['thumbnails_20_s'] * 1000:.0f} ms"),
        (
            "envelope",
            f"{audio['audio_s'] / 60:.0f} min audio in {audio['envelope_s']:.1f} s "
            f"({audio['x_realtime']:.0f}x real time)",
        ),
        (
            "envelope memory",
            f"tracemalloc peak {audio['tracemalloc_peak_mb']:.1f} MB, "
            f"maxrss +{audio['ru_maxrss_growth_mb']:.1f} MB "
            f"(envelope {audio['envelope_mb']:.1f} MB, "
            f"decoded audio would be {audio['decoded_audio_mb']:.0f} MB)",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="video clip length")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--reads", type=int, default=50, help="random reads to time")
    parser.add_argument("--audio-minutes", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results: dict[str, Any] = {
        "clip": {
            "width": args.width,
            "height": args.height,
            "fps": args.fps,
            "seconds": args.seconds,
        },
        "pyav": av.__version__,
    }
    with tempfile.TemporaryDirectory(prefix="evp_bench_") as tmp:
        audio_path, clip_path = Path(tmp) / "long.m4a", Path(tmp) / "clip.mp4"
        log.info("writing %.0f min of AAC audio ...", args.audio_minutes)
        make_long_audio(audio_path, minutes=args.audio_minutes)
        log.info("measuring the waveform envelope ...")
        results["envelope"] = bench_envelope(audio_path)
        log.info("writing a %dx%d clip of %.0f s ...", args.width, args.height, args.seconds)
        t0 = time.perf_counter()
        make_clip(
            clip_path, seconds=args.seconds, fps=args.fps, width=args.width, height=args.height
        )
        results["clip"]["encode_s"] = time.perf_counter() - t0
        results["clip"]["mbit_s"] = clip_path.stat().st_size * 8 / args.seconds / 1e6
        log.info("measuring video reads ...")
        results["video"] = bench_video(clip_path, reads=args.reads)
    sys.stdout.write(_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
