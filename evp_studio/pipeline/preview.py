"""Preview layers of one output frame, computed on demand and cached (no Qt).

Public API::

    PreviewSession(video, target, placed=None, renderer=None, *, cache_bytes=256 MiB)
        .layers(frame, which) -> {layer: (H, W, 3) uint8}
        .compose(frame, choice) -> (H, W', 3) uint8
        .available; .frame_count; .cache_nbytes
        .invalidate(frames=None, layers=None); .update_predictions(placed) -> changed frames
    LayerChoice(layer, compare=None, mode=CompareMode.SINGLE, amount=0.5)
    draw_landmarks(frame, points, colour, *, thickness) -> (H, W, 3) uint8
    side_by_side(a, b); wipe(a, b, position); blend(a, b, alpha)

Layers: ``source`` (the target frame the output frame shows), ``detected`` (its tracked
landmarks, green; orange where the face was lost and the points are filled in),
``predicted`` (the predicted, aligned landmarks, magenta), ``guidance`` (channel 0 of the
guidance map of the predicted landmarks) and ``rendered`` (the warp renderer's frame).
Frame indices are output frames (``ProjectLandmarks.target_index`` maps them to target
frames); without predictions they are target frames.

One session serves one thread at a time for rendering (the preview fetcher's worker); the
cache has its own lock, so :meth:`PreviewSession.invalidate` may come from the GUI thread.
"""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from collections.abc import Container, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.media import VideoReader
from evp_studio.pipeline.landmarks import ProjectLandmarks
from evp_studio.project import Project
from evp_studio.render._sketch import PARTS
from evp_studio.render.guidance import background_edges, guidance_map
from evp_studio.render.warp import WarpRenderer

if TYPE_CHECKING:
    from evp_studio.landmarks import TrackerSettings

__all__ = [
    "build_preview_session",
    "LAYERS",
    "PREDICTION_LAYERS",
    "CompareMode",
    "LayerChoice",
    "PreviewSession",
    "blend",
    "draw_landmarks",
    "side_by_side",
    "wipe",
]

LAYERS: tuple[str, ...] = ("source", "detected", "predicted", "guidance", "rendered")
PREDICTION_LAYERS = frozenset({"predicted", "guidance", "rendered"})  # change with the keys
DETECTED_RGB = (64, 230, 96)
LOST_RGB = (255, 160, 40)
PREDICTED_RGB = (255, 64, 220)
_SHIFT = 3  # fixed-point bits for cv2 drawing (1/8 px)


class CompareMode(enum.Enum):
    """How a second layer is shown with the first."""

    SINGLE = "single"
    SIDE_BY_SIDE = "side_by_side"
    WIPE = "wipe"
    BLEND = "blend"


@dataclass(frozen=True)
class LayerChoice:
    """What the preview shows: ``layer``, optionally compared with ``compare``.

    Parameters
    ----------
    layer
        One of :data:`LAYERS`.
    compare
        The second layer, used by every mode but ``SINGLE``; None shows ``layer`` alone.
    mode
        How the two are combined.
    amount
        Wipe position (fraction of the width showing ``layer``) or blend weight of
        ``compare``, in [0, 1].
    """

    layer: str = "source"
    compare: str | None = None
    mode: CompareMode = CompareMode.SINGLE
    amount: float = 0.5

    def __post_init__(self) -> None:
        for name in (self.layer, self.compare):
            if name is not None and name not in LAYERS:
                raise InvalidInputError(f"unknown preview layer {name!r}; expected one of {LAYERS}")
        if not 0.0 <= self.amount <= 1.0:
            raise InvalidInputError(f"compare amount must lie in [0, 1], got {self.amount}")

    @property
    def needed(self) -> set[str]:
        """The layers this choice shows."""
        if self.mode is CompareMode.SINGLE or self.compare is None:
            return {self.layer}
        return {self.layer, self.compare}


