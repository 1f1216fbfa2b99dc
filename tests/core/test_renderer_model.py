"""The renderer's networks (sizes, shapes) and its crop/paste geometry."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from evp_studio.errors import InvalidInputError
from evp_studio.models.renderer import (
    PRESETS,
    MultiscaleDiscriminator,
    RendererConfig,
    RendererGenerator,
)
from evp_studio.render.neural import crop_box, crop_frame, crop_landmarks, paste_crop
from tests.core.renderer_clips import clip_landmarks


@pytest.mark.parametrize("preset", ["fast", "quality"])
def test_presets_build_at_full_size(preset: str) -> None:
    config = RendererConfig.of_preset(preset, 15)
    g = RendererGenerator(config)
    d = MultiscaleDiscriminator.image(config)
    t = MultiscaleDiscriminator.temporal(config)
    assert config.size == {"fast": 256, "quality": 512}[preset]
    assert len(d.nets) == config.num_d and len(t.nets) == config.num_d_temporal
    n_params = sum(p.numel() for p in g.parameters())
    assert 1e6 < n_params < 1e8
    assert RendererConfig.from_dict(config.to_dict()) == config


def test_fast_generator_forward_shape() -> None:
    config = RendererConfig.of_preset("fast", 15)
    out = RendererGenerator(config)(torch.zeros(1, 15, 256, 256), torch.zeros(1, 6, 256, 256))
    assert out.shape == (1, 3, 256, 256)


def test_tiny_shapes_and_discriminator_features() -> None:
    config = RendererConfig.of_preset("tiny", 3)
    g = RendererGenerator(config)
    out = g(torch.rand(2, 3, 64, 64), torch.rand(2, 6, 64, 64) * 2 - 1)
    assert out.shape == (2, 3, 64, 64) and out.abs().max() <= 1.0
    outs = MultiscaleDiscriminator.image(config)(torch.rand(2, 6, 64, 64))
    assert len(outs) == 2 and all(len(s) == config.n_layers_d + 2 for s in outs)
    assert outs[1][-1].shape[-1] < outs[0][-1].shape[-1]  # the second scale is coarser
    seq = MultiscaleDiscriminator.temporal(config)(torch.rand(2, 9, 64, 64))
    assert seq[0][-1].shape[:2] == (2, 1)


def test_composite_copies_the_previous_frame_where_the_mask_is_zero() -> None:
    config = RendererConfig.of_preset("tiny", 1)
    g = RendererGenerator(config)
    assert g.to_mask is not None
    torch.nn.init.zeros_(g.to_mask[1].weight)
    torch.nn.init.constant_(g.to_mask[1].bias, -50.0)  # sigmoid -> 0
    prev = torch.rand(1, 6, 64, 64)
    assert torch.allclose(g(torch.rand(1, 1, 64, 64), prev), prev[:, :3], atol=1e-6)
    plain = RendererGenerator(dataclasses.replace(config, composite=False))
    assert plain.to_mask is None


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="preset"):
        RendererConfig.of_preset("huge", 15)
    with pytest.raises(InvalidInputError, match="multiple"):
        dataclasses.replace(PRESETS["fast"], size=100)
    with pytest.raises(InvalidInputError, match="unknown"):
        RendererConfig.from_dict({**PRESETS["fast"].to_dict(), "bogus": 1})


def test_crop_box_crop_and_paste() -> None:
    lm = clip_landmarks(1)[0]
    frame = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    x0, y0, side = crop_box(lm, frame.shape)
    width = lm[:, 0].max() - lm[:, 0].min()
    assert abs(side - 2.1 * width) <= 1 and 0 <= x0 <= 128 - side and 0 <= y0 <= 128 - side
    crop = crop_frame(frame, (x0, y0, side), 64)
    assert crop.shape == (64, 64, 3)
    inside = crop_landmarks(lm, (x0, y0, side), 64)
    assert inside.min() >= 0 and inside.max() <= 64
    black = np.zeros_like(crop)
    out = paste_crop(frame, black, (x0, y0, side))
    c = (y0 + side // 2, x0 + side // 2)
    assert out[c].max() == 0  # the centre is the crop's
    assert (out[y0, x0] == frame[y0, x0]).all()  # the corner is feathered to the frame
    outside = np.ones(frame.shape[:2], bool)
    outside[y0 : y0 + side, x0 : x0 + side] = False
    assert (out[outside] == frame[outside]).all()
