"""Where the ``fan`` backend finds face-alignment's weights, and loading them safely.

Nothing is downloaded. A file is looked for in the user's models folder first (through the
registry, :func:`evp_studio.weights.resolve`), then in face-alignment's own cache, the torch
hub ``checkpoints`` folder where ``FaceAlignment`` stores what it downloads on a machine that
is online. Files are read with ``torch.load(weights_only=True)``.

face-alignment imports numba, whose cache must be writable: ``NUMBA_CACHE_DIR`` is pointed
under :func:`evp_studio.paths.cache_dir` before the first import.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

from evp_studio.errors import InvalidInputError, ModelNotFoundError
from evp_studio.paths import cache_dir
from evp_studio.weights import get_spec, resolve, user_models_dir

# Registry names of face-alignment's files.
FAN_2D, FAN_3D, FAN_DEPTH, S3FD = "fan-2d", "fan-3d", "fan-depth", "s3fd"


def torch_hub_checkpoints() -> Path:
    """face-alignment's download folder, computed as torch.hub does (without importing torch)."""
    torch_home = os.environ.get("TORCH_HOME")
    if torch_home:
        return Path(torch_home).expanduser() / "hub" / "checkpoints"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(xdg) / "torch" / "hub" / "checkpoints"


def fan_weights_path(name: str) -> Path:
    """Return the file of one of face-alignment's registry entries.

    Parameters
    ----------
    name
        ``"fan-2d"``, ``"fan-3d"``, ``"fan-depth"`` or ``"s3fd"``.

    Returns
    -------
    Path
        The existing file: the user's models folder first, then face-alignment's cache.

    Raises
    ------
    ModelNotFoundError
        Naming the file, the folder to put it in and where face-alignment keeps it.
    """
    spec = get_spec(name)
    try:
        return resolve(name)
    except ModelNotFoundError:
        pass
    hub = torch_hub_checkpoints() / spec.filename
    if hub.is_file():
        return hub
    raise ModelNotFoundError(
        f"the fan landmark backend needs {spec.filename} ({spec.description}); put it in "
        f"{user_models_dir()} (or in face-alignment's cache {hub.parent}), e.g. with "
        f"`evp-studio models install {name} FILE`. face-alignment downloads it on first use "
        "on a machine that is online; or use the dlib backend, which needs no download"
    )


def import_face_alignment() -> ModuleType:
    """Import face_alignment with numba's cache in a writable folder of ours."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
    import face_alignment  # noqa: PLC0415 - heavy (torch, numba); only the fan backend needs it

    return face_alignment


def load_state_dict(path: Path, what: str) -> dict[str, Any]:
    """Read a weights file with ``torch.load(weights_only=True)`` on the CPU.

    A checkpoint holding ``{"state_dict": ...}`` (the depth network's) is unwrapped and the
    ``module.`` prefix of ``DataParallel`` keys is dropped.

    Raises
    ------
    InvalidInputError
        When the file is not a torch file of tensors, naming it.
    """
    import torch  # noqa: PLC0415 - the backend's, not the UI's import

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidInputError(
            f"{path}: not a usable {what} weights file ({reason}); replace it with "
            "face-alignment's file of that name"
        ) from e
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise InvalidInputError(f"{path}: not a {what} state dict (no tensors in it)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_module_weights(module: Any, path: Path, what: str) -> None:
    """Load ``path`` into a torch module, refusing files of another architecture.

    Raises
    ------
    InvalidInputError
        When the file is unreadable or its tensors do not fit the module, naming it.
    """
    state = load_state_dict(path, what)
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise InvalidInputError(f"{path}: weights do not fit the {what} network ({first})") from e


def check_fan_weights(path: Path) -> None:
    """Check that a file is a torch state dict (the registry's install validator).

    Raises
    ------
    InvalidInputError
        When it is not.
    """
    load_state_dict(Path(path), "face-alignment")
