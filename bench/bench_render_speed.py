"""End-to-end speed and memory of ``render_project`` (warp renderer) on the demo project.

For each ``--sizes`` (512: the demo target as is; other sizes: a copy of the target scaled
with INTER_AREA and written with :class:`VideoWriter`, and a temporary project pointing at it),
in a fresh landmark cache (``EVP_STUDIO_HOME`` is set to a temp folder):

- ``tracking``: :func:`track_landmarks` of the target, first run (uncached), target frames/s;
- ``job``: the whole :func:`render_project` job with tracking cached (speech features,
  audio-to-landmark, alignment, mouth bank, decode + warp + encode + mux), output frames/s;
- ``loop``: the render loop only (decode + warp + H.264 encode), from the first to the last
  "Rendering" progress report.

Long exports (``--long-seconds``, default 30 and 120; 512 px target): the demo speech is tiled
to that length (longer than the 10 s target, so the pipeline ping-pongs the target frames) and
rendered in a *child process* each, so that ``ru_maxrss`` is that run's peak. Peak RSS, RSS
before the job and fps are reported, and the growth per minute of speech between the two
lengths, from which a 10-minute figure is extrapolated linearly.

Usage::

    OMP_NUM_THREADS=1 python bench/bench_render_speed.py [--sizes 512 256]
        [--long-seconds 30 120] [--seconds 120] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"

if __name__ == "__main__" and "EVP_STUDIO_HOME" not in os.environ:  # a fresh landmark cache
    _HOME = tempfile.mkdtemp(prefix="evp_bench_rs_home_")
    os.environ["EVP_STUDIO_HOME"] = _HOME

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from evp_studio.jobs import Progress, run_job  # noqa: E402
from evp_studio.landmarks import track_landmarks  # noqa: E402
from evp_studio.media import VideoReader, VideoWriter, load_audio, write_audio  # noqa: E402
from evp_studio.pipeline.render import render_project  # noqa: E402
from evp_studio.project import (  # noqa: E402
    MediaRef,
    Project,
    SpeechTrack,
    TargetVideo,
    load_project,
    save_project,
)


def _say(text: str = "") -> None:
    """Write one line of the report to stdout."""
    sys.stdout.write(text + "\n")


def rss_mb() -> float:
    """Current resident set size, MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """Peak RSS of this process, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scaled_copy(src: Path, dst: Path, size: int) -> Path:
    with VideoReader(src) as reader:
        info = reader.info
        w = size
        h = round(info.height * size / info.width) // 2 * 2
        with VideoWriter(dst, width=w, height=h, frame_rate=Fraction(info.frame_rate)) as writer:
            for frame in reader.iter_frames():
                writer.write(cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA))
    return dst


def make_project(folder: Path, target: Path, speech: Path) -> Project:
    """A project on ``target`` and ``speech`` with the demo's emotion keys, saved and loaded."""
    demo = load_project(DEMO / "demo.evp")
    project = Project.new("bench")
    with VideoReader(target) as reader:
        info = reader.info
        project.target = TargetVideo(
            MediaRef.from_file(target),
            Fraction(info.frame_rate),
            info.frame_count,
            info.width,
            info.height,
        )
    project.speech = SpeechTrack(MediaRef.from_file(speech))
    project.emotion = demo.emotion
    project.emotion_source = demo.emotion_source
    project.render = demo.render
    path = folder / "bench.evp"
    save_project(project, path)
    return load_project(path)


def timed_render(project: Project, output: Path) -> dict[str, Any]:
    stamps: list[float] = []

    def on_progress(p: Progress) -> None:
        if p.stage == "Rendering":
            stamps.append(time.perf_counter())

    rss0 = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_job(render_project(project, output), on_progress=on_progress)
    wall = time.perf_counter() - t0
    loop = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    return {
        "frames": result.frames,
        "job_s": wall,
        "job_cpu_s": time.process_time() - c0,
        "job_fps": result.frames / wall,
        "loop_fps": loop,
        "rss_before_mb": rss0,
        "peak_rss_mb": peak_rss_mb(),
        "output_mb": output.stat().st_size / 2**20,
    }


