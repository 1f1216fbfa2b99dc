"""Layer helpers shared by the EVP audio networks (torch is imported here: models only).

``DisentangleConfig`` (layer sizes) lives here too, next to the size arithmetic.
The conv block matches the official ``ops.conv2d(cin, cout, 3, 1, 1)``: a 3x3 convolution
without bias (the batch norm that follows has its own shift), batch norm, ReLU. As an
``nn.Sequential`` its state_dict keys are ``0.weight`` (conv) and ``1.{weight, bias,
running_mean, running_var, num_batches_tracked}`` (batch norm), the layout of the official
checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from evp_studio.errors import InvalidInputError
from evp_studio.pipeline.constants import N_COEFFS, WINDOW_FRAMES


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Return Conv2d(k3, s1, p1, bias=False) + BatchNorm2d + ReLU.

    Parameters
    ----------
    in_channels, out_channels
        Channel counts of the convolution.

    Returns
    -------
    nn.Sequential
        The three layers, indexed 0 (conv), 1 (batch norm), 2 (ReLU).
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def mlp_head(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
    """Return Linear + ReLU + Linear + ReLU, so the output is non-negative.

    Parameters
    ----------
    in_features
        Size of the flattened input.
    hidden
        Width of the hidden layer.
    out_features
        Size of the output (the latent code).

    Returns
    -------
    nn.Sequential
        Linears at indices 0 and 2 (keys ``0.weight``, ``0.bias``, ``2.weight``, ``2.bias``).
    """
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, out_features),
        nn.ReLU(inplace=True),
    )


def pooled_size(size: int, kernel: int, stride: int) -> int:
    """Return the length of one axis after an unpadded max pooling.

    Parameters
    ----------
    size
        Input length along the axis.
    kernel, stride
        Pooling kernel and stride along the axis.

    Returns
    -------
    int
        ``(size - kernel) // stride + 1``.
    """
    return (size - kernel) // stride + 1


def init_weights(module: nn.Module) -> None:
    """Initialise a network the way the official disentanglement training does.

    Kaiming-normal weights and zero biases for convolutions, transposed convolutions and
    linears; weight 1, bias 0 for batch norms. Apply with ``model.apply(init_weights)``.

    Parameters
    ----------
    module
        One layer; layers of other types are left alone.
    """
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.kaiming_normal_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


N_EMOTIONS = 8  # angry, contempt, disgusted, fear, happy, neutral, sad, surprised
OUTPUT_SCALE = 90.0  # decoder output = 90 * tanh(.), raw MFCC units

# Spatial size after Ec's poolings: (28, 12) -> (26, 5) -> (12, 2)
_EC_H = pooled_size(pooled_size(WINDOW_FRAMES, 3, 1), 3, 2)
_EC_W = pooled_size(pooled_size(N_COEFFS, 3, 2), 3, 2)
# Ee works on (12, 28): (12, 13) -> (1, 13) -> (1, 6); the middle pool spans all coefficients
_EE_W = pooled_size(pooled_size(WINDOW_FRAMES, 3, 2), 2, 2)


@dataclass(frozen=True)
class DisentangleConfig:
    """Layer sizes of the disentanglement networks.

    Parameters
    ----------
    size
        ``"paper"`` (official sizes) or ``"small"``.
    content_dim
        Content latent size (output of Ec).
    emotion_dim
        Emotion latent size (output of Ee).
    content_widths
        Output channels of Ec's five conv blocks.
    emotion_widths
        Output channels of Ee's four conv blocks.
    content_hidden, emotion_hidden
        Hidden widths of the encoders' two-layer FC heads.
    decoder_widths
        Output channels of D's first four transposed convolutions (the fifth gives 1).
    n_emotions
        Number of emotion classes of Ce.

    Raises
    ------
    InvalidInputError
        If a size is not positive or a width tuple has the wrong length.
    """

    size: Literal["paper", "small"]
    content_dim: int
    emotion_dim: int
    content_widths: tuple[int, int, int, int, int]
    emotion_widths: tuple[int, int, int, int]
    content_hidden: int
    emotion_hidden: int
    decoder_widths: tuple[int, int, int, int]
    n_emotions: int = N_EMOTIONS

    def __post_init__(self) -> None:
        lengths = {"content_widths": 5, "emotion_widths": 4, "decoder_widths": 4}
        for name, length in lengths.items():
            value = getattr(self, name)
            if len(value) != length:
                raise InvalidInputError(f"DisentangleConfig.{name} needs {length} widths: {value}")
        sizes = (self.content_dim, self.emotion_dim, self.content_hidden, self.emotion_hidden)
        every = (*sizes, self.n_emotions, *self.content_widths, *self.emotion_widths)
        if any(v <= 0 for v in (*every, *self.decoder_widths)):
            raise InvalidInputError(f"DisentangleConfig sizes must be positive: {self}")

    @classmethod
    def paper(cls) -> DisentangleConfig:
        """Return the official sizes (content 256, emotion 128; 39,899,593 parameters).

        Returns
        -------
        DisentangleConfig
            Ec convs 64-128-256-256-512, FC 12288->2048->256; Ee convs 64-128-256-512,
            FC 3072->2048->128; D 384->256->128->64->32->1; Ce 128->8.
        """
        return cls(
            size="paper",
            content_dim=256,
            emotion_dim=128,
            content_widths=(64, 128, 256, 256, 512),
            emotion_widths=(64, 128, 256, 512),
            content_hidden=2048,
            emotion_hidden=2048,
            decoder_widths=(256, 128, 64, 32),
        )

    @classmethod
    def small(cls) -> DisentangleConfig:
        """Return the small sizes: channels / 4, FC hidden 256, latents 128 / 64.

        Returns
        -------
        DisentangleConfig
            Ec convs 16-32-64-64-128, FC 3072->256->128; Ee convs 16-32-64-128,
            FC 768->256->64; D 192->64->32->16->8->1; Ce 64->8. 1,734,105 parameters,
            1,265,192 of them in Ec + Ee + Ce, the part inference needs (5 MB float32).
        """
        return cls(
            size="small",
            content_dim=128,
            emotion_dim=64,
            content_widths=(16, 32, 64, 64, 128),
            emotion_widths=(16, 32, 64, 128),
            content_hidden=256,
            emotion_hidden=256,
            decoder_widths=(64, 32, 16, 8),
        )

    @property
    def content_flat(self) -> int:
        """Flattened size of Ec's conv output (12288 for the paper size)."""
        return self.content_widths[-1] * _EC_H * _EC_W

    @property
    def emotion_flat(self) -> int:
        """Flattened size of Ee's conv output (3072 for the paper size)."""
        return self.emotion_widths[-1] * _EE_W
