"""Held-out reconstruction quality of the renderers on a real face clip (PSNR / SSIM).

The last 10 % of the clip's frames (``split_point``, the renderer trainer's own hold-out) are
predicted, and each prediction is scored against the real frame, on the whole frame and on the
face crop (the square ``crop_box`` of frame t's own tracked landmarks, 2.1 x their width):

- ``repeat_first``: frame 0 itself, a do-nothing baseline (the head moves, so it is a floor);
- ``warp``: :class:`WarpRenderer` built on the first 90 % of the frames (its mouth bank sees no
  held-out frame), rendering frame 0 from frame 0's landmarks to frame t's tracked landmarks,
  in order (its temporal state runs over the held-out frames as in an export);
- ``neural`` (``--neural-checkpoint`` or ``--train-neural-steps``): the per-video renderer
  streamed over the held-out frames with guidance from their own landmarks; the first two
  frames are real (vid2vid ``use_real_img``) and are left out of every mean. The generated
  crop is pasted into the *real* frame t, so its whole-frame score has the real background
  and is not comparable with the other two; compare the face-crop columns.

The means are over the same frames for every method (held-out frames from the third on).
``--train-neural-steps N`` first trains a renderer (``--preset``, default ``fast``) on the
clip with :func:`train_renderer` (CPU) and reports seconds per step.

Usage::

    OMP_NUM_THREADS=1 python bench/bench_render_quality.py [--video resources/demo/target.mp4]
        [--neural-checkpoint ckpt.pt | --train-neural-steps 200 --preset tiny]
        [--per-frame] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evp_studio.eval.image import psnr, ssim
from evp_studio.jobs import Progress, run_job
from evp_studio.landmarks import track_landmarks
from evp_studio.media import VideoReader
from evp_studio.render.neural import NeuralRenderer, crop_box
from evp_studio.render.warp import WarpRenderer
from evp_studio.train._renderer_data import default_guidance, split_point

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT / "resources" / "demo" / "target.mp4"
HOLDOUT = 0.1


def _say(text: str = "") -> None:
    """Write one line of the report to stdout."""
    sys.stdout.write(text + "\n")


def scores(pred: np.ndarray, real: np.ndarray, landmarks: np.ndarray) -> dict[str, float]:
    """PSNR/SSIM of one frame, whole and on the face crop of ``landmarks``."""
    x0, y0, side = crop_box(landmarks, real.shape)
    pc, rc = pred[y0 : y0 + side, x0 : x0 + side], real[y0 : y0 + side, x0 : x0 + side]
    return {
        "psnr_face": float(psnr(pc, rc)),
        "ssim_face": float(ssim(pc, rc)),
        "psnr_frame": float(psnr(pred, real)),
        "ssim_frame": float(ssim(pred, real)),
    }


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = ("psnr_face", "ssim_face", "psnr_frame", "ssim_frame")
    # PSNR is inf on identical frames (not expected on held-out ones); cap it like the trainer
    return {k: float(np.mean([min(r[k], 99.0) for r in rows])) for k in keys}


def train_neural(
    video: Path, landmarks: Any, preset: str, steps: int, out: Path, rollout: int = 3
) -> dict:
    """Train a renderer; return its checkpoint and timings (seconds per step)."""
    from evp_studio.train.renderer import RendererTrainConfig, train_renderer  # noqa: PLC0415

    config = RendererTrainConfig(
        preset=preset,
        steps=steps,
        preview_every=steps,
        checkpoint_every=steps,
        device="cpu",
        rollout=rollout,
    )
    stamps: list[float] = []

    def on_progress(p: Progress) -> None:
        if p.stage == "Training the renderer":
            stamps.append(time.perf_counter())

    start = time.perf_counter()
    cpu0 = time.process_time()
    result = run_job(
        train_renderer(video, out, config, landmarks=landmarks, resume=False),
        on_progress=on_progress,
    )
    total = time.perf_counter() - start
    # steps 2..N between the first and the last step report: no data preparation, no final
    # checkpoint (whose held-out scoring is in `total` only)
    per_step = (stamps[-1] - stamps[0]) / (len(stamps) - 1) if len(stamps) > 1 else float("nan")
    return {
        "checkpoint": str(result.checkpoint),
        "preset": preset,
        "steps": result.steps,
        "batch_size": config.batch_size,
        "seconds_total": total,
        "cpu_seconds_total": time.process_time() - cpu0,
        "seconds_per_step": per_step,
        "trainer_held_out": result.metrics.get("held_out"),
        "last_losses": result.last_losses,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--neural-checkpoint", type=Path)
    ap.add_argument("--train-neural-steps", type=int, default=0)
    ap.add_argument("--preset", default="fast", choices=("tiny", "fast", "quality"))
    ap.add_argument("--rollout", type=int, default=3, help="1: teacher forcing")
    ap.add_argument("--train-dir", type=Path, help="where a trained renderer goes (default tmp)")
    ap.add_argument("--per-frame", action="store_true", help="print every held-out frame")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    torch_threads = os.environ.get("OMP_NUM_THREADS", "unset")

    t0 = time.perf_counter()
    track = run_job(track_landmarks(args.video))
    t_track = time.perf_counter() - t0
    lm = np.asarray(track.landmarks, np.float64)
    n = len(lm)
    n_train = split_point(n, HOLDOUT)
    held = list(range(n_train, n))
    scored = held[2:]  # the neural renderer's first two are real: same frames for all
    _say(
        f"video {args.video} : {n} frames, train 0..{n_train - 1}, held out "
        f"{n_train}..{n - 1} ({len(held)}); scored {scored[0]}..{scored[-1]} ({len(scored)}); "
        f"lost in held-out: {int(np.asarray(track.lost)[held].sum())}; tracking {t_track:.1f} s "
        f"(cached if fast); OMP_NUM_THREADS={torch_threads}"
    )

    report: dict[str, Any] = {
        "video": str(args.video),
        "frames": n,
        "n_train": n_train,
        "held_out": held,
        "scored": scored,
        "methods": {},
    }
    per_frame: dict[str, list[dict[str, float]]] = {}
    with VideoReader(args.video) as reader:
        first = reader.read(0)
        real = {t: reader.read(t) for t in held}

        per_frame["repeat_first"] = [scores(first, real[t], lm[t]) for t in scored]

        t0 = time.perf_counter()
        warp = WarpRenderer(reader.iter_frames(0, n_train), lm[:n_train])
        t_build = time.perf_counter() - t0
        warp.reset()
        rows, t_render = [], 0.0
        for t in held:
            t0 = time.perf_counter()
            pred = warp.render(first, lm[0], lm[t])
            t_render += time.perf_counter() - t0
            if t in scored:
                rows.append(scores(pred, real[t], lm[t]))
        per_frame["warp"] = rows
        report["warp_timing"] = {
            "bank_build_s": t_build,
            "bank_entries": len(warp.bank),
            "render_ms_per_frame": 1000 * t_render / len(held),
        }

        ckpt = args.neural_checkpoint
        if args.train_neural_steps > 0:
            with tempfile.TemporaryDirectory(prefix="evp_bench_rq_") as tmp:
                out = args.train_dir or Path(tmp) / "renderer"
                info = train_neural(
                    args.video, track, args.preset, args.train_neural_steps, out, args.rollout
                )
                report["training"] = info
                _say(
                    f"trained {info['preset']} renderer: {info['steps']} steps, batch "
                    f"{info['batch_size']}, {info['seconds_per_step']:.3f} s/step, "
                    f"{info['seconds_total']:.1f} s in all (cpu {info['cpu_seconds_total']:.1f} s"
                    f"); trainer's held-out (crop, first 50): {info['trainer_held_out']}"
                )
                per_frame["neural"] = neural_rows(Path(info["checkpoint"]), real, held, scored, lm)
        elif ckpt is not None:
            per_frame["neural"] = neural_rows(ckpt, real, held, scored, lm)

    header = f"{'method':<14}{'PSNR face':>11}{'SSIM face':>11}{'PSNR frame':>12}{'SSIM frame':>12}"
    _say(f"\nmeans over {len(scored)} held-out frames (dB / SSIM)\n{header}")
    for name, rows in per_frame.items():
        m = mean_scores(rows)
        report["methods"][name] = {"mean": m, "per_frame": rows}
        _say(
            f"{name:<14}{m['psnr_face']:>11.2f}{m['ssim_face']:>11.4f}"
            f"{m['psnr_frame']:>12.2f}{m['ssim_frame']:>12.4f}"
        )
    if "neural" in per_frame:
        _say("(neural: whole-frame scores use the real frame t outside its crop; compare faces)")
    wt = report["warp_timing"]
    _say(
        f"warp: bank {wt['bank_entries']} crops built in {wt['bank_build_s']:.1f} s; "
        f"{wt['render_ms_per_frame']:.1f} ms/frame"
    )
    if args.per_frame:
        names = list(per_frame)
        _say("\nframe  " + "  ".join(f"{k[:12]:>12} psnrF/ssimF" for k in names))
        for i, t in enumerate(scored):
            cells = [
                f"{per_frame[k][i]['psnr_face']:>12.2f} {per_frame[k][i]['ssim_face']:.4f}"
                for k in names
            ]
            _say(f"{t:>5}  " + "  ".join(cells))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=_plain))
        _say(f"wrote {args.json}")
    return 0


def neural_rows(
    ckpt: Path, real: dict[int, np.ndarray], held: list[int], scored: list[int], lm: np.ndarray
) -> list[dict[str, float]]:
    """Stream the held-out frames through a renderer and score the generated ones."""
    renderer = NeuralRenderer.load(ckpt)
    guidance = default_guidance(renderer.size)
    frames = [real[t] for t in held]
    maps = (
        guidance.make(renderer.crop_frame(f), renderer.crop_landmarks(lm[t]))
        for f, t in zip(frames, held, strict=True)
    )
    out = list(renderer.stream(frames, maps))
    return [scores(out[i], real[t], lm[t]) for i, t in enumerate(held) if t in scored]


def _plain(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, float) and math.isinf(o):
        return None
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
