"""Benchmark of preview scrubbing: ``PreviewSession.layers(i, {"rendered"})`` at random frames.

On the demo project (``resources/demo/demo.evp``): the target is tracked (landmark cache),
the default landmark model predicts the project's landmarks, and a warp renderer is built;
none of that is timed. For 256 px the target is re-encoded at half size and the landmarks
halved. Timings per size, median and p95 in ms over ``--frames`` random output frames:

- ``no_reader_cache``: a fresh session on a video reader whose frame cache is off: every
  request seeks to a keyframe and decodes up to the frame (the worst case);
- ``cold``: a fresh session and reader as the editor opens them (the reader keeps the frames
  it decodes on the way, so later requests near earlier ones find them): first visits;
- ``decoded``: preview cache cleared, decoded frames cached by the reader (a frame seen
  before, after a key edit invalidated it);
- ``cached``: every layer already in the preview cache.

Usage::

    OMP_NUM_THREADS=1 python bench/bench_preview.py [--sizes 256 512] [--frames 60] [--json F]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from evp_studio.landmarks import TrackerSettings, track_landmarks
from evp_studio.media import VideoReader, VideoWriter, load_audio
from evp_studio.models.audio2landmark_io import LandmarkPredictor
from evp_studio.pipeline.constants import SAMPLE_RATE
from evp_studio.pipeline.landmarks import ProjectLandmarks, predict_project_landmarks
from evp_studio.pipeline.preview import PreviewSession
from evp_studio.project import load_project
from evp_studio.render.warp import WarpRenderer

log = logging.getLogger("bench_preview")
DEMO = Path(__file__).resolve().parent.parent / "resources" / "demo" / "demo.evp"


def run_job(job: object) -> object:
    """Drive a core Job generator to its result."""
    gen = iter(job)  # type: ignore[call-overload]
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def prepare() -> tuple[Path, object, ProjectLandmarks]:
    """The demo's target path, its track and its predicted landmarks."""
    project = load_project(DEMO)
    assert project.target is not None and project.speech is not None
    video = project.target.media.resolve()
    track = run_job(track_landmarks(video, settings=TrackerSettings()))
    speech = load_audio(project.speech.media.resolve(), sample_rate=SAMPLE_RATE)
    predictor = LandmarkPredictor.load(None)
    job = predict_project_landmarks(speech, track, predictor, track=project.emotion)  # type: ignore[arg-type]
    placed = run_job(job)
    assert isinstance(placed, ProjectLandmarks)
    return video, track, placed


def half_size(video: Path, out: Path) -> Path:
    """``video`` re-encoded at half width and height."""
    with VideoReader(video) as r:
        w, h = r.info.width // 2, r.info.height // 2
        with VideoWriter(out, width=w, height=h, frame_rate=Fraction(r.info.frame_rate)) as wr:
            for frame in r.iter_frames():
                wr.write(cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA))
    return out


@dataclasses.dataclass(frozen=True)
class _Track:
    landmarks: np.ndarray
    lost: np.ndarray


def stats(ms: list[float]) -> dict[str, float]:
    """Median and p95, ms."""
    a = np.asarray(ms)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95))}


def bench_size(
    video: Path, track: _Track, placed: ProjectLandmarks, frames: np.ndarray
) -> dict[str, object]:
    """Cold, decoded and cached timings on one video."""
    with VideoReader(video) as reader:
        renderer = WarpRenderer(reader, track.landmarks)
    keys = ("no_reader_cache", "cold", "decoded", "cached")
    timings: dict[str, list[float]] = {k: [] for k in keys}

    def timed(session: PreviewSession, key: str) -> None:
        for i in frames:
            t0 = time.perf_counter()
            session.layers(int(i), {"rendered"})
            timings[key].append(1e3 * (time.perf_counter() - t0))

    with VideoReader(video, cache_bytes=0) as cold_reader:
        timed(PreviewSession(cold_reader, track, placed, renderer), "no_reader_cache")
    with VideoReader(video) as fresh:
        timed(PreviewSession(fresh, track, placed, renderer), "cold")
    with VideoReader(video) as reader:
        session = PreviewSession(reader, track, placed, renderer)
        for i in frames:
            reader.read(int(placed.target_index[int(i)]))  # decoded, not yet previewed
        timed(session, "decoded")
        timed(session, "cached")
        size = reader.read(0).shape
    return {"size": f"{size[1]}x{size[0]}", **{k: stats(v) for k, v in timings.items()}}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (and JSON with ``--json``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cv2.setNumThreads(1)
    video, track, placed = prepare()
    full = _Track(np.asarray(track.landmarks), np.asarray(track.lost))  # type: ignore[attr-defined]
    rng = np.random.default_rng(args.seed)
    frames = rng.choice(len(placed.target_index), size=args.frames, replace=False)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            scale = size / 512.0
            path = video if size == 512 else half_size(video, Path(tmp) / f"t{size}.mp4")
            if size not in (256, 512):
                raise SystemExit("sizes: 256 and/or 512")
            t = _Track(full.landmarks * scale, full.lost)
            p = dataclasses.replace(placed, landmarks=placed.landmarks * np.float32(scale))
            results.append(bench_size(path, t, p, frames))
    for r in results:
        row = "  ".join(
            f"{k} {r[k]['median_ms']:6.1f}/{r[k]['p95_ms']:6.1f}"  # type: ignore[index]
            for k in ("no_reader_cache", "cold", "decoded", "cached")
        )
        log.info("%s  median/p95 ms:  %s", r["size"], row)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
