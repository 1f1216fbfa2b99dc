"""Headless command line: ``evp-studio VERB ...``.

Every failure the user can fix (bad file, bad value) prints one line naming the file and
the problem and exits with status 2; unexpected failures exit 1 with a traceback in the log.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from evp_studio import __version__
from evp_studio.errors import EvpError
from evp_studio.logs import setup_logging

log = logging.getLogger(__name__)

EXIT_USAGE = 2


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _intensity(text: str) -> float:
    """Parse "0.75" or "75%" into [0, 1]."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"intensity must be a number or a percentage, got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"intensity must be in [0, 1] or 0%..100%, got {text!r}")
    return value


def _cmd_info(args: argparse.Namespace) -> int:
    from evp_studio.cli_info import describe_media  # noqa: PLC0415 - keeps start-up light
    from evp_studio.media import probe  # noqa: PLC0415

    info = probe(args.file)
    _out(json.dumps(info.to_dict(), indent=2) if args.json else describe_media(info))
    return 0


def _cmd_encode(args: argparse.Namespace) -> int:
    from evp_studio.cli_data import print_warnings  # noqa: PLC0415
    from evp_studio.media import load_audio  # noqa: PLC0415
    from evp_studio.pipeline.encode import SpeechEncoder  # noqa: PLC0415 - imports torch

    audio = load_audio(args.audio, sample_rate=16000)  # bad input fails before model loading
    encoder = SpeechEncoder.load(args.checkpoint, device=args.device)
    codes = encoder.encode(audio, 16000, name=str(args.audio))
    print_warnings(codes.warnings)
    codes.save_npz(args.output)
    emotion, p = codes.dominant_emotion()
    _out(
        f"{codes.n_frames} frames ({codes.n_frames / 25:.2f} s at 25 fps): content "
        f"{codes.content.shape[1]}-d, emotion {codes.emotion.shape[1]}-d; mostly {emotion} "
        f"(mean p {p:.2f}); wrote {args.output}"
    )
    return 0


def _frame_range(text: str) -> tuple[int | None, int | None]:
    """Parse ``a:b`` (either side may be empty) into a half-open frame range."""
    left, sep, right = text.partition(":")
    try:
        bounds = (int(left) if left else None, int(right) if right else None)
    except ValueError:
        bounds = None
    if not sep or bounds is None:
        raise argparse.ArgumentTypeError(f"range {text!r} is not START:STOP in frames")
    return bounds


def _cmd_render(args: argparse.Namespace) -> int:
    from evp_studio.cli_data import print_progress, print_warnings  # noqa: PLC0415
    from evp_studio.cli_export import render_summary, run_export, wants_export  # noqa: PLC0415
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.pipeline.render import render_project  # noqa: PLC0415 - imports torch
    from evp_studio.project import load_project  # noqa: PLC0415

    project = load_project(args.project)
    if wants_export(args):
        return run_export(project, args)
    job = render_project(
        project,
        args.output,
        renderer=args.renderer,
        frame_range=args.range,
        neural_checkpoint=args.neural_checkpoint,
        device=args.device,
    )
    result = run_job(job, on_progress=print_progress)
    print_warnings(result.warnings)
    _out(render_summary(result))
    return 0


def _cmd_self_test(args: argparse.Namespace) -> int:
    from evp_studio.selftest import report, run_self_test  # noqa: PLC0415

    return report(run_self_test(), sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``evp-studio`` (also used to document the CLI)."""
    from evp_studio.cli_data import add_data_commands  # noqa: PLC0415
    from evp_studio.cli_eval import add_eval_commands  # noqa: PLC0415
    from evp_studio.cli_export import add_side_output_arguments  # noqa: PLC0415
    from evp_studio.cli_landmarks import add_landmarks_command  # noqa: PLC0415
    from evp_studio.cli_models import add_models_commands  # noqa: PLC0415
    from evp_studio.cli_project import add_project_commands  # noqa: PLC0415
    from evp_studio.cli_train import add_train_commands  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="evp-studio", description="EVP Studio, headless.")
    parser.add_argument("--version", action="version", version=f"EVP Studio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = sub.add_parser("info", help="describe a media file (streams, rate, frames, duration)")
    info.add_argument("file", type=Path)
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=_cmd_info)

    enc = sub.add_parser(
        "encode", help="speech -> content and emotion codes per 25 fps frame (.npz)"
    )
    enc.add_argument("audio", type=Path, help="speech (wav, mp3, m4a, flac, or a video's track)")
    enc.add_argument("-o", "--output", type=Path, required=True, help="codes file (.npz)")
    enc.add_argument("--checkpoint", type=Path, help="model file (default: bundled weights)")
    enc.add_argument("--device", default="cpu", help="cpu or cuda")
    enc.set_defaults(func=_cmd_encode)

    add_project_commands(sub, intensity_type=_intensity)
    add_data_commands(sub)
    add_eval_commands(sub)
    add_train_commands(sub)
    add_models_commands(sub)
    add_landmarks_command(sub)

    render = sub.add_parser("render", help="render a project to a video file (H.264 + AAC)")
    render.add_argument("project", type=Path)
    render.add_argument("-o", "--output", type=Path, required=True, help=".mp4 or .mov")
    render.add_argument(
        "--renderer", choices=("warp", "neural"), help="default: the project's setting"
    )
    render.add_argument(
        "--range", type=_frame_range, help="output frames START:STOP (half open, e.g. 0:100)"
    )
    render.add_argument(
        "--neural-checkpoint",
        type=Path,
        help="renderer trained on this target (evp-studio train renderer: its checkpoint.pt "
        "or the file --export wrote), for --renderer neural",
    )
    render.add_argument("--device", default="cpu", help="cpu or cuda (neural renderer)")
    add_side_output_arguments(render)
    render.set_defaults(func=_cmd_render)

    check = sub.add_parser(
        "self-test", help="check the installation: the demo project through both renderers"
    )
    check.set_defaults(func=_cmd_self_test)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(logging.INFO if args.verbose else logging.WARNING, console=args.verbose)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (EvpError, OSError) as exc:
        # Cancelled, bad input, a missing model, a full disk: one line, no traceback.
        from evp_studio.cli_data import end_progress_line  # noqa: PLC0415

        end_progress_line()
        sys.stderr.write(f"evp-studio: error: {exc}\n")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
