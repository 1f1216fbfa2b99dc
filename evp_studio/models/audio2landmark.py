"""Audio-to-landmark network (EVP paper section 3.3, eq. 7; official ``AT_emoiton``).

Per frame t the network sees the content code ``Ec(x_t)``, the emotion code ``Ee(x_t)``
(or a stored per-emotion code) and the identity embedding ``f_a = MLP(l_a)`` of the
"example landmark" ``l_a``; an LSTM over ``[f_a, Ec, Ee]`` and a head predict the
displacement ``l_d`` so that ``l_hat = l_a + l_d`` (eq. 7).

Landmarks live in the canonical space of :mod:`evp_studio.geometry` (pose-free, eye-corner
midpoint origin, outer eye-corner distance 1, x right, y down), 68 points. Both the identity
input and the output go through a linear landmark basis stored with the weights (buffers
``basis_mean`` (136,) and ``basis`` (136, K), flattened x0, y0, x1, y1, ...)::

    identity coefficients   a   = basis^T (l_a - basis_mean)          (K,)  -> lm_encoder
    displacement            l_d = basis @ d                            d: (T, K) head output

The basis is a PCA of training frames (the official code uses 16 components of each
speaker's landmarks), or the identity matrix for K = 136 (raw coordinates, no PCA).

State-dict keys follow the official module names, so a converter can map released weights::

    lm_encoder.lmark_encoder.{0,2}.{weight,bias}      identity MLP  K -> hidden -> dim
    decoder.lstm.{weight_ih,weight_hh,bias_ih,bias_hh}_l{0..layers-1}
    decoder.lstm_fc.0.{weight,bias}                   head (one Linear, official)
    decoder.lstm_fc.{0,2}.{weight,bias}               head with ``head_hidden`` > 0
    basis_mean, basis                                 EVP Studio's landmark basis
    code_mean, code_scale                             EVP Studio's code standardisation

The codes are standardised per feature, ``([Ec, Ee] - code_mean) / code_scale`` with the
training codes' statistics (the encoders' ReLU codes reach tens, which would saturate the
LSTM's gates; a converted official model gets mean 0, scale 1). The head's last Linear
starts at zero, so an untrained model predicts ``l_a``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from evp_studio.errors import InvalidInputError

__all__ = [
    "N_POINTS",
    "Audio2Landmark",
    "Audio2LandmarkConfig",
    "LandmarkDecoder",
    "LandmarkEncoder",
]

N_POINTS = 68  # iBUG-68


@dataclass(frozen=True)
class Audio2LandmarkConfig:
    """Layer sizes of the audio-to-landmark network.

    Parameters
    ----------
    size
        ``"paper"`` (official sizes) or ``"small"``.
    content_dim, emotion_dim
        Sizes of the content and emotion codes (the encoders' latents).
    n_coeffs
        K, coefficients of the landmark basis (identity input and head output);
        ``2 * n_points`` means raw coordinates.
    identity_hidden, identity_dim
        Widths of the identity MLP (K -> hidden -> dim, ReLU after each).
    lstm_hidden, lstm_layers
        The LSTM over ``identity_dim + content_dim + emotion_dim`` inputs.
    head_hidden
        0: the head is one Linear lstm_hidden -> K (official); > 0: Linear, ReLU, Linear
        (the paper's two-layer MLP).
    n_points
        Landmarks per frame.

    Raises
    ------
    InvalidInputError
        If a size is not positive or K is not in 1 .. 2 * n_points.
    """

    size: Literal["paper", "small"]
    content_dim: int
    emotion_dim: int
    n_coeffs: int
    identity_hidden: int
    identity_dim: int
    lstm_hidden: int
    lstm_layers: int
    head_hidden: int = 0
    n_points: int = N_POINTS

    def __post_init__(self) -> None:
        sizes = (self.content_dim, self.emotion_dim, self.identity_hidden, self.identity_dim)
        if any(v <= 0 for v in (*sizes, self.lstm_hidden, self.lstm_layers, self.n_points)):
            raise InvalidInputError(f"Audio2LandmarkConfig sizes must be positive: {self}")
        if not 0 < self.n_coeffs <= 2 * self.n_points or self.head_hidden < 0:
            raise InvalidInputError(
                f"Audio2LandmarkConfig: n_coeffs must be in 1..{2 * self.n_points} and "
                f"head_hidden >= 0, got {self.n_coeffs}, {self.head_hidden}"
            )

    @classmethod
    def paper(cls) -> Audio2LandmarkConfig:
        """Return the official sizes: MLP 16->256->512, LSTM(896, 256, 3 layers), Linear 256->16.

        Returns
        -------
        Audio2LandmarkConfig
            For content 256 / emotion 128 codes (``DisentangleConfig.paper()``); 16 PCA
            coefficients; 2,374,416 parameters.
        """
        return cls("paper", 256, 128, 16, 256, 512, 256, 3)

    @classmethod
    def small(cls) -> Audio2LandmarkConfig:
        """Return the small sizes: MLP 32->128->256, LSTM(448, 128, 3 layers), 128->128->32.

        Returns
        -------
        Audio2LandmarkConfig
            For content 128 / emotion 64 codes (``DisentangleConfig.small()``); 32 PCA
            coefficients; 618,016 parameters.
        """
        return cls("small", 128, 64, 32, 128, 256, 128, 3, head_hidden=128)

    @classmethod
    def of_size(cls, size: str) -> Audio2LandmarkConfig:
        """Return :meth:`paper` or :meth:`small` by name.

        Raises
        ------
        InvalidInputError
            For another name.
        """
        if size not in ("paper", "small"):
            raise InvalidInputError(f"size {size!r} is not 'small' or 'paper'")
        return cls.paper() if size == "paper" else cls.small()

    def with_coeffs(self, n_coeffs: int) -> Audio2LandmarkConfig:
        """Return a copy with another basis size K (e.g. 136 for raw coordinates)."""
        return dataclasses.replace(self, n_coeffs=n_coeffs)

    @property
    def lstm_input(self) -> int:
        """Per-frame LSTM input size (896 for the paper size)."""
        return self.identity_dim + self.content_dim + self.emotion_dim


class LandmarkEncoder(nn.Module):
    """Identity MLP (official ``Lm_encoder``): basis coefficients of l_a -> f_a.

    Parameters
    ----------
    config
        Layer sizes.
    """

    def __init__(self, config: Audio2LandmarkConfig) -> None:
        super().__init__()
        self.lmark_encoder = nn.Sequential(
            nn.Linear(config.n_coeffs, config.identity_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.identity_hidden, config.identity_dim),
            nn.ReLU(inplace=True),
        )

    def forward(self, coeffs: torch.Tensor) -> torch.Tensor:
        """Return the (B, identity_dim) embedding of (B, K) identity coefficients."""
        return self.lmark_encoder(coeffs)


class LandmarkDecoder(nn.Module):
    """LSTM + head (official ``Decoder`` of audio2lm): per-frame inputs -> coefficients.

    Parameters
    ----------
    config
        Layer sizes.
    """

    def __init__(self, config: Audio2LandmarkConfig) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            config.lstm_input, config.lstm_hidden, config.lstm_layers, batch_first=True
        )
        layers: list[nn.Module] = []
        width = config.lstm_hidden
        if config.head_hidden > 0:
            layers += [nn.Linear(width, config.head_hidden), nn.ReLU(inplace=True)]
            width = config.head_hidden
        last = nn.Linear(width, config.n_coeffs)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.lstm_fc = nn.Sequential(*layers, last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (B, T, lstm_input) to (B, T, K) displacement coefficients (zero initial state)."""
        hidden, _ = self.lstm(x)
        return self.lstm_fc(hidden)


class Audio2Landmark(nn.Module):
    """Identity MLP + LSTM + head, with the landmark basis as buffers (module docstring).

    Parameters
    ----------
    config
        Layer sizes; the basis starts as the first K axes with a zero mean (replace it with
        :meth:`set_basis` before training).
    """

    basis_mean: torch.Tensor  # (2P,) buffers, see the module docstring
    basis: torch.Tensor  # (2P, K)
    code_mean: torch.Tensor  # (d_c + d_e,)
    code_scale: torch.Tensor  # (d_c + d_e,)

    def __init__(self, config: Audio2LandmarkConfig) -> None:
        super().__init__()
        self.config = config
        dim = 2 * config.n_points
        self.lm_encoder = LandmarkEncoder(config)
        self.decoder = LandmarkDecoder(config)
        self.register_buffer("basis_mean", torch.zeros(dim))
        self.register_buffer("basis", torch.eye(dim)[:, : config.n_coeffs].contiguous())
        n_codes = config.content_dim + config.emotion_dim
        self.register_buffer("code_mean", torch.zeros(n_codes))
        self.register_buffer("code_scale", torch.ones(n_codes))

    def set_basis(self, mean: torch.Tensor, components: torch.Tensor) -> None:
        """Replace the landmark basis.

        Parameters
        ----------
        mean
            (2P,) flattened canonical mean shape.
        components
            (2P, K) orthonormal columns.

        Raises
        ------
        InvalidInputError
            On wrong shapes or non-finite values.
        """
        want = tuple(self.basis.shape)
        if tuple(mean.shape) != want[:1] or tuple(components.shape) != want:
            raise InvalidInputError(
                f"landmark basis: expected mean {want[:1]} and components {want}, got "
                f"{tuple(mean.shape)} and {tuple(components.shape)}"
            )
        if not (torch.isfinite(mean).all() and torch.isfinite(components).all()):
            raise InvalidInputError("landmark basis holds NaN or infinite values")
        self.basis_mean.copy_(mean)
        self.basis.copy_(components)

    def set_code_stats(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        """Replace the code standardisation.

        Parameters
        ----------
        mean, scale
            (content_dim + emotion_dim,) per-feature mean and scale of ``[Ec, Ee]`` codes.

        Raises
        ------
        InvalidInputError
            On wrong shapes, non-finite values or a scale that is not positive.
        """
        want = tuple(self.code_mean.shape)
        if tuple(mean.shape) != want or tuple(scale.shape) != want:
            raise InvalidInputError(
                f"code statistics: expected shape {want}, got {tuple(mean.shape)}, "
                f"{tuple(scale.shape)}"
            )
        if not (torch.isfinite(mean).all() and torch.isfinite(scale).all() and (scale > 0).all()):
            raise InvalidInputError("code statistics must be finite with a positive scale")
        self.code_mean.copy_(mean)
        self.code_scale.copy_(scale)

    def identity_coeffs(self, identity: torch.Tensor) -> torch.Tensor:
        """Return the (B, K) basis coefficients of (B, P, 2) canonical identity landmarks."""
        return (identity.flatten(1) - self.basis_mean) @ self.basis

    def forward(
        self, content: torch.Tensor, emotion: torch.Tensor, identity: torch.Tensor
    ) -> torch.Tensor:
        """Predict canonical landmarks, eq. 7: ``l_a + basis @ d``.

        Parameters
        ----------
        content
            (B, T, content_dim) content codes.
        emotion
            (B, T, emotion_dim) emotion codes.
        identity
            (B, P, 2) canonical example landmarks l_a.

        Returns
        -------
        torch.Tensor
            (B, T, P, 2) canonical landmarks.

        Raises
        ------
        InvalidInputError
            On inconsistent shapes.
        """
        c = self.config
        b, t = content.shape[:2]
        if (
            content.shape != (b, t, c.content_dim)
            or emotion.shape != (b, t, c.emotion_dim)
            or identity.shape != (b, c.n_points, 2)
        ):
            raise InvalidInputError(
                f"audio2landmark inputs: content {tuple(content.shape)}, emotion "
                f"{tuple(emotion.shape)}, identity {tuple(identity.shape)}; expected "
                f"(B, T, {c.content_dim}), (B, T, {c.emotion_dim}), (B, {c.n_points}, 2)"
            )
        f_a = self.lm_encoder(self.identity_coeffs(identity))
        codes = (torch.cat([content, emotion], dim=2) - self.code_mean) / self.code_scale
        x = torch.cat([f_a[:, None].expand(b, t, -1), codes], dim=2)
        displacement = self.decoder(x) @ self.basis.T  # (B, T, 2P)
        return identity[:, None] + displacement.view(b, t, c.n_points, 2)
