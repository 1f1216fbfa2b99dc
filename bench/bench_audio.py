"""Benchmark of the audio front end: MFCC windows of 60 s of speech, and DTW, on one core.

Measures, pinned to one CPU core (``os.sched_setaffinity`` where available):

- ``evp_features`` (padding + MFCC + c0 dropped) and ``frame_windows`` on the same audio;
- ``audio_windows`` end to end (the stage's hot path: samples -> contiguous (N, 28, 12));
- ``python_speech_features.mfcc`` on the same padded audio (the official code's call), and
  the speed ratio against our MFCC (skipped when the package is not installed);
- ``dtw`` of two 500-frame 13-d sequences and ``align_to_reference`` of real-sized pairs.

Each timing is the minimum and the median of ``--repeats`` runs (the minimum is the least
disturbed by other load on the machine). The audio is Debian pocketsphinx-testdata speech
tiled to the requested length when present, otherwise modulated noise.

Usage::

    python bench/bench_audio.py [--seconds 60] [--repeats 7] [--json out.json]
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

import numpy as np

from evp_studio.audio import align_to_reference, audio_windows, evp_features, frame_windows
from evp_studio.audio.dtw import dtw
from evp_studio.pipeline.constants import PAD_SAMPLES, SAMPLE_RATE

log = logging.getLogger("bench_audio")
SPEECH_DIR = Path("/usr/share/pocketsphinx/test/data")


def pin_one_core() -> str:
    """Restrict this process (and any BLAS threads it starts) to one CPU core."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def make_audio(seconds: float) -> tuple[np.ndarray, str]:
    """Return ``(n,)`` float32 16 kHz audio of the requested length and where it came from."""
    n = round(seconds * SAMPLE_RATE)
    raws = sorted(SPEECH_DIR.glob("*.raw"))
    if raws:
        speech = np.concatenate([np.fromfile(p, dtype="<i2") for p in raws]) / 32768.0
        return np.resize(speech, n).astype(
            np.float32
        ), f"pocketsphinx speech x{n / speech.size:.1f}"
    rng = np.random.default_rng(0)
    t = np.arange(n) / SAMPLE_RATE
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 3.0 * t))
    return (0.1 * envelope * rng.standard_normal(n)).astype(np.float32), "modulated noise"


def timeit(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    """Run ``fn`` once to warm up, then ``repeats`` times; wall min/median and CPU min, ms.

    The CPU time (``time.process_time``) is what the work costs when the core is shared with
    other load, which the wall-clock minimum still includes.
    """
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return {"min_ms": min(wall), "median_ms": statistics.median(wall), "cpu_min_ms": min(cpu)}


def bench_features(audio: np.ndarray, repeats: int) -> dict[str, Any]:
    """Time our MFCC/windows and python_speech_features on the same audio."""
    feats = evp_features(audio)
    out: dict[str, Any] = {
        "evp_features": timeit(lambda: evp_features(audio), repeats),
        "frame_windows": timeit(lambda: frame_windows(feats), repeats),
        "audio_windows": timeit(lambda: audio_windows(audio), repeats),
        "n_windows": int(audio_windows(audio).shape[0]),
    }
    try:
        import python_speech_features as psf  # test-only reference, optional here
    except ImportError:
        log.warning("python_speech_features not installed: no comparison")
        return out
    padded = np.concatenate([np.zeros(PAD_SAMPLES), audio, np.zeros(PAD_SAMPLES)])
    out["psf_mfcc"] = timeit(lambda: psf.mfcc(padded, SAMPLE_RATE, winstep=0.01), repeats)
    out["psf_over_ours"] = out["psf_mfcc"]["min_ms"] / out["evp_features"]["min_ms"]
    return out


def bench_dtw(audio: np.ndarray, repeats: int) -> dict[str, Any]:
    """Time DTW on 500 x 500 random frames and on two 5 s speech excerpts (~524 frames)."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((500, 13)), rng.standard_normal((500, 13))
    five_s = 5 * SAMPLE_RATE
    a = evp_features(audio[:five_s])
    b = evp_features(audio[five_s : five_s + 4 * SAMPLE_RATE])  # a 4 s clip onto a 5 s one
    return {
        "dtw_500x500": timeit(lambda: dtw(x, y), repeats),
        "align_speech": timeit(lambda: align_to_reference(a, b), repeats),
        "align_speech_frames": [int(a.shape[0]), int(b.shape[0])],
    }


def _table(results: dict[str, Any]) -> str:
    f, d = results["features"], results["dtw"]
    rows = [
        ("evp_features (pad + MFCC)", f["evp_features"]),
        ("frame_windows (view)", f["frame_windows"]),
        ("audio_windows (end to end)", f["audio_windows"]),
    ]
    if "psf_mfcc" in f:
        rows.append(("python_speech_features.mfcc", f["psf_mfcc"]))
    t_a, t_b = d["align_speech_frames"]
    rows += [
        ("dtw 500 x 500", d["dtw_500x500"]),
        (f"align_to_reference {t_a} x {t_b}", d["align_speech"]),
    ]
    lines = [
        f"audio: {results['seconds']:.0f} s ({results['source']}), {f['n_windows']} windows; "
        f"{results['cpu']}",
        f"{'what':<36}{'min ms':>10}{'median ms':>12}{'cpu min ms':>12}",
    ]
    lines += [
        f"{name:<36}{t['min_ms']:>10.2f}{t['median_ms']:>12.2f}{t['cpu_min_ms']:>12.2f}"
        for name, t in rows
    ]
    if "psf_over_ours" in f:
        lines.append(f"python_speech_features / ours (min): {f['psf_over_ours']:.1f}x")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table and optionally write JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio length, s")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per measurement")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cpu = pin_one_core()
    audio, source = make_audio(args.seconds)
    results: dict[str, Any] = {"seconds": args.seconds, "source": source, "cpu": cpu}
    log.info("timing MFCC windows of %.0f s ...", args.seconds)
    results["features"] = bench_features(audio, args.repeats)
    log.info("timing DTW ...")
    results["dtw"] = bench_dtw(audio, args.repeats)
    sys.stdout.write(_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
