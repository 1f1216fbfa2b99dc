"""The ``fan`` backend: missing and corrupt weights, and face-alignment's real network code
(FAN, ResNetDepth, S3FD) with random weights through our pre- and post-processing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch

from evp_studio.cli import main
from evp_studio.errors import InvalidInputError, ModelNotFoundError
from evp_studio.jobs import run_job
from evp_studio.landmarks import (
    FaceBox,
    FanBackend,
    HogBoxes,
    SfdDetector,
    TrackerSettings,
    detect_landmarks,
    heatmap_points,
    load_backend,
    track_landmarks,
)
from evp_studio.landmarks._fan import HEATMAP, crop_geometry
from evp_studio.landmarks._fan_files import import_face_alignment
from evp_studio.weights import user_models_dir
from tests.core.landmark_clips import affine, astronaut_patch, place, write_clip


@pytest.fixture(autouse=True)
def _empty_torch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no stray real weights


@pytest.fixture(scope="module")
def fa() -> object:
    torch.manual_seed(0)
    return import_face_alignment()


def test_missing_weights_name_the_file_and_the_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        load_backend(TrackerSettings(backend="fan"))
    text = str(info.value)
    assert "2DFAN4-11f355bf06.pth.tar" in text and str(user_models_dir()) in text
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in text
    with pytest.raises(ModelNotFoundError, match="3DFAN4-7835d9f11d.pth.tar"):
        load_backend(TrackerSettings(backend="fan", fan_model="3d", fan_detector="dlib"))
    clip = write_clip(tmp_path / "c.mp4", 2, lambda i: place(astronaut_patch(), affine(1, 32, 0)))
    assert main(["landmarks", str(clip), "-o", str(tmp_path / "o.npz"), "--backend", "fan"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2DFAN4-11f355bf06.pth.tar" in err


def test_corrupt_weights_name_the_file(tmp_path: Path) -> None:
    bad = user_models_dir() / "2DFAN4-11f355bf06.pth.tar"
    bad.write_bytes(b"\x00not a torch file" * 64)
    with pytest.raises(InvalidInputError, match="2DFAN4-11f355bf06.pth.tar: not a usable FAN"):
        load_backend(TrackerSettings(backend="fan", fan_detector="dlib"))
    torch.save({"conv1.weight": torch.zeros(3)}, bad)  # a torch file of another network
    with pytest.raises(InvalidInputError, match="do not fit the FAN network"):
        load_backend(TrackerSettings(backend="fan", fan_detector="dlib"))


def test_heatmap_peaks_are_read_to_a_quarter_pixel() -> None:
    yy, xx = np.mgrid[0:HEATMAP, 0:HEATMAP] + 0.5
    truth = np.random.default_rng(0).uniform(5, 59, (68, 2))
    maps = np.exp(-((xx - truth[:, :1, None]) ** 2 + (yy - truth[:, 1:, None]) ** 2) / 8)
    points, scores = heatmap_points(maps)
    assert np.abs(points - truth).max() <= 0.5 and np.abs(points - truth).mean() < 0.2
    assert (scores > 0.9).all()


class _PeaksAt(torch.nn.Module):
    """Stands in for FAN: heatmaps peaking at fixed heatmap pixels, in FAN's output format."""

    def __init__(self, points: np.ndarray) -> None:
        super().__init__()
        yy, xx = np.mgrid[0:HEATMAP, 0:HEATMAP] + 0.5
        d2 = (xx - points[:, :1, None]) ** 2 + (yy - points[:, 1:, None]) ** 2
        self.maps = torch.from_numpy(np.exp(-d2 / 4).astype(np.float32))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        assert x.shape[1:] == (3, 256, 256)
        return [self.maps[None].expand(len(x), -1, -1, -1)]


def test_points_map_from_the_crop_back_to_the_frame() -> None:
    image = np.zeros((300, 400, 3), np.uint8)
    box = FaceBox(150.0, 80.0, 250.0, 190.0)
    in_heatmap = np.random.default_rng(1).uniform(8, 56, (68, 2)).round() + 0.5
    backend = FanBackend(_PeaksAt(in_heatmap), detector=HogBoxes())
    face = backend.landmarks(image, box)
    centre, side = crop_geometry(box)
    expected = centre - side / 2 + in_heatmap * side / HEATMAP
    np.testing.assert_allclose(face.points, expected, atol=1e-3)
    assert face.confidence == pytest.approx(1.0, abs=1e-6) and face.depth is None


def test_real_fan_network_with_random_weights_gives_68_points(fa: object) -> None:
    photo = np.ascontiguousarray(skimage.data.astronaut()[40:296, 96:352])  # 256 x 256
    backend = FanBackend(fa.models.FAN(4), detector=HogBoxes())  # type: ignore[attr-defined]
    faces = detect_landmarks(photo, backend=backend)
    assert len(faces) == 1
    pts, box = faces[0].points, faces[0].box
    centre, side = crop_geometry(box)
    assert pts.shape == (68, 2) and np.isfinite(pts).all()
    assert (np.abs(pts - centre) <= side / 2).all()  # inside the crop FAN saw
    assert 0.0 <= faces[0].confidence <= 1.0


def test_real_3d_networks_with_random_weights_give_depth(fa: object) -> None:
    photo = np.ascontiguousarray(skimage.data.astronaut()[40:296, 96:352])
    backend = FanBackend(
        fa.models.FAN(1),  # type: ignore[attr-defined]
        detector=HogBoxes(),
        depth=fa.models.ResNetDepth(),  # type: ignore[attr-defined]
        flip=True,
    )
    face = detect_landmarks(photo, backend=backend)[0]
    assert backend.has_depth and face.depth is not None
    assert face.depth.shape == (68,) and np.isfinite(face.depth).all()


def test_real_s3fd_network_with_random_weights_gives_boxes(fa: object) -> None:
    from face_alignment.detection.sfd.net_s3fd import s3fd

    detector = SfdDetector(s3fd(), threshold=0.5)
    image = np.random.default_rng(2).integers(0, 255, (96, 128, 3), np.uint8)
    boxes = detector.detect(image, min_size=40)
    assert all(isinstance(b, FaceBox) and b.x1 > b.x0 and b.score > 0.5 for b in boxes)


def test_a_clip_is_tracked_through_the_fan_backend(fa: object, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", 3, lambda i: place(astronaut_patch(), affine(1, 32, 0)))
    backend = FanBackend(fa.models.FAN(1), detector=HogBoxes())  # type: ignore[attr-defined]
    track = run_job(track_landmarks(clip, backend=backend, use_cache=False))
    assert track.backend == "fan" and track.landmarks.shape == (3, 68, 2)
    assert not track.lost.any() and track.depth is None
