"""Neural networks of EVP Studio (importing this package does not import torch).

Public API (loaded on first attribute access, so the UI can import the package cheaply)::

    DisentangleConfig.paper() / .small()   # layer sizes, frozen dataclass
    DisentangleModel(config)               # .encode_content, .encode_emotion, .classify,
                                           # .decode, .cross_reconstruct
    ContentEncoder, EmotionEncoder, EmotionClassifier, MfccDecoder, CrossReconstruction
    init_weights(module)                   # Kaiming init, use with model.apply
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evp_studio.models._blocks import init_weights
    from evp_studio.models.disentangle import (
        ContentEncoder,
        CrossReconstruction,
        DisentangleConfig,
        DisentangleModel,
        EmotionClassifier,
        EmotionEncoder,
        MfccDecoder,
    )

_LAZY = {
    "ContentEncoder": "evp_studio.models.disentangle",
    "CrossReconstruction": "evp_studio.models.disentangle",
    "DisentangleConfig": "evp_studio.models.disentangle",
    "DisentangleModel": "evp_studio.models.disentangle",
    "EmotionClassifier": "evp_studio.models.disentangle",
    "EmotionEncoder": "evp_studio.models.disentangle",
    "MfccDecoder": "evp_studio.models.disentangle",
    "init_weights": "evp_studio.models._blocks",
}

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
