"""The default FID feature network: dlib's face-recognition ResNet (128-d embeddings).

Each frame goes through dlib's HOG frontal face detector; the largest face is aligned with
the 5-point shape predictor into a 150x150 chip (``dlib.get_face_chip``, padding 0.25, the
chip the network was trained on) and embedded. When no face is found the centred square crop
of the frame, resized to 150x150, is embedded instead and the frame is counted in
``no_face_frames``, so a report can say how much of its FID rests on such fallbacks.
All files ship offline in the pinned face-recognition-models package.
"""

from __future__ import annotations

import cv2
import dlib
import numpy as np

from evp_studio.eval.fid import check_frames
from evp_studio.landmarks import dlib_model_path, largest_face

CHIP_SIZE = 150  # px, the network's input
_CHIP_PADDING = 0.25
_BATCH = 32


def centre_chip(frame: np.ndarray) -> np.ndarray:
    """The centred square crop of an ``(H, W, 3)`` frame, resized to the chip size."""
    h, w = frame.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    crop = frame[y0 : y0 + side, x0 : x0 + side]
    interp = cv2.INTER_AREA if side > CHIP_SIZE else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(crop, (CHIP_SIZE, CHIP_SIZE), interpolation=interp))


class DlibFaceExtractor:
    """dlib face-recognition ResNet embeddings of aligned face chips (128-d, norm ~1)."""

    name = "dlib-face"
    dim = 128

    def __init__(self) -> None:
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(
            str(dlib_model_path("shape_predictor_5_face_landmarks.dat"))
        )
        self._net = dlib.face_recognition_model_v1(
            str(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
        )
        self.no_face_frames = 0

    def chip(self, frame: np.ndarray) -> tuple[np.ndarray, bool]:
        """Return the aligned face chip of one ``(H, W, 3)`` uint8 frame and whether a
        face was found (False: the centred crop was used)."""
        img = np.ascontiguousarray(frame)
        face = largest_face(self._detector, img)
        if face is None:
            return centre_chip(img), False
        shape = self._shape(img, face)
        chip = dlib.get_face_chip(img, shape, size=CHIP_SIZE, padding=_CHIP_PADDING)
        return np.asarray(chip, dtype=np.uint8), True

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Map ``(N, H, W, 3)`` uint8 RGB frames to ``(N, 128)`` float64 embeddings.

        Raises
        ------
        InvalidInputError
            When the frames are not ``(N, H, W, 3)`` uint8.
        """
        frames = check_frames(frames, "frames")
        chips: list[np.ndarray] = []
        for frame in frames:
            chip, found = self.chip(frame)
            self.no_face_frames += not found
            chips.append(chip)
        out = np.empty((len(chips), self.dim), np.float64)
        for start in range(0, len(chips), _BATCH):
            batch = chips[start : start + _BATCH]
            out[start : start + len(batch)] = np.asarray(self._net.compute_face_descriptor(batch))
        return out
