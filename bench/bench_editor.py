"""The editor's own figures: launch time, scrub latency in the window, memory of a long project.

Everything runs offscreen (``QT_QPA_PLATFORM=offscreen``) in a fresh ``EVP_STUDIO_HOME``.

- ``launch``: wall time from starting a new Python process to a window that shows the demo
  project's first frame, through the real entry point (:func:`ui.app.main` with the demo
  project on the command line; the first-run dialog is skipped). The first run of the
  series is the coldest this machine allows (a fresh user folder; the OS file cache cannot
  be dropped without root); the others are warm.
- ``scrub``: in one window, ``seek_frame(i)`` at random frames until the frame view shows
  frame ``i``: median and p95 in ms, for the plain source (the decoder) and, after
  Preview ▸ Analyse, the warp-rendered layer; at 512 px (the demo) and 256 px (a half-size
  copy of the demo target in a project of its own).
- ``memory``: a 10-minute project (the demo target repeated ping-pong to ``--long-seconds``
  and the demo speech tiled to the same length) opened in a child process's window, then
  scrubbed to 40 random frames and played for 3 s: RSS after opening and peak RSS.

Usage::

    OMP_NUM_THREADS=1 python bench/bench_editor.py [--what launch scrub memory]
        [--launches 5] [--frames 40] [--long-seconds 600] [--json out.json]
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
DEMO = ROOT / "resources" / "demo" / "demo.evp"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("EVP_STUDIO_NO_FIRST_RUN", "1")
if __name__ == "__main__" and "EVP_STUDIO_HOME" not in os.environ:
    os.environ["EVP_STUDIO_HOME"] = tempfile.mkdtemp(prefix="evp_bench_editor_home_")


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], q: float) -> float:
    import numpy as np  # noqa: PLC0415

    return float(np.percentile(values, q))


# -- launch -----------------------------------------------------------------------------------
def child_launch(t0: float) -> None:
    """Run ui.app.main on the demo; print seconds since ``t0`` once its first frame shows."""
    from PySide6.QtCore import QTimer  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    app = QApplication(sys.argv[:1])

    def poll() -> None:
        from ui.main_window import MainWindow  # noqa: PLC0415

        for w in app.topLevelWidgets():
            if isinstance(w, MainWindow) and w.frame_view.frame_index is not None:
                _say(json.dumps({"ready_s": time.time() - t0}))
                w._close_confirmed = True  # noqa: SLF001 - nothing to save in a benchmark
                w.close()
                app.quit()
                return
        QTimer.singleShot(2, poll)

    QTimer.singleShot(0, poll)
    from ui.app import main  # noqa: PLC0415

    main([str(DEMO)])


def _run_child(*args: str) -> dict[str, Any]:
    """Run this script with ``args`` in a fresh process; the last JSON line it printed."""
    out = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    result: dict[str, Any] = json.loads(line)
    return result


def bench_launch(n: int) -> dict[str, Any]:
    times = []
    for _ in range(n):
        t0 = time.time()
        times.append(_run_child("--child-launch", repr(t0))["ready_s"])
    warm = sorted(times[1:])
    result = {"first_s": times[0], "warm_median_s": warm[len(warm) // 2], "all_s": times}
    _say(
        f"launch to first frame: first {times[0]:.2f} s, warm median "
        f"{result['warm_median_s']:.2f} s ({', '.join(f'{t:.2f}' for t in times)})"
    )
    return result


# -- scrub ------------------------------------------------------------------------------------
def _half_size_project(tmp: Path) -> Path:
    """A copy of the demo project on a 256 px copy of its target."""
    import cv2  # noqa: PLC0415

    from evp_studio.media import VideoReader, VideoWriter  # noqa: PLC0415
    from evp_studio.project import MediaRef, TargetVideo, load_project, save_project  # noqa: PLC0415

    project = load_project(DEMO)
    assert project.target is not None
    src = project.target.media.resolve()
    dst = tmp / "target_256.mp4"
    with (
        VideoReader(src) as reader,
        VideoWriter(
            dst, width=256, height=256, frame_rate=Fraction(reader.info.frame_rate)
        ) as writer,
    ):
        for frame in reader.iter_frames():
            writer.write(cv2.resize(frame, (256, 256), interpolation=cv2.INTER_AREA))
    project.target = TargetVideo(
        MediaRef.from_file(dst),
        project.target.frame_rate,
        project.target.frame_count,
        256,
        256,
    )
    path = tmp / "demo_256.evp"
    save_project(project, path)
    return path


def _wait(app: Any, done: Any, timeout_s: float = 600.0) -> None:
    end = time.perf_counter() + timeout_s
    while not done():
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError("the editor did not get there in time")
        time.sleep(0.0005)


def _scrub(app: Any, window: Any, frames: list[int]) -> list[float]:
    ms = []
    for i in frames:
        t = time.perf_counter()
        window.seek_frame(i)
        _wait(app, lambda i=i: window.frame_view.frame_index == i)
        ms.append(1000 * (time.perf_counter() - t))
    return ms


def bench_scrub(n_frames: int, tmp: Path) -> dict[str, Any]:
    import numpy as np  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from evp_studio.pipeline.preview import LayerChoice  # noqa: PLC0415
    from evp_studio.project import Document  # noqa: PLC0415
    from ui.main_window import MainWindow  # noqa: PLC0415

    app = QApplication.instance() or QApplication(sys.argv[:1])
    report: dict[str, Any] = {}
    for size, path in ((512, DEMO), (256, _half_size_project(tmp))):
        window = MainWindow(Document.new())
        window.resize(1280, 800)
        window.show()
        window.files.open_project(path)
        _wait(app, lambda w=window: w.frame_view.frame_index is not None)
        count = window.media.frame_count
        rng = np.random.default_rng(size)
        frames = [int(x) for x in rng.integers(0, count, n_frames)]
        source = _scrub(app, window, frames)
        window.previews.analyse()
        _wait(app, lambda w=window: w.previews.session is not None and w.jobs.is_idle)
        window.previews.bar.set_choice(LayerChoice("rendered"))
        window.previews.preview.set_choice(LayerChoice("rendered"))
        frames = [int(x) for x in rng.integers(0, count, n_frames)]
        rendered = _scrub(app, window, frames)
        again = _scrub(app, window, frames)  # the same frames: from the preview cache
        for name, ms in (("source", source), ("rendered", rendered), ("rendered_cached", again)):
            row = {"median_ms": _pct(ms, 50), "p95_ms": _pct(ms, 95), "n": len(ms)}
            report[f"{size}_{name}"] = row
            _say(f"scrub {size} px {name:<16} median {row['median_ms']:6.1f} ms  "
                 f"p95 {row['p95_ms']:6.1f} ms")  # fmt: skip
        window._close_confirmed = True  # noqa: SLF001
        window.close()
        app.processEvents()
    return report


# -- memory -----------------------------------------------------------------------------------
def _long_project(tmp: Path, seconds: float) -> Path:
    """The demo target ping-ponged and the demo speech tiled to ``seconds``, as a project."""
    import numpy as np  # noqa: PLC0415

    from evp_studio.media import ExportConfig, VideoReader, VideoWriter, load_audio, write_audio  # noqa: PLC0415
    from evp_studio.project import (  # noqa: PLC0415
        MediaRef,
        Project,
        SpeechTrack,
        TargetVideo,
        load_project,
        save_project,
    )

    demo = load_project(DEMO)
    assert demo.target is not None and demo.speech is not None
    rate = demo.target.frame_rate
    n = int(round(seconds * rate))
    video = tmp / "long_target.mp4"
    with VideoReader(demo.target.media.resolve()) as reader:
        frames = list(reader.iter_frames())
    cycle = frames + frames[-2:0:-1]
    config = ExportConfig(preset="ultrafast", crf=23)
    with VideoWriter(video, width=512, height=512, frame_rate=rate, config=config) as writer:
        for k in range(n):
            writer.write(cycle[k % len(cycle)])
    speech = load_audio(demo.speech.media.resolve(), sample_rate=48000)
    reps = int(np.ceil(seconds * 48000 / speech.shape[0]))
    write_audio(tmp / "long_speech.wav", np.tile(speech, reps)[: int(seconds * 48000)], 48000)
    project = Project.new("long")
    project.target = TargetVideo(MediaRef.from_file(video), Fraction(rate), n, 512, 512)
    project.speech = SpeechTrack(MediaRef.from_file(tmp / "long_speech.wav"))
    project.emotion = demo.emotion
    path = tmp / "long.evp"
    save_project(project, path)
    return path


def child_memory(path: Path) -> None:
    """Open ``path`` in a window, scrub and play; print RSS figures as JSON."""
    import numpy as np  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from evp_studio.project import Document  # noqa: PLC0415
    from ui.main_window import MainWindow  # noqa: PLC0415

    app = QApplication(sys.argv[:1])
    before = _rss_mb()
    window = MainWindow(Document.new())
    window.resize(1280, 800)
    window.show()
    t = time.perf_counter()
    window.files.open_project(path)
    _wait(
        app,
        lambda: window.frame_view.frame_index is not None and window.media.audio is not None,
    )
    opened_s = time.perf_counter() - t
    opened = _rss_mb()
    rng = np.random.default_rng(0)
    _scrub(app, window, [int(x) for x in rng.integers(0, window.media.frame_count, 40)])
    window.toggle_play()
    end = time.perf_counter() + 3.0
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)
    window.stop()
    result = {
        "rss_before_window_mb": before,
        "open_s": opened_s,
        "rss_after_open_mb": opened,
        "rss_after_scrub_and_play_mb": _rss_mb(),
        "peak_rss_mb": _peak_mb(),
        "frames": window.media.frame_count,
    }
    _say(json.dumps(result))
    window._close_confirmed = True  # noqa: SLF001
    window.close()


def bench_memory(seconds: float, tmp: Path) -> dict[str, Any]:
    t = time.perf_counter()
    path = _long_project(tmp, seconds)
    _say(f"made a {seconds:.0f} s project in {time.perf_counter() - t:.0f} s")
    result = _run_child("--child-memory", str(path))
    _say(
        f"{seconds:.0f} s project ({result['frames']} frames): opened in "
        f"{result['open_s']:.1f} s; RSS {result['rss_before_window_mb']:.0f} MiB before the "
        f"window, {result['rss_after_open_mb']:.0f} after opening, "
        f"{result['rss_after_scrub_and_play_mb']:.0f} after scrubbing and playing; peak "
        f"{result['peak_rss_mb']:.0f} MiB"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--what", nargs="*", default=["launch", "scrub", "memory"])
    ap.add_argument("--launches", type=int, default=5)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--long-seconds", type=float, default=600.0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child-launch", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--child-memory", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_launch is not None:
        child_launch(args.child_launch)
        return 0
    if args.child_memory is not None:
        child_memory(args.child_memory)
        return 0
    _say(
        f"EVP_STUDIO_HOME={os.environ['EVP_STUDIO_HOME']}  OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}  cpus={os.cpu_count()}  "
        f"load={os.getloadavg()[0]:.2f}"
    )
    report: dict[str, Any] = {"load_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="evp_bench_editor_") as tmp:
        if "launch" in args.what:
            report["launch"] = bench_launch(args.launches)
        if "scrub" in args.what:
            report["scrub"] = bench_scrub(args.frames, Path(tmp))
        if "memory" in args.what:
            report["memory"] = bench_memory(args.long_seconds, Path(tmp))
    report["load_end"] = os.getloadavg()
    _say(f"load average at the end: {report['load_end'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
