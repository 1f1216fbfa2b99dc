"""Training-free warp renderer: move a target frame's pixels from its own landmarks to new ones.

The frame is warped piecewise-affinely over one fixed triangulation (Delaunay on the clip's
mean face, mouth held open, plus a ring of points around the face). The ring is placed on each
frame by the similarity of its rigid landmarks and stays put, so the warp is the identity on and
outside it: no seam at the face boundary and an unchanged background. The topology never
changes, so smooth landmarks give a smooth picture.

Where the new mouth opens wider than the frame's own, the interior (teeth, tongue, dark mouth)
comes from a small bank of the target's own open-mouth crops, normalised by the inner-lip
corners: the entry whose inner-lip shape is closest (with hysteresis, cross-faded on a switch)
is warped into the new inner-lip polygon, matched in colour to the lips around it (Lab mean and
spread) and blended with a feathered mask that fades in with the extra opening.

Bad landmarks never crash a render: folded triangles (extreme yaw, crossing points) are pulled
back towards an unfolded shape, points outside the frame sample the replicated border, and a
non-finite landmark makes :meth:`WarpRenderer.render` return the frame unchanged with
``last_passthrough`` set.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from evp_studio.errors import InvalidInputError
from evp_studio.landmarks import normalise_landmarks, similarity_to_mean
from evp_studio.media import VideoReader

log = logging.getLogger(__name__)

INNER = np.arange(60, 68)
OUTER = np.arange(48, 60)
# inner-lip point -> the outer-lip point it faces (used to open the canonical mouth)
_INNER_TO_OUTER = np.array([48, 50, 51, 52, 54, 56, 57, 58])
_GAPS = ((61, 67), (62, 66), (63, 65))  # upper / lower inner-lip pairs
_HOLES = (set(range(60, 68)), set(range(36, 42)), set(range(42, 48)))  # may collapse
CROP_W, CROP_H, CROP_S = 96, 80, 48  # bank crop size; inner-lip corners CROP_S px apart


@dataclass(frozen=True)
class WarpConfig:
    """Settings of :class:`WarpRenderer`.

    Parameters
    ----------
    ring_points
        Points on the fixed ring around the face (the edge of the warped region).
    ring_scale
        Ring radii as a multiple of the mean face's half extents.
    bank_size
        Most mouth crops kept (each ``80x96x3`` uint8, about 23 KB).
    bank_min_opening
        Inner-lip gap / inner mouth width a frame needs to enter the bank.
    open_ramp
        Extra opening (same unit) over which the bank interior fades in.
    hysteresis
        A new bank entry is chosen only when its shape distance is below this fraction of the
        current entry's.
    crossfade_frames
        Frames over which a bank switch cross-fades.
    feather
        Sigma of the mouth mask's feather, fraction of the inner mouth width.
    colour_match
        Match the inserted interior to the lips around it (Lab mean and spread).
    """

    ring_points: int = 12
    ring_scale: float = 1.45
    bank_size: int = 200
    bank_min_opening: float = 0.12
    open_ramp: float = 0.1
    hysteresis: float = 0.75
    crossfade_frames: int = 4
    feather: float = 0.05
    colour_match: bool = True

    def __post_init__(self) -> None:
        checks = {
            "ring_points": self.ring_points >= 6,
            "ring_scale": self.ring_scale >= 1.1,
            "bank_size": self.bank_size >= 0,
            "bank_min_opening": self.bank_min_opening > 0,
            "open_ramp": self.open_ramp > 0,
            "hysteresis": 0 < self.hysteresis <= 1,
            "crossfade_frames": self.crossfade_frames >= 1,
            "feather": self.feather >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise InvalidInputError(f"WarpConfig: bad {name}={getattr(self, name)!r}")


@dataclass(frozen=True)
class _MouthEntry:
    frame_index: int
    crop: np.ndarray  # (CROP_H, CROP_W, 3) uint8 RGB
    inner: np.ndarray  # (8, 2) float64, crop px
    lab_mean: np.ndarray  # (3,) float32, 8-bit Lab of the lip band
    lab_std: np.ndarray  # (3,)


# --- geometry helpers ------------------------------------------------------------------------


def mouth_opening(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap over inner mouth width, ``(...)`` of ``(..., 68, 2)`` px points."""
    p = np.asarray(points, dtype=np.float64)
    gap = np.mean([p[..., lo, 1] - p[..., up, 1] for up, lo in _GAPS], axis=0)
    width = np.linalg.norm(p[..., 64, :] - p[..., 60, :], axis=-1)
    return gap / np.maximum(width, 1e-6)


