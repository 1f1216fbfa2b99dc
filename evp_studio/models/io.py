"""Disentanglement model files: save the inference part, load and validate any of them.

One format serves training checkpoints (``evp_studio.train.disentangle``), shipped default
weights and checkpoints converted from the authors' release. It is a dict that
``torch.load(weights_only=True)`` reads::

    "format"          "evp-studio.disentangle" (training checkpoints omit it)
    "format_version"  1
    "model_config"    dataclasses.asdict(DisentangleConfig)
    "model"           state_dict of DisentangleModel; the decoder may be absent
                      (inference needs only Ec, Ee and Ce); float16 or float32
    "category_codes"  (8, emotion_dim) float32 tensor, NaN rows for absent emotions, or None
    "emotions"        label order, must equal evp_studio.project.EMOTIONS
    "metrics", "source", ...   free-form plain data, kept in ``meta``

Loading checks everything a wrong file could get wrong (missing or extra keys, shapes, NaN or
infinite values, label order) and names the file and the problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evp_studio.errors import InvalidInputError
from evp_studio.models.disentangle import DisentangleConfig, DisentangleModel
from evp_studio.project import EMOTIONS
from evp_studio.train.checkpoint import load_checkpoint, save_checkpoint

__all__ = [
    "FORMAT",
    "LoadedDisentangle",
    "category_codes_from",
    "checked_tensors",
    "inference_state",
    "load_disentangle",
    "model_from_state",
    "save_inference_weights",
]

FORMAT = "evp-studio.disentangle"
FORMAT_VERSION = 1
_DECODER = "decoder."


@dataclass(frozen=True)
class LoadedDisentangle:
    """A validated disentanglement model file."""

    model: DisentangleModel  # float32, eval mode, on the CPU
    category_codes: np.ndarray | None  # (8, emotion_dim) float32, NaN rows for absent emotions
    has_decoder: bool  # False for inference-only files
    meta: dict[str, Any]  # every other key of the file (metrics, source, config, ...)
    path: Path | None


def _config_from(raw: Any, where: str) -> DisentangleConfig:
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"{where}: 'model_config' is missing; not a disentanglement model")
    fields = {f.name for f in dataclasses.fields(DisentangleConfig)}
    unknown = sorted(set(raw) - fields)
    if unknown or set(raw) != fields:
        raise InvalidInputError(
            f"{where}: 'model_config' has keys {sorted(raw)}, expected {sorted(fields)}"
        )
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    try:
        return DisentangleConfig(**values)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"{where}: bad 'model_config': {e}") from e


def model_from_state(state: Mapping[str, Any], where: str) -> tuple[DisentangleModel, bool]:
    """Build the model a file describes and load its weights, checking every tensor.

    Parameters
    ----------
    state
        The file's dict (see the module docstring).
    where
        Names the file in error messages.

    Returns
    -------
    tuple
        ``(model, has_decoder)``; the model is float32, in eval mode, on the CPU.

    Raises
    ------
    InvalidInputError
        When keys are missing or unexpected, a shape differs (a model of another size), or a
        tensor holds NaN or infinite values.
    """
    config = _config_from(state.get("model_config"), where)
    weights = state.get("model")
    if not isinstance(weights, Mapping):
        raise InvalidInputError(f"{where}: 'model' (the weights) is missing")
    model = DisentangleModel(config)
    expected = model.state_dict()
    missing = [k for k in expected if k not in weights]
    has_decoder = not any(k.startswith(_DECODER) for k in missing)
    missing = [k for k in missing if not k.startswith(_DECODER)]
    extra = sorted(k for k in weights if k not in expected)
    if missing or extra:
        listed = ", ".join((missing + extra)[:4])
        raise InvalidInputError(
            f"{where}: not a {config.size} disentanglement model: "
            f"{len(missing)} missing and {len(extra)} unexpected weights ({listed} ...)"
        )
    if any(k.startswith(_DECODER) for k in weights) and not has_decoder:
        raise InvalidInputError(f"{where}: the decoder's weights are incomplete")
    model.load_state_dict(checked_tensors(weights, expected, where, config.size), strict=False)
    return model.eval(), has_decoder


def checked_tensors(
    weights: Mapping[str, Any], expected: Mapping[str, torch.Tensor], where: str, size: str
) -> dict[str, torch.Tensor]:
    """Check every weight of a file against a model's state_dict; return them as float32.

    Parameters
    ----------
    weights
        The file's weights (keys already checked against ``expected``).
    expected
        The state_dict of the model they are for.
    where
        Names the file in error messages.
    size
        The model's size name, for the shape message.

    Returns
    -------
    dict
        The weights, floating-point ones converted to float32.

    Raises
    ------
    InvalidInputError
        When a value is not a tensor, has another shape, or holds NaN or infinite values.
    """
    for key, value in weights.items():
        if not isinstance(value, torch.Tensor):
            raise InvalidInputError(f"{where}: weight {key!r} is not a tensor")
        if tuple(value.shape) != tuple(expected[key].shape):
            raise InvalidInputError(
                f"{where}: weight {key!r} has shape {tuple(value.shape)}, a {size} "
                f"model needs {tuple(expected[key].shape)} (a model of another size?)"
            )
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise InvalidInputError(f"{where}: weight {key!r} holds NaN or infinite values")
    return {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}


def category_codes_from(raw: Any, emotion_dim: int, where: str) -> np.ndarray | None:
    """Check a file's (8, emotion_dim) category codes (NaN rows allowed); None passes."""
    if raw is None:
        return None
    codes = np.asarray(raw.float().numpy() if isinstance(raw, torch.Tensor) else raw, np.float32)
    if codes.shape != (len(EMOTIONS), emotion_dim):
        raise InvalidInputError(
            f"{where}: 'category_codes' has shape {codes.shape}, "
            f"expected ({len(EMOTIONS)}, {emotion_dim})"
        )
    present = ~np.isnan(codes).all(axis=1)
    if not np.isfinite(codes[present]).all():
        raise InvalidInputError(f"{where}: 'category_codes' holds NaN or infinite values")
    return codes


