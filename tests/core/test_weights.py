"""The model registry: lookup order, checksums, error messages, status and install."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evp_studio import weights
from evp_studio.errors import (
    ExportError,
    InvalidInputError,
    ModelChecksumError,
    ModelNotFoundError,
)
from evp_studio.paths import resource_path
from evp_studio.weights import WeightSpec

CONTENT = b"weights of a test model\n" * 100
OTHER = b"a user's own weights\n" * 50


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``resources/`` folder holding ``models/``, and a registry of test entries."""
    root = tmp_path / "resources"
    (root / "models").mkdir(parents=True)
    monkeypatch.setattr(weights, "resource_path", lambda name: root / name)
    specs = {
        "bundled": WeightSpec(
            "bundled", "bundled.pt", None, "a bundled test model", "Reinstall it.", True
        ),
        "extra": WeightSpec(
            "extra", "extra.bin", sha(CONTENT), "an optional test model", "Copy it in.", False
        ),
    }
    monkeypatch.setattr(weights, "REGISTRY", specs)
    return root / "models"


def bundle(folder: Path, data: bytes, digest: str | None) -> Path:
    """Write ``bundled.pt`` and, unless ``digest`` is None, its manifest."""
    path = folder / "bundled.pt"
    path.write_bytes(data)
    if digest is not None:
        manifest = {"file": "bundled.pt", "sha256": digest}
        (folder / "bundled.json").write_text(json.dumps(manifest), encoding="utf-8")
    return path


def test_registry_names_every_file_with_sha_or_manifest() -> None:
    assert {"emotion-classifier", "disentangle-small", "dlib-68"} <= set(weights.REGISTRY)
    for name, spec in weights.REGISTRY.items():
        assert spec.name == name
        assert spec.how_to_get and spec.description
        if spec.bundled and spec.package is None:
            assert spec.sha256 is None  # read from the manifest
            assert spec.manifest_path() == resource_path(f"models/{Path(spec.filename).stem}.json")
        else:  # in code; None only where the publisher gives no full hash (custom file)
            assert spec.sha256 is None or re.fullmatch("[0-9a-f]{64}", spec.sha256), name
    for name in ("dlib-68", "fan-2d", "s3fd"):
        assert weights.REGISTRY[name].sha256 is not None


def test_user_models_dir_is_under_evp_studio_home(_isolated_home: Path) -> None:
    assert weights.user_models_dir() == _isolated_home / "data" / "models"
    assert weights.user_models_dir().is_dir()


def test_real_dlib_file_matches_registry() -> None:
    path = weights.resolve("dlib-68")
    assert path.name == "shape_predictor_68_face_landmarks.dat"
    assert "face_recognition_models" in path.parts
    assert weights.file_sha256(path) == weights.REGISTRY["dlib-68"].sha256


def test_real_bundled_emotion_classifier_matches_its_manifest() -> None:
    path = weights.resolve("emotion-classifier")
    assert path == resource_path("models/emotion_classifier.pt")
    manifest = json.loads(resource_path("models/emotion_classifier.json").read_text("utf-8"))
    assert weights.file_sha256(path) == manifest["sha256"]


@pytest.mark.parametrize("name", ["disentangle-small", "audio2landmark-small"])
def test_real_bundled_weights_match_their_manifests(name: str) -> None:
    path = weights.resolve(name)
    assert path == resource_path(f"models/{weights.REGISTRY[name].filename}")
    assert weights.file_sha256(path) == weights.REGISTRY[name].expected_sha256()


