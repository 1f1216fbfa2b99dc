"""``evp-studio train landmarks``: the audio-to-landmark trainer and its weights export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

_HELP_EXPORT = (
    "also write float16 inference weights (with the speech encoder) here, with a manifest "
    "<stem>.json (sha256, data, command, seed, metrics; held-out M-LD, M-LVD, F-LD, F-LVD "
    "with --split paper): what resources/models/ ships"
)


def _export(args: argparse.Namespace, result: Any) -> None:
    """Write float16 inference weights and their manifest, scored on held-out sentences."""
    from evp_studio.cli_data import print_progress  # noqa: PLC0415
    from evp_studio.eval.landmark_prediction import evaluate_landmark_prediction  # noqa: PLC0415
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.models.audio2landmark_io import export_landmark_weights  # noqa: PLC0415
    from evp_studio.train.manifest import (
        checkpoint_meta,
        command_line,
        write_weights_manifest,
    )  # noqa: PLC0415

    meta = checkpoint_meta(result.checkpoint)
    metrics: dict[str, Any] = {"steps": result.steps, "last_epoch_losses": result.last_losses}
    if args.split == "paper":
        report = run_job(
            evaluate_landmark_prediction(result.checkpoint, args.data, device=args.device),
            on_progress=print_progress,
        )
        held_out = {"split": "paper test sentences 001-009", "clips": report.clips}
        metrics["held_out"] = {**held_out, **report.metrics}
    args.export.parent.mkdir(parents=True, exist_ok=True)
    command = command_line(("evp-studio", "train", "landmarks"), args)
    export_landmark_weights(result.checkpoint, args.export, command=command)
    manifest = write_weights_manifest(
        args.export,
        model="audio-to-landmark network (small, float16) with its speech encoder",
        data_root=args.data,
        command=command,
        meta=meta,
        metrics=metrics,
    )
    sys.stdout.write(f"exported {args.export} (manifest {manifest})\n")


def _cmd_landmarks(args: argparse.Namespace) -> int:
    from evp_studio.cli_data import print_progress, print_trained  # noqa: PLC0415
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.train.landmarks import LandmarkTrainConfig, train_landmarks  # noqa: PLC0415

    config = LandmarkTrainConfig(
        size=args.size,
        encoder=None if args.encoder is None else str(args.encoder),
        finetune_encoders=args.finetune_encoders,
        encoder_lr_scale=args.encoder_lr_scale,
        n_coeffs=args.n_coeffs,
        lambda_vel=args.lambda_vel,
        category_code_prob=args.category_code_prob,
        seq_len=args.seq_len,
        seq_stride=args.seq_stride,
        lr=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        max_steps_per_epoch=args.max_steps_per_epoch,
        split=args.split,
    )
    result = run_job(
        train_landmarks(args.data, args.out, config, resume=not args.restart),
        on_progress=print_progress,
    )
    print_trained(result)
    if args.export is not None:
        _export(args, result)
    return 0


def add_landmarks_train_command(verbs: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``train landmarks`` on the ``train`` command's sub-parser."""
    p = verbs.add_parser("landmarks", help="audio-to-landmark network (paper 3.3, eq. 7)")
    p.add_argument("--data", type=Path, required=True, help="corpus with ground-truth landmarks")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, losses.csv)")
    p.add_argument("--size", choices=("small", "paper"), default="small")
    p.add_argument(
        "--encoder", type=Path, help="disentanglement model file (default: disentangle-small)"
    )
    p.add_argument(
        "--finetune-encoders", action="store_true", help="train Ec and Ee too (default: frozen)"
    )
    p.add_argument("--encoder-lr-scale", type=float, default=0.1, help="encoders' lr factor")
    p.add_argument("--n-coeffs", type=int, help="PCA components (136: raw coordinates)")
    p.add_argument("--lambda-vel", type=float, default=1.0, help="weight of the velocity loss")
    p.add_argument(
        "--category-code-prob",
        type=float,
        default=0.25,
        help="probability that a sequence's emotion input is its category's mean code",
    )
    p.add_argument("--seq-len", type=int, default=32, help="frames per training sequence")
    p.add_argument("--seq-stride", type=int, default=16, help="frames between sequence starts")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--split", choices=("all", "paper"), default="all")
    p.add_argument("--max-steps-per-epoch", type=int, help="cap batches per epoch (smoke runs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--export", type=Path, help=_HELP_EXPORT)
    p.set_defaults(func=_cmd_landmarks)
