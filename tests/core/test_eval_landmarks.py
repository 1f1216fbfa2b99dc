"""LD / LVD: alignment removes head motion and only head motion; known errors give known values."""

from __future__ import annotations

import numpy as np
import pytest

from evp_studio.errors import InvalidInputError
from evp_studio.eval import (
    FACE_SIZE_PX,
    landmark_distance,
    landmark_velocity_distance,
    normalise_face,
    similarity_align,
)
from tests.core.test_eval_support import random_similarity, real_face, talking

MOUTH = slice(48, 68)


def _shifted(gt_face: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Face-frame sequence with the mouth moved by ``offsets`` (T, 2)."""
    pred = gt_face.copy()
    pred[:, MOUTH] += offsets[:, None, :]
    return pred


def test_similarity_align_undoes_a_known_similarity() -> None:
    rng = np.random.default_rng(0)
    src = talking(6, rng)
    dst = random_similarity(src, rng)
    np.testing.assert_allclose(similarity_align(src, dst), dst, atol=1e-9)
    np.testing.assert_allclose(similarity_align(dst, src), src, atol=1e-9)


def test_similarity_align_never_reflects() -> None:
    face = talking(1, np.random.default_rng(0))
    mirrored = face * [-1.0, 1.0]  # a mirror image is not a similarity of the face
    aligned = similarity_align(mirrored, face)
    assert np.linalg.norm(aligned - face, axis=-1).mean() > 5.0


def test_normalise_face_puts_outer_eye_corners_100_px_apart() -> None:
    rng = np.random.default_rng(1)
    px = random_similarity(talking(4, rng), rng)
    norm = normalise_face(px)
    np.testing.assert_allclose(norm[:, 36], [[-FACE_SIZE_PX / 2, 0]] * 4, atol=1e-9)
    np.testing.assert_allclose(norm[:, 45], [[FACE_SIZE_PX / 2, 0]] * 4, atol=1e-9)


def test_head_motion_alone_gives_zero_ld_and_lvd() -> None:
    rng = np.random.default_rng(2)
    face = talking(12, rng)
    gt, pred = random_similarity(face, rng), random_similarity(face, rng)
    for region in ("mouth", "face"):
        assert landmark_distance(pred, gt, region) == pytest.approx(0.0, abs=1e-9)
        assert landmark_velocity_distance(pred, gt, region) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("d", [0.5, 3.0, 10.0])
def test_mouth_shift_of_d_gives_m_ld_d_and_f_ld_d_times_20_over_68(d: float) -> None:
    rng = np.random.default_rng(3)
    face = talking(10, rng)
    angle = rng.uniform(0, 2 * np.pi)
    offsets = np.repeat([[d * np.cos(angle), d * np.sin(angle)]], 10, axis=0)
    gt = random_similarity(face, rng)
    pred = random_similarity(_shifted(face, offsets), rng)
    assert landmark_distance(pred, gt, "mouth") == pytest.approx(d, rel=1e-9)
    assert landmark_distance(pred, gt, "face") == pytest.approx(d * 20 / 68, rel=1e-9)
    # a constant error does not move: no velocity difference
    assert landmark_velocity_distance(pred, gt, "mouth") == pytest.approx(0.0, abs=1e-9)
    assert landmark_velocity_distance(pred, gt, "face") == pytest.approx(0.0, abs=1e-9)


def test_alternating_jitter_of_a_gives_lvd_2a() -> None:
    rng = np.random.default_rng(4)
    a, n = 1.5, 9
    face = talking(n, rng)
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    offsets = np.stack([a * signs, np.zeros(n)], axis=1)  # +a, -a, +a, ... along x
    gt = random_similarity(face, rng)
    pred = random_similarity(_shifted(face, offsets), rng)
    assert landmark_distance(pred, gt, "mouth") == pytest.approx(a, rel=1e-9)
    assert landmark_velocity_distance(pred, gt, "mouth") == pytest.approx(2 * a, rel=1e-9)
    assert landmark_velocity_distance(pred, gt, "face") == pytest.approx(2 * a * 20 / 68, rel=1e-9)


def test_units_follow_the_ground_truth_face_size() -> None:
    """The same error in a face filmed twice as large is the same LD."""
    face = real_face()[None].repeat(3, axis=0)
    pred = _shifted(face, np.full((3, 2), 2.0))
    small = landmark_distance(pred * 1.7, face * 1.7)
    large = landmark_distance(pred * 4.0, face * 4.0)
    assert small == pytest.approx(large, rel=1e-9)
    assert small == pytest.approx(2.0 * np.sqrt(2), rel=1e-9)


def test_without_alignment_ld_is_raw_pixels() -> None:
    face = real_face()[None].repeat(2, axis=0) * 3.0
    assert landmark_distance(face + [3.0, 4.0], face, "face", align=False) == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("pred", "gt", "match"),
    [
        (np.zeros((5, 67, 2)), np.zeros((5, 68, 2)), r"pred: landmarks have shape \(5, 67, 2\)"),
        (np.zeros((0, 68, 2)), np.zeros((0, 68, 2)), r"pred: landmarks have shape \(0, 68, 2\)"),
        (np.ones((5, 68, 2)), np.ones((4, 68, 2)), "pred has 5 frames of landmarks and gt 4"),
        (np.ones((5, 68, 2)), np.full((5, 68, 2), np.nan), r"gt: landmarks of 5 frame\(s\)"),
    ],
)
def test_bad_sequences_are_refused(pred: np.ndarray, gt: np.ndarray, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        landmark_distance(pred, gt)


def test_collapsed_face_and_bad_region_and_short_lvd_are_refused() -> None:
    face = real_face()[None]
    with pytest.raises(InvalidInputError, match="collapse to one point"):
        landmark_distance(np.zeros((1, 68, 2)), face)
    with pytest.raises(InvalidInputError, match="region 'lips'"):
        landmark_distance(face, face, "lips")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="LVD needs at least 2 frames"):
        landmark_velocity_distance(face, face)
