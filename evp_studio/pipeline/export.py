"""Export a project: the rendered video (with optional burned-in overlays) and side outputs.

Public API::

    export_project(project, output, *, side=SideOutputs(), overlays=Overlays(), renderer=,
                   frame_range=, export=, neural_checkpoint=, device=, cancel=)
        -> Job[ExportResult]
    plan_export(project, output, *, side=, export=, size=, frame_range=, speech_seconds=)
        -> list[PlannedOutput]                       # for check_outputs
    make_overlay(overlays, *, frame_rate, landmarks=None) -> overlay(i, frame) | None

The side outputs that need landmarks (tracks, guidance maps, the landmark overlay) track the
target (cached per video) and predict the project's landmarks once before the render;
``render_project`` then finds the track in the cache. Importing this module does not import
torch or dlib: the stages that need them are imported when the job runs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job
from evp_studio.media import ExportConfig
from evp_studio.pipeline.export_checks import (
    PlannedOutput,
    check_outputs,
    estimate_guidance_bytes,
    estimate_video_bytes,
)
from evp_studio.pipeline.side_outputs import (
    LANDMARK_FORMATS,
    landmark_tracks,
    write_guidance_maps,
    write_keyframes,
    write_landmark_tracks,
)
from evp_studio.project import Project
from evp_studio.timecode import format_timecode

if TYPE_CHECKING:
    from evp_studio.pipeline.landmarks import ProjectLandmarks
    from evp_studio.pipeline.render import RenderResult

__all__ = [
    "ExportResult",
    "Overlays",
    "SideOutputs",
    "burn_timecode",
    "export_project",
    "make_overlay",
    "output_frame_count",
    "plan_export",
]

log = logging.getLogger(__name__)

Overlay = Callable[[int, np.ndarray], np.ndarray]
LANDMARK_OVERLAY_RGB = (255, 64, 220)  # the preview's "predicted" colour


@dataclass(frozen=True)
class SideOutputs:
    """Files an export writes beside the video.

    Parameters
    ----------
    landmarks
        Landmark-track files; each suffix (.npz, .csv, .json) picks its format.
    guidance_dir
        Folder for the guidance maps as a PNG sequence, or None.
    keyframes
        JSON file for the project's emotion keyframes, or None.

    Raises
    ------
    InvalidInputError
        When a landmark file has another suffix.
    """

    landmarks: tuple[Path, ...] = ()
    guidance_dir: Path | None = None
    keyframes: Path | None = None

    def __post_init__(self) -> None:
        paths = tuple(Path(p) for p in self.landmarks)
        for path in paths:
            if path.suffix.lower() not in LANDMARK_FORMATS:
                raise InvalidInputError(
                    f"{path}: landmark tracks are written as {', '.join(LANDMARK_FORMATS)}"
                )
        object.__setattr__(self, "landmarks", paths)

    @property
    def needs_landmarks(self) -> bool:
        """True when an output needs the tracked and predicted landmarks."""
        return bool(self.landmarks) or self.guidance_dir is not None

    @property
    def any(self) -> bool:
        """True when any side output is asked for."""
        return self.needs_landmarks or self.keyframes is not None


@dataclass(frozen=True)
class Overlays:
    """What is burned into the exported frames."""

    landmarks: bool = False  # the predicted, aligned landmarks that drive the render
    timecode: bool = False  # the output frame's SMPTE timecode, bottom left

    @property
    def any(self) -> bool:
        """True when anything is burned in."""
        return self.landmarks or self.timecode


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_project` wrote."""

    render: RenderResult | None  # None when only side outputs were asked for
    side_outputs: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def burn_timecode(frame: np.ndarray, text: str) -> np.ndarray:
    """Return a copy of ``frame`` with ``text`` in white on a dark box at the bottom left.

    The text height follows the frame height (about 1/24 of it, at least 8 px).
    """
    out = np.array(frame, dtype=np.uint8, copy=True)
    h = out.shape[0]
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.3, h / 24 / 22)  # FONT_HERSHEY_SIMPLEX is ~22 px tall at scale 1
    thick = max(1, round(scale * 1.5))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    pad = max(2, th // 3)
    x, y = pad * 2, h - pad * 2 - base
    cv2.rectangle(out, (x - pad, y - th - pad), (x + tw + pad, y + base + pad), (0, 0, 0), -1)
    cv2.putText(out, text, (x, y), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def make_overlay(
    overlays: Overlays, *, frame_rate: Fraction, landmarks: np.ndarray | None = None
) -> Overlay | None:
    """Build the per-frame overlay ``render_project`` applies, or None when nothing is on.

    Parameters
    ----------
    overlays
        What to draw.
    frame_rate
        The target's exact rate, for the timecode.
    landmarks
        ``(N, 68, 2)`` px predicted landmarks of the output frames (for ``overlays.landmarks``).

    Raises
    ------
    InvalidInputError
        When the landmark overlay is asked for without landmarks.
    """
    if not overlays.any:
        return None
    if overlays.landmarks and landmarks is None:
        raise InvalidInputError("the landmark overlay needs the predicted landmarks")
    from evp_studio.pipeline.preview import draw_landmarks  # noqa: PLC0415 - loads dlib

    def overlay(index: int, frame: np.ndarray) -> np.ndarray:
        if overlays.landmarks and landmarks is not None:
            thick = max(1, round(min(frame.shape[:2]) / 256))
            frame = draw_landmarks(frame, landmarks[index], LANDMARK_OVERLAY_RGB, thickness=thick)
        if overlays.timecode:
            frame = burn_timecode(frame, format_timecode(index, frame_rate))
        return frame

    return overlay


def output_frame_count(project: Project, speech_seconds: float | None = None) -> int:
    """Frames a render of the whole project has: the target's, or more when speech is longer.

    Raises
    ------
    InvalidInputError
        When the project has no target video.
    """
    if project.target is None:
        raise InvalidInputError(f"project {project.name!r} has no target video")
    n = project.target.frame_count
    if speech_seconds is not None and project.speech is not None:
        offset = project.speech.offset_frames
        n = max(n, math.ceil(speech_seconds * float(project.target.frame_rate)) + offset)
    return n


def _range_length(n: int, frame_range: tuple[int | None, int | None] | None) -> int:
    start, stop = frame_range or (None, None)
    return max(1, min(n, stop if stop is not None else n) - (start or 0))


def plan_export(
    project: Project,
    output: Path | None,
    *,
    side: SideOutputs = SideOutputs(),  # noqa: B008 - frozen, so sharing is safe
    export: ExportConfig | None = None,
    size: tuple[int, int] | None = None,
    frame_range: tuple[int | None, int | None] | None = None,
    speech_seconds: float | None = None,
) -> list[PlannedOutput]:
    """List the outputs of an export with their estimated sizes (for :func:`check_outputs`).

    Parameters
    ----------
    project
        With a target video.
    output
        The video file, or None for side outputs only.
    side
        The side outputs.
    export
        Encoding (default: H.264 with the project's CRF).
    size
        Output ``(width, height)``; None: the target's.
    frame_range
        Half-open range of output frames; None: the project's in/out points.
    speech_seconds
        Length of the speech, when known (a longer speech makes more frames).

    Raises
    ------
    InvalidInputError
        When the project has no target video.
    """
    n = output_frame_count(project, speech_seconds)
    assert project.target is not None
    frames = _range_length(n, frame_range or (project.render.in_frame, project.render.out_frame))
    width, height = size or (project.target.width, project.target.height)
    config = export or ExportConfig(crf=project.render.crf, preset=project.render.preset)
    planned = []
    if output is not None:
        rate = project.target.frame_rate
        video = estimate_video_bytes(
            frames=frames, width=width, height=height, frame_rate=rate, export=config
        )
        planned.append(PlannedOutput(Path(output), video))
    per_frame = 68 * 2 * 2 * 12  # two (68, 2) tracks as text, the largest format
    planned += [PlannedOutput(p, frames * per_frame) for p in side.landmarks]
    if side.guidance_dir is not None:
        t = project.target
        guide = estimate_guidance_bytes(frames=frames, width=t.width, height=t.height)
        planned.append(PlannedOutput(side.guidance_dir, guide, folder=True))
    if side.keyframes is not None:
        planned.append(PlannedOutput(side.keyframes, 4096 + 256 * len(project.emotion)))
    return planned


def export_project(
    project: Project,
    output: str | Path | None,
    *,
    side: SideOutputs = SideOutputs(),  # noqa: B008 - frozen, so sharing is safe
    overlays: Overlays = Overlays(),  # noqa: B008
    renderer: str | None = None,
    frame_range: tuple[int | None, int | None] | None = None,
    export: ExportConfig | None = None,
    predictor_path: str | Path | None = None,
    neural_checkpoint: str | Path | None = None,
    device: str = "cpu",
    cancel: CancelToken | None = None,
) -> Job[ExportResult]:
    """Write the side outputs, then render the video with its overlays (a Job).

    Parameters
    ----------
    project
        With a target video and a speech track (absolute media paths, as loaded); a
        keyframes-only export needs neither.
    output
        The video file, or None to write the side outputs only.
    side, overlays
        What else to write, and what to burn into the frames.
    renderer, frame_range, export, predictor_path, neural_checkpoint, device
        As :func:`evp_studio.pipeline.render.render_project`; the side outputs cover the
        same frame range.
    cancel
        Checked at every stage and frame.

    Returns
    -------
    Job[ExportResult]

    Raises
    ------
    ExportError
        When an output folder is missing or read-only, the disk is too full for the
        estimate, or a file cannot be written (nothing half-written is left).
    InvalidInputError
        When the project lacks media the outputs need, or the range is empty.
    """
    output = Path(output) if output is not None else None
    needs_media = output is not None or side.needs_landmarks or overlays.landmarks
    if needs_media and (project.target is None or project.speech is None):
        raise InvalidInputError(
            f"project {project.name!r} needs a target video and a speech track to export"
        )
    if project.target is not None:
        planned = plan_export(project, output, side=side, export=export, frame_range=frame_range)
        check_outputs(planned).raise_for_problems()
    written: list[Path] = []
    warnings: list[str] = []
    if side.keyframes is not None:
        written.append(write_keyframes(side.keyframes, project))
    placed: ProjectLandmarks | None = None
    if side.needs_landmarks or overlays.landmarks:
        placed, paths, warned = yield from _landmark_outputs(project, side, frame_range, cancel)
        written += paths
        warnings += warned
    result = None
    if output is not None:
        from evp_studio.pipeline.render import render_project  # noqa: PLC0415 - imports torch

        assert project.target is not None
        overlay = make_overlay(
            overlays,
            frame_rate=project.target.frame_rate,
            landmarks=None if placed is None else placed.landmarks,
        )
        result = yield from render_project(
            project,
            output,
            renderer=renderer,
            frame_range=frame_range,
            export=export,
            predictor_path=predictor_path,
            neural_checkpoint=neural_checkpoint,
            device=device,
            cancel=cancel,
            overlay=overlay,
            placed=placed,
        )
        warnings += [w for w in result.warnings if w not in warnings]
    return ExportResult(result, tuple(written), tuple(warnings))


def _landmark_outputs(
    project: Project,
    side: SideOutputs,
    frame_range: tuple[int | None, int | None] | None,
    cancel: CancelToken | None,
) -> Job[tuple[ProjectLandmarks, Sequence[Path], list[str]]]:
    """Track and predict once; write the landmark tracks and guidance maps of the range.

    Returns the placed landmarks too, so that the render uses them instead of predicting
    them again.
    """
    from evp_studio.landmarks import track_landmarks  # noqa: PLC0415 - loads dlib
    from evp_studio.media import VideoReader  # noqa: PLC0415
    from evp_studio.pipeline.render import _frame_range, project_landmarks  # noqa: PLC0415

    assert project.target is not None
    video = project.target.media.resolve()
    target = yield from track_landmarks(video, cancel=cancel)
    written: list[Path] = []
    with VideoReader(video) as reader:
        fps = float(reader.info.frame_rate)
        placed = yield from project_landmarks(project, target, fps, cancel=cancel)
        default = (project.render.in_frame, project.render.out_frame)
        a, b = _frame_range(placed.landmarks.shape[0], frame_range or default)
        if side.landmarks:
            tracks = landmark_tracks(
                target, placed, start=a, stop=b, frame_rate=project.target.frame_rate
            )
            written += [write_landmark_tracks(path, tracks) for path in side.landmarks]
        if side.guidance_dir is not None:
            yield from write_guidance_maps(
                side.guidance_dir, reader, placed, start=a, stop=b, cancel=cancel
            )
            written.append(side.guidance_dir)
    return placed, written, [*target.warnings, *placed.warnings]