def bench_size(size: int, tmp: Path) -> dict[str, Any]:
    target = DEMO / "target.mp4"
    if size != 512:
        target = scaled_copy(target, tmp / f"target_{size}.mp4", size)
    project = make_project(tmp, target, DEMO / "speech.wav")
    t0, c0 = time.perf_counter(), time.process_time()
    track = run_job(track_landmarks(target))
    t_track, c_track = time.perf_counter() - t0, time.process_time() - c0
    n = len(track.landmarks)
    out = timed_render(project, tmp / f"out_{size}.mp4")
    return {
        "size": size,
        "target_frames": n,
        "tracking_s": t_track,
        "tracking_cpu_s": c_track,
        "tracking_fps": n / t_track,
        **out,
    }


def child(seconds: float, tmp: Path) -> None:
    """Render the demo with the speech tiled to ``seconds``; print a JSON line."""
    speech = load_audio(DEMO / "speech.wav", sample_rate=48_000)
    tiled = np.resize(speech, round(seconds * 48_000)).astype(np.float32)
    wav = write_audio(tmp / f"speech_{seconds:g}s.wav", tiled, 48_000)
    project = make_project(tmp, DEMO / "target.mp4", wav)
    run_job(track_landmarks(DEMO / "target.mp4"))  # cached by the parent: not timed
    out = timed_render(project, tmp / f"long_{seconds:g}s.mp4")
    _say("RESULT " + json.dumps({"seconds": seconds, **out}))


def run_child(seconds: float, tmp: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", str(seconds), "--tmp", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child {seconds}s failed:\n{proc.stderr[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[512, 256])
    ap.add_argument("--seconds", type=float, default=120.0, help="the longest export")
    ap.add_argument("--long-seconds", type=float, nargs="*", help="default: 30 and --seconds")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        child(args.child, args.tmp)
        return 0
    longs = args.long_seconds if args.long_seconds is not None else sorted({30.0, args.seconds})
    _say(
        f"EVP_STUDIO_HOME={os.environ.get('EVP_STUDIO_HOME')}  "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}  "
        f"cpus={len(os.sched_getaffinity(0))}  load={os.getloadavg()[0]:.2f}"
    )
    report: dict[str, Any] = {"sizes": [], "long": [], "load_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="evp_bench_rs_") as t:
        tmp = Path(t)
        _say(
            f"\n{'size':>5}{'frames':>8}{'track fps':>11}{'job fps':>9}{'loop fps':>10}"
            f"{'job s':>8}{'peak MiB':>10}"
        )
        for size in args.sizes:
            r = bench_size(size, tmp)
            report["sizes"].append(r)
            _say(
                f"{size:>5}{r['frames']:>8}{r['tracking_fps']:>11.1f}{r['job_fps']:>9.1f}"
                f"{r['loop_fps']:>10.1f}{r['job_s']:>8.1f}{r['peak_rss_mb']:>10.0f}"
            )
        if 512 not in args.sizes and longs:
            run_job(track_landmarks(DEMO / "target.mp4"))  # the children use the cache
        if longs:
            _say(
                f"\n{'speech s':>9}{'frames':>8}{'job fps':>9}{'loop fps':>10}{'job s':>8}"
                f"{'RSS before':>12}{'peak RSS':>10}{'out MiB':>9}"
            )
        for s in longs:
            r = run_child(s, tmp)
            report["long"].append(r)
            _say(
                f"{s:>9.0f}{r['frames']:>8}{r['job_fps']:>9.1f}{r['loop_fps']:>10.1f}"
                f"{r['job_s']:>8.1f}{r['rss_before_mb']:>12.0f}{r['peak_rss_mb']:>10.0f}"
                f"{r['output_mb']:>9.1f}"
            )
    if len(report["long"]) >= 2:
        a, b = report["long"][0], report["long"][-1]
        per_min = (b["peak_rss_mb"] - a["peak_rss_mb"]) / ((b["seconds"] - a["seconds"]) / 60)
        at_600 = b["peak_rss_mb"] + per_min * (600 - b["seconds"]) / 60
        report["rss_growth_mb_per_min"] = per_min
        report["peak_rss_600s_extrapolated_mb"] = at_600
        _say(
            f"\npeak RSS growth {per_min:+.1f} MiB per minute of speech "
            f"({a['seconds']:.0f} s -> {b['seconds']:.0f} s); linear extrapolation to 600 s: "
            f"{at_600:.0f} MiB"
        )
    report["load_end"] = os.getloadavg()
    _say(f"load average at the end: {report['load_end'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        _say(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        if "_HOME" in globals():
            import shutil  # noqa: PLC0415

            shutil.rmtree(_HOME, ignore_errors=True)
