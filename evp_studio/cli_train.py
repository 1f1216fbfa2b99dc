"""``evp-studio train ...``: training commands (the emotion classifier for now)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evp_studio.cli_train_landmarks import add_landmarks_train_command
from evp_studio.cli_train_renderer import add_renderer_train_command


def _cmd_emotion_classifier(args: argparse.Namespace) -> int:
    from evp_studio.eval.corpus_classifier import train_on_corpus  # noqa: PLC0415

    model, report = train_on_corpus(args.data, split=args.split, seed=args.seed, epochs=args.epochs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.output)
    summary = {
        "split": report.split,
        "n_train": report.n_train,
        "n_test": report.n_test,
        "train_accuracy": round(report.train_accuracy, 4),
        "test_accuracy": round(report.test_accuracy, 4),
        "per_class_test_accuracy": {k: round(v, 4) for k, v in report.per_class_accuracy().items()},
        "confusion": report.confusion.tolist(),
        "final_loss": round(report.final_loss, 5),
    }
    args.output.with_suffix(".json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    sys.stdout.write(
        f"emotion classifier: {100 * report.test_accuracy:.1f} % on {report.n_test} held-out "
        f"clips ({report.split} split; train {100 * report.train_accuracy:.1f} % on "
        f"{report.n_train}); saved {args.output}\n"
    )
    return 0


def _cmd_disentangle(args: argparse.Namespace) -> int:
    from evp_studio.cli_data import print_progress, print_trained  # noqa: PLC0415
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.train import DisentangleTrainConfig, train_disentangle  # noqa: PLC0415

    config = DisentangleTrainConfig(
        size=args.size,
        lambda_cla=args.lambda_cla,
        lambda_con=args.lambda_con,
        lr=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        ablate=frozenset(args.ablate),
        split=args.split,
        max_steps_per_epoch=args.max_steps_per_epoch,
        pretrain_steps=args.pretrain_steps,
    )
    result = run_job(
        train_disentangle(args.data, args.out, config, resume=not args.restart),
        on_progress=print_progress,
    )
    print_trained(result)
    if args.export is not None:
        _export_disentangle(args, result)
    return 0


def _export_disentangle(args: argparse.Namespace, result: Any) -> None:
    """Write float16 inference weights and their manifest, scored on held-out sentences."""
    from evp_studio.cli_data import print_progress  # noqa: PLC0415
    from evp_studio.eval.disentangle import evaluate_disentangle_job, held_out_clips  # noqa: PLC0415
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.models.io import save_inference_weights  # noqa: PLC0415
    from evp_studio.train.manifest import (
        checkpoint_meta,
        command_line,
        write_weights_manifest,
    )  # noqa: PLC0415

    meta = checkpoint_meta(result.checkpoint)
    metrics: dict[str, Any] = {
        "steps": result.steps,
        "last_epoch_losses": result.last_losses,
        "pretrain": (meta.get("metrics") or {}).get("pretrain"),
    }
    if args.split == "paper":
        clips = held_out_clips(args.data, "paper")
        report = run_job(
            evaluate_disentangle_job(result.model, args.data, clips, device=args.device),
            on_progress=print_progress,
        )
        metrics["held_out"] = {"split": "paper test sentences 001-009", **report.to_dict()}
    args.export.parent.mkdir(parents=True, exist_ok=True)
    save_inference_weights(args.export, result.model, result.category_codes, **meta)
    manifest = write_weights_manifest(
        args.export,
        model="speech encoder: Ec, Ee, Ce of the small disentanglement model (float16)",
        data_root=args.data,
        command=command_line(("evp-studio", "train", "disentangle"), args),
        meta=meta,
        metrics=metrics,
    )
    sys.stdout.write(f"exported {args.export} (manifest {manifest})\n")


def add_train_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``train emotion-classifier`` on the CLI's sub-command parser."""
    train = sub.add_parser("train", help="train models")
    verbs = train.add_subparsers(dest="verb", required=True, metavar="MODEL")
    clf = verbs.add_parser(
        "emotion-classifier",
        help="the landmark emotion classifier behind the emotion-accuracy metric",
    )
    clf.add_argument("--data", type=Path, required=True, help="corpus with ground-truth landmarks")
    clf.add_argument("-o", "--output", type=Path, required=True, help="model file (.pt)")
    clf.add_argument("--split", choices=("actors", "paper"), default="actors")
    clf.add_argument("--seed", type=int, default=0)
    clf.add_argument("--epochs", type=int, default=60)
    clf.set_defaults(func=_cmd_emotion_classifier)

    dis = verbs.add_parser("disentangle", help="cross-reconstructed emotion disentanglement")
    dis.add_argument("--data", type=Path, required=True, help="MEAD-layout corpus")
    dis.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, losses.csv)")
    dis.add_argument("--size", choices=("small", "paper"), default="small")
    dis.add_argument("--epochs", type=int, default=100)
    dis.add_argument("--batch-size", type=int, default=16)
    dis.add_argument("--lr", type=float, default=2e-4)
    dis.add_argument("--lambda-cla", type=float, default=1.0)
    dis.add_argument("--lambda-con", type=float, default=1.0)
    dis.add_argument("--ablate", nargs="*", default=[], choices=("cross", "self", "cla", "con"))
    dis.add_argument("--split", choices=("all", "paper"), default="all")
    dis.add_argument(
        "--pretrain-steps",
        type=int,
        default=1000,
        help="batches of encoder pretraining first (Ee on emotion, Ec on visemes; 0: none)",
    )
    dis.add_argument("--max-steps-per-epoch", type=int, help="cap batches per epoch (smoke runs)")
    dis.add_argument("--seed", type=int, default=0)
    dis.add_argument("--device", default="cpu", help="cpu or cuda")
    dis.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    dis.add_argument(
        "--export",
        type=Path,
        help="also write float16 inference weights (Ec, Ee, Ce) here with a manifest "
        "<stem>.json (sha256, data, command, seed, metrics; held-out scores with --split "
        "paper): what resources/models/ ships",
    )
    dis.set_defaults(func=_cmd_disentangle)
    add_landmarks_train_command(verbs)
    add_renderer_train_command(verbs)
