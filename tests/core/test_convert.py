"""Converting the authors' released audio checkpoints (built here with the official key names)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from evp_studio.errors import InvalidInputError
from evp_studio.models.convert import (
    convert_official,
    convert_official_file,
    load_official,
    read_official_features,
)
from evp_studio.models.disentangle import DisentangleConfig, DisentangleModel
from evp_studio.models.io import LoadedDisentangle, load_disentangle
from evp_studio.project import EMOTIONS

Weights = dict[str, torch.Tensor]


def official_model(seed: int = 0) -> DisentangleModel:
    """A paper-size model with random weights and batch-norm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = DisentangleModel(DisentangleConfig.paper())
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.normal_(1.0, 0.1)
                module.bias.normal_(0.0, 0.1)
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.5, 2.0)
        model.classify.last_fc.bias.normal_(0.0, 0.1)
    return model.eval()


def prefixed(prefix: str, module: nn.Module) -> Weights:
    return {prefix + k: v for k, v in module.state_dict().items()}


def ser_head(seed: int = 1) -> nn.Linear:
    """EmotionNet.last_fc, the SER classifier head (128 -> 8)."""
    torch.manual_seed(seed)
    return nn.Linear(128, 8)


def re_id_keys() -> Weights:
    """Part of the unused re_id branch of the official EmotionNet (its big convs left out)."""
    bn = nn.BatchNorm2d(1024)
    fc = nn.Sequential(nn.Linear(2048, 512), nn.ReLU(), nn.Linear(512, 128))
    return prefixed("emo_encoder.re_id.0.1.", bn) | prefixed("emo_encoder.re_id_fc.", fc)


def pretrain_file_state(model: DisentangleModel) -> dict[str, Any]:
    """``<epoch>_pretrain.pth``: AutoEncoder2x state_dict in a training checkpoint."""
    weights = dict(model.state_dict())
    weights |= prefixed("emo_encoder.last_fc.", ser_head(7)) | re_id_keys()
    return {"train_step": 1000, "test_step": 100, "epoch": 99, "model": weights}


def ser_file_state(model: DisentangleModel, head: nn.Linear) -> Weights:
    """``SER_<epoch>.pkl``: DataParallel state_dict of EmotionNet (``module.`` prefix)."""
    return prefixed("module.", model.emo_encoder) | prefixed("module.last_fc.", head)