def load_disentangle(path: str | Path) -> LoadedDisentangle:
    """Load a training checkpoint, shipped weights or converted official weights.

    Parameters
    ----------
    path
        The ``.pt`` file.

    Returns
    -------
    LoadedDisentangle
        The model in eval mode on the CPU, its category codes and the file's other data.

    Raises
    ------
    InvalidInputError
        When the file is unreadable, of another format or size, holds non-finite weights, or
        uses another emotion label order.
    """
    path = Path(path)
    state = load_checkpoint(path)
    where = str(path)
    fmt = state.get("format", FORMAT)
    if fmt != FORMAT:
        raise InvalidInputError(f"{where}: format {fmt!r} is not a disentanglement model")
    version = state.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise InvalidInputError(
            f"{where}: format version {version} is not supported (this build reads "
            f"{FORMAT_VERSION}); update EVP Studio"
        )
    emotions = state.get("emotions", list(EMOTIONS))
    if list(emotions) != list(EMOTIONS):
        raise InvalidInputError(
            f"{where}: emotion labels {list(emotions)} are not in EVP Studio's order "
            f"{list(EMOTIONS)}"
        )
    model, has_decoder = model_from_state(state, where)
    codes = category_codes_from(state.get("category_codes"), model.config.emotion_dim, where)
    meta = {k: v for k, v in state.items() if k not in ("model", "optimizer", "category_codes")}
    return LoadedDisentangle(model, codes, has_decoder, meta, path)


def inference_state(
    model: DisentangleModel, category_codes: np.ndarray | torch.Tensor | None, *, half: bool
) -> dict[str, Any]:
    """The inference part (Ec, Ee, Ce) of a model as plain data, the decoder left out.

    Parameters
    ----------
    model
        The trained model.
    category_codes
        (8, emotion_dim) mean emotion code per category, or None.
    half
        Store floating-point weights as float16.

    Returns
    -------
    dict
        ``model_config``, ``model`` (weights on the CPU) and ``category_codes`` (float32
        tensor or None).
    """
    weights = {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
        for k, v in model.state_dict().items()
        if not k.startswith(_DECODER)
    }
    codes = None
    if category_codes is not None:
        codes = torch.as_tensor(np.asarray(category_codes, dtype=np.float32))
    return {
        "model_config": dataclasses.asdict(model.config),
        "model": weights,
        "category_codes": codes,
    }


def save_inference_weights(
    path: str | Path,
    model: DisentangleModel,
    category_codes: np.ndarray | torch.Tensor | None,
    *,
    half: bool = True,
    **meta: Any,
) -> None:
    """Write the inference part (Ec, Ee, Ce) of a model, optionally in float16.

    Parameters
    ----------
    path
        Output ``.pt`` file (written atomically).
    model
        The trained model.
    category_codes
        (8, emotion_dim) mean emotion code per category, or None.
    half
        Store weights as float16 (half the size; loading converts back to float32).
    **meta
        Plain data stored alongside (``metrics``, ``source``, ``data``, ...).

    Raises
    ------
    ExportError
        When the file cannot be written.
    """
    state = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **inference_state(model, category_codes, half=half),
        "emotions": list(EMOTIONS),
        **meta,
    }
    save_checkpoint(path, state)
