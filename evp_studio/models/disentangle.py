"""Cross-Reconstructed Emotion Disentanglement networks (EVP paper section 3.2, Fig. 3).

Input windows are (B, 1, 28, 12) float32 MFCC (time x coefficient, c1..c12, not normalised),
as made by ``evp_studio.audio.audio_windows`` plus a channel axis.

``DisentangleConfig.paper()`` reproduces the official layer sizes, and the attribute names
are the official ones, so a key-mapping converter can load the authors' checkpoints. The
state_dict of ``DisentangleModel`` (the official ``AutoEncoder2x``) is laid out as::

    con_encoder.audio_eocder.{0,1,3,4,5}.0.weight                 conv, no bias
    con_encoder.audio_eocder.{0,1,3,4,5}.1.{weight,bias,running_mean,running_var,
                                            num_batches_tracked}  batch norm
                                            (indices 2 and 6 are the max poolings)
    con_encoder.audio_eocder_fc.{0,2}.{weight,bias}               12288->2048->256
    emo_encoder.emotion_eocder.{0,2,3,5}.{0.weight,1.*}           (1, 4, 6 are poolings)
    emo_encoder.emotion_eocder_fc.{0,2}.{weight,bias}             3072->2048->128
    decoder.decon.{0,3,6,9,12}.{weight,bias}                      transposed convs
    decoder.decon.{1,4,7,10}.{weight,bias,running_*,num_batches_tracked}
    classify.last_fc.{weight,bias}                                128->8

Official files carry extra keys this model does not have: ``emo_encoder.last_fc.*`` (the SER
pretraining head, the initial value of ``classify.last_fc``) and the unused
``emo_encoder.re_id*`` branch; SER files prefix every key with ``module.``. The small size
uses the same names with narrower layers (see ``DisentangleConfig.small``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from evp_studio.errors import InvalidInputError
from evp_studio.models._blocks import (
    OUTPUT_SCALE,
    DisentangleConfig,
    conv_block,
    init_weights,
    mlp_head,
)
from evp_studio.pipeline.constants import N_COEFFS, WINDOW_FRAMES

__all__ = [
    "ContentEncoder",
    "CrossReconstruction",
    "DisentangleConfig",
    "DisentangleModel",
    "EmotionClassifier",
    "EmotionEncoder",
    "MfccDecoder",
    "init_weights",
]

_Pair = int | tuple[int, int]  # a size given once for both axes, or as (height, width)


def _check_windows(x: torch.Tensor) -> None:
    expected = (1, WINDOW_FRAMES, N_COEFFS)
    if x.ndim != 4 or tuple(x.shape[1:]) != expected:
        raise InvalidInputError(
            f"MFCC windows must have shape (B, 1, {WINDOW_FRAMES}, {N_COEFFS}), "
            f"got {tuple(x.shape)}"
        )


class ContentEncoder(nn.Module):
    """Content encoder Ec (official ``Ct_encoder``): window -> non-negative content code.

    Parameters
    ----------
    config
        Layer sizes.
    """

    def __init__(self, config: DisentangleConfig) -> None:
        super().__init__()
        w = config.content_widths
        self.audio_eocder = nn.Sequential(
            conv_block(1, w[0]),
            conv_block(w[0], w[1]),
            nn.MaxPool2d(3, stride=(1, 2)),
            conv_block(w[1], w[2]),
            conv_block(w[2], w[3]),
            conv_block(w[3], w[4]),
            nn.MaxPool2d(3, stride=(2, 2)),
        )
        self.audio_eocder_fc = mlp_head(
            config.content_flat, config.content_hidden, config.content_dim
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode windows.

        Parameters
        ----------
        x
            (B, 1, 28, 12) float32 MFCC windows.

        Returns
        -------
        torch.Tensor
            (B, content_dim) float32, >= 0.
        """
        feature = self.audio_eocder(x)
        return self.audio_eocder_fc(feature.flatten(1))


