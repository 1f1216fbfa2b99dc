"""``evp-studio landmarks VIDEO -o tracks.npz``: track the face of a clip, write its landmarks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _point(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a point is X,Y in pixels, got {text!r}") from None
    return x, y


def _cmd_landmarks(args: argparse.Namespace) -> int:
    from evp_studio.cli_data import print_progress  # noqa: PLC0415
    from evp_studio.jobs import run_job  # noqa: PLC0415
    from evp_studio.landmarks import TrackerSettings, track_landmarks  # noqa: PLC0415

    settings = TrackerSettings(
        backend=args.backend,
        fan_model=args.fan_model,
        fan_detector=args.fan_detector,
        device=args.device,
        min_face_px=args.min_face,
        select_point=args.select,
        max_gap_frames=args.max_gap,
        smooth=not args.no_smooth,
        **({"min_cutoff": args.min_cutoff} if args.min_cutoff is not None else {}),
        **({"beta": args.beta} if args.beta is not None else {}),
    )
    job = track_landmarks(args.video, settings=settings, use_cache=not args.no_cache)
    track = run_job(job, on_progress=print_progress if args.verbose else None)
    for warning in track.warnings:
        sys.stderr.write(f"evp-studio: warning: {warning}\n")
    track.save_npz(args.output)
    sys.stdout.write(
        f"{track.n_frames} frames, face found in {track.detection_rate:.1%} "
        f"({track.backend}); wrote {args.output}\n"
    )
    return 0


def add_landmarks_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``landmarks`` on the CLI's sub-command parser."""
    p = sub.add_parser(
        "landmarks",
        help="track the face of a clip: 68 landmarks, confidence, lost frames, pose (.npz)",
        description="Writes landmarks (T, 68, 2) px, confidence (T,), lost (T,), pose (T, 6: "
        "yaw, pitch, roll deg, tx, ty px, scale px/mm), timestamps (T,) s, landmarks_raw, "
        "landmarks_norm and frame_size. Detections are cached per clip and settings.",
    )
    p.add_argument("video", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="landmark file (.npz)")
    p.add_argument("--backend", choices=("dlib", "fan"), default="dlib")
    p.add_argument("--fan-model", choices=("2d", "3d"), default="2d")
    p.add_argument("--fan-detector", choices=("sfd", "dlib"), default="sfd")
    p.add_argument("--device", default="cpu", help="cpu or cuda (fan only)")
    p.add_argument("--min-face", type=int, default=40, help="smallest face tracked, px")
    p.add_argument("--select", type=_point, help="X,Y px: track the face nearest this point")
    p.add_argument("--max-gap", type=int, default=12, help="longest gap interpolated, frames")
    p.add_argument("--no-smooth", action="store_true", help="no One-Euro smoothing")
    p.add_argument("--min-cutoff", type=float, help="One-Euro minimum cutoff, Hz")
    p.add_argument("--beta", type=float, help="One-Euro speed coefficient")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.set_defaults(func=_cmd_landmarks)
