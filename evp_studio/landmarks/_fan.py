"""The ``fan`` backend: face-alignment's FAN landmark network (2D, or 3D with depth).

Pre- and post-processing follow face-alignment 1.5: a face box becomes a crop centred
``0.12 * height`` above the box centre, ``200 * (w + h) / 195`` px wide, resized to 256x256;
the network gives 68 heatmaps of 64x64 whose maxima, moved a quarter pixel towards the larger
neighbour, are the points. Unlike face-alignment the points are not rounded to whole pixels
of the frame (the rounding alone adds up to 1 px of jitter). ``confidence`` is the mean
heatmap maximum over the 68 points (about 0.5-0.9 on clear faces with the published weights).

Weights are never downloaded (:mod:`evp_studio.landmarks._fan_files`); torch is imported
only when a FAN backend is built. On the CPU nothing is compiled (face-alignment's
``compile=True`` path is not used).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from evp_studio.data.face import MIRROR
from evp_studio.landmarks._backends import model_files, model_id
from evp_studio.landmarks._dlib import hog_faces
from evp_studio.landmarks._fan_files import (
    FAN_2D,
    FAN_3D,
    FAN_DEPTH,
    S3FD,
    import_face_alignment,
    load_module_weights,
)
from evp_studio.landmarks._settings import TrackerSettings
from evp_studio.landmarks._types import FaceBox, FaceLandmarks

CROP = 256  # px, FAN's input
HEATMAP = 64  # px, FAN's output
_REFERENCE_SCALE = 195.0  # face-alignment: crop side = 200 * (w + h) / 195
_CENTRE_SHIFT = 0.12  # of the box height, upwards
_GAUSS_SIGMA = 3.25  # px in the crop, face-alignment's depth-input heatmaps (13 px window)
# HOG boxes hug the eyes-to-lips region; S3FD's (what FAN's crop rule expects) reach from the
# forehead to the chin. The factor is approximate (checked only by eye on published examples).
_HOG_TO_SFD = 1.25


def heatmap_points(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points and peak values of FAN heatmaps.

    Parameters
    ----------
    heatmaps
        ``(68, H, W)`` float.

    Returns
    -------
    tuple of np.ndarray
        ``(68, 2)`` float64 positions in heatmap pixels (pixel ``i`` spans ``[i, i + 1)``),
        and ``(68,)`` float64 maxima.
    """
    hm = np.asarray(heatmaps, dtype=np.float64)
    c, h, w = hm.shape
    flat = hm.reshape(c, -1)
    idx = flat.argmax(axis=1)
    scores = flat[np.arange(c), idx]
    py, px = np.divmod(idx, w)
    inside = (px > 0) & (px < w - 1) & (py > 0) & (py < h - 1)
    xl, xr = np.clip(px - 1, 0, w - 1), np.clip(px + 1, 0, w - 1)
    yu, yd = np.clip(py - 1, 0, h - 1), np.clip(py + 1, 0, h - 1)
    ch = np.arange(c)
    step = np.stack([hm[ch, py, xr] - hm[ch, py, xl], hm[ch, yd, px] - hm[ch, yu, px]], 1)
    pts = np.stack([px, py], 1).astype(np.float64) + 0.5
    pts += 0.25 * np.sign(step) * inside[:, None]
    return pts, scores


def crop_geometry(box: FaceBox) -> tuple[np.ndarray, float]:
    """Centre ``(2,)`` px and side (px) of the square frame region FAN sees for a box."""
    centre = box.centre
    centre[1] -= _CENTRE_SHIFT * box.height
    return centre, 200.0 * (box.width + box.height) / _REFERENCE_SCALE


def gaussian_maps(points: np.ndarray, size: int = CROP) -> np.ndarray:
    """``(68, size, size)`` float32 unit Gaussians at crop-pixel ``points`` (depth input)."""
    grid = np.arange(size, dtype=np.float32) + 0.5
    gx = np.exp(-((grid[None, :] - points[:, :1]) ** 2) / (2 * _GAUSS_SIGMA**2))
    gy = np.exp(-((grid[None, :] - points[:, 1:]) ** 2) / (2 * _GAUSS_SIGMA**2))
    return (gy[:, :, None] * gx[:, None, :]).astype(np.float32)


