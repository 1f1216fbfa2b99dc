"""Import the authors' released EVP audio checkpoints into EVP Studio's model format.

Layouts recognised (key names as in :mod:`evp_studio.models.disentangle`)::

    SER_<epoch>.pkl        DataParallel state_dict of the SER EmotionNet: module.emotion_eocder*,
                           module.last_fc.*; Ee and Ce only, Ec comes from a second file
    <epoch>_pretrain.pth   {"model": AutoEncoder2x state_dict, "epoch", ...}: Ec, Ee, D, Ce
    audio2lm/pth/M0xx_20.pth   AT_emoiton state_dict: Ec, Ee (+ its last_fc as Ce); the
                           landmark LSTM (decoder.lstm*, decoder.lstm_fc*) and lm_encoder.*
                           are not part of this model and are dropped
    atnet_lstm_18.pth      ATVGnet AT_net (module.audio_eocder*): usable as the content file

Renaming: a leading ``module.`` is removed; bare EmotionNet / Ct_encoder keys get their
``emo_encoder.`` / ``con_encoder.`` prefix; ``emo_encoder.last_fc`` (the SER head) becomes
``classify.last_fc`` when the file has no ``classify``, and is dropped otherwise, as is the
unused ``emo_encoder.re_id*`` branch. Batch-norm ``num_batches_tracked`` counters, absent
from files of old PyTorch versions, are filled with 0 (eval mode does not use them).

Category codes come from the released ``M0xx_feature/<emotion>.npy`` files (128-d;
M003 names ``disgust.npy`` what M030 names ``disgusted.npy``).
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evp_studio.errors import InvalidInputError
from evp_studio.models.disentangle import DisentangleConfig
from evp_studio.models.io import FORMAT, FORMAT_VERSION, model_from_state
from evp_studio.project import EMOTIONS
from evp_studio.train.checkpoint import save_checkpoint

__all__ = [
    "convert_official",
    "convert_official_file",
    "load_official",
    "read_official_features",
]

_CONTENT, _EMOTION, _CLASSIFY, _DECODER = "con_encoder.", "emo_encoder.", "classify.", "decoder."
_BARE_CONTENT = ("audio_eocder.", "audio_eocder_fc.")
_BARE_EMOTION = ("emotion_eocder.", "emotion_eocder_fc.", "last_fc.", "re_id.", "re_id_fc.")
_KEEP = (
    "con_encoder.audio_eocder.",
    "con_encoder.audio_eocder_fc.",
    "emo_encoder.emotion_eocder.",
    "emo_encoder.emotion_eocder_fc.",
    "classify.last_fc.",
    "decoder.decon.",
)
_SER_HEAD = "emo_encoder.last_fc."
# Parts of the official networks that EVP Studio's model does not have.
_UNUSED = (
    "emo_encoder.re_id.",
    "emo_encoder.re_id_fc.",
    "decoder.lstm.",
    "decoder.lstm_fc.",
    "lm_encoder.",
)
_FEATURE_ALIASES = {"disgusted": ("disgusted", "disgust")}
_EMOTION_DIM = 128


def load_official(path: str | Path) -> Mapping[str, Any]:
    """Read an official checkpoint with ``torch.load(weights_only=True)`` onto the CPU.

    Parameters
    ----------
    path
        ``SER_<epoch>.pkl``, ``<epoch>_pretrain.pth``, ``M0xx_20.pth``, ...

    Returns
    -------
    Mapping
        The file's dict (a state_dict, or a training checkpoint holding one).

    Raises
    ------
    InvalidInputError
        When the file is missing, unreadable, needs code to unpickle, or holds no dict.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise InvalidInputError(
            f"{path}: not a PyTorch weights file, or it holds objects other than tensors and "
            "plain data, which cannot be loaded safely (torch.load weights_only)"
        ) from e
    except (OSError, RuntimeError, EOFError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidInputError(f"{path}: not a readable PyTorch weights file ({first})") from e
    if not isinstance(state, Mapping):
        raise InvalidInputError(f"{path}: holds a {type(state).__name__}, not a state_dict")
    return state


def _unwrap(state: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], str | None]:
    """Return the state_dict inside a training checkpoint, and the wrapper key."""
    for key in ("model", "state_dict"):
        inner = state.get(key)
        if isinstance(inner, Mapping):
            return inner, key
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise InvalidInputError(
            f"{where}: not a state_dict: {len(bad)} entries are not tensors "
            f"({', '.join(map(str, bad[:4]))}) and there is no 'model' entry"
        )
    return state, None


def _strip_module(key: str) -> str:
    while key.startswith("module."):  # DataParallel, possibly nested
        key = key[len("module.") :]
    return key


def _renamed(key: str, bare_emotion_net: bool) -> str:
    key = _strip_module(key)
    if key.startswith(_BARE_CONTENT):
        return _CONTENT + key
    if bare_emotion_net and key.startswith(_BARE_EMOTION):
        return _EMOTION + key
    return key


