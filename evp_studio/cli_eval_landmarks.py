"""``evp-studio eval landmarks``: score an audio-to-landmark model on held-out clips.

Canonical M-/F-LD and LVD of the audio, category and example rows, the paper's Fig. 7
placement comparison (3D-aware vs direct 2D, in the clips' pixels, per yaw bin) and the
emotion accuracy of keyframed predictions (:mod:`evp_studio.eval.landmark_prediction`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any


def _cmd_landmarks(args: argparse.Namespace) -> int:
    from evp_studio.cli_data import print_progress  # noqa: PLC0415 - keeps start-up light
    from evp_studio.eval.landmark_prediction import (  # noqa: PLC0415 - imports torch
        evaluate_landmark_prediction,
    )
    from evp_studio.fileio import atomic_write_text  # noqa: PLC0415
    from evp_studio.jobs import run_job  # noqa: PLC0415

    report = run_job(
        evaluate_landmark_prediction(
            args.model,
            args.data,
            split=args.split,
            device=args.device,
            placement=not args.no_placement,
            classifier=args.classifier,
            emotion=not args.no_emotion,
            max_clips=args.max_clips,
            seed=args.seed,
        ),
        on_progress=print_progress,
    )
    text = report.format() + "\n"
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.output, json.dumps(dataclasses.asdict(report), indent=1) + "\n")
    sys.stdout.write(text)
    return 0


def add_landmark_commands(verbs: Any) -> None:
    """Register ``landmarks`` under ``eval`` (its ``add_subparsers()``)."""
    lp = verbs.add_parser(
        "landmarks",
        help="M-/F-LD, LVD, 3D vs 2D placement and emotion accuracy of an audio-to-landmark model",
        description="Predict the held-out clips of a corpus with ground-truth landmarks and "
        "score them: canonical metrics per emotion input, the 3D-aware vs direct 2D placement "
        "in the clips' pixels (paper Fig. 7) and the emotion accuracy of keyframed predictions.",
    )
    lp.add_argument("--data", type=Path, required=True, help="MEAD-layout corpus with landmarks")
    lp.add_argument(
        "--model", type=Path, help="model file (.pt; default: the registered landmark weights)"
    )
    lp.add_argument(
        "--split",
        choices=("paper", "all"),
        default="paper",
        help="the paper split's test sentences 001-009, or all clips (default: paper)",
    )
    lp.add_argument("--max-clips", type=int, help="score a random subset of this many clips")
    lp.add_argument("--seed", type=int, default=0, help="seeds the subset (default: 0)")
    lp.add_argument("--classifier", type=Path, help="emotion classifier (default: the bundled one)")
    lp.add_argument("--no-placement", action="store_true", help="skip the 3D/2D placement")
    lp.add_argument("--no-emotion", action="store_true", help="skip the emotion accuracy")
    lp.add_argument("-o", "--output", type=Path, help="also write the report as JSON here")
    lp.add_argument("--device", default="cpu", help="cpu or cuda")
    lp.set_defaults(func=_cmd_landmarks)