class FrameSource(Protocol):
    """What the session reads of a :class:`~evp_studio.media.VideoReader`."""

    @property
    def frame_count(self) -> int:
        """Number of frames."""

    def read(self, index: int) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB frame ``index``."""


class TargetTrack(Protocol):
    """What the session reads of a :class:`~evp_studio.landmarks.LandmarkTrack`."""

    @property
    def landmarks(self) -> np.ndarray:
        """(N, 68, 2) px, gaps filled."""

    @property
    def lost(self) -> np.ndarray:
        """(N,) bool."""


# -- drawing and compositing ------------------------------------------------------------------


def draw_landmarks(
    frame: np.ndarray,
    points: np.ndarray,
    colour: tuple[int, int, int],
    *,
    thickness: int = 1,
) -> np.ndarray:
    """A copy of ``frame`` with the 68 points drawn as anti-aliased polylines per face part.

    Parameters
    ----------
    frame
        ``(H, W, 3)`` uint8 RGB (not modified).
    points
        ``(68, 2)`` px; a non-finite point drops the parts through it.
    colour
        RGB.
    thickness
        Line width, px.

    Returns
    -------
    np.ndarray
        ``(H, W, 3)`` uint8.
    """
    out = np.array(frame, dtype=np.uint8, copy=True)
    pts = np.asarray(points, dtype=np.float64)
    fixed = np.round(pts * (1 << _SHIFT))
    finite = np.asarray(np.isfinite(pts).all(axis=1))
    lines = [fixed[list(idx)].astype(np.int32) for idx in PARTS.values() if finite[list(idx)].all()]
    cv2.polylines(out, lines, False, colour, thickness, cv2.LINE_AA, _SHIFT)
    for p in fixed[finite].astype(np.int32):
        cv2.circle(
            out, (int(p[0]), int(p[1])), thickness << _SHIFT, colour, -1, cv2.LINE_AA, _SHIFT
        )
    return out


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.dtype != np.uint8 or b.dtype != np.uint8 or a.ndim != 3:
        raise InvalidInputError(
            f"compare needs two (H, W, 3) uint8 images of one size, got {a.shape} {a.dtype} "
            f"and {b.shape} {b.dtype}"
        )


def side_by_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` left of ``b``: ``(H, 2W, 3)`` uint8.

    Raises
    ------
    InvalidInputError
        When the images differ in shape or are not uint8 RGB.
    """
    _check_pair(a, b)
    return np.concatenate([a, b], axis=1)


def wipe(a: np.ndarray, b: np.ndarray, position: float) -> np.ndarray:
    """``a`` left of column ``round(position * W)``, ``b`` from there on.

    Raises
    ------
    InvalidInputError
        On mismatched images or a position outside [0, 1].
    """
    _check_pair(a, b)
    if not 0.0 <= position <= 1.0:
        raise InvalidInputError(f"wipe position must lie in [0, 1], got {position}")
    cut = round(position * a.shape[1])
    out = b.copy()
    out[:, :cut] = a[:, :cut]
    return out


def blend(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 - alpha) a + alpha b``, rounded to uint8.

    Raises
    ------
    InvalidInputError
        On mismatched images or an alpha outside [0, 1].
    """
    _check_pair(a, b)
    if not 0.0 <= alpha <= 1.0:
        raise InvalidInputError(f"blend alpha must lie in [0, 1], got {alpha}")
    return cv2.addWeighted(a, 1.0 - alpha, b, alpha, 0.0)


# -- the session ---------------------------------------------------------------------------


class _ByteLru:
    """``(frame, layer) -> read-only array``, least recently used dropped past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, int(limit))
        self.nbytes = 0
        self._items: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, str]) -> np.ndarray | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[int, str], value: np.ndarray) -> None:
        if value.nbytes > self.limit:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.nbytes -= 0 if old is None else old.nbytes
            self._items[key] = value
            self.nbytes += value.nbytes
            while self.nbytes > self.limit:
                _, dropped = self._items.popitem(last=False)
                self.nbytes -= dropped.nbytes

    def drop(self, frames: Container[int] | None, layers: frozenset[str]) -> int:
        with self._lock:
            keys = [k for k in self._items if k[1] in layers and (frames is None or k[0] in frames)]
            for k in keys:
                self.nbytes -= self._items.pop(k).nbytes
            return len(keys)


