"""Frame-quality metrics: PSNR and SSIM of generated against ground-truth RGB frames.

Both take one frame ``(H, W, 3)`` or a sequence ``(T, H, W, 3)``; a sequence's value is the
mean of the per-frame values. They are computed on all frames of a chunk at once.

SSIM is the standard SSIM of Wang et al. (2004), the paper's [41]: Gaussian window with
sigma 1.5 truncated to 11x11, population (not sample) covariances, K1 = 0.01, K2 = 0.03,
L = ``data_range``; the SSIM map is averaged over the frame less a 5 px border (where the
window would leave the image), computed on each RGB channel and averaged over channels.
This is ``skimage.metrics.structural_similarity(a, b, channel_axis=-1,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)`` exactly
(the tests check it), done for all frames in one filter pass.

PSNR is ``10 log10(data_range^2 / MSE)`` dB with the MSE over all pixels and the three RGB
channels of a frame. A frame identical to its reference has infinite PSNR; the sequence mean
leaves such frames out (so that, e.g., a renderer's copied first frames do not make the
whole clip infinite) and is ``inf`` only when every frame is identical. Callers that report
PSNR count the identical frames with :func:`psnr_frames`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from evp_studio.errors import InvalidInputError

SSIM_SIGMA = 1.5
_TRUNCATE = 3.5  # 3.5 sigma: an 11-tap window at sigma 1.5 (skimage, Wang et al.)
_K1, _K2 = 0.01, 0.03
_BORDER = int(_TRUNCATE * SSIM_SIGMA + 0.5)  # 5 px: half the window


def _as_sequences(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check two frames or sequences and return them as ``(T, H, W, C)`` float64."""
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        raise InvalidInputError(f"frames differ in shape: pred {x.shape}, gt {y.shape}")
    if x.ndim == 3:
        x, y = x[None], y[None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or min(x.shape[:3]) < 1:
        raise InvalidInputError(
            f"frames have shape {np.asarray(a).shape}, expected (H, W, 3) or (T, H, W, 3)"
        )
    return x.astype(np.float64), y.astype(np.float64)


def psnr_frames(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> np.ndarray:
    """Per-frame PSNR, dB; ``inf`` where a frame equals its reference.

    Parameters
    ----------
    a, b
        ``(H, W, 3)`` or ``(T, H, W, 3)`` frames of the same shape (uint8 or float).
    data_range
        Peak value: 255 for uint8.

    Returns
    -------
    np.ndarray
        ``(T,)`` float64 (T = 1 for a single frame).

    Raises
    ------
    InvalidInputError
        When the shapes differ or are not frames.
    """
    x, y = _as_sequences(a, b)
    mse = ((x - y) ** 2).mean(axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / mse)


def psnr(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> float:
    """PSNR of a frame, or mean per-frame PSNR of a sequence, dB.

    Frames identical to their reference are left out of the mean (see the module notes).

    Parameters
    ----------
    a, b
        ``(H, W, 3)`` or ``(T, H, W, 3)`` frames of the same shape.
    data_range
        Peak value: 255 for uint8.

    Returns
    -------
    float
        dB; ``inf`` when every frame is identical to its reference.

    Raises
    ------
    InvalidInputError
        When the shapes differ or are not frames.
    """
    values = psnr_frames(a, b, data_range=data_range)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("inf")


def ssim_frames(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> np.ndarray:
    """Per-frame SSIM (Wang et al. 2004, Gaussian window, per channel then averaged).

    Parameters
    ----------
    a, b
        ``(H, W, 3)`` or ``(T, H, W, 3)`` frames of the same shape, H and W >= 11.
    data_range
        Peak value: 255 for uint8.

    Returns
    -------
    np.ndarray
        ``(T,)`` float64 in [-1, 1]; 1 for identical frames.

    Raises
    ------
    InvalidInputError
        When the shapes differ, are not frames or are smaller than the 11x11 window.
    """
    x, y = _as_sequences(a, b)
    if min(x.shape[1:3]) < 2 * _BORDER + 1:
        raise InvalidInputError(
            f"frames of {x.shape[2]}x{x.shape[1]} px are smaller than the 11x11 SSIM window"
        )
    sigma = (0.0, SSIM_SIGMA, SSIM_SIGMA, 0.0)

    def blur(img: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(img, sigma=sigma, truncate=_TRUNCATE, mode="reflect")

    ux, uy = blur(x), blur(y)
    vx = blur(x * x) - ux * ux
    vy = blur(y * y) - uy * uy
    vxy = blur(x * y) - ux * uy
    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    s_map = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    r = _BORDER
    return s_map[:, r:-r, r:-r, :].mean(axis=(1, 2, 3))


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> float:
    """SSIM of a frame, or mean per-frame SSIM of a sequence (see :func:`ssim_frames`).

    Parameters
    ----------
    a, b
        ``(H, W, 3)`` or ``(T, H, W, 3)`` frames of the same shape, H and W >= 11.
    data_range
        Peak value: 255 for uint8.

    Returns
    -------
    float
        Unitless, 1 for identical frames.

    Raises
    ------
    InvalidInputError
        When the shapes differ, are not frames or are too small.
    """
    return float(ssim_frames(a, b, data_range=data_range).mean())
