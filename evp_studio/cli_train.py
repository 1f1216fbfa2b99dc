"""``evp-studio train ...``: training commands (the emotion classifier for now)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


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