def _normalise(
    raw: Mapping[str, Any], where: str, *, strict: bool
) -> tuple[dict[str, torch.Tensor], list[str], str]:
    """Rename a state_dict to EVP Studio's keys; return (weights, dropped keys, kind)."""
    inner, wrapper = _unwrap(raw, where)
    bare_emotion_net = any(_strip_module(str(k)).startswith("emotion_eocder") for k in inner)
    renamed = {_renamed(str(k), bare_emotion_net): (str(k), v) for k, v in inner.items()}
    if len(renamed) != len(inner):
        raise InvalidInputError(f"{where}: keys repeat once their 'module.' prefix is removed")
    has_classify = any(k.startswith(_CLASSIFY) for k in renamed)
    weights: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    unexpected: list[str] = []
    for key, (original, value) in renamed.items():
        if key.startswith(_SER_HEAD) and not has_classify:
            key = _CLASSIFY + "last_fc." + key[len(_SER_HEAD) :]
        if key.startswith(_KEEP):
            if not isinstance(value, torch.Tensor):
                raise InvalidInputError(f"{where}: weight {original!r} is not a tensor")
            weights[key] = value
        elif key.startswith((*_UNUSED, _SER_HEAD)) or not strict:
            dropped.append(original)
        else:
            unexpected.append(original)
    if not weights:
        listed = ", ".join(map(str, list(inner)[:5]))
        raise InvalidInputError(
            f"{where}: not an EVP audio checkpoint: none of its {len(inner)} keys is known "
            f"(first: {listed})"
        )
    if unexpected:
        raise InvalidInputError(
            f"{where}: unknown checkpoint layout: {len(unexpected)} unexpected keys "
            f"({', '.join(unexpected[:5])})"
        )
    return weights, dropped, _kind(weights, dropped, wrapper)


def _kind(weights: Mapping[str, Any], dropped: list[str], wrapper: str | None) -> str:
    if any(k.startswith(_DECODER) for k in weights) or wrapper == "model":
        return "disentanglement checkpoint (AutoEncoder2x)"
    if any(_strip_module(k).startswith(("decoder.lstm", "lm_encoder.")) for k in dropped):
        return "audio-to-landmark model (AT_emoiton)"
    if not any(k.startswith(_CONTENT) for k in weights):
        return "SER emotion encoder (EmotionNet)"
    return "state_dict"


def _fill_batch_counters(weights: dict[str, torch.Tensor]) -> list[str]:
    filled = []
    for key in [k for k in weights if k.endswith(".running_mean")]:
        counter = key.removesuffix("running_mean") + "num_batches_tracked"
        if counter not in weights:
            weights[counter] = torch.tensor(0, dtype=torch.long)
            filled.append(counter)
    return filled


def _require_parts(weights: Mapping[str, Any], where: str, content_given: bool) -> None:
    parts = {
        "content encoder Ec (con_encoder.*)": _CONTENT,
        "emotion encoder Ee (emo_encoder.*)": _EMOTION,
        "emotion classifier Ce (classify.last_fc.* or emo_encoder.last_fc.*)": _CLASSIFY,
    }
    missing = [
        name for name, prefix in parts.items() if not any(k.startswith(prefix) for k in weights)
    ]
    if not missing:
        return
    hint = ""
    if missing == ["content encoder Ec (con_encoder.*)"] and not content_given:
        hint = (
            "; an SER checkpoint holds only the emotion encoder: pass a second file with the "
            "content encoder (--content, e.g. a <epoch>_pretrain.pth or an audio2lm .pth)"
        )
    verb = "is" if len(missing) == 1 else "are"
    raise InvalidInputError(f"{where}: the {' and the '.join(missing)} {verb} missing{hint}")


