"""Side-output and overlay flags of ``evp-studio render`` (the export dialog's headless twin)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from evp_studio.project import Project

if TYPE_CHECKING:
    from evp_studio.pipeline.render import RenderResult  # imports torch at run time

OVERLAYS = ("landmarks", "timecode")


def add_side_output_arguments(render: argparse.ArgumentParser) -> None:
    """Add --landmarks-out, --guidance-dir, --keyframes-out and --overlay to ``render``."""
    group = render.add_argument_group("side outputs and overlays")
    group.add_argument(
        "--landmarks-out",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="detected and predicted landmarks of the rendered frames; .npz, .csv or .json "
        "(repeat for several formats)",
    )
    group.add_argument(
        "--guidance-dir", type=Path, metavar="DIR", help="guidance maps as a PNG sequence"
    )
    group.add_argument(
        "--keyframes-out", type=Path, metavar="FILE", help="the emotion keyframes as JSON"
    )
    group.add_argument(
        "--overlay",
        choices=OVERLAYS,
        action="append",
        default=[],
        help="burn into the frames: the predicted landmarks, or the timecode (repeatable)",
    )


def render_summary(render: RenderResult) -> str:
    """The line ``evp-studio render`` prints about a finished render (no newline)."""
    return (
        f"rendered {render.frames} frames with the {render.renderer} renderer in "
        f"{render.seconds:.1f} s ({render.fps:.1f} fps); wrote {render.output}"
    )


def wants_export(args: argparse.Namespace) -> bool:
    """True when any side output or overlay flag was given."""
    return bool(args.landmarks_out or args.guidance_dir or args.keyframes_out or args.overlay)


def run_export(project: Project, args: argparse.Namespace) -> int:
    """Render with side outputs and overlays; prints what was written.

    Raises
    ------
    EvpError
        As :func:`evp_studio.pipeline.export.export_project`.
    """
    from evp_studio.cli_data import print_progress, print_warnings  # noqa: PLC0415
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.pipeline.export import Overlays, SideOutputs, export_project  # noqa: PLC0415

    side = SideOutputs(
        landmarks=tuple(args.landmarks_out),
        guidance_dir=args.guidance_dir,
        keyframes=args.keyframes_out,
    )
    overlays = Overlays(landmarks="landmarks" in args.overlay, timecode="timecode" in args.overlay)
    job = export_project(
        project,
        args.output,
        side=side,
        overlays=overlays,
        renderer=args.renderer,
        frame_range=args.range,
        neural_checkpoint=args.neural_checkpoint,
        device=args.device,
    )
    result = run_job(job, on_progress=print_progress)
    print_warnings(result.warnings)
    render = result.render
    assert render is not None
    lines = [render_summary(render), *(f"wrote {path}" for path in result.side_outputs)]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
