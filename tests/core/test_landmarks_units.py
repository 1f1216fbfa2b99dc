"""Landmark track pieces on known numbers (gap filling, One-Euro, normalisation, pose,
settings), and the ``evp-studio landmarks`` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evp_studio.cli import main
from evp_studio.data.face import MEAN_SHAPE, posed_points
from evp_studio.errors import InvalidInputError
from evp_studio.landmarks import (
    MEAN_FACE_2D,
    TrackerSettings,
    estimate_pose,
    fill_gaps,
    normalise_landmarks,
    one_euro,
)
from evp_studio.landmarks._shape import _least_squares_pose
from tests.core.landmark_clips import affine, astronaut_patch, place, write_clip


def test_short_gaps_are_interpolated_in_time_and_long_ones_held() -> None:
    x = np.arange(10, dtype=np.float64)[:, None] * 2.0
    found = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 1], bool)
    t = np.array([0, 1, 2, 3, 4, 8, 9, 10, 11, 12], dtype=np.float64)  # uneven times
    out = fill_gaps(np.where(found[:, None], x, np.nan), found, t, max_gap=2)
    assert out[0, 0] == 2.0  # before the first found frame: held
    np.testing.assert_allclose(out[3:5, 0], 4.0 + (10.0 - 4.0) * np.array([1, 2]) / 6)
    np.testing.assert_allclose(out[6:9, 0], [10.0, 10.0, 18.0])  # 3 > max_gap: nearest held


def test_one_euro_keeps_a_constant_and_follows_a_step_faster_with_beta() -> None:
    t = np.arange(50) / 25.0
    still = np.full((50, 1, 2), 3.0)
    np.testing.assert_allclose(one_euro(still, t, min_cutoff=1, beta=0, d_cutoff=1), still)
    step = np.where(np.arange(50)[:, None, None] < 10, 0.0, 10.0) * np.ones((1, 1, 2))
    slow = one_euro(step, t, min_cutoff=1, beta=0, d_cutoff=1)
    fast = one_euro(step, t, min_cutoff=1, beta=1, d_cutoff=1)
    assert 0 < slow[12, 0, 0] < fast[12, 0, 0] < 10
    ramp = np.arange(50, dtype=np.float64)[:, None, None] * np.ones((1, 1, 2))
    causal = one_euro(ramp, t, min_cutoff=1, beta=0, d_cutoff=1)
    both = one_euro(ramp, t, min_cutoff=1, beta=0, d_cutoff=1, zero_phase=True)
    assert ramp[25, 0, 0] - causal[25, 0, 0] > 2  # the causal pass lags
    assert abs(both[25, 0, 0] - ramp[25, 0, 0]) < 0.1  # forward + backward does not


def test_normalisation_undoes_position_size_and_roll() -> None:
    theta = np.deg2rad(20)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    px = (MEAN_FACE_2D * 180) @ rot.T + [40, 25]
    norm, mats = normalise_landmarks(px[None])
    np.testing.assert_allclose(norm[0], MEAN_FACE_2D, atol=1e-5)
    assert mats.shape == (1, 2, 3)
    assert MEAN_FACE_2D[:, 0].min() == pytest.approx(0.13)


def test_pose_estimate_recovers_a_projected_mean_face() -> None:
    pose = np.array([[15, -8, 4, 120, 90, 1.3], [-25, 10, -12, 60, 70, 0.7]], np.float32)
    points = posed_points(MEAN_SHAPE.points, pose)[..., :2]
    np.testing.assert_allclose(estimate_pose(points), pose, atol=1e-2)
    np.testing.assert_allclose(_least_squares_pose(points), pose, atol=1e-2)  # the fallback
    assert np.isnan(estimate_pose(np.full((1, 68, 2), np.nan))).all()


def test_settings_round_trip_and_refuse_bad_values() -> None:
    s = TrackerSettings(backend="fan", select_point=(3, 4), beta=2.5)
    assert TrackerSettings.from_dict(s.to_dict()) == s
    assert "fan_model" not in TrackerSettings().detection_key()
    with pytest.raises(InvalidInputError, match="unknown tracker settings: colour"):
        TrackerSettings.from_dict({"colour": 1})
    for bad in ({"backend": "mtcnn"}, {"min_face_px": 5}, {"min_cutoff": 0}, {"device": "tpu"}):
        with pytest.raises(InvalidInputError):
            TrackerSettings(**bad)  # type: ignore[arg-type]


def test_cli_writes_the_track(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = write_clip(tmp_path / "c.mp4", 8, lambda i: place(astronaut_patch(), affine(1, 32, 0)))
    out = tmp_path / "tracks.npz"
    assert main(["landmarks", str(clip), "-o", str(out)]) == 0
    assert "8 frames, face found in 100.0% (dlib)" in capsys.readouterr().out
    with np.load(out) as data:
        assert data["landmarks"].shape == (8, 68, 2) and data["landmarks"].dtype == np.float32
        assert data["confidence"].shape == (8,) and data["lost"].dtype == bool
        assert data["pose"].shape == (8, 6) and data["timestamps"].shape == (8,)
        assert list(data["pose_columns"]) == ["yaw", "pitch", "roll", "tx", "ty", "scale"]
        assert tuple(data["frame_size"]) == (256, 192)


def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello")
    rng = np.random.default_rng(0)
    blank = write_clip(tmp_path / "b.mp4", 3, lambda i: rng.integers(0, 255, (64, 64, 3), np.uint8))
    for clip in (not_video, blank, tmp_path / "missing.mp4"):
        assert main(["landmarks", str(clip), "-o", str(tmp_path / "o.npz")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(clip) in err and err.startswith("evp-studio: error:")
    assert not (tmp_path / "o.npz").exists()
