"""The neural Edge-to-Video renderer (paper 3.3; vid2vid-style): generator and discriminators.

Generator (:class:`RendererGenerator`), pix2pixHD's coarse-to-fine design:

* input: the guidance map of frame t (``C`` channels) and the two previous frames (t-1, t-2,
  RGB in [-1, 1]), concatenated: ``C + 6`` channels at ``size`` px;
* global branch: the input average-pooled to half resolution -> 7x7 conv -> ``n_down``
  stride-2 convs -> ``n_blocks`` residual blocks -> upsampling back to half resolution;
* local enhancer at full resolution: 7x7 conv -> one stride-2 conv, plus the global
  features, -> ``n_local_blocks`` residual blocks -> upsampling -> 7x7 conv -> tanh image;
* ``composite`` (vid2vid's netG "composite" without optical flow): a sigmoid mask head blends
  the synthesised image with the previous frame, ``m * gen + (1 - m) * prev``, so that a
  static background is copied rather than re-drawn.

Upsampling is nearest + 3x3 conv (no transposed-conv checkerboards); normalisation is
instance norm (vid2vid uses batch norm; per-video training runs with small batches).

Discriminators (:class:`MultiscaleDiscriminator`): PatchGAN (pix2pixHD ``NLayerD``) at
``num_d`` scales, each returning its intermediate features for the feature-matching loss.
The image discriminator sees (guidance, image) pairs; the temporal one three consecutive
frames concatenated (vid2vid's temporal D also sees optical flow; this one does not).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from evp_studio.errors import InvalidInputError

__all__ = [
    "PRESETS",
    "MultiscaleDiscriminator",
    "RendererConfig",
    "RendererGenerator",
]

N_PREV = 2  # previous frames fed to G (vid2vid n_frames_G = 3)


@dataclass(frozen=True)
class RendererConfig:
    """Layer sizes of the renderer.

    Parameters
    ----------
    preset
        Name it was built from (``"fast"``, ``"quality"``, ``"tiny"``).
    size
        Square crop side in px; a multiple of ``2 ** (n_down + 1)``.
    guidance_channels
        Channels of the guidance map (edge map + distance maps).
    ngf, n_down, n_blocks, n_local_blocks
        Generator width, global downsamplings, global and local residual blocks.
    max_channels
        Cap on the global branch's channels (its bottleneck dominates the weights).
    composite
        Blend with the previous frame through a predicted mask.
    ndf, n_layers_d, num_d, num_d_temporal
        Discriminator width, PatchGAN depth, scales of the image and temporal Ds.
    """

    preset: str = "fast"
    size: int = 256
    guidance_channels: int = 15
    ngf: int = 32
    n_down: int = 3
    n_blocks: int = 6
    n_local_blocks: int = 3
    max_channels: int = 256
    composite: bool = True
    ndf: int = 32
    n_layers_d: int = 3
    num_d: int = 2
    num_d_temporal: int = 1

    def __post_init__(self) -> None:
        step = 2 ** (self.n_down + 1)
        if self.size < step or self.size % step:
            raise InvalidInputError(f"renderer size {self.size} is not a multiple of {step}")
        if min(self.guidance_channels, self.ngf, self.ndf, self.num_d, self.num_d_temporal) < 1:
            raise InvalidInputError("guidance_channels, ngf, ndf, num_d must be >= 1")

    @classmethod
    def of_preset(cls, preset: str, guidance_channels: int) -> RendererConfig:
        """The sizes of a named preset.

        Raises
        ------
        InvalidInputError
            When the preset is unknown.
        """
        if preset not in PRESETS:
            raise InvalidInputError(f"renderer preset {preset!r} is not one of {sorted(PRESETS)}")
        return dataclasses.replace(PRESETS[preset], guidance_channels=guidance_channels)

    def to_dict(self) -> dict[str, Any]:
        """Return the sizes as plain data."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RendererConfig:
        """Rebuild from :meth:`to_dict` output (unknown keys are an error).

        Raises
        ------
        InvalidInputError
            On unknown keys or invalid sizes.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(data) - names)
        if extra:
            raise InvalidInputError(f"unknown renderer config keys {extra}")
        return cls(**data)


#: fast: 256 px, minutes on a GPU; quality: 512 px (the paper's crop); tiny: tests only.
PRESETS: dict[str, RendererConfig] = {
    "fast": RendererConfig("fast", 256, ngf=32, n_blocks=6, max_channels=256, ndf=32, num_d=2),
    "quality": RendererConfig(
        "quality", 512, ngf=64, n_blocks=9, max_channels=512, ndf=64, num_d=3
    ),
    "tiny": RendererConfig(
        "tiny", 64, ngf=8, n_down=2, n_blocks=1, n_local_blocks=1, ndf=8, n_layers_d=2, num_d=2
    ),
}


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    pad = k // 2
    return nn.Sequential(
        nn.ReflectionPad2d(pad) if pad else nn.Identity(),
        nn.Conv2d(cin, cout, k, stride),
        nn.InstanceNorm2d(cout, affine=True),
        nn.ReLU(inplace=True),
    )


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv(cin, cout, 3))


class _ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(ch, ch, 3),
            nn.InstanceNorm2d(ch, affine=True),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(ch, ch, 3),
            nn.InstanceNorm2d(ch, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class RendererGenerator(nn.Module):
    """Guidance + two previous frames -> frame t (see the module docstring).

    Parameters
    ----------
    config
        Layer sizes.
    """

    def __init__(self, config: RendererConfig) -> None:
        super().__init__()
        self.config = config
        cin, g = config.guidance_channels + 3 * N_PREV, config.ngf
        gw = 2 * g  # global branch base width (pix2pixHD: global ngf = 2 * local ngf)
        ch = [min(gw * 2**i, max(gw, config.max_channels)) for i in range(config.n_down + 1)]
        layers: list[nn.Module] = [_conv(cin, gw, 7)]
        for i in range(config.n_down):
            layers.append(_conv(ch[i], ch[i + 1], 3, 2))
        layers += [_ResBlock(ch[-1]) for _ in range(config.n_blocks)]
        for i in reversed(range(config.n_down)):
            layers.append(_up(ch[i + 1], ch[i]))
        self.global_net = nn.Sequential(*layers)
        self.local_down = nn.Sequential(_conv(cin, g, 7), _conv(g, gw, 3, 2))
        self.local_body = nn.Sequential(*[_ResBlock(gw) for _ in range(config.n_local_blocks)])
        self.local_up = _up(gw, g)
        self.to_rgb = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(g, 3, 7), nn.Tanh())
        self.to_mask = (
            nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(g, 1, 7), nn.Sigmoid())
            if config.composite
            else None
        )

    def forward(self, guidance: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """Generate frame t.

        Parameters
        ----------
        guidance
            ``(B, C, S, S)`` guidance map of frame t.
        prev
            ``(B, 6, S, S)`` frames t-1 then t-2, RGB in [-1, 1].

        Returns
        -------
        torch.Tensor
            ``(B, 3, S, S)`` RGB in [-1, 1].
        """
        x = torch.cat([guidance, prev], dim=1)
        coarse = self.global_net(F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False))
        feat = self.local_up(self.local_body(self.local_down(x) + coarse))
        image = self.to_rgb(feat)
        if self.to_mask is None:
            return image
        mask = self.to_mask(feat)
        return mask * image + (1.0 - mask) * prev[:, :3]


class _PatchD(nn.Module):
    """pix2pixHD ``NLayerDiscriminator``: returns every layer's output (last = the logits)."""

    def __init__(self, cin: int, ndf: int, n_layers: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(cin, ndf, 4, 2, 2), nn.LeakyReLU(0.2, inplace=True))
        ]
        ch = ndf
        for i in range(1, n_layers + 1):
            out = min(ndf * 2**i, 512)
            stride = 2 if i < n_layers else 1
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(ch, out, 4, stride, 2),
                    nn.InstanceNorm2d(out, affine=True),
                    nn.LeakyReLU(0.2, inplace=True),
                )
            )
            ch = out
        blocks.append(nn.Conv2d(ch, 1, 4, 1, 2))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


class MultiscaleDiscriminator(nn.Module):
    """PatchGANs at ``num_d`` scales (each half the previous one's resolution).

    Parameters
    ----------
    in_channels
        Channels of the input (guidance + 3 for the image D, 9 for the temporal D).
    ndf, n_layers, num_d
        Width, depth and number of scales.
    """

    def __init__(self, in_channels: int, ndf: int, n_layers: int, num_d: int) -> None:
        super().__init__()
        self.nets = nn.ModuleList([_PatchD(in_channels, ndf, n_layers) for _ in range(num_d)])

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """Per scale (full resolution first), the layer outputs; the last are the logits."""
        outs = []
        for i, net in enumerate(self.nets):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outs.append(net(x))
        return outs

    @classmethod
    def image(cls, config: RendererConfig) -> MultiscaleDiscriminator:
        """The (guidance, image) discriminator of ``config``."""
        return cls(config.guidance_channels + 3, config.ndf, config.n_layers_d, config.num_d)

    @classmethod
    def temporal(cls, config: RendererConfig) -> MultiscaleDiscriminator:
        """The discriminator of three consecutive frames of ``config``."""
        return cls(9, config.ndf, config.n_layers_d, config.num_d_temporal)