def _signed_areas(pts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = pts[tris[:, 0]], pts[tris[:, 1]], pts[tris[:, 2]]
    return 0.5 * (
        (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    )


def _affines(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
    """``(K, 6)`` affine maps taking each ``(K, 3, 2)`` dst triangle onto its src triangle.

    Degenerate dst triangles (they cover no pixels) map everything to their src centroid.
    """
    d = np.concatenate([dst, np.ones(dst.shape[:2] + (1,))], axis=2)  # (K, 3, 3)
    det = np.linalg.det(d)
    bad = np.abs(det) < 1e-6
    d[bad] = np.eye(3)
    m = np.linalg.solve(d, src)  # (K, 3, 2): src = [x y 1] @ m
    m[bad] = 0.0
    m[bad, 2] = src[bad].mean(axis=1)
    return m.transpose(0, 2, 1).reshape(-1, 6)  # rows: ax, bx, cx, ay, by, cy


def _unfold(pts: np.ndarray, anchor: np.ndarray, tris: np.ndarray, movable: np.ndarray) -> None:
    """Pull movable vertices of folded triangles towards ``anchor`` until none folds, in place."""
    for _ in range(8):
        bad = _signed_areas(pts, tris) <= 0
        if not bad.any():
            return
        verts = np.unique(tris[bad])
        verts = verts[movable[verts]]
        pts[verts] = 0.5 * (pts[verts] + anchor[verts])
    bad = _signed_areas(pts, tris) <= 0
    if bad.any():
        pts[movable] = anchor[movable]


def _warp_region(
    image: np.ndarray,
    dst_pts: np.ndarray,
    src_pts: np.ndarray,
    tris: np.ndarray,
    box: tuple[int, int, int, int],
    default: np.ndarray,
) -> np.ndarray:
    """Backward-map the ``box = (x0, y0, x1, y1)`` of the output through the triangles.

    Pixels in no triangle use the ``default`` ``(6,)`` affine. Returns the ``box`` region.
    """
    x0, y0, x1, y1 = box
    coef = np.vstack([default, _affines(dst_pts[tris], src_pts[tris])]).astype(np.float32)
    index = np.zeros((y1 - y0, x1 - x0), np.uint16)
    fixed = np.round((dst_pts - (x0, y0)) * 16).astype(np.int32)
    for k, tri in enumerate(fixed[tris]):
        cv2.fillConvexPoly(index, tri, k + 1, cv2.LINE_8, 4)
    c = coef[index]  # (h, w, 6)
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    map_x = c[..., 0] * xs + c[..., 1] * ys + c[..., 2]
    map_y = c[..., 3] * xs + c[..., 4] * ys + c[..., 5]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _box(
    pts: np.ndarray, shape: tuple[int, ...], margin: float = 1.0
) -> tuple[int, int, int, int] | None:
    h, w = shape[:2]
    x0 = max(0, math.floor(pts[:, 0].min() - margin))
    y0 = max(0, math.floor(pts[:, 1].min() - margin))
    x1 = min(w, math.ceil(pts[:, 0].max() + margin) + 1)
    y1 = min(h, math.ceil(pts[:, 1].max() + margin) + 1)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _apply(mat: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ mat[:, :2].T + mat[:, 2]


def _invert(mat: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(mat.astype(np.float64))


def _mouth_transform(points: np.ndarray) -> np.ndarray:
    """2x3 similarity taking image px to bank-crop px (inner-lip corners CROP_S apart)."""
    left, right = points[60].astype(np.float64), points[64].astype(np.float64)
    e = right - left
    length = max(float(np.hypot(*e)), 1e-6)
    cos, sin = e * (CROP_S / length**2)  # scale times the unit vector along the mouth
    rot = np.array([[cos, sin], [-sin, cos]])
    shift = np.array([CROP_W / 2, CROP_H / 2]) - rot @ ((left + right) / 2)
    return np.hstack([rot, shift[:, None]])


# --- the mouth mesh: inner lips, their centre, and a ring 30 % further out ----------------------


def _mouth_points(inner: np.ndarray) -> np.ndarray:
    centre = inner.mean(axis=0)
    return np.vstack([inner, centre, centre + 1.3 * (inner - centre)])


_MOUTH_TRIS = np.array(
    [[8, i, (i + 1) % 8] for i in range(8)]
    + [[i, 9 + i, 9 + (i + 1) % 8] for i in range(8)]
    + [[i, 9 + (i + 1) % 8, (i + 1) % 8] for i in range(8)]
)


def _lab_stats(lab: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    sel = lab[mask > 0].astype(np.float32)
    if len(sel) < 8:
        return None
    return sel.mean(axis=0), sel.std(axis=0) + 1.0


def _band_mask(shape: tuple[int, int], outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(outer * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    cv2.fillPoly(mask, [np.round(inner * 16).astype(np.int32)], 0, cv2.LINE_8, 4)
    return mask


# --- the renderer ------------------------------------------------------------------------------


class WarpRenderer:
    """Render a target clip's frames with new landmarks by warping its own pixels.

    Construction reads the reference frames once, streaming, and keeps only small mouth crops.

    Parameters
    ----------
    reference_frames
        The target clip: a :class:`~evp_studio.media.VideoReader` (read once with
        ``iter_frames``, kept for :meth:`render_index`) or any iterable of ``(H, W, 3)`` uint8
        RGB frames in order.
    reference_landmarks
        ``(T, 68, 2)`` px, the target's own tracked landmarks; NaN rows (face lost) are skipped.
    config
        Warp settings.

    Raises
    ------
    InvalidInputError
        On landmarks of the wrong shape or with no finite frame.
    """

    def __init__(
        self,
        reference_frames: VideoReader | Iterable[np.ndarray],
        reference_landmarks: np.ndarray,
        *,
        config: WarpConfig = WarpConfig(),  # noqa: B008 - frozen
    ) -> None:
        lmk = np.asarray(reference_landmarks, dtype=np.float64)
        if lmk.ndim != 3 or lmk.shape[1:] != (68, 2) or lmk.shape[0] == 0:
            raise InvalidInputError(
                f"WarpRenderer: reference landmarks must be (T, 68, 2), got {lmk.shape}"
            )
        valid = np.asarray(np.isfinite(lmk).all(axis=(1, 2)))
        if not valid.any():
            raise InvalidInputError("WarpRenderer: no reference frame has finite landmarks")
        self.config = config
        self._landmarks = lmk
        self._reader = reference_frames if isinstance(reference_frames, VideoReader) else None
        canon = np.nanmedian(normalise_landmarks(lmk[valid])[0].astype(np.float64), axis=0)
        self._build_mesh(canon)
        self.bank: list[_MouthEntry] = []
        self._bank_inner = np.zeros((0, 16))
        self._build_bank(reference_frames, lmk, valid)
        self.last_passthrough = False
        self.reset()

    # -- construction --

    def _build_mesh(self, canon: np.ndarray) -> None:
        cfg = self.config
        opened = canon.copy()
        centre = canon[INNER].mean(axis=0)
        opened[INNER] = centre + 0.55 * (canon[_INNER_TO_OUTER] - centre)
        lo, hi = canon.min(axis=0), canon.max(axis=0)
        mid = (lo + hi) / 2 - [0.0, 0.08 * (hi[1] - lo[1])]  # room for the forehead
        angle = np.linspace(0, 2 * np.pi, cfg.ring_points, endpoint=False)
        ring = mid + cfg.ring_scale * (hi - lo) / 2 * np.c_[np.cos(angle), np.sin(angle)]
        pts = np.vstack([opened, ring])
        tris = Delaunay(pts).simplices.astype(np.int32)
        flip = _signed_areas(pts, tris) < 0
        tris[flip] = tris[flip][:, [0, 2, 1]]
        hole = np.array([any(set(t) <= h for h in _HOLES) for t in tris.tolist()])
        self._tris = np.vstack([tris[hole], tris[~hole]])  # holes drawn first, faces over them
        self._solid = self._tris[hole.sum() :]
        self._canon_open = pts  # (68 + R, 2) canonical units, unfolded by construction
        self._movable = np.arange(len(pts)) < 68

    def _build_bank(
        self, frames: VideoReader | Iterable[np.ndarray], lmk: np.ndarray, valid: np.ndarray
    ) -> None:
        opening = np.where(valid, mouth_opening(np.where(valid[:, None, None], lmk, 0.0)), -1.0)
        cand = np.flatnonzero(opening >= self.config.bank_min_opening)
        n = min(self.config.bank_size, len(cand))
        if n == 0:
            log.info("warp renderer: the target never opens its mouth; using a dark interior")
            return
        # spread the picks over the range of openings
        cand = cand[np.argsort(opening[cand], kind="stable")]
        wanted = set(cand[np.round(np.linspace(0, len(cand) - 1, n)).astype(int)].tolist())
        last = max(wanted)
        it = frames.iter_frames(0, last + 1) if isinstance(frames, VideoReader) else iter(frames)
        for i, frame in enumerate(it):
            if i in wanted:
                self.bank.append(self._mouth_entry(i, np.asarray(frame), lmk[i]))
            if i >= last:
                break
        if self.bank:
            self._bank_inner = np.array([e.inner for e in self.bank]).reshape(len(self.bank), -1)

    @staticmethod
    def _mouth_entry(index: int, frame: np.ndarray, points: np.ndarray) -> _MouthEntry:
        mat = _mouth_transform(points)
        crop = cv2.warpAffine(
            frame, mat, (CROP_W, CROP_H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        inner, outer = _apply(mat, points[INNER]), _apply(mat, points[OUTER])
        lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB)
        stats = _lab_stats(lab, _band_mask(crop.shape[:2], outer, inner))
        mean, std = stats if stats is not None else (np.zeros(3), np.ones(3))
        return _MouthEntry(index, crop, inner, mean.astype(np.float32), std.astype(np.float32))

    # -- rendering --

    def reset(self) -> None:
        """Forget the temporal state (bank choice, cross-fade, colour); call after a seek."""
        self._current: int | None = None
        self._previous: int | None = None
        self._fade = 1.0
        self._colour: tuple[np.ndarray, np.ndarray] | None = None
        self._last_index: int | None = None

    def render_index(self, index: int, new_landmarks: np.ndarray) -> np.ndarray:
        """Render reference frame ``index`` (read from the reader) with ``new_landmarks``.

        The temporal state is reset when ``index`` does not follow the previous call's.

        Raises
        ------
        InvalidInputError
            When the renderer was built from a plain iterable, or ``index`` is out of range.
        """
        if self._reader is None:
            raise InvalidInputError("render_index needs a renderer built from a VideoReader")
        if not 0 <= index < len(self._landmarks):
            raise InvalidInputError(
                f"render_index: frame {index} outside 0..{len(self._landmarks) - 1}"
            )
        if self._last_index is None or index != self._last_index + 1:
            self.reset()
        frame = self._reader.read(index)
        out = self.render(frame, self._landmarks[index], new_landmarks)
        self._last_index = index
        return out

    def render(
        self, frame: np.ndarray, frame_landmarks: np.ndarray, new_landmarks: np.ndarray
    ) -> np.ndarray:
        """Warp ``frame`` from ``frame_landmarks`` to ``new_landmarks``.

        Parameters
        ----------
        frame
            ``(H, W, 3)`` uint8 RGB (not modified).
        frame_landmarks, new_landmarks
            ``(68, 2)`` px. Either one non-finite: the frame is returned unchanged (a copy) and
            ``last_passthrough`` is True.

        Returns
        -------
        np.ndarray
            ``(H, W, 3)`` uint8 RGB.

        Raises
        ------
        InvalidInputError
            On arrays of the wrong shape or dtype.
        """
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InvalidInputError(
                f"render: frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}"
            )
        src = np.asarray(frame_landmarks, dtype=np.float64)
        dst = np.asarray(new_landmarks, dtype=np.float64)
        if src.shape != (68, 2) or dst.shape != (68, 2):
            raise InvalidInputError(
                f"render: landmarks must be (68, 2), got {src.shape} and {dst.shape}"
            )
        self.last_passthrough = not (np.isfinite(src).all() and np.isfinite(dst).all())
        if self.last_passthrough:
            return frame.copy()
        to_img = _invert(similarity_to_mean(src[None])[0])
        anchor = _apply(to_img, self._canon_open)
        src_pts = np.vstack([src, anchor[68:]])
        dst_pts = np.vstack([dst, anchor[68:]])
        _unfold(src_pts, anchor, self._solid, self._movable)
        _unfold(dst_pts, src_pts, self._solid, self._movable)
        out = frame.copy()
        box = _box(anchor[68:], frame.shape)
        if box is not None:
            identity = np.array([1, 0, 0, 0, 1, 0], np.float64)
            x0, y0, x1, y1 = box
            out[y0:y1, x0:x1] = _warp_region(frame, dst_pts, src_pts, self._tris, box, identity)
        self._insert_mouth(out, src_pts[:68], dst_pts[:68])
        return out

    # -- mouth interior --

    def _pick(self, dst: np.ndarray) -> int:
        shape = _apply(_mouth_transform(dst), dst[INNER]).reshape(-1)
        dist = np.linalg.norm(self._bank_inner - shape, axis=1)
        best = int(np.argmin(dist))
        if self._current is None:
            self._current = best
        elif (
            self._fade >= 1.0  # at most one switch per cross-fade
            and best != self._current
            and dist[best] < self.config.hysteresis * dist[self._current]
        ):
            self._previous, self._current, self._fade = self._current, best, 0.0
        return self._current

    def _insert_mouth(self, out: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
        cfg = self.config
        extra = float(mouth_opening(dst) - max(mouth_opening(src), 0.0))
        weight = min(max(extra / cfg.open_ramp, 0.0), 1.0)
        width = float(np.linalg.norm(dst[64] - dst[60]))
        if weight <= 0.0 or width < 4.0:
            return
        sigma = cfg.feather * width
        mesh = _mouth_points(dst[INNER])
        box = _box(mesh, out.shape, margin=3 * sigma + 2)
        if box is None:
            return
        x0, y0, x1, y1 = box
        region = out[y0:y1, x0:x1]
        patch = self._bank_patch(dst, mesh, box, region)
        mask = np.zeros(region.shape[:2], np.float32)
        cv2.fillPoly(
            mask, [np.round((dst[INNER] - (x0, y0)) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4
        )
        if sigma > 0.3:  # full strength on the inner-lip line, feathered out over the lips
            mask = np.minimum(2.0 * cv2.GaussianBlur(mask, (0, 0), sigma), 1.0)
        alpha = (mask * weight)[..., None]
        region[:] = np.clip(region + alpha * (patch - region), 0, 255).astype(np.uint8)

    def _bank_patch(
        self, dst: np.ndarray, mesh: np.ndarray, box: tuple[int, int, int, int], region: np.ndarray
    ) -> np.ndarray:
        """The interior to insert over ``region``, float32 RGB."""
        if not self.bank:  # no open-mouth frame: a dark interior in the lips' hue
            band = _band_mask(region.shape[:2], dst[OUTER] - box[:2], dst[INNER] - box[:2])
            lips = region[band > 0].mean(axis=0) if band.any() else np.full(3, 90.0)
            return np.broadcast_to((0.25 * lips).astype(np.float32), region.shape).copy()
        current = self._pick(dst)
        outside = _mouth_transform(dst).reshape(-1)  # beyond the mesh: the mouth similarity
        patch = self._entry_patch(current, mesh, box, outside)
        if self._previous is not None and self._fade < 1.0:
            self._fade = min(1.0, self._fade + 1.0 / self.config.crossfade_frames)
            old = self._entry_patch(self._previous, mesh, box, outside)
            patch = old + self._fade * (patch - old)
        if self.config.colour_match:
            patch = self._match_colour(patch, self.bank[current], dst, box, region)
        return patch

    def _entry_patch(
        self, k: int, mesh: np.ndarray, box: tuple[int, int, int, int], outside: np.ndarray
    ) -> np.ndarray:
        entry = self.bank[k]
        src = _mouth_points(entry.inner)
        return _warp_region(entry.crop, mesh, src, _MOUTH_TRIS, box, outside).astype(np.float32)

    def _match_colour(
        self,
        patch: np.ndarray,
        entry: _MouthEntry,
        dst: np.ndarray,
        box: tuple[int, int, int, int],
        region: np.ndarray,
    ) -> np.ndarray:
        band = _band_mask(region.shape[:2], dst[OUTER] - box[:2], dst[INNER] - box[:2])
        stats = _lab_stats(cv2.cvtColor(region, cv2.COLOR_RGB2LAB), band)
        if stats is None:
            return patch
        if self._colour is not None:  # smooth the target statistics over time
            stats = tuple(0.5 * (a + b) for a, b in zip(self._colour, stats))
        self._colour = stats
        mean, std = stats
        gain = np.clip(std / entry.lab_std, 0.6, 1.6)
        lab = cv2.cvtColor(np.clip(patch, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB)
        lab = np.clip((lab - entry.lab_mean) * gain + mean, 0, 255).astype(np.uint8)
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB).astype(np.float32)