class PreviewSession:
    """Preview layers of a target video and its (predicted) landmarks.

    Parameters
    ----------
    video
        The target: a :class:`~evp_studio.media.VideoReader` (not closed by the session) or
        a path (opened, and closed by :meth:`close`).
    target
        The target's :class:`~evp_studio.landmarks.LandmarkTrack` (``landmarks``, ``lost``).
    placed
        The predicted, aligned landmarks of the output frames; None: no ``predicted``,
        ``guidance`` of the detected points, no ``rendered``.
    renderer
        A :class:`~evp_studio.render.warp.WarpRenderer` built on the target; needs
        ``placed`` for the ``rendered`` layer.
    cache_bytes
        Limit of the layer cache.
    own_video
        Close a given reader in :meth:`close` too (for sessions built by a job).

    Raises
    ------
    InvalidInputError
        When the track or predictions do not fit the video.
    """

    def __init__(
        self,
        video: FrameSource | str | Path,
        target: TargetTrack,
        placed: ProjectLandmarks | None = None,
        renderer: WarpRenderer | None = None,
        *,
        cache_bytes: int = 256 * 2**20,
        own_video: bool = False,
    ) -> None:
        self._owned = own_video or isinstance(video, str | Path)
        self._video: FrameSource = VideoReader(video) if isinstance(video, str | Path) else video
        self.target_track = target  # what the predictions are placed on (re-prediction)
        self._target = np.asarray(target.landmarks, dtype=np.float32)
        self._lost = np.asarray(target.lost, dtype=bool)
        n = self._video.frame_count
        if self._target.shape != (n, 68, 2) or self._lost.shape != (n,):
            raise InvalidInputError(
                f"preview: track landmarks {self._target.shape} / lost {self._lost.shape} do "
                f"not fit the video's {n} frames"
            )
        self._renderer = renderer
        self._cache = _ByteLru(cache_bytes)
        self._last_rendered: int | None = None
        self._generation = 0
        self._placed: ProjectLandmarks | None = None
        if placed is not None:
            self._check_placed(placed)
        self._placed = placed

    # -- state ----------------------------------------------------------------------------

    @property
    def available(self) -> frozenset[str]:
        """The layers this session can make."""
        out = {"source", "detected", "guidance"}
        if self._placed is not None:
            out.add("predicted")
            if self._renderer is not None:
                out.add("rendered")
        return frozenset(out)

    @property
    def frame_count(self) -> int:
        """Output frames (target frames without predictions)."""
        return len(self._placed.target_index) if self._placed is not None else len(self._target)

    @property
    def cache_nbytes(self) -> int:
        """Bytes held by the layer cache."""
        return self._cache.nbytes

    def invalidate(
        self, frames: range | Iterable[int] | None = None, layers: Iterable[str] | None = None
    ) -> int:
        """Forget cached layers of ``frames`` (None: all frames).

        Parameters
        ----------
        frames
            Output frames whose layers are stale (a range, or any frame numbers).
        layers
            Which layers; None: all of them.

        Returns
        -------
        int
            Cache entries dropped.
        """
        self._generation += 1  # a layer being made now from older inputs is not cached
        keep: Container[int] | None = frames if isinstance(frames, range | None) else set(frames)
        return self._cache.drop(keep, frozenset(LAYERS if layers is None else layers))

    def update_predictions(self, placed: ProjectLandmarks) -> np.ndarray:
        """Use new predictions (after a key edit) and forget only the frames they change.

        Returns
        -------
        np.ndarray
            ``(K,)`` int64 output frames whose predicted layers changed.

        Raises
        ------
        InvalidInputError
            When ``placed`` does not fit the video.
        """
        self._check_placed(placed)
        old, self._placed = self._placed, placed
        n_new = len(placed.target_index)
        if old is None or len(old.target_index) != n_new:
            changed = np.arange(n_new)
            self.invalidate(None, PREDICTION_LAYERS)
            return changed
        a, b = old.landmarks, placed.landmarks
        same = ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=(1, 2))
        changed = np.flatnonzero(~same | (old.target_index != placed.target_index))
        self.invalidate(changed.tolist(), PREDICTION_LAYERS)
        return changed

    def close(self) -> None:
        """Close the video when the session opened it."""
        if self._owned and isinstance(self._video, VideoReader):
            self._video.close()

    # -- layers ---------------------------------------------------------------------------

    def layers(self, frame_index: int, which: Iterable[str]) -> dict[str, np.ndarray]:
        """The requested layers of output frame ``frame_index``.

        Parameters
        ----------
        frame_index
            ``0 <= frame_index < frame_count``.
        which
            Names from :data:`LAYERS`, each one in :attr:`available`.

        Returns
        -------
        dict
            ``{layer: (H, W, 3) uint8}``, read-only arrays (shared with the cache).

        Raises
        ------
        InvalidInputError
            For a frame out of range or a layer this session cannot make.
        """
        wanted = set(which)
        missing = wanted - self.available
        if missing:
            raise InvalidInputError(
                f"preview layers {sorted(missing)} are not available; available: "
                f"{sorted(self.available)}"
            )
        if not 0 <= frame_index < self.frame_count:
            raise InvalidInputError(
                f"preview frame {frame_index} outside 0..{self.frame_count - 1}"
            )
        return {name: self._layer(frame_index, name) for name in wanted}

    def compose(self, frame_index: int, choice: LayerChoice) -> np.ndarray:
        """The picture for ``choice`` at ``frame_index`` (layers combined per its mode).

        Returns
        -------
        np.ndarray
            ``(H, W, 3)`` uint8, or ``(H, 2W, 3)`` side by side.

        Raises
        ------
        InvalidInputError
            As :meth:`layers`.
        """
        got = self.layers(frame_index, choice.needed)
        a = got[choice.layer]
        if choice.compare is None or choice.mode is CompareMode.SINGLE:
            return a
        b = got[choice.compare]
        if choice.mode is CompareMode.SIDE_BY_SIDE:
            return side_by_side(a, b)
        if choice.mode is CompareMode.BLEND:
            return blend(a, b, choice.amount)
        out = wipe(a, b, choice.amount)
        x = min(round(choice.amount * a.shape[1]), a.shape[1] - 1)
        out[:, x] = 255  # the wipe's edge
        return out

    def _layer(self, i: int, name: str) -> np.ndarray:
        cached = self._cache.get((i, name))
        if cached is not None:
            return cached
        generation = self._generation
        out = self._make(i, name)
        out.flags.writeable = False
        if generation == self._generation:
            self._cache.put((i, name), out)
        return out

    def _make(self, i: int, name: str) -> np.ndarray:
        j = self._target_frame(i)
        if name == "source":
            return np.array(self._video.read(j), dtype=np.uint8)
        src = self._layer(i, "source")
        thick = max(1, round(src.shape[1] / 320))
        if name == "detected":
            colour = LOST_RGB if self._lost[j] else DETECTED_RGB
            return draw_landmarks(src, self._target[j], colour, thickness=thick)
        if name == "predicted":
            return draw_landmarks(src, self._predicted(i), PREDICTED_RGB, thickness=thick)
        if name == "guidance":
            return self._guidance(src, self._predicted(i) if self._placed else self._target[j])
        assert self._renderer is not None
        if self._last_rendered is None or i != self._last_rendered + 1:
            self._renderer.reset()  # its mouth bank fades over time; a jump starts afresh
        self._last_rendered = i
        return self._renderer.render(src, self._target[j], self._predicted(i))

    def _guidance(self, src: np.ndarray, points: np.ndarray) -> np.ndarray:
        if np.isfinite(points).all():
            edge = (guidance_map(src, points)[0] * 255.0 + 0.5).astype(np.uint8)
        else:  # no pose here: the frame's edges only
            edge = background_edges(cv2.cvtColor(src, cv2.COLOR_RGB2GRAY))
        return np.repeat(edge[..., None], 3, axis=2)

    def _predicted(self, i: int) -> np.ndarray:
        assert self._placed is not None
        return self._placed.landmarks[i]

    def _target_frame(self, i: int) -> int:
        return int(self._placed.target_index[i]) if self._placed is not None else i

    def _check_placed(self, placed: ProjectLandmarks) -> None:
        idx = np.asarray(placed.target_index)
        n = len(self._target)
        if placed.landmarks.shape != (len(idx), 68, 2) or (
            idx.size and (idx.min() < 0 or idx.max() >= n)
        ):
            raise InvalidInputError(
                f"preview: predictions {placed.landmarks.shape} with target frames "
                f"{int(idx.min()) if idx.size else '-'}..{int(idx.max()) if idx.size else '-'}"
                f" do not fit the video's {n} frames"
            )


