"""PSNR and SSIM: known noise gives known PSNR, identical frames, monotony, skimage equality."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from skimage.metrics import structural_similarity

from evp_studio.errors import InvalidInputError
from evp_studio.eval import psnr, psnr_frames, ssim, ssim_frames


def _astronaut(size: int = 96) -> np.ndarray:
    img = skimage.data.astronaut()
    step = img.shape[0] // size
    return np.ascontiguousarray(img[::step, ::step][:size, :size])


def _noisy(frames: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, frames.shape)
    return np.clip(np.rint(frames + noise), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("sigma", [2.0, 5.0, 10.0])
def test_psnr_of_gaussian_noise_is_20_log10_255_over_sigma(sigma: float) -> None:
    # mid-range frames, so the noise is not clipped at 0 or 255
    rng = np.random.default_rng(1)
    clean = rng.integers(70, 186, size=(4, 64, 64, 3)).astype(np.uint8)
    expected = 20 * np.log10(255 / sigma)
    assert psnr(_noisy(clean, sigma), clean) == pytest.approx(expected, abs=0.2)
    assert psnr(_noisy(clean[0], sigma), clean[0]) == pytest.approx(expected, abs=0.2)


def test_identical_frames_give_ssim_1_and_infinite_psnr() -> None:
    frames = np.stack([_astronaut(), _astronaut()[::-1]])
    assert ssim(frames, frames) == pytest.approx(1.0, abs=1e-12)
    assert psnr(frames, frames) == float("inf")
    assert np.isinf(psnr_frames(frames, frames)).all()


def test_identical_frames_are_left_out_of_the_psnr_mean() -> None:
    clean = np.stack([_astronaut()] * 3)
    noisy = _noisy(clean, 8.0)
    noisy[0] = clean[0]
    per_frame = psnr_frames(noisy, clean)
    assert np.isinf(per_frame[0]) and np.isfinite(per_frame[1:]).all()
    assert psnr(noisy, clean) == pytest.approx(per_frame[1:].mean())


def test_ssim_falls_monotonically_with_noise() -> None:
    clean = _astronaut()
    values = [ssim(_noisy(clean, s), clean) for s in (1, 3, 6, 12, 25, 50)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False)), values
    assert 0.0 < values[-1] < values[0] < 1.0


def test_ssim_is_skimage_wang_et_al_ssim_on_every_frame() -> None:
    clean = np.stack([_astronaut(), np.roll(_astronaut(), 7, axis=1)])
    noisy = _noisy(clean, 12.0)
    ours = ssim_frames(noisy, clean)
    theirs = [
        structural_similarity(
            n,
            c,
            channel_axis=-1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
        )
        for n, c in zip(noisy, clean, strict=True)
    ]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_bad_frames_are_refused() -> None:
    a = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(InvalidInputError, match="frames differ in shape"):
        ssim(a, a[:, :16])
    with pytest.raises(InvalidInputError, match="expected"):
        psnr(a[0, 0], a[0, 0])
    with pytest.raises(InvalidInputError, match="smaller than the 11x11 SSIM window"):
        ssim(a[:, :8, :8], a[:, :8, :8])