def at_emotion_file_state(model: DisentangleModel, head: nn.Linear) -> Weights:
    """``audio2lm/pth/M003_20.pth``: AT_emoiton state_dict (Ec, Ee, landmark LSTM, lm_encoder)."""
    torch.manual_seed(2)
    lstm = nn.LSTM(128 * 7, 256, 3, batch_first=True)
    lstm_fc = nn.Sequential(nn.Linear(256, 16))
    lm = nn.Sequential(nn.Linear(16, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU())
    return (
        prefixed("con_encoder.", model.con_encoder)
        | prefixed("emo_encoder.", model.emo_encoder)
        | prefixed("emo_encoder.last_fc.", head)
        | prefixed("decoder.lstm.", lstm)
        | prefixed("decoder.lstm_fc.", lstm_fc)
        | prefixed("lm_encoder.lmark_encoder.", lm)
    )


def atvgnet_file_state(model: DisentangleModel) -> Weights:
    """``atnet_lstm_18.pth``: ATVGnet AT_net, bare Ct_encoder keys with ``module.``."""
    torch.manual_seed(3)
    extra = nn.Sequential(nn.Linear(256, 6))
    return prefixed("module.", model.con_encoder) | prefixed("module.lstm_fc.", extra)


def write_features(folder: Path, dim: int = 128, skip: str = "fear") -> np.ndarray:
    """Released-style ``<emotion>.npy`` files (M003 naming: disgust.npy); returns the codes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    codes = np.full((len(EMOTIONS), dim), np.nan, np.float32)
    for row, emotion in enumerate(EMOTIONS):
        if emotion == skip:
            continue
        codes[row] = rng.uniform(0, 3, dim).astype(np.float32)
        name = "disgust" if emotion == "disgusted" else emotion
        np.save(folder / f"{name}.npy", codes[row])
    np.save(folder / "happy5_sad5.npy", 0.5 * codes[4] + 0.5 * codes[6])  # a blend, ignored
    return codes


@pytest.fixture(scope="module")
def model() -> DisentangleModel:
    return official_model()


@pytest.fixture(scope="module")
def head() -> nn.Linear:
    return ser_head()


@pytest.fixture(scope="module")
def files(
    tmp_path_factory: pytest.TempPathFactory, model: DisentangleModel, head: nn.Linear
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("official")
    states: dict[str, Any] = {
        "99_pretrain.pth": pretrain_file_state(model),
        "SER_99.pkl": ser_file_state(model, head),
        "M003_20.pth": at_emotion_file_state(model, head),
        "atnet_lstm_18.pth": atvgnet_file_state(model),
    }
    for name, state in states.items():
        torch.save(state, folder / name)
    return {name: folder / name for name in states}


@pytest.fixture(scope="module")
def windows() -> torch.Tensor:
    torch.manual_seed(4)
    return 20.0 * torch.randn(6, 1, 28, 12)


@torch.inference_mode()
def assert_same_encoders(
    loaded: LoadedDisentangle, reference: DisentangleModel, head: nn.Module, x: torch.Tensor
) -> None:
    converted = loaded.model
    assert torch.equal(converted.encode_content(x), reference.encode_content(x))
    emotion = reference.encode_emotion(x)
    assert torch.equal(converted.encode_emotion(x), emotion)
    assert torch.equal(converted.classify(emotion), head(emotion))


def test_pretrain_checkpoint_converts_with_its_decoder(
    files: dict[str, Path],
    model: DisentangleModel,
    windows: torch.Tensor,
    tmp_path: Path,
) -> None:
    out = tmp_path / "evp_m030.pt"
    convert_official_file(files["99_pretrain.pth"], out)
    loaded = load_disentangle(out)
    assert loaded.has_decoder and loaded.category_codes is None
    assert loaded.model.config == DisentangleConfig.paper()
    assert_same_encoders(loaded, model, model.classify, windows)  # classify, not the SER head
    with torch.inference_mode():
        c, e = model(windows)
        assert torch.equal(loaded.model.decode(c, e), model.decode(c, e))
    source = loaded.meta["source"]
    assert source["file"] == str(files["99_pretrain.pth"])
    assert "AutoEncoder2x" in source["kind"]
    assert "emo_encoder.last_fc.weight" in source["dropped"]
    assert "emo_encoder.re_id_fc.0.weight" in source["dropped"]


def test_audio_to_landmark_model_drops_the_landmark_decoder(
    files: dict[str, Path],
    model: DisentangleModel,
    head: nn.Linear,
    windows: torch.Tensor,
    tmp_path: Path,
) -> None:
    codes = write_features(tmp_path / "M003_feature")
    out = tmp_path / "evp_m003.pt"
    convert_official_file(files["M003_20.pth"], out, category_codes_dir=tmp_path / "M003_feature")
    loaded = load_disentangle(out)
    assert not loaded.has_decoder
    assert_same_encoders(loaded, model, head, windows)  # Ce is EmotionNet.last_fc
    assert loaded.category_codes is not None
    np.testing.assert_array_equal(loaded.category_codes, codes)
    source = loaded.meta["source"]
    assert "AT_emoiton" in source["kind"]
    assert {"decoder.lstm.weight_ih_l2", "decoder.lstm_fc.0.bias"} <= set(source["dropped"])
    assert "lm_encoder.lmark_encoder.0.weight" in source["dropped"]
    assert source["category_codes"] == str(tmp_path / "M003_feature")


def test_ser_file_alone_lacks_the_content_encoder(files: dict[str, Path]) -> None:
    state = load_official(files["SER_99.pkl"])
    with pytest.raises(InvalidInputError) as info:
        convert_official(state, source="SER_99.pkl")
    message = str(info.value)
    assert message.startswith("SER_99.pkl: ")
    assert "con_encoder" in message and "--content" in message


def test_ser_file_with_a_content_file(
    files: dict[str, Path],
    model: DisentangleModel,
    head: nn.Linear,
    windows: torch.Tensor,
    tmp_path: Path,
) -> None:
    out = tmp_path / "evp_ser.pt"
    convert_official_file(files["SER_99.pkl"], out, content_path=files["atnet_lstm_18.pth"])
    loaded = load_disentangle(out)
    assert not loaded.has_decoder
    assert_same_encoders(loaded, model, head, windows)
    source = loaded.meta["source"]
    assert "EmotionNet" in source["kind"]
    assert source["content"]["file"] == str(files["atnet_lstm_18.pth"])


def test_prefixed_keys_and_missing_batch_counters(
    model: DisentangleModel, windows: torch.Tensor
) -> None:
    weights = {
        "module." + k: v
        for k, v in pretrain_file_state(model)["model"].items()
        if not k.endswith("num_batches_tracked")  # files of old PyTorch versions lack them
    }
    result = convert_official({"epoch": 3, "model": weights}, source="old.pth")
    assert "con_encoder.audio_eocder.0.1.num_batches_tracked" in result["source"]["filled"]
    assert set(result["model"]) == set(model.state_dict())
    converted = DisentangleModel(DisentangleConfig.paper()).eval()
    converted.load_state_dict(result["model"])
    with torch.inference_mode():
        assert torch.equal(converted.encode_emotion(windows), model.encode_emotion(windows))


def test_wrong_size_tensor_is_named(model: DisentangleModel) -> None:
    state = dict(at_emotion_file_state(model, ser_head()))
    state["con_encoder.audio_eocder_fc.2.weight"] = torch.zeros(128, 2048)
    with pytest.raises(InvalidInputError, match=r"M003_20\.pth: .*audio_eocder_fc\.2\.weight"):
        convert_official(state, source="M003_20.pth")


def test_nan_weights_are_refused(model: DisentangleModel) -> None:
    state = dict(at_emotion_file_state(model, ser_head()))
    bad = state["emo_encoder.emotion_eocder_fc.0.bias"].clone()
    bad[3] = float("nan")
    state["emo_encoder.emotion_eocder_fc.0.bias"] = bad
    with pytest.raises(InvalidInputError, match=r"emotion_eocder_fc\.0\.bias.*NaN"):
        convert_official(state, source="M003_20.pth")


def test_no_known_keys(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"generator.conv.weight": torch.zeros(2), "kp.fc.bias": torch.zeros(3)}, path)
    with pytest.raises(InvalidInputError, match=r"other\.pth: .*none of its 2 keys.*generator"):
        convert_official_file(path, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_unexpected_keys_beside_known_ones(model: DisentangleModel) -> None:
    state = dict(ser_file_state(model, ser_head()))
    state["module.attention.weight"] = torch.zeros(4)
    with pytest.raises(InvalidInputError, match=r"1 unexpected keys \(module\.attention\.weight"):
        convert_official(state, source="SER_7.pkl")


def test_incomplete_parts(model: DisentangleModel) -> None:
    state = dict(model.state_dict())
    del state["decoder.decon.12.bias"]
    with pytest.raises(InvalidInputError, match="decoder's weights are incomplete"):
        convert_official(state, source="a.pth")
    no_classifier = {k: v for k, v in model.state_dict().items() if not k.startswith("classify")}
    with pytest.raises(InvalidInputError, match="emotion classifier Ce"):
        convert_official(no_classifier, source="b.pth")


def test_unreadable_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"notes\.pth: not a PyTorch weights file"):
        load_official(text)
    cut = tmp_path / "cut.pth"
    torch.save({"a.weight": torch.zeros(1000)}, cut)
    cut.write_bytes(cut.read_bytes()[:900])
    with pytest.raises(InvalidInputError, match=r"cut\.pth: not a readable PyTorch weights file"):
        load_official(cut)
    code = tmp_path / "code.pth"
    torch.save({"model": {"x": Fraction(1, 2)}}, code)  # needs unpickling code
    with pytest.raises(InvalidInputError, match=r"code\.pth: .*cannot be loaded safely"):
        load_official(code)
    listed = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], listed)
    with pytest.raises(InvalidInputError, match=r"list\.pth: holds a list"):
        load_official(listed)
    with pytest.raises(InvalidInputError, match=r"missing\.pth: no such file"):
        load_official(tmp_path / "missing.pth")


def test_output_may_not_overwrite_an_input(files: dict[str, Path]) -> None:
    with pytest.raises(InvalidInputError, match="is an input file"):
        convert_official_file(files["SER_99.pkl"], files["SER_99.pkl"])


def test_feature_files_in_label_order(tmp_path: Path) -> None:
    codes = write_features(tmp_path / "M030_feature", skip="contempt")
    (tmp_path / "M030_feature" / "disgust.npy").rename(tmp_path / "M030_feature" / "disgusted.npy")
    read = read_official_features(tmp_path / "M030_feature")
    np.testing.assert_array_equal(read, codes)
    assert np.isnan(read[EMOTIONS.index("contempt")]).all()


def test_bad_feature_folders(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no such folder"):
        read_official_features(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"empty: none of the emotion feature files"):
        read_official_features(tmp_path / "empty")
    folder = tmp_path / "bad"
    folder.mkdir()
    np.save(folder / "angry.npy", np.zeros(64, np.float32))
    with pytest.raises(InvalidInputError, match=r"angry\.npy: .*shape \(64,\)"):
        read_official_features(folder)
    np.save(folder / "angry.npy", np.full(128, np.inf, np.float32))
    with pytest.raises(InvalidInputError, match=r"angry\.npy: .*NaN or infinite"):
        read_official_features(folder)
