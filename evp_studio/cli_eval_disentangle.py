"""``evp-studio eval disentangle`` and ``eval ablation``: the paper's section 3.2 evaluation.

``eval disentangle`` scores one disentanglement model (and optionally a second one to
compare, as in paper Fig. 5) on held-out clips and writes ``report.json``, ``report.md``
and ``embedding.png``; ``eval ablation`` trains the full model and one without each loss
term and writes the table (:func:`evp_studio.eval.disentangle.run_ablation`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "disentangle-small"


def _label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _default_checkpoint() -> Path:
    from evp_studio.weights import resolve  # noqa: PLC0415

    return resolve(DEFAULT_MODEL)


def _cmd_disentangle(args: argparse.Namespace) -> int:
    from evp_studio.cli_data import print_progress  # noqa: PLC0415 - keeps start-up light
    from evp_studio.data.cache import FeatureCache  # noqa: PLC0415
    from evp_studio.eval.disentangle import (  # noqa: PLC0415 - imports torch
        embedding_plot,
        evaluate_disentangle_job,
        held_out_clips,
    )
    from evp_studio.fileio import atomic_write_text  # noqa: PLC0415
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.models.io import load_disentangle  # noqa: PLC0415
    from evp_studio.paths import cache_dir  # noqa: PLC0415

    clips = held_out_clips(args.data, args.split)
    checkpoint: Path = args.checkpoint or _default_checkpoint()
    models = [(args.label or _label(checkpoint), checkpoint)]
    if args.compare is not None:
        models.append((args.compare_label or _label(args.compare), args.compare))
    loaded = [(label, path, load_disentangle(path)) for label, path in models]  # fail early
    cache = FeatureCache(cache_dir() / "features")
    reports = []
    for label, path, model in loaded:
        job = evaluate_disentangle_job(
            model.model, args.data, clips, cache=cache, device=args.device, seed=args.seed
        )
        reports.append((label, path, run_job(job, on_progress=print_progress)))
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "data": str(args.data),
        "split": args.split,
        "models": [
            {"label": label, "checkpoint": str(path), **report.to_dict()}
            for label, path, report in reports
        ],
    }
    atomic_write_text(out / "report.json", json.dumps(data, indent=2) + "\n")
    sections = [report.to_markdown(title=label) for label, _, report in reports]
    header = f"# Emotion disentanglement (EVP sec. 3.2): {args.data}, split {args.split}\n\n"
    atomic_write_text(out / "report.md", header + "\n".join(sections))
    panels = [(label, r.sample_codes, r.sample_labels) for label, _, r in reports]
    embedding_plot(panels, out / "embedding.png", seed=args.seed)
    for label, _, r in reports:
        sys.stdout.write(
            f"{label}: emotion accuracy {100 * r.window_accuracy:.1f} % of windows, "
            f"{100 * r.clip_accuracy:.1f} % of clips ({r.n_clips}); content ratio "
            f"{r.content_ratio:.3f}, emotion ratio {r.emotion_ratio:.3f} (lower is better)\n"
        )
    sys.stdout.write(f"wrote {out / 'report.md'}, report.json and embedding.png\n")
    return 0


def _cmd_ablation(args: argparse.Namespace) -> int:
    from evp_studio.cli_data import print_progress  # noqa: PLC0415
    from evp_studio.eval.disentangle import run_ablation  # noqa: PLC0415 - imports torch
    from evp_studio.jobs import run_job  # noqa: PLC0415

    job = run_ablation(
        args.data,
        args.output,
        steps=args.steps,
        pretrain_steps=args.pretrain_steps,
        seed=args.seed,
        size=args.size,
        terms=args.terms,
        device=args.device,
    )
    table = run_job(job, on_progress=print_progress)
    sys.stdout.write(table.to_markdown())
    sys.stdout.write(f"wrote {args.output / 'ablation.md'}, ablation.csv and embedding.png\n")
    return 0


def add_disentangle_commands(verbs: Any) -> None:
    """Register ``disentangle`` and ``ablation`` under ``eval`` (its ``add_subparsers()``)."""
    dis = verbs.add_parser(
        "disentangle",
        help="emotion accuracy, code invariance and Fig. 5 plot of a disentanglement model",
        description="Score a disentanglement model on held-out clips (paper sec. 3.2): "
        "accuracy of Ce(Ee(.)), invariance of the content and emotion codes on DTW-aligned "
        "clips, and a PCA plot of the emotion codes. Writes OUT/report.json, report.md and "
        "embedding.png.",
    )
    dis.add_argument("--data", type=Path, required=True, help="MEAD-layout corpus")
    dis.add_argument(
        "--checkpoint",
        type=Path,
        help=f"model file (.pt; default: the registered {DEFAULT_MODEL!r} weights)",
    )
    dis.add_argument("--label", help="name of the model in the report (default: file name)")
    dis.add_argument("--compare", type=Path, help="a second model file, plotted beside")
    dis.add_argument("--compare-label", help="name of the second model (default: file name)")
    dis.add_argument(
        "--split",
        choices=("paper", "all"),
        default="paper",
        help="clips of the paper split's test sentences 001-009, or all clips (default: paper)",
    )
    dis.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    dis.add_argument("--seed", type=int, default=0, help="seeds the plotted code sample")
    dis.add_argument("--device", default="cpu", help="cpu or cuda")
    dis.set_defaults(func=_cmd_disentangle)

    abl = verbs.add_parser(
        "ablation",
        help="train without each loss term and score every model (paper Table 2, Fig. 5)",
        description="Train the full model and one without each of L_cross, L_self, L_cla, "
        "L_con on the paper split's train sentences, score them on its test sentences and "
        "write OUT/ablation.md, ablation.csv and embedding.png. Finished runs are reused.",
    )
    abl.add_argument("--data", type=Path, required=True, help="MEAD-layout corpus")
    abl.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    abl.add_argument("--steps", type=int, required=True, help="training steps per model")
    abl.add_argument(
        "--pretrain-steps",
        type=int,
        default=0,
        help="encoder pretraining batches before each run (default 0: loss terms alone)",
    )
    abl.add_argument("--seed", type=int, default=0)
    abl.add_argument("--size", choices=("small", "paper"), default="small")
    abl.add_argument(
        "--terms",
        nargs="+",
        choices=("cross", "self", "cla", "con"),
        default=["cross", "self", "cla", "con"],
        help="loss terms to leave out one at a time (default: all four)",
    )
    abl.add_argument("--device", default="cpu", help="cpu or cuda")
    abl.set_defaults(func=_cmd_ablation)