def build_preview_session(
    project: Project,
    *,
    tracker: TrackerSettings | None = None,
    cancel: CancelToken | None = None,
) -> Job[PreviewSession]:
    """Analyse a project for the editor's preview layers (a Job).

    Tracks the target's landmarks (cached per video), then, when the project has speech,
    predicts and places its landmarks and builds the warp renderer (which reads the video
    once for its mouth bank). The session owns its own reader; ``close()`` releases it.

    Parameters
    ----------
    project
        With a target video (absolute media paths, as loaded).
    tracker
        Face detection settings (the preferences' backend and device); None: dlib.
    cancel
        Checked at every stage.

    Returns
    -------
    Job[PreviewSession]
        Source, detected and guidance layers; predicted and rendered too with speech.

    Raises
    ------
    InvalidInputError
        When the project has no target video, or its media cannot be used.
    """
    from evp_studio.landmarks import TrackerSettings, track_landmarks  # noqa: PLC0415 - dlib
    from evp_studio.pipeline.render import project_landmarks  # noqa: PLC0415 - loads torch

    if project.target is None:
        raise InvalidInputError(f"project {project.name!r} has no target video to preview")
    video = project.target.media.resolve()
    settings = tracker if tracker is not None else TrackerSettings()
    target = yield from track_landmarks(video, settings=settings, cancel=cancel)
    reader = VideoReader(video)
    try:
        placed = renderer = None
        if project.speech is not None:
            fps = float(reader.info.frame_rate)
            placed = yield from project_landmarks(project, target, fps, cancel=cancel)
            yield Progress("Building the mouth bank", 0, 0)
            renderer = WarpRenderer(reader, target.landmarks)
        return PreviewSession(reader, target, placed, renderer, own_video=True)
    except BaseException:
        reader.close()
        raise