class HogBoxes:
    """dlib's HOG detector, its boxes widened to S3FD's extent for FAN's crop rule."""

    def __init__(self) -> None:
        import dlib  # noqa: PLC0415

        self._detector = dlib.get_frontal_face_detector()

    def detect(self, image: np.ndarray, *, min_size: float) -> list[FaceBox]:
        """Faces in an RGB image, as S3FD-like boxes."""
        out = []
        for b in hog_faces(self._detector, np.ascontiguousarray(image), min_size):
            c, half = b.centre, _HOG_TO_SFD * np.array([b.width, b.height]) / 2
            out.append(
                FaceBox(c[0] - half[0], c[1] - half[1], c[0] + half[0], c[1] + half[1], b.score)
            )
        return out


class FanBackend:
    """FAN landmarks in boxes from S3FD (or dlib's HOG detector).

    Parameters
    ----------
    fan
        A face-alignment ``FAN`` module (``FAN(4)`` for the published weights).
    detector
        Finds face boxes: ``detect(image, *, min_size) -> list[FaceBox]``.
    depth
        face-alignment's ``ResNetDepth`` for 3D points, or None for 2D.
    flip
        Also run the mirrored crop and add its (mirrored back) heatmaps.
    device
        torch device of the modules.
    model_id
        Identifies the weights (cache key).
    """

    name = "fan"

    def __init__(
        self,
        fan: Any,
        *,
        detector: Any,
        depth: Any | None = None,
        flip: bool = False,
        device: str = "cpu",
        model_id: str = "fan:custom",
    ) -> None:
        self._fan = fan.to(device).eval()
        self._depth = depth.to(device).eval() if depth is not None else None
        self._detector = detector
        self._flip = flip
        self._device = device
        self.model_id = model_id
        self.has_depth = depth is not None

    @classmethod
    def load(cls, settings: TrackerSettings) -> FanBackend:
        """Build the backend from the weights files the settings ask for.

        Raises
        ------
        ModelNotFoundError
            When a file is missing (before torch is imported), naming file and folder.
        InvalidInputError
            When a file is corrupt or of another network, naming it.
        """
        paths = model_files(settings)
        fa = import_face_alignment()
        from face_alignment.detection.sfd.net_s3fd import s3fd  # noqa: PLC0415

        fan = fa.models.FAN(4)
        load_module_weights(fan, paths[FAN_3D if FAN_3D in paths else FAN_2D], "FAN")
        depth = None
        if FAN_DEPTH in paths:
            depth = fa.models.ResNetDepth()
            load_module_weights(depth, paths[FAN_DEPTH], "FAN depth")
        detector: Any = HogBoxes()
        if S3FD in paths:
            net = s3fd()
            load_module_weights(net, paths[S3FD], "S3FD")
            detector = SfdDetector(net, device=settings.device)
        return cls(
            fan,
            detector=detector,
            depth=depth,
            flip=settings.fan_flip,
            device=settings.device,
            model_id=model_id(paths),
        )

    def detect(self, image: np.ndarray, *, min_size: float) -> list[FaceBox]:
        """Faces in an ``(H, W, 3)`` uint8 RGB image (see :class:`LandmarkBackend`)."""
        boxes: list[FaceBox] = self._detector.detect(image, min_size=min_size)
        return boxes

    def landmarks(self, image: np.ndarray, box: FaceBox) -> FaceLandmarks:
        """Fit the 68 points in ``box`` (see :class:`LandmarkBackend`)."""
        import torch  # noqa: PLC0415

        centre, side = crop_geometry(box)
        k = CROP / side
        affine = np.array([[k, 0.0, CROP / 2 - k * centre[0]], [0.0, k, CROP / 2 - k * centre[1]]])
        crop = cv2.warpAffine(image, affine, (CROP, CROP), flags=cv2.INTER_LINEAR)
        with torch.inference_mode():
            inp = torch.from_numpy(crop).to(self._device).permute(2, 0, 1)[None].float() / 255
            heat = self._heatmaps(inp)
            pts_hm, scores = heatmap_points(heat)
            depth = self._depth_of(inp, pts_hm) if self._depth is not None else None
        scale = side / HEATMAP
        points = pts_hm * scale + (centre - side / 2)
        peak = float(np.mean(scores)) / (2.0 if self._flip else 1.0)
        if depth is not None:
            depth = (depth * side / CROP).astype(np.float32)
        return FaceLandmarks(points.astype(np.float32), min(max(peak, 0.0), 1.0), box, depth)

    def _heatmaps(self, inp: Any) -> np.ndarray:
        out = _last(self._fan(inp))
        if self._flip:
            back = _last(self._fan(inp.flip(-1))).flip(-1)
            out = out + back[:, MIRROR]
        heat: np.ndarray = out[0].float().cpu().numpy()
        return heat

    def _depth_of(self, inp: Any, pts_hm: np.ndarray) -> np.ndarray:
        import torch  # noqa: PLC0415

        maps = torch.from_numpy(gaussian_maps(pts_hm * (CROP / HEATMAP))).to(inp.device)
        assert self._depth is not None
        z: np.ndarray = self._depth(torch.cat([inp, maps[None]], 1)).float().cpu().numpy()
        return z.reshape(-1)


