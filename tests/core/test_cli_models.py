"""``evp-studio models ...``, run in-process through ``main([...])``."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from evp_studio import weights
from evp_studio.cli import main
from evp_studio.models.io import load_disentangle
from evp_studio.paths import resource_path
from evp_studio.weights import WeightSpec
from tests.core.test_convert import (
    atvgnet_file_state,
    official_model,
    ser_file_state,
    ser_head,
    write_features,
)

ERROR_PREFIX = "evp-studio: error: "


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    """``main`` configures the root logger once per process; undo it after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    if hasattr(root, "_evp_configured"):
        del root._evp_configured


def cli(*argv: str | os.PathLike[str]) -> int:
    """Run ``evp-studio ARGV`` in-process; return the exit status (argparse's too)."""
    try:
        return main([str(arg) for arg in argv])
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1


def one_error_line(err: str, path: Path | str) -> str:
    """Assert ``err`` is exactly one ``evp-studio: error:`` line naming ``path``; return it."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(ERROR_PREFIX), err
    assert str(path) in lines[0], err
    return lines[0]


@pytest.fixture
def fake_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real shipped entries plus a bundled test entry in a fake ``resources/models``."""
    root = tmp_path / "resources"
    (root / "models").mkdir(parents=True)
    real = {name: weights.REGISTRY[name] for name in ("emotion-classifier", "dlib-68")}
    shipped = ("models/emotion_classifier.pt", "models/emotion_classifier.json")

    def fake_resource_path(name: str) -> Path:
        return resource_path(name) if name in shipped else root / name

    monkeypatch.setattr(weights, "resource_path", fake_resource_path)
    test = WeightSpec("test-model", "test.pt", None, "a test model", "Reinstall it.", True)
    monkeypatch.setattr(weights, "REGISTRY", real | {"test-model": test})
    return root / "models"


def test_list_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("models", "list") == 0
    out = capsys.readouterr().out
    for name in weights.REGISTRY:
        assert name in out
    assert f"user models folder: {weights.user_models_dir()}" in out

    assert cli("models", "list", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    models = {m["name"]: m for m in data["models"]}
    assert set(models) == set(weights.REGISTRY)
    assert models["emotion-classifier"]["state"] == "ok"
    assert models["emotion-classifier"]["path"] == str(
        resource_path("models/emotion_classifier.pt")
    )
    assert models["dlib-68"]["sha256_actual"] == weights.REGISTRY["dlib-68"].sha256
    assert data["user_models_dir"] == str(weights.user_models_dir())


def test_verify_exit_status(fake_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("models", "verify") == 1  # test.pt is missing
    out = capsys.readouterr().out
    assert "test-model: MISSING test.pt. Reinstall it." in out
    assert "emotion-classifier: ok" in out

    data = b"test weights"
    (fake_bundle / "test.pt").write_bytes(data)
    manifest = {"sha256": hashlib.sha256(b"other").hexdigest()}
    (fake_bundle / "test.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert cli("models", "verify") == 1
    assert f"test-model: CORRUPT {fake_bundle / 'test.pt'}" in capsys.readouterr().out

    manifest = {"sha256": hashlib.sha256(data).hexdigest()}
    (fake_bundle / "test.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert cli("models", "verify") == 0
    assert "all bundled models present and intact" in capsys.readouterr().out


def test_path_prints_the_file_or_one_error_line(
    fake_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("models", "path", "dlib-68") == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.is_file()

    assert cli("models", "path", "test-model") == 2
    line = one_error_line(capsys.readouterr().err, "test.pt")
    assert str(weights.user_models_dir()) in line and "Reinstall it." in line

    assert cli("models", "path", "no-such-model") == 2  # argparse: invalid choice
    assert "invalid choice" in capsys.readouterr().err


def test_install(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"no model")
    assert cli("models", "install", "emotion-classifier", garbage) == 2
    one_error_line(capsys.readouterr().err, garbage)
    assert not (weights.user_models_dir() / "emotion_classifier.pt").exists()

    shipped = resource_path("models/emotion_classifier.pt")
    assert cli("models", "install", "emotion-classifier", shipped) == 0
    installed = weights.user_models_dir() / "emotion_classifier.pt"
    assert str(installed) in capsys.readouterr().out
    assert cli("models", "list", "--json") == 0
    models = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert models["emotion-classifier"]["path"] == str(installed)
    assert models["emotion-classifier"]["state"] == "ok"


def test_convert_official_ser_with_content_and_features(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, head = official_model(seed=5), ser_head(seed=6)
    ser, atnet = tmp_path / "SER_99.pkl", tmp_path / "atnet_lstm_18.pth"
    torch.save(ser_file_state(model, head), ser)
    torch.save(atvgnet_file_state(model), atnet)
    codes = write_features(tmp_path / "M003_feature")
    out = tmp_path / "converted" / "evp.pt"

    assert cli("models", "convert-official", ser, "-o", out) == 2
    line = one_error_line(capsys.readouterr().err, ser)
    assert "--content" in line
    assert not out.exists()

    argv: list[str | os.PathLike[str]] = ["models", "convert-official", ser, "--content", atnet]
    assert cli(*argv, "--features", tmp_path / "M003_feature", "-o", out) == 0
    printed = capsys.readouterr().out
    assert "Ec, Ee, Ce;" in printed and "category codes for 7 emotions" in printed
    loaded = load_disentangle(out)
    assert loaded.category_codes is not None
    np.testing.assert_array_equal(loaded.category_codes, codes)
    x = 20.0 * torch.randn(3, 1, 28, 12)
    with torch.inference_mode():
        assert torch.equal(loaded.model.encode_content(x), model.encode_content(x))
        emotion = model.encode_emotion(x)
        assert torch.equal(loaded.model.encode_emotion(x), emotion)
        assert torch.equal(loaded.model.classify(emotion), head(emotion))


def test_convert_official_unknown_layout_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "124_52000.pth.tar"
    torch.save({"generator": {"conv.weight": torch.zeros(2)}, "kp_detector": {}}, other)
    assert cli("models", "convert-official", other, "-o", tmp_path / "out.pt") == 2
    line = one_error_line(capsys.readouterr().err, other)
    assert "not a state_dict" in line and "generator" in line
