"""``evp-studio data synth``: generate the synthetic MEAD-layout corpus."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evp_studio.jobs import Progress, run_job

log = logging.getLogger(__name__)


def _levels(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"levels must look like 1,2,3, got {text!r}") from None


_open_line: list[str] = []  # the stage whose progress line is unfinished


def print_progress(p: Progress) -> None:
    """Show a job's progress on stderr: one line per stage, rewritten in place."""
    if _open_line and _open_line[0] != p.stage:
        sys.stderr.write("\n")
        _open_line.clear()
    if p.total and (p.done == p.total or p.done % max(1, p.total // 20) == 0):
        sys.stderr.write(f"\r{p.stage}: {p.done}/{p.total}")
        _open_line[:] = [p.stage]
        if p.done == p.total:
            sys.stderr.write("\n")
            _open_line.clear()


def print_warnings(warnings: Iterable[str]) -> None:
    """Show a job's warnings on stderr, one ``evp-studio: warning:`` line each."""
    for warning in warnings:
        sys.stderr.write(f"evp-studio: warning: {warning}\n")


def end_progress_line() -> None:
    """Finish a progress line left open (before an error message is printed)."""
    if _open_line:
        sys.stderr.write("\n")
        _open_line.clear()


def print_trained(result: Any) -> None:
    """One line on stdout about a finished training run (epochs, steps, losses, file)."""
    losses = ", ".join(f"{k} {v:.3g}" for k, v in result.last_losses.items())
    sys.stdout.write(
        f"trained {result.epochs} epochs ({result.steps} steps); last epoch: {losses}; "
        f"checkpoint {result.checkpoint}\n"
    )


def _cmd_synth(args: argparse.Namespace) -> int:
    from evp_studio.data.synth import PRESETS, synth_corpus, with_overrides  # noqa: PLC0415

    config = with_overrides(
        PRESETS[args.preset],
        actors=args.actors,
        sentences=args.sentences,
        seed=args.seed,
        size=args.size,
        levels=args.levels,
        video=False if args.no_video else None,
    )
    summary = run_job(synth_corpus(args.out, config, jobs=args.jobs), on_progress=print_progress)
    sys.stdout.write(
        f"wrote {summary.clips} clips ({summary.frames} frames, {summary.seconds_of_speech:.0f} s "
        f"of speech) for {len(summary.actors)} actors to {summary.root} "
        f"in {summary.build_s:.1f} s\n"
    )
    return 0


def add_data_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``data synth`` on the CLI's sub-command parser."""
    data = sub.add_parser("data", help="training and evaluation data")
    verbs = data.add_subparsers(dest="verb", required=True, metavar="VERB")
    synth = verbs.add_parser(
        "synth", help="generate a synthetic MEAD-layout corpus (espeak-ng speech, rendered faces)"
    )
    synth.add_argument("--out", type=Path, required=True, help="empty folder to write into")
    synth.add_argument("--preset", choices=("tiny", "train"), default="tiny")
    synth.add_argument("--actors", type=int, help="number of actors (preset's by default)")
    synth.add_argument("--sentences", type=int, help="sentences per emotion and level")
    synth.add_argument("--seed", type=int, help="corpus seed (default 0)")
    synth.add_argument("--size", type=int, help="frame size in px (even)")
    synth.add_argument("--levels", type=_levels, help="intensity levels, e.g. 1,2,3")
    synth.add_argument("--no-video", action="store_true", help="audio and ground truth only")
    synth.add_argument("--jobs", type=int, default=1, help="worker processes")
    synth.set_defaults(func=_cmd_synth)
