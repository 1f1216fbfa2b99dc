"""``evp-studio project new|show|add-key``: create and inspect projects headless."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from evp_studio.errors import InvalidInputError
from evp_studio.project import EMOTIONS, Document, Easing, MediaStatus, project_to_dict
from evp_studio.timecode import format_timecode


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _cmd_new(args: argparse.Namespace) -> int:
    from evp_studio.media import load_audio, probe  # noqa: PLC0415 - only this verb decodes media

    if args.project.exists() and not args.force:
        raise InvalidInputError(f"{args.project}: already exists (use --force to replace it)")
    doc = Document.new(name=args.name or args.project.stem)
    if args.video is not None:
        info = probe(args.video)
        if info.video is None:
            raise InvalidInputError(f"{args.video}: has no video stream to use as the target")
        w, h = info.video.display_size
        doc.set_target(
            path=args.video.resolve(),
            frame_rate=info.video.frame_rate,
            frame_count=info.video.frame_count,
            width=w,
            height=h,
        )
    if args.speech is not None:
        info = probe(args.speech)
        if not info.has_audio:
            raise InvalidInputError(f"{args.speech}: has no audio stream to use as speech")
        load_audio(args.speech, duration_s=0.1)  # MediaError when the track has no samples
        doc.set_speech(path=args.speech.resolve(), offset_frames=args.offset)
    doc.save(args.project)
    _out(f"created {args.project}")
    return 0


def describe_project(doc: Document) -> str:
    """A readable summary: media with their status, emotion source, keyframes."""
    p = doc.project
    lines = [f"project:  {p.name}  ({doc.path})"]
    for role, label in (
        ("target", "target:  "),
        ("speech", "speech:  "),
        ("reference", "reference:"),
    ):
        path = doc.media_path(role)
        status = doc.media_status.get(role)
        flag = "" if status in (None, MediaStatus.OK) else f"  [{status.upper()}]"
        lines.append(f"{label} {path if path is not None else '-'}{flag}")
    if p.target is not None:
        t = p.target
        lines.append(f"video:    {t.width}x{t.height}, {t.frame_rate} fps, {t.frame_count} frames")
    if p.speech is not None and p.speech.offset_frames:
        lines.append(f"offset:   speech starts at frame {p.speech.offset_frames}")
    lines.append(f"emotion:  from {p.emotion_source}, {len(p.emotion.keys)} keyframe(s)")
    rate = p.target.frame_rate if p.target is not None else None
    for key in p.emotion.keys:
        tc = f"{format_timecode(key.frame, rate)}  " if rate is not None else ""
        lines.append(
            f"  {tc}frame {key.frame:>6}  {key.emotion:<10} {key.intensity:>4.0%}  {key.easing}"
        )
    return "\n".join(lines)


def _cmd_show(args: argparse.Namespace) -> int:
    doc = Document.open(args.project)
    if args.json:
        data = project_to_dict(doc.project, args.project.resolve().parent)
        data["media_status"] = {str(k): str(v) for k, v in doc.media_status.items()}
        _out(json.dumps(data, indent=2))
    else:
        _out(describe_project(doc))
    return 0


def _cmd_add_key(args: argparse.Namespace) -> int:
    doc = Document.open(args.project)
    target = doc.project.target
    if target is not None and args.frame >= target.frame_count:
        raise InvalidInputError(
            f"{args.project}: frame {args.frame} is past the end of the target video "
            f"({target.frame_count} frames, last is {target.frame_count - 1})"
        )
    try:
        key = doc.add_keyframe(
            frame=args.frame,
            emotion=args.emotion,
            intensity=args.intensity,
            easing=Easing(args.easing),
        )
    except InvalidInputError as exc:
        raise InvalidInputError(f"{args.project}: {exc}") from exc
    doc.save()
    _out(
        f"{args.project}: key at frame {key.frame}: {key.emotion} {key.intensity:.0%} {key.easing}"
    )
    return 0


def add_project_commands(
    sub: argparse._SubParsersAction,
    *,
    intensity_type: Callable[[str], float],  # type: ignore[type-arg]
) -> None:
    """Register ``project new|show|add-key`` on the CLI's sub-command parser."""
    project = sub.add_parser("project", help="create and inspect projects")
    verbs = project.add_subparsers(dest="verb", required=True, metavar="VERB")

    new = verbs.add_parser("new", help="create a project file")
    new.add_argument("project", type=Path, help="the .evp file to write")
    new.add_argument("--video", type=Path, help="target video")
    new.add_argument("--speech", type=Path, help="speech track (any audio or video file)")
    new.add_argument("--offset", type=int, default=0, help="speech start, in target frames")
    new.add_argument("--name", help="project name (default: the file name)")
    new.add_argument("--force", action="store_true", help="replace an existing file")
    new.set_defaults(func=_cmd_new)

    show = verbs.add_parser("show", help="describe a project")
    show.add_argument("project", type=Path)
    show.add_argument("--json", action="store_true", help="the project as JSON, plus media status")
    show.set_defaults(func=_cmd_show)

    add = verbs.add_parser("add-key", help="add (or replace) an emotion keyframe")
    add.add_argument("project", type=Path)
    add.add_argument("--frame", type=int, required=True, help="target-video frame index")
    add.add_argument("--emotion", required=True, choices=EMOTIONS)
    add.add_argument("--intensity", type=intensity_type, default=1.0, help="0..1 or a percentage")
    add.add_argument("--easing", default=Easing.LINEAR.value, choices=[e.value for e in Easing])
    add.set_defaults(func=_cmd_add_key)
