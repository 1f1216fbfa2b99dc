"""3D-aware keypoint alignment on synthetic faces with known poses (``evp_studio.geometry``)."""

from __future__ import annotations

import numpy as np
import pytest

from evp_studio.data import face as F
from evp_studio.errors import InvalidInputError
from evp_studio.geometry import (
    OneEuro,
    PoseFit,
    align_to_target,
    fit_pose,
    fit_shape,
    from_canonical,
    frontalise,
    one_euro,
    place_2d,
    reproject,
    to_canonical,
)

FPS = 25.0
NOISE_PX = 0.5
SPEECH = [
    ("sil", 0.0, 0.2), ("DD", 0.2, 0.3), ("aa", 0.3, 0.6), ("PP", 0.6, 0.7), ("O", 0.7, 1.0),
    ("SS", 1.0, 1.2), ("I", 1.2, 1.5), ("U", 1.5, 1.8), ("E", 1.8, 2.2), ("aa", 2.2, 9.0),
]  # fmt: skip
OTHER_SPEECH = [("sil", 0.0, 0.1), ("U", 0.1, 0.5), ("aa", 0.5, 1.2), ("FF", 1.2, 1.4)]


def _random_pose(rng: np.random.Generator, n: int) -> F.Pose:
    """Poses over the whole tested range: yaw +-40, pitch +-20, roll +-15 deg, any place."""
    return F.Pose(
        rng.uniform(-40, 40, n),
        rng.uniform(-20, 20, n),
        rng.uniform(-15, 15, n),
        rng.uniform(100, 400, n),
        rng.uniform(100, 400, n),
        rng.uniform(0.8, 2.5, n),  # px/mm: inter-ocular distance 72-225 px
    )


def _clip(
    rng: np.random.Generator, shape: F.FaceShape, emotion: str, pose: F.Pose
) -> tuple[np.ndarray, F.AnimatedFace, np.ndarray]:
    """Noisy 2D landmarks, the true animation and its head-frame 3D points."""
    n = len(pose)
    mouth = F.mouth_track(SPEECH, n, FPS)
    blink = F.blink_track(n, FPS, rng)
    anim = F.animate(shape, mouth, emotion, 1.0, pose, blink)
    head = F.deform_face(shape, mouth, emotion, 1.0, blink)
    noisy = anim.landmarks2d + rng.normal(0.0, NOISE_PX, anim.landmarks2d.shape)
    return noisy, anim, head


