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


def _export(args: argparse.Namespace, checkpoint: Path) -> None:
    """Write the float16 generator-only file and its manifest."""
    from evp_studio.render.neural import export_renderer  # noqa: PLC0415
    from evp_studio.train.checkpoint import load_checkpoint  # noqa: PLC0415
    from evp_studio.train.manifest import command_line, write_weights_manifest  # noqa: PLC0415

    state = load_checkpoint(checkpoint)
    command = command_line(("evp-studio", "train", "renderer"), args)
    args.export.parent.mkdir(parents=True, exist_ok=True)
    export_renderer(checkpoint, args.export, command=command)
    meta = {
        "config": state.get("config"),
        "data": state.get("video"),
        "git_revision": state.get("git_revision"),
    }
    metrics = {"steps": state.get("step"), **(state.get("metrics") or {})}
    manifest = write_weights_manifest(
        args.export,
        model=f"neural renderer ({state.get('config', {}).get('preset')}, float16 generator) "
        "for one target video",
        data_root=args.video,
        command=command,
        meta=meta,
        metrics=metrics,
    )
    sys.stdout.write(f"exported {args.export} (manifest {manifest})\n")


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
        rollout=args.rollout,
        rollout_ramp=args.rollout_ramp,
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
    if args.export is not None:
        _export(args, result.checkpoint)
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
        choices=("fast", "quality", "tiny"),
        default="fast",
        help="fast: 256 px; quality: 512 px; tiny: 64 px, for trying the pipeline out",
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
    p.add_argument(
        "--rollout",
        type=int,
        default=3,
        help="longest generated sequence the generator is trained on (1: teacher forcing)",
    )
    p.add_argument(
        "--rollout-ramp",
        type=float,
        default=0.5,
        help="fraction of the steps over which the sequence grows from 1 to --rollout",
    )
    p.add_argument(
        "--export",
        type=Path,
        help="also write the float16 generator-only file here (what `render --neural-checkpoint`"
        " needs), with a manifest <stem>.json",
    )
    p.set_defaults(func=_cmd_renderer)
