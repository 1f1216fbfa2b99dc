"""Benchmark of the 3D-aware keypoint alignment (``evp_studio.geometry``) on one CPU core.

Measures, on synthetic talking faces from ``evp_studio.data.face`` (a random actor, speech,
an emotion, blinks, 0.5 px landmark noise, poses up to +-40 deg yaw):

- speed: ``fit_pose`` (frames per second), ``frontalise`` + ``reproject``, ``to_canonical``,
  ``align_to_target`` with and without smoothing, ``place_2d`` and ``fit_shape``;
- accuracy: the rotation error of ``fit_pose`` with the actor's own shape and with the default
  mean shape, the re-projection error (true 3D points, fitted pose) in % of the inter-ocular
  distance, and the error of ``align_to_target`` against the direct 2D baseline
  (``place_2d``) as the target turns away (the paper's Fig. 7 ablation).

Each timing is the minimum and the median of ``--repeats`` runs.

Usage::

    python bench/bench_geometry.py [--frames 1000] [--repeats 7] [--json out.json]
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

from evp_studio.data import face as F
from evp_studio.geometry import (
    PoseFit,
    align_to_target,
    fit_pose,
    fit_shape,
    frontalise,
    place_2d,
    reproject,
    to_canonical,
)

log = logging.getLogger("bench_geometry")
FPS = 25.0
SPEECH = [("sil", 0.0, 0.2), ("aa", 0.2, 0.6), ("O", 0.6, 1.0), ("PP", 1.0, 1.1), ("I", 1.1, 99)]


def pin_one_core() -> str:
    """Restrict this process (and any BLAS threads it starts) to one CPU core."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def timeit(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    """Run ``fn`` once to warm up, then ``repeats`` times; wall min/median, ms."""
    fn()
    wall = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
    return {"min_ms": min(wall), "median_ms": statistics.median(wall)}


def make_clip(
    n: int, rng: np.random.Generator, pose: F.Pose, emotion: str = "happy"
) -> tuple[np.ndarray, F.AnimatedFace, np.ndarray, F.FaceShape]:
    """Noisy landmarks, the true animation, its head-frame points and the actor."""
    actor = F.identity_shape(rng)
    mouth = F.mouth_track(SPEECH, n, FPS)
    blink = F.blink_track(n, FPS, rng)
    anim = F.animate(actor, mouth, emotion, 1.0, pose, blink)
    head = F.deform_face(actor, mouth, emotion, 1.0, blink)
    noisy = anim.landmarks2d + rng.normal(0.0, 0.5, anim.landmarks2d.shape)
    return noisy, anim, head, actor


def random_pose(n: int, rng: np.random.Generator) -> F.Pose:
    """Yaw +-40, pitch +-20, roll +-15 deg, 0.8-2.5 px/mm, anywhere in a 500 px frame."""
    u = rng.uniform
    return F.Pose(
        u(-40, 40, n), u(-20, 20, n), u(-15, 15, n), u(100, 400, n), u(100, 400, n),
        u(0.8, 2.5, n),
    )  # fmt: skip


def rotation_error(fit: PoseFit, pose: F.Pose) -> np.ndarray:
    """Angle of R_true^T R_fit per frame, degrees."""
    rel = np.einsum(
        "tji,tjk->tik", F.rotation_matrix(pose.yaw, pose.pitch, pose.roll), fit.rotation
    )
    return np.rad2deg(np.arccos(np.clip((np.trace(rel, axis1=1, axis2=2) - 1) / 2, -1, 1)))


def rms_over_iod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame RMS point distance in % of the inter-ocular distance of ``b``."""
    iod = np.linalg.norm(b[:, 45] - b[:, 36], axis=-1)
    return 100 * np.sqrt(((a - b) ** 2).sum(-1).mean(-1)) / iod