def test_missing_everywhere_names_file_folders_and_remedy(resources: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        weights.resolve("bundled")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "bundled.pt" in message
    assert str(weights.user_models_dir()) in message
    assert str(resources) in message
    assert "Reinstall it." in message
    with pytest.raises(ModelNotFoundError, match=r"extra\.bin.*Copy it in\."):
        weights.resolve("extra")


def test_bundled_file_with_registered_sha_resolves(resources: Path) -> None:
    path = bundle(resources, CONTENT, sha(CONTENT))
    assert weights.resolve("bundled") == path


def test_corrupt_bundled_file_says_installation_is_damaged(resources: Path) -> None:
    path = bundle(resources, CONTENT + b"flipped", sha(CONTENT))
    with pytest.raises(ModelChecksumError) as info:
        weights.resolve("bundled")
    message = str(info.value)
    assert str(path) in message
    assert sha(CONTENT) in message and sha(CONTENT + b"flipped") in message
    assert "damaged" in message
    assert info.value.expected == sha(CONTENT)
    assert weights.resolve("bundled", verify=False) == path


def test_bundled_file_without_manifest_is_damaged(resources: Path) -> None:
    bundle(resources, CONTENT, None)
    with pytest.raises(ModelChecksumError, match=r"manifest .*bundled\.json.*damaged"):
        weights.resolve("bundled")


def test_user_file_comes_first_and_may_be_a_custom_model(
    resources: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bundle(resources, CONTENT + b"flipped", sha(CONTENT))  # even a damaged bundle is bypassed
    user = weights.user_models_dir() / "bundled.pt"
    user.write_bytes(OTHER)
    with caplog.at_level(logging.INFO, logger="evp_studio.weights"):
        assert weights.resolve("bundled") == user
    assert "custom model" in caplog.text
    caplog.clear()
    user.write_bytes(CONTENT)
    with caplog.at_level(logging.INFO, logger="evp_studio.weights"):
        assert weights.resolve("bundled") == user
    assert "custom" not in caplog.text


def test_non_bundled_model_is_found_in_the_user_folder(resources: Path) -> None:
    user = weights.user_models_dir() / "extra.bin"
    user.write_bytes(CONTENT)
    assert weights.resolve("extra") == user


def test_status_reports_every_state(resources: Path) -> None:
    by_name = {s.name: s for s in weights.status()}
    assert by_name["bundled"].state == "missing" and by_name["bundled"].path is None
    assert by_name["extra"].state == "missing" and not by_name["extra"].bundled

    path = bundle(resources, CONTENT + b"x", sha(CONTENT))
    (weights.user_models_dir() / "extra.bin").write_bytes(OTHER)
    by_name = {s.name: s for s in weights.status()}
    corrupt, custom = by_name["bundled"], by_name["extra"]
    assert (corrupt.state, corrupt.path, corrupt.size) == ("corrupt", path, len(CONTENT) + 1)
    assert corrupt.sha256_expected == sha(CONTENT)
    assert corrupt.sha256_actual == sha(CONTENT + b"x")
    assert custom.state == "custom" and custom.sha256_actual == sha(OTHER)

    path.write_bytes(CONTENT)
    assert [s.state for s in weights.status()] == ["ok", "custom"]


def test_real_registry_status_of_shipped_files() -> None:
    by_name = {s.name: s for s in weights.status()}
    assert by_name["emotion-classifier"].state == "ok"
    assert by_name["dlib-68"].state == "ok"
    assert by_name["dlib-68"].size == 99_693_937


def test_unknown_name_lists_the_known_ones(resources: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown model 'nope'.*bundled, extra"):
        weights.resolve("nope")


def test_sha256_is_chunked_and_cached_per_path_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(3 * (1 << 20) + 17)  # several read chunks
    path.write_bytes(data)
    assert weights.file_sha256(path) == sha(data)

    st = path.stat()
    changed = bytes([data[0] ^ 1]) + data[1:]  # same size
    path.write_bytes(changed)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: the cached hash holds
    assert weights.file_sha256(path) == sha(data)

    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert weights.file_sha256(path) == sha(changed)


def test_install_copies_into_the_user_folder(resources: Path, tmp_path: Path) -> None:
    seen: list[Path] = []
    spec = WeightSpec("extra", "extra.bin", sha(CONTENT), "x", "y", False, validator=seen.append)
    weights.REGISTRY["extra"] = spec
    source = tmp_path / "mine.bin"
    source.write_bytes(CONTENT)
    dest = weights.install("extra", source)
    assert seen == [source]
    assert dest == weights.user_models_dir() / "extra.bin"
    assert dest.read_bytes() == CONTENT
    assert weights.resolve("extra") == dest
    assert sorted(p.name for p in weights.user_models_dir().iterdir()) == ["extra.bin"]
    assert weights.install("extra", dest) == dest  # installing the installed file is a no-op


def test_install_refused_by_validator_changes_nothing(resources: Path, tmp_path: Path) -> None:
    def reject(path: Path) -> None:
        raise InvalidInputError(f"{path}: not a test model")

    weights.REGISTRY["extra"] = WeightSpec(
        "extra", "extra.bin", sha(CONTENT), "x", "y", False, validator=reject
    )
    installed = weights.user_models_dir() / "extra.bin"
    installed.write_bytes(CONTENT)
    source = tmp_path / "bad.bin"
    source.write_bytes(OTHER)
    with pytest.raises(InvalidInputError, match="not a test model"):
        weights.install("extra", source)
    assert installed.read_bytes() == CONTENT
    assert [p.name for p in weights.user_models_dir().iterdir()] == ["extra.bin"]


def test_install_of_a_missing_file(resources: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"nothing\.bin: no such file"):
        weights.install("extra", tmp_path / "nothing.bin")


def test_install_into_an_unwritable_folder_leaves_no_temp_file(
    resources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "mine.bin"
    source.write_bytes(CONTENT)

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(weights.os, "replace", refuse)
    with pytest.raises(ExportError, match="No space left"):
        weights.install("extra", source)
    assert list(weights.user_models_dir().iterdir()) == []


def test_real_validators_reject_garbage(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a model")
    for name in ("disentangle-small", "emotion-classifier", "dlib-68"):
        with pytest.raises(InvalidInputError, match="garbage"):
            weights.install(name, garbage)
    assert list(weights.user_models_dir().iterdir()) == []


def test_importing_the_registry_does_not_import_torch() -> None:
    code = "import sys, evp_studio.weights; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
