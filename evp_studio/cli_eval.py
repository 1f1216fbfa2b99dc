"""``evp-studio eval --pred DIR --gt DIR``: the paper's metrics for a folder of clips.

``eval disentangle`` and ``eval ablation`` (the audio disentanglement, paper section 3.2)
live in :mod:`evp_studio.cli_eval_disentangle`, ``eval landmarks`` (audio-to-landmark
prediction) in :mod:`evp_studio.cli_eval_landmarks`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from evp_studio.cli_eval_disentangle import add_disentangle_commands
from evp_studio.cli_eval_landmarks import add_landmark_commands
from evp_studio.errors import InvalidInputError
from evp_studio.eval import evaluate_dirs, extractor_names
from evp_studio.fileio import atomic_write_text
from evp_studio.paths import resource_path

BUNDLED_CLASSIFIER = "models/emotion_classifier.pt"


def cmd_eval(args: argparse.Namespace) -> int:
    """Run ``eval``: write ``OUT.json`` and ``OUT.md`` and print the markdown.

    Raises
    ------
    InvalidInputError
        When --pred or --gt is not given, a folder is missing, holds no clip, or no clip is
        in both.
    """
    if args.pred is None or args.gt is None:
        raise InvalidInputError(
            "eval: give --pred DIR and --gt DIR, or a sub-command (eval disentangle, eval ablation)"
        )
    report = evaluate_dirs(
        args.pred,
        args.gt,
        extractor=args.fid_features,
        classifier=args.classifier,
        landmarks_source=args.landmarks,
    )
    out: Path = args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    markdown = report.to_markdown()
    atomic_write_text(out.with_name(out.name + ".json"), report.to_json() + "\n")
    atomic_write_text(out.with_name(out.name + ".md"), markdown)
    sys.stdout.write(markdown)
    return 0


def add_eval_commands(sub: Any) -> None:
    """Register ``eval`` on the CLI's subparsers object (``parser.add_subparsers()``)."""
    ev = sub.add_parser(
        "eval",
        help="score generated clips against ground truth (M-/F-LD, LVD, SSIM, PSNR, FID, ...)",
        description="Match clips of --pred and --gt by relative path (video and/or .npz "
        "landmarks) and report the paper's metrics as OUT.json and OUT.md. The sub-commands "
        "evaluate the audio disentanglement instead (see `eval disentangle -h`).",
    )
    ev.add_argument("--pred", type=Path, help="folder of generated clips (required)")
    ev.add_argument("--gt", type=Path, help="folder of ground-truth clips (required)")
    ev.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("eval_report"),
        metavar="OUT_PREFIX",
        help="write OUT_PREFIX.json and OUT_PREFIX.md (default: eval_report)",
    )
    ev.add_argument(
        "--fid-features",
        choices=extractor_names(),
        default="dlib-face",
        help="FID feature network (default: dlib-face)",
    )
    bundled = resource_path(BUNDLED_CLASSIFIER)
    ev.add_argument(
        "--classifier",
        type=Path,
        default=bundled if bundled.exists() else None,
        help="saved emotion classifier for the emotion accuracy "
        f"(default: the bundled one trained on the synthetic corpus, {BUNDLED_CLASSIFIER})",
    )
    ev.add_argument(
        "--landmarks",
        choices=("npz", "detect", "auto"),
        default="npz",
        help="landmarks from the clips' .npz files, detected on the videos (dlib 68-point), "
        "or files where present else detected (default: npz)",
    )
    ev.set_defaults(func=cmd_eval)
    verbs = ev.add_subparsers(
        dest="eval_verb", required=False, metavar="{disentangle,ablation,landmarks}"
    )
    add_disentangle_commands(verbs)
    add_landmark_commands(verbs)
