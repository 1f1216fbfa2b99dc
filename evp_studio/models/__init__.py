"""Neural networks of EVP Studio (importing this package does not import torch).

Public API (loaded on first attribute access, so the UI can import the package cheaply)::

    DisentangleConfig.paper() / .small()   # layer sizes, frozen dataclass
    DisentangleModel(config)               # .encode_content, .encode_emotion, .classify,
                                           # .decode, .cross_reconstruct
    ContentEncoder, EmotionEncoder, EmotionClassifier, MfccDecoder, CrossReconstruction
    init_weights(module)                   # Kaiming init, use with model.apply
    Audio2LandmarkConfig.paper() / .small(), Audio2Landmark(config)   # paper 3.3, eq. 7
    LandmarkPredictor.load(path=None).predict(content, emotion, identity) -> (T, 68, 2)
    load_audio2landmark(path), save_landmark_weights(path, model, ...)
    RendererConfig.of_preset("fast"|"quality", C), RendererGenerator(config),
    MultiscaleDiscriminator.image(config) / .temporal(config)   # Edge-to-Video (3.3)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evp_studio.models._blocks import init_weights
    from evp_studio.models.audio2landmark import Audio2Landmark, Audio2LandmarkConfig
    from evp_studio.models.audio2landmark_io import (
        LandmarkPredictor,
        load_audio2landmark,
        save_landmark_weights,
    )
    from evp_studio.models.disentangle import (
        ContentEncoder,
        CrossReconstruction,
        DisentangleConfig,
        DisentangleModel,
        EmotionClassifier,
        EmotionEncoder,
        MfccDecoder,
    )
    from evp_studio.models.renderer import (
        MultiscaleDiscriminator,
        RendererConfig,
        RendererGenerator,
    )

_LAZY = {
    "Audio2Landmark": "evp_studio.models.audio2landmark",
    "Audio2LandmarkConfig": "evp_studio.models.audio2landmark",
    "LandmarkPredictor": "evp_studio.models.audio2landmark_io",
    "load_audio2landmark": "evp_studio.models.audio2landmark_io",
    "save_landmark_weights": "evp_studio.models.audio2landmark_io",
    "ContentEncoder": "evp_studio.models.disentangle",
    "CrossReconstruction": "evp_studio.models.disentangle",
    "DisentangleConfig": "evp_studio.models.disentangle",
    "DisentangleModel": "evp_studio.models.disentangle",
    "EmotionClassifier": "evp_studio.models.disentangle",
    "EmotionEncoder": "evp_studio.models.disentangle",
    "MfccDecoder": "evp_studio.models.disentangle",
    "init_weights": "evp_studio.models._blocks",
    "MultiscaleDiscriminator": "evp_studio.models.renderer",
    "RendererConfig": "evp_studio.models.renderer",
    "RendererGenerator": "evp_studio.models.renderer",
}

__all__ = [
    "Audio2Landmark",
    "Audio2LandmarkConfig",
    "LandmarkPredictor",
    "load_audio2landmark",
    "save_landmark_weights",
    "ContentEncoder",
    "CrossReconstruction",
    "DisentangleConfig",
    "DisentangleModel",
    "EmotionClassifier",
    "EmotionEncoder",
    "MfccDecoder",
    "init_weights",
    "MultiscaleDiscriminator",
    "RendererConfig",
    "RendererGenerator",
]


def __getattr__(name: str) -> object:
    """Import a public name's module on first use (keeps torch out of package import).

    Parameters
    ----------
    name
        Attribute looked up on the package.

    Returns
    -------
    object
        The public class or function.

    Raises
    ------
    AttributeError
        If ``name`` is not public API.
    """
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evp_studio.models' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