def _last(out: Any) -> Any:
    """face-alignment's FAN returns one heatmap stack per hourglass; the last is the answer."""
    return out[-1] if isinstance(out, list | tuple) else out


class SfdDetector:
    """S3FD face detection (face-alignment's network), decoded without Python loops.

    Parameters
    ----------
    net
        face-alignment's ``s3fd`` module with weights.
    device
        torch device.
    threshold
        Smallest face probability kept (face-alignment's default 0.5).
    """

    _MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)

    def __init__(self, net: Any, *, device: str = "cpu", threshold: float = 0.5) -> None:
        self._net = net.to(device).eval()
        self._device = device
        self._threshold = threshold

    def detect(self, image: np.ndarray, *, min_size: float) -> list[FaceBox]:
        """Faces in an RGB image (S3FD finds faces from about 16 px; ``min_size`` unused)."""
        import torch  # noqa: PLC0415

        bgr = np.ascontiguousarray(image[..., ::-1], dtype=np.float32) - self._MEAN_BGR
        with torch.inference_mode():
            x = torch.from_numpy(bgr).to(self._device).permute(2, 0, 1)[None]
            outs = self._net(x)
            levels = [
                (
                    torch.softmax(outs[2 * i], dim=1)[0, 1].cpu().numpy(),
                    outs[2 * i + 1][0].cpu().numpy(),
                )
                for i in range(len(outs) // 2)
            ]
        boxes, scores = _decode(levels, self._threshold)
        if not len(boxes):
            return []
        xywh = [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes]
        keep = cv2.dnn.NMSBoxes(xywh, scores.tolist(), self._threshold, 0.3)
        out = []
        for i in np.ravel(keep):
            x0, y0, x1, y1 = (float(v) for v in boxes[i])
            out.append(FaceBox(x0, y0, x1, y1, float(scores[i])))
        return out


def _decode(
    levels: list[tuple[np.ndarray, np.ndarray]], threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """S3FD anchors to ``(N, 4)`` x0, y0, x1, y1 boxes and ``(N,)`` scores above threshold."""
    boxes, scores = [], []
    for i, (prob, reg) in enumerate(levels):
        stride = 2 ** (i + 2)  # 4 .. 128 px; each anchor is 4 strides wide
        ys, xs = np.nonzero(prob > threshold)
        prior_c = np.stack([xs, ys], 1) * stride + stride / 2
        loc = reg[:, ys, xs].T
        centre = prior_c + loc[:, :2] * 0.1 * (4 * stride)
        half = 4 * stride * np.exp(loc[:, 2:] * 0.2) / 2
        boxes.append(np.concatenate([centre - half, centre + half], 1))
        scores.append(prob[ys, xs])
    return np.concatenate(boxes), np.concatenate(scores).astype(np.float64)