class EmotionEncoder(nn.Module):
    """Emotion encoder Ee (official ``EmotionNet``): window -> non-negative emotion code.

    The window is transposed to (B, 1, 12, 28) (coefficient x time) as in the official code.

    Parameters
    ----------
    config
        Layer sizes.
    """

    def __init__(self, config: DisentangleConfig) -> None:
        super().__init__()
        w = config.emotion_widths
        self.emotion_eocder = nn.Sequential(
            conv_block(1, w[0]),
            nn.MaxPool2d((1, 3), stride=(1, 2)),
            conv_block(w[0], w[1]),
            conv_block(w[1], w[2]),
            nn.MaxPool2d((N_COEFFS, 1), stride=(N_COEFFS, 1)),
            conv_block(w[2], w[3]),
            nn.MaxPool2d((1, 2), stride=(1, 2)),
        )
        self.emotion_eocder_fc = mlp_head(
            config.emotion_flat, config.emotion_hidden, config.emotion_dim
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode windows.

        Parameters
        ----------
        x
            (B, 1, 28, 12) float32 MFCC windows.

        Returns
        -------
        torch.Tensor
            (B, emotion_dim) float32, >= 0.
        """
        feature = self.emotion_eocder(x.transpose(2, 3))
        return self.emotion_eocder_fc(feature.flatten(1))


class EmotionClassifier(nn.Module):
    """Emotion classifier Ce (official ``Classify``): one Linear emotion_dim -> 8.

    Parameters
    ----------
    config
        Layer sizes.
    """

    def __init__(self, config: DisentangleConfig) -> None:
        super().__init__()
        self.last_fc = nn.Linear(config.emotion_dim, config.n_emotions)

    def forward(self, emotion: torch.Tensor) -> torch.Tensor:
        """Return logits.

        Parameters
        ----------
        emotion
            (B, emotion_dim) emotion codes.

        Returns
        -------
        torch.Tensor
            (B, n_emotions) unnormalised logits, classes in the order of
            ``evp_studio.project.emotion.EMOTIONS`` (angry 0 ... surprised 7).
        """
        return self.last_fc(emotion)


def _deconv(
    cin: int, cout: int, kernel: int | tuple[int, int], stride: _Pair, padding: _Pair
) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, kernel, stride=stride, padding=padding, bias=True)


class MfccDecoder(nn.Module):
    """Cross-reconstruction decoder D (official ``Decoder``): codes -> 28x12 window.

    The concatenated codes are a 1x1 image; transposed convolutions grow it to
    4x4 -> 8x6 -> 16x12 -> 28x12 -> 28x12, and the output is ``90 * tanh``.

    Parameters
    ----------
    config
        Layer sizes.
    """

    def __init__(self, config: DisentangleConfig) -> None:
        super().__init__()
        w = config.decoder_widths
        cin = config.content_dim + config.emotion_dim
        self.decon = nn.Sequential(
            _deconv(cin, w[0], 6, stride=2, padding=1),
            nn.BatchNorm2d(w[0]),
            nn.ReLU(inplace=True),
            _deconv(w[0], w[1], (4, 2), stride=2, padding=1),
            nn.BatchNorm2d(w[1]),
            nn.ReLU(inplace=True),
            _deconv(w[1], w[2], 4, stride=2, padding=1),
            nn.BatchNorm2d(w[2]),
            nn.ReLU(inplace=True),
            _deconv(w[2], w[3], (4, 3), stride=(2, 1), padding=(3, 1)),
            nn.BatchNorm2d(w[3]),
            nn.ReLU(inplace=True),
            _deconv(w[3], 1, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def forward(self, content: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        """Decode a pair of codes.

        Parameters
        ----------
        content
            (B, content_dim) content codes.
        emotion
            (B, emotion_dim) emotion codes.

        Returns
        -------
        torch.Tensor
            (B, 1, 28, 12) float32 MFCC window, within +-90.
        """
        codes = torch.cat([content, emotion], dim=1)[:, :, None, None]
        return OUTPUT_SCALE * self.decon(codes)


class CrossReconstruction(NamedTuple):
    """The four reconstructions of paper Fig. 3, each (B, 1, 28, 12) float32.

    Content index i/j and emotion index m/n as in the paper; each field is compared with the
    window of that name (``x_in`` with x_{i,n}, ...).
    """

    x_in: torch.Tensor  # D(Ec(x_im), Ee(x_jn)), cross, eq. 2
    x_jm: torch.Tensor  # D(Ec(x_jn), Ee(x_im)), cross, eq. 2
    x_im: torch.Tensor  # D(Ec(x_im), Ee(x_im)), self, eq. 3
    x_jn: torch.Tensor  # D(Ec(x_jn), Ee(x_jn)), self, eq. 3


class DisentangleModel(nn.Module):
    """Ec, Ee, Ce and D together (official ``AutoEncoder2x``, without its training code).

    Submodules are ``con_encoder``, ``emo_encoder``, ``decoder`` and ``classify`` (official
    names); ``model.classify(e)`` is Ce, giving (B, 8) logits. Weights are
    Kaiming-initialised on construction (``init_weights``).

    Parameters
    ----------
    config
        Layer sizes; ``DisentangleConfig.paper()`` or ``DisentangleConfig.small()``.
    """

    def __init__(self, config: DisentangleConfig) -> None:
        super().__init__()
        self.config = config
        self.con_encoder = ContentEncoder(config)
        self.emo_encoder = EmotionEncoder(config)
        self.decoder = MfccDecoder(config)
        self.classify = EmotionClassifier(config)
        self.apply(init_weights)

    def encode_content(self, x: torch.Tensor) -> torch.Tensor:
        """Return Ec(x).

        Parameters
        ----------
        x
            (B, 1, 28, 12) float32 MFCC windows.

        Returns
        -------
        torch.Tensor
            (B, content_dim) non-negative content codes.

        Raises
        ------
        InvalidInputError
            If ``x`` does not have shape (B, 1, 28, 12).
        """
        _check_windows(x)
        return self.con_encoder(x)

    def encode_emotion(self, x: torch.Tensor) -> torch.Tensor:
        """Return Ee(x).

        Parameters
        ----------
        x
            (B, 1, 28, 12) float32 MFCC windows.

        Returns
        -------
        torch.Tensor
            (B, emotion_dim) non-negative emotion codes.

        Raises
        ------
        InvalidInputError
            If ``x`` does not have shape (B, 1, 28, 12).
        """
        _check_windows(x)
        return self.emo_encoder(x)

    def decode(self, content: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        """Return D(content, emotion), a (B, 1, 28, 12) window within +-90.

        Parameters
        ----------
        content
            (B, content_dim) content codes.
        emotion
            (B, emotion_dim) emotion codes.

        Returns
        -------
        torch.Tensor
            (B, 1, 28, 12) float32 MFCC windows.
        """
        return self.decoder(content, emotion)

    def cross_reconstruct(self, x_im: torch.Tensor, x_jn: torch.Tensor) -> CrossReconstruction:
        """Reconstruct the four windows of paper Fig. 3 from x_{i,m} and x_{j,n}.

        Parameters
        ----------
        x_im
            (B, 1, 28, 12) windows with content i, emotion m.
        x_jn
            (B, 1, 28, 12) windows with content j, emotion n.

        Returns
        -------
        CrossReconstruction
            ``x_in``, ``x_jm`` (cross, eq. 2) and ``x_im``, ``x_jn`` (self, eq. 3).

        Raises
        ------
        InvalidInputError
            If an input does not have shape (B, 1, 28, 12).
        """
        c_i, e_m = self.encode_content(x_im), self.encode_emotion(x_im)
        c_j, e_n = self.encode_content(x_jn), self.encode_emotion(x_jn)
        return CrossReconstruction(
            x_in=self.decode(c_i, e_n),
            x_jm=self.decode(c_j, e_m),
            x_im=self.decode(c_i, e_m),
            x_jn=self.decode(c_j, e_n),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the (content, emotion) codes of windows, the inference path.

        Parameters
        ----------
        x
            (B, 1, 28, 12) float32 MFCC windows.

        Returns
        -------
        tuple of torch.Tensor
            (B, content_dim) and (B, emotion_dim) codes.
        """
        return self.encode_content(x), self.encode_emotion(x)
