"""Tests of the disentanglement networks (Ec, Ee, Ce, D) against the official layer sizes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from evp_studio.errors import InvalidInputError
from evp_studio.models import DisentangleConfig, DisentangleModel, init_weights

B = 3
WINDOW = (1, 28, 12)


@pytest.fixture(scope="module")
def paper_model() -> DisentangleModel:
    torch.manual_seed(0)
    return DisentangleModel(DisentangleConfig.paper()).eval()


@pytest.fixture(scope="module")
def small_model() -> DisentangleModel:
    torch.manual_seed(0)
    return DisentangleModel(DisentangleConfig.small()).eval()


def _windows(seed: int, batch: int = B) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 20.0 * torch.randn(batch, *WINDOW, generator=gen)  # raw MFCC scale


def _n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _conv(cin: int, cout: int) -> int:
    return 9 * cin * cout + 2 * cout  # 3x3 conv without bias + batch norm


def _linear(cin: int, cout: int) -> int:
    return cin * cout + cout


def _deconv(cin: int, cout: int, kh: int, kw: int, bn: bool = True) -> int:
    return cin * cout * kh * kw + cout + (2 * cout if bn else 0)


def test_paper_parameter_count_matches_reference_layer_sizes(
    paper_model: DisentangleModel,
) -> None:
    ec = sum(_conv(a, b) for a, b in [(1, 64), (64, 128), (128, 256), (256, 256), (256, 512)])
    ec += _linear(512 * 12 * 2, 2048) + _linear(2048, 256)
    ee = sum(_conv(a, b) for a, b in [(1, 64), (64, 128), (128, 256), (256, 512)])
    ee += _linear(512 * 6, 2048) + _linear(2048, 128)
    ce = _linear(128, 8)
    d = (
        _deconv(384, 256, 6, 6)
        + _deconv(256, 128, 4, 2)
        + _deconv(128, 64, 4, 4)
        + _deconv(64, 32, 4, 3)
        + _deconv(32, 1, 3, 3, bn=False)
    )
    assert _n_params(paper_model.con_encoder) == ec
    assert _n_params(paper_model.emo_encoder) == ee
    assert _n_params(paper_model.classify) == ce
    assert _n_params(paper_model.decoder) == d
    assert _n_params(paper_model) == ec + ee + ce + d == 39_899_593


def _official_keys() -> set[str]:
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]

    def convs(prefix: str, indices: list[int]) -> list[str]:
        keys = [f"{prefix}.{i}.0.weight" for i in indices]
        return keys + [f"{prefix}.{i}.1.{name}" for i in indices for name in bn]

    def pairs(prefix: str, indices: list[int], names: list[str]) -> list[str]:
        return [f"{prefix}.{i}.{name}" for i in indices for name in names]

    keys = convs("con_encoder.audio_eocder", [0, 1, 3, 4, 5])
    keys += pairs("con_encoder.audio_eocder_fc", [0, 2], ["weight", "bias"])
    keys += convs("emo_encoder.emotion_eocder", [0, 2, 3, 5])
    keys += pairs("emo_encoder.emotion_eocder_fc", [0, 2], ["weight", "bias"])
    keys += pairs("decoder.decon", [0, 3, 6, 9, 12], ["weight", "bias"])
    keys += pairs("decoder.decon", [1, 4, 7, 10], bn)
    keys += ["classify.last_fc.weight", "classify.last_fc.bias"]
    return set(keys)


def test_paper_state_dict_uses_official_key_layout(paper_model: DisentangleModel) -> None:
    state = paper_model.state_dict()
    assert set(state) == _official_keys()
    assert state["con_encoder.audio_eocder_fc.0.weight"].shape == (2048, 12288)
    assert state["emo_encoder.emotion_eocder_fc.0.weight"].shape == (2048, 3072)
    assert state["con_encoder.audio_eocder.5.0.weight"].shape == (512, 256, 3, 3)
    assert state["decoder.decon.0.weight"].shape == (384, 256, 6, 6)
    assert state["classify.last_fc.weight"].shape == (8, 128)


def test_small_size_is_under_two_million_parameters(small_model: DisentangleModel) -> None:
    assert _n_params(small_model) < 2_000_000
    assert small_model.state_dict().keys() == _official_keys()


@pytest.mark.parametrize("model_name", ["paper_model", "small_model"])
def test_output_shapes_and_ranges(model_name: str, request: pytest.FixtureRequest) -> None:
    model: DisentangleModel = request.getfixturevalue(model_name)
    cfg = model.config
    x = _windows(1)
    with torch.no_grad():
        content, emotion = model.encode_content(x), model.encode_emotion(x)
        logits = model.classify(emotion)
        out = model.decode(content, emotion)
    assert content.shape == (B, cfg.content_dim)
    assert emotion.shape == (B, cfg.emotion_dim)
    assert logits.shape == (B, 8)
    assert out.shape == (B, *WINDOW)
    assert out.dtype == torch.float32
    assert content.min() >= 0 and emotion.min() >= 0  # post-ReLU latents
    assert out.abs().max() <= 90.0


def test_cross_reconstruct_follows_paper_pairing(small_model: DisentangleModel) -> None:
    x_im, x_jn, x_other = _windows(2), _windows(3), _windows(4)
    with torch.no_grad():
        rec = small_model.cross_reconstruct(x_im, x_jn)
        swapped = small_model.cross_reconstruct(x_jn, x_im)
        other_emotion = small_model.cross_reconstruct(x_im, x_other)
        same_content = small_model.cross_reconstruct(x_im.clone(), x_jn)
        c_i, e_n = small_model.encode_content(x_im), small_model.encode_emotion(x_jn)
        expected_in = small_model.decode(c_i, e_n)
    assert all(r.shape == (B, *WINDOW) for r in rec)
    assert len(rec) == 4
    torch.testing.assert_close(rec.x_in, expected_in)
    torch.testing.assert_close(rec.x_in, swapped.x_jm)
    torch.testing.assert_close(rec.x_jm, swapped.x_in)
    torch.testing.assert_close(rec.x_im, swapped.x_jn)
    assert not torch.allclose(rec.x_in, other_emotion.x_in)
    torch.testing.assert_close(rec.x_im, other_emotion.x_im)
    torch.testing.assert_close(rec.x_in, same_content.x_in, rtol=0, atol=0)


def test_eval_mode_is_deterministic(small_model: DisentangleModel) -> None:
    x = _windows(5)
    with torch.no_grad():
        first = small_model.cross_reconstruct(x, x.flip(0))
        second = small_model.cross_reconstruct(x, x.flip(0))
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_adam_steps_reduce_reconstruction_loss() -> None:
    torch.manual_seed(0)
    model = DisentangleModel(DisentangleConfig.small()).train()
    x_im, x_jn = _windows(6, batch=8), _windows(7, batch=8)
    labels = torch.arange(8)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(25):
        rec = model.cross_reconstruct(x_im, x_jn)
        l1 = torch.nn.functional.l1_loss(rec.x_im, x_im) + torch.nn.functional.l1_loss(
            rec.x_jn, x_jn
        )
        cla = torch.nn.functional.cross_entropy(model.classify(model.encode_emotion(x_im)), labels)
        optim.zero_grad()
        (l1 + cla).backward()
        optim.step()
        losses.append(l1.item())
    assert losses[-1] < 0.8 * losses[0]


def test_init_weights_is_kaiming_and_zero_bias() -> None:
    layer = torch.nn.Linear(512, 64)
    torch.nn.init.constant_(layer.bias, 3.0)
    init_weights(layer)
    assert torch.all(layer.bias == 0)
    assert layer.weight.std().item() == pytest.approx((2 / 512) ** 0.5, rel=0.1)


@pytest.mark.parametrize("shape", [(B, 28, 12), (B, 1, 12, 28), (B, 2, 28, 12)])
def test_wrong_window_shape_is_rejected(
    small_model: DisentangleModel, shape: tuple[int, ...]
) -> None:
    with pytest.raises(InvalidInputError, match="28, 12"):
        small_model.encode_content(torch.zeros(shape))
    with pytest.raises(InvalidInputError):
        small_model.cross_reconstruct(torch.zeros(shape), torch.zeros(shape))


def test_config_rejects_bad_sizes() -> None:
    with pytest.raises(InvalidInputError, match="content_widths"):
        DisentangleConfig("small", 8, 8, (1, 2, 3), (1, 2, 3, 4), 8, 8, (1, 2, 3, 4))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="positive"):
        DisentangleConfig("small", 0, 8, (1, 2, 3, 4, 5), (1, 2, 3, 4), 8, 8, (1, 2, 3, 4))


def test_package_import_does_not_load_torch() -> None:
    code = "import sys, evp_studio.models; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