def convert_official(
    state: Mapping[str, Any],
    *,
    source: str,
    content: Mapping[str, Any] | None = None,
    content_source: str | None = None,
    category_codes: np.ndarray | None = None,
) -> dict[str, Any]:
    """Convert an official checkpoint's dict into EVP Studio's disentanglement format.

    Parameters
    ----------
    state
        What ``torch.load`` read from the official file (see the module docstring).
    source
        The file's name, for messages and the result's ``source`` entry.
    content
        Another official file's dict to take the content encoder Ec from (needed for SER
        files, which have none); it replaces an Ec of ``state``. Its other keys are ignored.
    content_source
        That file's name.
    category_codes
        (8, 128) float32 per-emotion codes in EVP Studio's label order, NaN rows for absent
        emotions (see :func:`read_official_features`), or None.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``model_config`` (paper size), ``model`` (Ec, Ee, Ce,
        and D when the source has the disentanglement decoder), ``category_codes``,
        ``emotions`` and ``source`` (file, kind, dropped keys, ...): what
        :func:`evp_studio.models.io.load_disentangle` reads once saved.

    Raises
    ------
    InvalidInputError
        When the layout is unknown, Ec, Ee or Ce is missing, a weight has another shape than
        the paper-size model's, or a weight is NaN or infinite.
    """
    weights, dropped, kind = _normalise(state, source, strict=True)
    info: dict[str, Any] = {"file": source, "kind": kind}
    if content is not None:
        where = content_source or "content file"
        other, _, content_kind = _normalise(content, where, strict=False)
        encoder = {k: v for k, v in other.items() if k.startswith(_CONTENT)}
        if not encoder:
            raise InvalidInputError(f"{where}: has no content encoder weights (con_encoder.*)")
        dropped += [k for k in weights if k.startswith(_CONTENT)]
        weights = {k: v for k, v in weights.items() if not k.startswith(_CONTENT)} | encoder
        info["content"] = {"file": where, "kind": content_kind}
    _require_parts(weights, source, content is not None)
    filled = _fill_batch_counters(weights)
    weights = {
        k: (v.float() if v.is_floating_point() else v).detach().clone().contiguous()
        for k, v in sorted(weights.items())
    }
    config = DisentangleConfig.paper()
    codes = None
    if category_codes is not None:
        codes = torch.as_tensor(np.asarray(category_codes, dtype=np.float32))
    result: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": dataclasses.asdict(config),
        "model": weights,
        "category_codes": codes,
        "emotions": list(EMOTIONS),
        "source": info | {"dropped": dropped, "filled": filled},
    }
    model_from_state(result, source)  # shapes and finite values, exactly as loading checks
    return result


def read_official_features(folder: str | Path, dim: int = _EMOTION_DIM) -> np.ndarray:
    """Read the released per-emotion feature files of one speaker as category codes.

    Parameters
    ----------
    folder
        ``audio2lm/M0xx_feature``, holding ``<emotion>.npy`` files (``disgust.npy`` is taken
        for disgusted); blends such as ``happy5_sad5.npy`` are ignored.
    dim
        Emotion code size.

    Returns
    -------
    np.ndarray
        (8, dim) float32 in EVP Studio's label order, NaN rows for emotions without a file.

    Raises
    ------
    InvalidInputError
        When the folder has none of the files, or a file is not a finite dim-vector.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInputError(f"{folder}: no such folder of emotion features")
    codes = np.full((len(EMOTIONS), dim), np.nan, dtype=np.float32)
    for row, emotion in enumerate(EMOTIONS):
        names = _FEATURE_ALIASES.get(emotion, (emotion,))
        path = next((p for n in names if (p := folder / f"{n}.npy").is_file()), None)
        if path is None:
            continue
        try:
            vector = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise InvalidInputError(f"{path}: not a readable .npy file ({e})") from e
        if vector.size != dim or not np.issubdtype(vector.dtype, np.number):
            raise InvalidInputError(
                f"{path}: emotion feature of shape {vector.shape}, expected ({dim},)"
            )
        if not np.isfinite(vector).all():
            raise InvalidInputError(f"{path}: emotion feature holds NaN or infinite values")
        codes[row] = vector.reshape(dim)
    if np.isnan(codes).all():
        expected = ", ".join(f"{e}.npy" for e in EMOTIONS)
        raise InvalidInputError(f"{folder}: none of the emotion feature files ({expected})")
    return codes


def convert_official_file(
    path: str | Path,
    out_path: str | Path,
    *,
    content_path: str | Path | None = None,
    category_codes_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Convert an official checkpoint file and write the result (atomically).

    Parameters
    ----------
    path
        The official file.
    out_path
        The ``.pt`` file to write; :func:`evp_studio.models.io.load_disentangle` reads it.
    content_path
        A second official file to take the content encoder from (for SER files).
    category_codes_dir
        A released ``M0xx_feature`` folder to take the category codes from.

    Returns
    -------
    dict
        What was written (see :func:`convert_official`).

    Raises
    ------
    InvalidInputError
        When an input is unreadable or cannot be converted, or ``out_path`` is an input.
    ExportError
        When the output cannot be written.
    """
    path, out_path = Path(path), Path(out_path)
    inputs = [path] + ([Path(content_path)] if content_path is not None else [])
    for item in inputs:
        if out_path.exists() and item.exists() and out_path.samefile(item):
            raise InvalidInputError(f"{out_path}: is an input file; choose another output")
    content = load_official(content_path) if content_path is not None else None
    codes = read_official_features(category_codes_dir) if category_codes_dir is not None else None
    result = convert_official(
        load_official(path),
        source=str(path),
        content=content,
        content_source=str(content_path) if content_path is not None else None,
        category_codes=codes,
    )
    if category_codes_dir is not None:
        result["source"]["category_codes"] = str(category_codes_dir)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out_path, result)
    return result