def _rotation_error(fit: PoseFit, pose: F.Pose) -> np.ndarray:
    """Angle (deg) of R_true^T R_fit per frame."""
    rel = np.einsum(
        "tji,tjk->tik", F.rotation_matrix(pose.yaw, pose.pitch, pose.roll), fit.rotation
    )
    cos = (np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0
    return np.rad2deg(np.arccos(np.clip(cos, -1.0, 1.0)))


def _iod(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[..., 45, :] - points[..., 36, :], axis=-1)


def _rms_over_iod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame RMS point distance as a fraction of the inter-ocular distance of ``b``."""
    return np.sqrt(((a - b) ** 2).sum(-1).mean(-1)) / _iod(b)


# --- pose fit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "emotion"), list(enumerate(["neutral", "happy", "surprised", "disgusted", "angry"]))
)
def test_fit_pose_recovers_known_poses_of_expressive_faces(seed: int, emotion: str) -> None:
    rng = np.random.default_rng(seed)
    actor = F.identity_shape(rng)
    pose = _random_pose(rng, 200)
    noisy, anim, head = _clip(rng, actor, emotion, pose)
    fit = fit_pose(noisy, actor.points)  # the shape taken from the target (e.g. 3D FAN)
    assert fit.valid.all()
    assert _rotation_error(fit, pose).max() < 2.0
    # the true 3D points, re-projected with the fitted pose, land on the true landmarks
    err = _rms_over_iod(reproject(head, fit), anim.landmarks2d)
    assert err.mean() < 0.01 and err.max() < 0.02
    assert np.allclose(fit.angles(), pose.as_array()[:, :3], atol=3.0)
    assert np.allclose(fit.translation, pose.as_array()[:, 3:5], atol=0.03 * _iod(noisy)[:, None])
    assert np.allclose(fit.scale, pose.scale, rtol=0.03)
    assert np.isfinite(fit.residual).all() and (fit.residual > 0).all()


def test_fit_pose_with_the_default_mean_shape() -> None:
    rng = np.random.default_rng(5)
    pose = _random_pose(rng, 200)
    noisy, anim, head = _clip(rng, F.MEAN_SHAPE, "happy", pose)
    fit = fit_pose(noisy)
    assert _rotation_error(fit, pose).max() < 2.0
    assert _rms_over_iod(reproject(head, fit), anim.landmarks2d).mean() < 0.01
    assert fit.as_pose_array().shape == (200, 6)


def test_fit_shape_learns_the_target_and_tracks_better() -> None:
    rng = np.random.default_rng(3)
    actor = F.identity_shape(rng)
    pose = F.head_motion(250, FPS, rng, amplitude=2.0, size=(512, 512))
    noisy, _, _ = _clip(rng, actor, "disgusted", pose)

    def tracking_error(fit: PoseFit) -> np.ndarray:
        # rotations of a shape's head frame differ from the actor's by a constant; remove it
        rt = F.rotation_matrix(pose.yaw, pose.pitch, pose.roll)
        u, _, vt = np.linalg.svd(np.einsum("tji,tjk->ik", rt, fit.rotation))
        offset = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
        return _rotation_error(PoseFit(fit.rotation @ offset.T, *_rest(fit)), pose)

    shape, fit = fit_shape(noisy)
    start = tracking_error(fit_pose(noisy))
    refined = tracking_error(fit)
    assert shape.shape == (68, 3)
    assert refined.mean() < 0.5 * start.mean() and refined.max() < 1.5
    assert _rotation_error(fit, pose).max() < 2.5


def _rest(fit: PoseFit) -> tuple[np.ndarray, ...]:
    return fit.scale, fit.translation, fit.residual, fit.valid


# --- lifting and canonical space ---------------------------------------------------------------


def test_frontalise_and_reproject_round_trip() -> None:
    rng = np.random.default_rng(11)
    actor = F.identity_shape(rng)
    pose = _random_pose(rng, 50)
    noisy, anim, _ = _clip(rng, actor, "sad", pose)
    fit = fit_pose(noisy, actor.points)
    head = frontalise(noisy, fit, actor.points)
    assert head.shape == (50, 68, 3)
    assert np.abs(reproject(head, fit) - noisy).max() < 1e-9
    # a neutral face with its own shape and no noise lifts back onto the shape exactly
    still = F.project(actor.points, pose)
    exact = fit_pose(still, actor.points, robust=False)
    assert np.abs(frontalise(still, exact, actor.points) - actor.points).max() < 1e-3


def test_canonical_space_is_pose_free_and_normalised() -> None:
    rng = np.random.default_rng(2)
    actor = F.identity_shape(rng)
    frontal = F.project(F.MEAN_SHAPE.points, F.static_pose(1, size=(512, 512)))[0]
    can = to_canonical(frontal)
    assert can.shape == (68, 2)
    assert np.allclose(0.5 * (can[36] + can[45]), 0.0, atol=1e-6)
    assert np.isclose(_iod(can), 1.0, atol=1e-6)
    assert can[8, 1] > 1.0 > can[27, 1] and can[45, 0] > 0  # y down, x right
    # the same face seen under any pose gives the same canonical landmarks
    turned = F.project(actor.points, _random_pose(rng, 20))
    can_turned = to_canonical(turned, shape3d=actor.points)
    assert np.abs(can_turned - can_turned[0]).max() < 1e-4
    back = from_canonical(can_turned, actor.points)
    assert np.allclose(back[..., :2], actor.points[:, :2], atol=1e-3)


# --- alignment into the target -----------------------------------------------------------------


def _fig7_case(yaw: float, n: int = 75) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A turned, talking target and a different, emotional frontal prediction of the same actor.

    Returns the target landmarks (noisy), the prediction in canonical space, the truth (the
    prediction's face with the target's pose) and the target's own shape.
    """
    rng = np.random.default_rng(int(yaw) + 100)
    actor = F.identity_shape(rng)
    t = np.arange(n) / FPS
    pose = F.Pose(
        yaw + 3 * np.sin(t), 6 * np.sin(0.7 * t), 4 * np.cos(0.5 * t),
        256 + 10 * np.sin(t), 256 + 5 * np.cos(t), np.full(n, 1.6),
    )  # fmt: skip
    target, _, _ = _clip(rng, actor, "neutral", pose)
    mouth = F.mouth_track(OTHER_SPEECH, n, FPS)
    truth = F.animate(actor, mouth, "happy", 1.0, pose).landmarks2d
    frontal = F.animate(actor, mouth, "happy", 1.0, F.static_pose(n, size=(512, 512)))
    return target, to_canonical(frontal.landmarks2d), truth, actor.points


@pytest.mark.parametrize("yaw", [-40.0, -30.0, 30.0, 40.0])
def test_3d_alignment_beats_direct_2d_placement_at_large_yaw(yaw: float) -> None:
    target, pred, truth, _ = _fig7_case(yaw)
    fit = fit_pose(target)  # the default mean shape: no knowledge of the actor
    err_3d = _rms_over_iod(align_to_target(pred, fit, target), truth).mean()
    err_2d = _rms_over_iod(place_2d(pred, target), truth).mean()
    assert err_3d < 0.05
    assert err_3d < 0.3 * err_2d


def test_alignment_matches_2d_placement_when_frontal() -> None:
    target, pred, truth, _ = _fig7_case(0.0)
    err_3d = _rms_over_iod(align_to_target(pred, fit_pose(target), target), truth).mean()
    err_2d = _rms_over_iod(place_2d(pred, target), truth).mean()
    assert err_3d < 0.015 and err_2d < 0.05


def test_alignment_options_and_a_target_shape() -> None:
    target, pred, truth, own = _fig7_case(30.0)
    fit = fit_pose(target, own)
    plain = align_to_target(pred, fit, target, shape3d=own, smooth=None, contour_blend=0.0)
    head = from_canonical(pred, own)
    assert np.allclose(plain, reproject(head, fit))  # nothing but eq. 8
    assert np.allclose(
        align_to_target(head, fit, target, shape3d=own, smooth=None, contour_blend=0.0), plain
    )
    anchored = align_to_target(pred, fit, target, shape3d=own, anchor=True)
    assert _rms_over_iod(anchored, truth).mean() < 0.05
    one = align_to_target(pred[0], fit, target, shape3d=own, smooth=None)
    assert one.shape == target.shape


def test_smoothing_removes_jitter_without_losing_the_mouth() -> None:
    target, pred, truth, _ = _fig7_case(30.0)
    rng = np.random.default_rng(0)
    shaky = target + rng.normal(0.0, 1.5, target.shape)
    fit = fit_pose(shaky)
    raw = align_to_target(pred, fit, shaky, smooth=None)
    smooth = align_to_target(pred, fit, shaky, smooth=OneEuro(fps=FPS))

    def jitter(x: np.ndarray) -> float:
        return float(np.abs(np.diff(x - truth, axis=0)).mean())

    assert jitter(smooth) < 0.5 * jitter(raw)
    assert _rms_over_iod(smooth, truth).mean() < _rms_over_iod(raw, truth).mean()


def test_one_euro_keeps_constants_and_splits_at_gaps() -> None:
    track = np.full((30, 4), 3.0)
    assert np.allclose(one_euro(track, OneEuro()), 3.0)
    track[10:12] = np.nan
    track[12:] = 7.0
    out = one_euro(track, OneEuro())
    assert np.isnan(out[10:12]).all()
    assert np.allclose(out[:10], 3.0) and np.allclose(out[12:], 7.0)


def test_place_2d_recovers_a_similarity() -> None:
    rng = np.random.default_rng(4)
    pred = to_canonical(F.project(F.MEAN_SHAPE.points, F.static_pose(3)))
    angle = np.deg2rad([10.0, -20.0, 0.0])
    a = 80.0 * np.exp(1j * angle)
    z = a[:, None] * (pred[..., 0] + 1j * pred[..., 1]) + rng.uniform(50, 200, 3)[:, None]
    target = np.stack([z.real, z.imag], axis=-1)
    assert np.allclose(place_2d(pred, target), target)
    assert np.allclose(place_2d(pred[0], target), target)


# --- lost faces and bad input ------------------------------------------------------------------


def test_lost_frames_are_flagged_not_fatal() -> None:
    rng = np.random.default_rng(8)
    pose = _random_pose(rng, 12)
    noisy, _, _ = _clip(rng, F.MEAN_SHAPE, "fear", pose)
    good = fit_pose(noisy)
    pts = noisy.copy()
    pts[3] = np.nan  # the face was lost
    pts[5, :64] = np.nan  # only 4 points left
    pts[7, 48:] = np.nan  # the mouth is hidden: still fittable
    fit = fit_pose(pts)
    assert fit.valid.tolist() == [i not in (3, 5) for i in range(12)]
    assert np.isnan(fit.rotation[[3, 5]]).all() and np.isnan(fit.residual[[3, 5]]).all()
    keep = [0, 1, 2, 4, 6, 8, 9, 10, 11]
    assert np.allclose(fit.rotation[keep], good.rotation[keep], atol=1e-9)
    assert _rotation_error(fit, pose)[7] < 2.0
    head = frontalise(pts, fit)
    assert (
        np.isnan(head[3]).all() and np.isnan(head[7, 48:]).all() and np.isfinite(head[7, :48]).all()
    )
    pred = to_canonical(noisy[0])
    placed = align_to_target(pred, fit, pts)
    assert np.isnan(placed[[3, 5]]).all() and np.isfinite(placed[keep]).all()
    assert np.isnan(place_2d(pred, pts)[3]).all()
    everything_lost = fit_pose(np.full((2, 68, 2), np.nan))
    assert not everything_lost.valid.any()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: fit_pose(np.zeros((4, 68, 3))), "expected"),
        (lambda: fit_pose(np.zeros((5, 2))), "expected"),
        (lambda: fit_pose([["a"] * 2] * 68), "numeric"),
        (lambda: fit_pose(np.full((68, 2), np.inf)), "infinite"),
        (lambda: fit_pose(np.zeros((68, 2))), "collinear"),
        (lambda: fit_pose(np.stack([np.arange(68.0), 2 * np.arange(68.0)], -1)), "collinear"),
        (lambda: fit_pose(np.ones((68, 2)), np.zeros((68, 3))), "shape3d"),
        (lambda: fit_pose(np.ones((68, 2)), np.ones((67, 3))), "shape3d"),
        (lambda: fit_pose(np.ones((68, 2)), weights=-np.ones(68)), "weights"),
        (lambda: fit_shape(np.ones((2, 68, 2)), prior_frames=0.0), "prior_frames"),
        (lambda: OneEuro(min_cutoff=0.0), "min_cutoff"),
        (lambda: one_euro(np.zeros((3, 2)), OneEuro(), unit=0.0), "unit"),
    ],
)
def test_bad_input_raises_clear_errors(call: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        call()  # type: ignore[operator]


def test_frame_counts_must_agree() -> None:
    pts = F.project(F.MEAN_SHAPE.points, _random_pose(np.random.default_rng(1), 4))
    fit = fit_pose(pts)
    with pytest.raises(InvalidInputError, match="frames"):
        reproject(np.zeros((3, 68, 3)), fit)
    with pytest.raises(InvalidInputError, match="frames"):
        frontalise(pts[:2], fit)
    with pytest.raises(InvalidInputError, match="target has 4"):
        align_to_target(np.zeros((3, 68, 2)), fit, pts)
    with pytest.raises(InvalidInputError, match="contour_blend"):
        align_to_target(np.zeros((4, 68, 2)), fit, pts, contour_blend=2.0)
    with pytest.raises(InvalidInputError, match="canonical"):
        align_to_target(np.zeros((4, 68, 5)), fit, pts)
    with pytest.raises(InvalidInputError, match="target has 4"):
        place_2d(np.zeros((3, 68, 2)), pts)
    with pytest.raises(InvalidInputError, match="PoseFit"):
        PoseFit(fit.rotation, fit.scale[:2], fit.translation, fit.residual, fit.valid)


def test_single_frame_in_single_frame_out() -> None:
    pts = F.project(F.MEAN_SHAPE.points, F.static_pose(1, yaw=25.0))[0]
    fit = fit_pose(pts)
    assert len(fit) == 1 and fit.rotation.shape == (1, 3, 3)
    assert frontalise(pts, fit).shape == (68, 3)
    assert reproject(F.MEAN_SHAPE.points, fit).shape == (1, 68, 2)
    assert abs(fit.angles()[0, 0] - 25.0) < 0.01
