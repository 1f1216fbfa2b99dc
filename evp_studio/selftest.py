"""Self-test of an installation: the demo project through both renderers, on the CPU.

Run by ``evp-studio-gui --self-test`` (an installed bundle's ``evp-studio --self-test``) and
by ``evp-studio self-test``. Every check gives one :class:`Check` line; nothing needs a
display or a network. The checks, in order:

``user folders``     config, cache, data and log folders exist and are writable
``models``           every bundled weights file is present with its registered sha256
``fan backend``      face-alignment, its S3FD detector module and numba load (numba's cache
                     in the user cache); its weights are not bundled and are not needed here
``demo project``     the bundled demo project loads and its media are there
``warp renderer``    one frame of the demo through :func:`render_project` (landmarks,
                     speech, warp, H.264 + AAC), decoded back and checked
``neural renderer``  no renderer ships (one is trained per target video), so this trains the
                     ``tiny`` preset for a few steps on the demo target and renders with it:
                     a smoke test of the code path, not a usable renderer

The demo's landmarks are cached in the user cache like any video's, so a second run is
faster. Temporary files go to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import importlib
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from evp_studio import __version__, paths
from evp_studio.project import Project

__all__ = ["DEMO_PROJECT", "Check", "header", "report", "run_check", "run_self_test"]

log = logging.getLogger(__name__)

DEMO_PROJECT = "demo/demo.evp"  # under resources/
NEURAL_STEPS = 4  # optimiser steps of the smoke-test renderer (about 3 s on one CPU core)
_MIN_STD = 2.0  # grey levels; a frame flatter than this is blank (e.g. NaN cast to 0)


@dataclass(frozen=True)
class Check:
    """The outcome of one self-test check."""

    name: str
    ok: bool
    detail: str  # what was checked, or why it failed
    seconds: float  # wall time

    def line(self) -> str:
        """One line for the terminal, e.g. ``ok    models: 5 bundled files verified (0.3 s)``."""
        status = "ok  " if self.ok else "FAIL"
        return f"{status}  {self.name}: {self.detail} ({self.seconds:.1f} s)"


def run_check(name: str, func: Callable[[], str]) -> Check:
    """Run ``func`` (which returns a detail line, or raises) as the check ``name``.

    Parameters
    ----------
    name
        Shown at the start of the line.
    func
        Returns what it verified; any exception fails the check with its message.

    Returns
    -------
    Check
    """
    started = time.perf_counter()
    try:
        detail = func()
    except Exception as e:  # a self-test reports every failure instead of stopping
        log.exception("self-test check %r failed", name)
        message = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return Check(name, False, f"{type(e).__name__}: {message}", time.perf_counter() - started)
    return Check(name, True, detail, time.perf_counter() - started)


def header() -> str:
    """The first line of a self-test report: version, executable, platform."""
    return (
        f"EVP Studio {__version__} self-test ({sys.executable}; Python "
        f"{platform.python_version()}; {platform.system()} {platform.machine()})"
    )


def _user_folders() -> str:
    folders = {
        "config": paths.config_dir(),
        "cache": paths.cache_dir(),
        "data": paths.data_dir(),
        "log": paths.log_dir(),
    }
    for kind, folder in folders.items():
        probe = folder / ".evp-self-test"
        try:
            probe.write_text("ok", encoding="utf-8")
            probe.unlink()
        except OSError as e:
            raise OSError(f"the {kind} folder {folder} is not writable ({e.strerror})") from e
    return f"writable (cache: {folders['cache']})"


def _models() -> str:
    from evp_studio.weights import status  # noqa: PLC0415

    bundled = [s for s in status() if s.bundled]
    bad = [f"{s.name} {s.state}" for s in bundled if s.state not in ("ok", "custom")]
    if bad:
        raise RuntimeError(f"bundled model files not usable: {', '.join(bad)}")
    return f"{len(bundled)} bundled files verified ({', '.join(s.name for s in bundled)})"


def _fan_backend() -> str:
    from evp_studio.landmarks._fan_files import import_face_alignment  # noqa: PLC0415

    import_face_alignment()
    importlib.import_module("face_alignment.detection.sfd")  # picked by name at run time
    import numba  # noqa: PLC0415

    return (
        f"face-alignment with its S3FD detector and numba {numba.__version__} load "
        f"(numba cache {os.environ.get('NUMBA_CACHE_DIR')}; FAN weights are not bundled)"
    )


def _load_demo() -> Project:
    from evp_studio.project import load_project  # noqa: PLC0415

    project = load_project(paths.resource_path(DEMO_PROJECT))
    if project.target is None or project.speech is None:
        raise RuntimeError(f"{paths.resource_path(DEMO_PROJECT)} lacks a target or a speech")
    for clip in (project.target.media, project.speech.media):
        if not clip.resolve().is_file():
            raise FileNotFoundError(f"demo media {clip.resolve()} is missing")
    return project


def _decoded(path: Path, project: Project, count: int) -> list[np.ndarray]:
    """Decode a rendered file and check its frame count, size and content."""
    from evp_studio.media import VideoReader  # noqa: PLC0415

    assert project.target is not None
    want = (project.target.height, project.target.width, 3)
    with VideoReader(path) as reader:
        if reader.frame_count != count:
            raise RuntimeError(f"{path} has {reader.frame_count} frames, expected {count}")
        frames = [reader.read(i) for i in range(count)]
    for i, frame in enumerate(frames):
        if frame.shape != want or frame.dtype != np.uint8:
            raise RuntimeError(f"frame {i} is {frame.shape} {frame.dtype}, expected {want} uint8")
        if not float(frame.std()) > _MIN_STD:
            raise RuntimeError(f"frame {i} of {path} is blank")
    return frames


def _render(
    project: Project, out: Path, count: int, renderer: str, checkpoint: Path | None = None
) -> list[np.ndarray]:
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.pipeline.render import render_project  # noqa: PLC0415 - imports torch

    job = render_project(
        project, out, renderer=renderer, frame_range=(0, count), neural_checkpoint=checkpoint
    )
    run_job(job)
    return _decoded(out, project, count)


def _warp(project: Project, work: Path) -> str:
    (frame,) = _render(project, work / "warp.mp4", 1, "warp")
    h, w = frame.shape[:2]
    return f"1 frame {w}x{h} rendered, encoded (H.264 + AAC) and decoded"


def _crop_difference(
    frames: list[np.ndarray], video: Path, box: tuple[int, int, int]
) -> list[float]:
    """Mean absolute difference to the target's frames inside the renderer's face crop."""
    from evp_studio.media import VideoReader  # noqa: PLC0415

    x0, y0, side = box
    crop = (slice(y0, y0 + side), slice(x0, x0 + side))
    with VideoReader(video) as reader:
        sources = [reader.read(i) for i in range(len(frames))]
    return [
        float(np.abs(f[crop].astype(np.int16) - s[crop]).mean())
        for f, s in zip(frames, sources, strict=True)
    ]


def _neural(project: Project, work: Path, steps: int) -> str:
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.landmarks import track_landmarks  # noqa: PLC0415
    from evp_studio.render.neural import NeuralRenderer  # noqa: PLC0415
    from evp_studio.train.renderer import RendererTrainConfig, train_renderer  # noqa: PLC0415

    assert project.target is not None
    video = project.target.media.resolve()
    config = RendererTrainConfig(
        preset="tiny", steps=steps, batch_size=2, preview_every=steps, checkpoint_every=steps,
        eval_frames=2,
    )  # fmt: skip
    landmarks = run_job(track_landmarks(video))  # cached by the warp check
    trained = run_job(train_renderer(video, work / "renderer", config, landmarks=landmarks))
    if not all(np.isfinite(v) for v in trained.last_losses.values()):
        raise RuntimeError(f"training losses are not finite: {trained.last_losses}")
    # The renderer is conditioned on the two previous frames, so its first two output frames
    # are the target's own; the third is the first generated one.
    frames = _render(project, work / "neural.mp4", 3, "neural", trained.checkpoint)
    box = NeuralRenderer.load(trained.checkpoint).box
    real0, real1, generated = _crop_difference(frames, video, box)
    if not generated > max(real0, real1) + 1.0:
        raise RuntimeError(
            f"the generated frame is no different from the target in the face crop "
            f"(mean difference {generated:.1f} grey levels, {max(real0, real1):.1f} for the "
            "copied frames)"
        )
    h, w = frames[2].shape[:2]
    return (
        f"smoke test: the tiny preset trained {steps} steps on the demo target (not a usable "
        f"renderer; losses finite), 1 generated frame {w}x{h} rendered, encoded and decoded"
    )


def run_self_test(*, neural_steps: int = NEURAL_STEPS) -> Iterator[Check]:
    """Run the checks one by one (see the module docstring); yields each as it finishes.

    Parameters
    ----------
    neural_steps
        Training steps of the smoke-test neural renderer.

    Yields
    ------
    Check
        One per check; checks that need the demo project fail at once when it did not load.
    """
    yield run_check("user folders", _user_folders)
    yield run_check("models", _models)
    yield run_check("fan backend", _fan_backend)
    demo: list[Project] = []

    def load() -> str:
        demo.append(_load_demo())
        target = demo[0].target
        assert target is not None
        return f"{demo[0].name!r}: {target.frame_count} frames {target.width}x{target.height}"

    yield run_check("demo project", load)
    if not demo:
        for name in ("warp renderer", "neural renderer"):
            yield Check(name, False, "skipped: the demo project did not load", 0.0)
        return
    with tempfile.TemporaryDirectory(prefix="evp-self-test-") as tmp:
        work = Path(tmp)
        yield run_check("warp renderer", lambda: _warp(demo[0], work))
        yield run_check("neural renderer", lambda: _neural(demo[0], work, neural_steps))


def report(checks: Iterable[Check], out: TextIO) -> int:
    """Write the header, one line per check as it finishes, and a summary.

    Parameters
    ----------
    checks
        Usually :func:`run_self_test`, possibly with checks of the caller's before it.
    out
        A text stream (the terminal).

    Returns
    -------
    int
        0 when every check passed, 1 otherwise (the process exit status).
    """
    out.write(header() + "\n")
    failed = []
    for check in checks:
        out.write(check.line() + "\n")
        out.flush()
        if not check.ok:
            failed.append(check.name)
    if failed:
        log_file = paths.log_dir() / "evp-studio.log"
        out.write(f"self-test FAILED: {', '.join(failed)} (details in {log_file})\n")
        return 1
    out.write("self-test passed\n")
    return 0
