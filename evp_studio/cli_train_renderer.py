"""``evp-studio train renderer``: the per-video neural Edge-to-Video renderer."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from evp_studio.jobs import EtaEstimator, Progress


def progress_with_eta() -> Callable[[Progress], None]:
    """A progress printer for stderr that adds the estimated time left."""
    eta = EtaEstimator()

    def show(p: Progress) -> None:
        left = eta.update(p)
        if not p.total or not (p.done == p.total or p.done % max(1, p.total // 100) == 0):
            return
        tail = "" if left is None else f", {int(left) // 60} min {int(left) % 60:02d} s left"
        sys.stderr.write(f"\r{p.stage}: {p.done}/{p.total}{tail}   ")
        if p.done == p.total:
            sys.stderr.write("\n")

    return show


def _cmd_renderer(args: argparse.Namespace) -> int:
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.train.renderer import RendererTrainConfig, train_renderer  # noqa: PLC0415

    amp = args.device.startswith("cuda") and not args.no_amp
    config = RendererTrainConfig(
        preset=args.preset,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        preview_every=args.preview_every,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        device=args.device,
        amp=amp,
    )
    result = run_job(
        train_renderer(args.video, args.out, config, resume=not args.restart),
        on_progress=progress_with_eta(),
    )
    held = result.metrics.get("held_out", {})
    sys.stdout.write(
        f"trained {result.steps} steps; held-out PSNR {held.get('psnr')} dB, SSIM "
        f"{held.get('ssim')} over {held.get('frames')} frames; checkpoint {result.checkpoint}\n"
    )
    return 0


def add_renderer_train_command(verbs: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``train renderer`` on the ``train`` command's sub-parser."""
    p = verbs.add_parser(
        "renderer", help="neural Edge-to-Video renderer on a target video's own frames"
    )
    p.add_argument("--video", type=Path, required=True, help="the target video")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, previews)")
    p.add_argument(
        "--preset",
        choices=("fast", "quality"),
        default="fast",
        help="fast: 256 px; quality: 512 px",
    )
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--preview-every", type=int, default=500, help="steps between preview PNGs")
    p.add_argument("--checkpoint-every", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    p.set_defaults(func=_cmd_renderer)