def bench_speed(n: int, repeats: int) -> dict[str, Any]:
    """Time every public step on ``n`` frames."""
    rng = np.random.default_rng(0)
    pts, *_ = make_clip(n, rng, random_pose(n, rng))
    fit = fit_pose(pts)
    pred = to_canonical(pts, fit)
    out: dict[str, Any] = {
        "fit_pose": timeit(lambda: fit_pose(pts), repeats),
        "frontalise+reproject": timeit(lambda: reproject(frontalise(pts, fit), fit), repeats),
        "to_canonical (fit included)": timeit(lambda: to_canonical(pts), repeats),
        "align_to_target": timeit(lambda: align_to_target(pred, fit, pts, smooth=None), repeats),
        "align_to_target + One-Euro": timeit(lambda: align_to_target(pred, fit, pts), repeats),
        "place_2d": timeit(lambda: place_2d(pred, pts), repeats),
        "fit_shape (4 rounds)": timeit(lambda: fit_shape(pts), max(1, repeats // 3)),
    }
    out["fit_pose_fps"] = n / (out["fit_pose"]["min_ms"] / 1000)
    return out


def bench_accuracy(n: int) -> dict[str, Any]:
    """Pose errors over random poses, and 3D alignment vs 2D placement by yaw."""
    rng = np.random.default_rng(1)
    pose = random_pose(n, rng)
    pts, anim, head, actor = make_clip(n, rng, pose)
    out: dict[str, Any] = {}
    for name, shape in (("own shape", actor.points), ("mean shape", None)):
        fit = fit_pose(pts, shape)
        rot, rep = rotation_error(fit, pose), rms_over_iod(reproject(head, fit), anim.landmarks2d)
        out[name] = {
            "rot_mean_deg": float(rot.mean()),
            "rot_max_deg": float(rot.max()),
            "reproj_mean_pct": float(rep.mean()),
            "reproj_max_pct": float(rep.max()),
        }
    out["fig7"] = {}
    for yaw in (0, 15, 30, 40):
        t = np.arange(100) / FPS
        p = F.Pose(
            yaw + 3 * np.sin(t), 6 * np.sin(0.7 * t), 4 * np.cos(0.5 * t),
            256 + 10 * np.sin(t), 256 + 5 * np.cos(t), np.full(100, 1.6),
        )  # fmt: skip
        target, _, _, actor = make_clip(100, np.random.default_rng(yaw), p, "neutral")
        mouth = F.mouth_track(SPEECH[::-1][:1] + SPEECH, 100, FPS)
        truth = F.animate(actor, mouth, "happy", 1.0, p).landmarks2d
        frontal = F.animate(actor, mouth, "happy", 1.0, F.static_pose(100, size=(512, 512)))
        pred = to_canonical(frontal.landmarks2d)
        e3 = rms_over_iod(align_to_target(pred, fit_pose(target), target), truth).mean()
        e2 = rms_over_iod(place_2d(pred, target), truth).mean()
        out["fig7"][str(yaw)] = {"align_3d_pct": float(e3), "place_2d_pct": float(e2)}
    return out


def _table(r: dict[str, Any]) -> str:
    s = r["speed"]
    lines = [f"{r['frames']} frames; {r['cpu']}", f"{'what':<32}{'min ms':>10}{'median ms':>12}"]
    lines += [
        f"{k:<32}{v['min_ms']:>10.2f}{v['median_ms']:>12.2f}"
        for k, v in s.items()
        if "ms" in str(v)
    ]
    lines.append(f"fit_pose: {s['fit_pose_fps']:.0f} frames/s")
    for name in ("own shape", "mean shape"):
        a = r["accuracy"][name]
        lines.append(
            f"{name:<11} rotation {a['rot_mean_deg']:.2f} mean / {a['rot_max_deg']:.2f} max deg, "
            f"re-projection {a['reproj_mean_pct']:.2f} mean / {a['reproj_max_pct']:.2f} max % IOD"
        )
    lines.append("yaw   3D align  2D place   (% IOD, RMS over 68 points)")
    lines += [
        f"{y:>3}  {v['align_3d_pct']:>8.2f}  {v['place_2d_pct']:>8.2f}"
        for y, v in r["accuracy"]["fig7"].items()
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table and optionally write JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="frames per timed call")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per measurement")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results: dict[str, Any] = {"frames": args.frames, "cpu": pin_one_core()}
    log.info("timing %d frames ...", args.frames)
    results["speed"] = bench_speed(args.frames, args.repeats)
    log.info("measuring accuracy ...")
    results["accuracy"] = bench_accuracy(args.frames)
    sys.stdout.write(_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
