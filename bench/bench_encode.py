"""Benchmark of speech encoding: 60 s of speech -> content + emotion codes on CPU.

Times :meth:`SpeechEncoder.encode` end to end (checks, MFCC windows, Ec + Ee + Ce in batches
of 512) and the network part alone, with ``torch.set_num_threads(--threads)``. The weights are
the bundled default (``--checkpoint`` for another file); speed does not depend on their values.
Each timing is the minimum and median of ``--repeats`` runs after one warm-up.

Usage::

    python bench/bench_encode.py [--seconds 60] [--threads 1] [--repeats 5] [--checkpoint F]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from evp_studio.audio import audio_windows
from evp_studio.pipeline.encode import SpeechEncoder

SPEECH_DIR = Path("/usr/share/pocketsphinx/test/data")


def make_speech(seconds: float) -> np.ndarray:
    """Real pocketsphinx speech tiled to ``seconds`` at 16 kHz (noise when absent)."""
    n = round(seconds * 16000)
    raws = sorted(SPEECH_DIR.glob("*.raw"))
    if not raws:
        return (np.random.default_rng(0).standard_normal(n) * 0.1).astype(np.float32)
    speech = np.concatenate([np.fromfile(p, dtype="<i2") for p in raws]) / 32768.0
    return np.resize(speech, n).astype(np.float32)


def timed(fn: object, repeats: int) -> tuple[float, float]:
    """Min and median seconds of ``repeats`` calls after one warm-up."""
    assert callable(fn)
    fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return min(runs), statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    audio = make_speech(args.seconds)
    encoder = SpeechEncoder.load(args.checkpoint)
    windows = torch.from_numpy(audio_windows(audio)).unsqueeze(1)

    @torch.inference_mode()
    def network() -> None:
        for start in range(0, windows.shape[0], 512):
            c, e = encoder.model(windows[start : start + 512])
            encoder.model.classify(e)

    total = timed(lambda: encoder.encode(audio, 16000), args.repeats)
    net = timed(network, args.repeats)
    result = {
        "seconds_of_audio": args.seconds,
        "frames": int(windows.shape[0]),
        "threads": args.threads,
        "model": f"{encoder.model.config.size} ({encoder.loaded.path})",
        "encode_s": {"min": round(total[0], 4), "median": round(total[1], 4)},
        "network_only_s": {"min": round(net[0], 4), "median": round(net[1], 4)},
        "realtime_factor": round(args.seconds / total[0], 1),
    }
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
