"""The model registry: every weights file EVP Studio uses, its sha256 and where it is found.

Nothing is ever downloaded. :func:`resolve` looks in two places, in this order:

1. the user's models folder, ``data_dir()/models/<filename>`` (``EVP_STUDIO_HOME`` moves
   it, see :mod:`evp_studio.paths`). A user may put a model of their own there; a file whose
   sha256 differs from the registry's is used as a custom model (logged at info level);
2. the bundled location: ``resources/models/`` of the installation, whose sha256 is read
   from the manifest ``<stem>.json`` beside the file (re-training rewrites only the
   manifest), or the ``models/`` folder of an installed package (sha256 kept here). A bundled
   file with another sha256 means a damaged installation and raises
   :class:`~evp_studio.errors.ModelChecksumError`.

A missing file raises :class:`~evp_studio.errors.ModelNotFoundError` naming the file, the
folders searched and how to get it. Importing this module does not import torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import pickle
import re
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evp_studio.errors import (
    ExportError,
    InvalidInputError,
    ModelChecksumError,
    ModelNotFoundError,
)
from evp_studio.fileio import fsync_folder
from evp_studio.paths import data_dir, resource_path

__all__ = [
    "REGISTRY",
    "ModelStatus",
    "WeightSpec",
    "file_sha256",
    "get_spec",
    "install",
    "resolve",
    "status",
    "user_models_dir",
]

log = logging.getLogger(__name__)

State = Literal["ok", "custom", "missing", "corrupt"]
_SHA256 = re.compile(r"[0-9a-f]{64}")
_RESOURCE_FOLDER = "models"  # under resources/


@dataclass(frozen=True)
class WeightSpec:
    """One weights file of the registry.

    Parameters
    ----------
    name
        Registry key, e.g. ``"dlib-68"``.
    filename
        File name in the user's models folder and in the bundled location.
    sha256
        Lower-case hex digest; None for files in ``resources/models/``, whose digest is
        read from the manifest ``<stem>.json`` (key ``"sha256"``) when looked up.
    description
        What the file is, for messages and the model manager.
    how_to_get
        What a user does when it is missing, one or two sentences.
    bundled
        Whether an installation ships the file.
    package
        For files bundled inside an installed Python package: its name; the file lies in
        the package's ``models/`` folder (found without importing the package).
    validator
        Called with a file before :func:`install` copies it; raises ``InvalidInputError``
        when the file is not usable.
    """

    name: str
    filename: str
    sha256: str | None
    description: str
    how_to_get: str
    bundled: bool
    package: str | None = None
    validator: Callable[[Path], None] | None = field(default=None, compare=False, repr=False)

    def bundled_path(self) -> Path | None:
        """Where an installation keeps the file (which may not exist), or None."""
        if not self.bundled:
            return None
        if self.package is None:
            return resource_path(f"{_RESOURCE_FOLDER}/{self.filename}")
        spec = importlib.util.find_spec(self.package)  # finds, never imports, the package
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        return Path(folders[0]) / "models" / self.filename if folders else None

    def manifest_path(self) -> Path | None:
        """The manifest holding the sha256 of a file in ``resources/models/``, or None."""
        if not self.bundled or self.package is not None:
            return None
        return resource_path(f"{_RESOURCE_FOLDER}/{Path(self.filename).stem}.json")

    def expected_sha256(self) -> str | None:
        """The registered sha256, or None when the manifest is missing or unreadable."""
        manifest = self.manifest_path()
        if manifest is None:
            return self.sha256
        try:
            digest = json.loads(manifest.read_text(encoding="utf-8")).get("sha256")
        except (OSError, ValueError, AttributeError) as e:
            log.debug("cannot read the manifest %s: %s", manifest, e)
            return None
        return digest if isinstance(digest, str) and _SHA256.fullmatch(digest) else None


@dataclass(frozen=True)
class ModelStatus:
    """What :func:`status` found for one registry entry (the file :func:`resolve` picks)."""

    name: str
    path: Path | None  # None when missing
    state: State  # ok, custom (user file of another sha256), missing, corrupt (bundled)
    sha256_expected: str | None  # None when a bundled manifest is missing
    sha256_actual: str | None  # None when missing
    size: int | None  # bytes; None when missing
    bundled: bool


def _validate_disentangle(path: Path) -> None:
    from evp_studio.models.io import load_disentangle  # noqa: PLC0415 - imports torch

    try:
        load_disentangle(path)
    except pickle.UnpicklingError as e:  # not caught by train.checkpoint.load_checkpoint
        raise InvalidInputError(
            f"{path}: not a disentanglement model file (torch.load with weights_only refuses it)"
        ) from e


def _validate_audio2landmark(path: Path) -> None:
    from evp_studio.models.audio2landmark_io import load_audio2landmark  # noqa: PLC0415

    load_audio2landmark(path)


def _validate_emotion_classifier(path: Path) -> None:
    from evp_studio.eval.emotion_classifier import EmotionClassifier  # noqa: PLC0415

    EmotionClassifier.load(path)


def _validate_dlib_shape_predictor(path: Path) -> None:
    import dlib  # noqa: PLC0415 - heavy, needed only here

    try:
        dlib.shape_predictor(str(path))
    except RuntimeError as e:
        raise InvalidInputError(f"{path}: not a dlib shape predictor ({e})") from e


def _validate_face_alignment(path: Path) -> None:
    from evp_studio.landmarks import check_fan_weights  # noqa: PLC0415 - imports torch

    check_fan_weights(path)


def _face_alignment(name: str, filename: str, sha256: str | None, what: str) -> WeightSpec:
    """An entry for one of face-alignment's files (the ``fan`` landmark backend's)."""
    how = (
        f"face-alignment downloads it on first use into its cache (torch hub checkpoints); "
        f"copy {filename} from there, or install it with `evp-studio models install {name} "
        "FILE`."
    )
    # sha256 None where only the file name's sha256 prefix is published: used as a custom file
    return WeightSpec(name, filename, sha256, what, how, False, None, _validate_face_alignment)


_BUNDLED_HOW = (
    "It ships with EVP Studio in resources/models/: reinstall EVP Studio, or install a file "
    "of your own with `evp-studio models install {name} FILE`."
)

_FAN2D_SHA = "11f355bf0693120222f5955ce3f9dc8fb5763ebb30a47d7906e509490d32e4aa"
_S3FD_SHA = "619a31681264d3f7f7fc7a16a42cbbe8b23f31a256f75a366e5a1bcd59b33543"

REGISTRY: dict[str, WeightSpec] = {
    spec.name: spec
    for spec in (
        WeightSpec(
            name="emotion-classifier",
            filename="emotion_classifier.pt",
            sha256=None,
            description="landmark emotion classifier behind the emotion-accuracy metric",
            how_to_get=_BUNDLED_HOW.format(name="emotion-classifier")
            + " To train one: `evp-studio train emotion-classifier --data CORPUS -o FILE`.",
            bundled=True,
            validator=_validate_emotion_classifier,
        ),
        WeightSpec(
            name="disentangle-small",
            filename="disentangle_small.pt",
            sha256=None,
            description="default speech encoder, the small disentanglement model's Ec, Ee, Ce",
            how_to_get=_BUNDLED_HOW.format(name="disentangle-small")
            + " To train one: `evp-studio train disentangle`; to use the authors' weights, "
            "convert them with `evp-studio models convert-official` and install the result.",
            bundled=True,
            validator=_validate_disentangle,
        ),
        WeightSpec(
            name="audio2landmark-small",
            filename="audio2landmark_small.pt",
            sha256=None,
            description="default audio-to-landmark network (small), with its speech encoder",
            how_to_get=_BUNDLED_HOW.format(name="audio2landmark-small")
            + " To train one: `evp-studio train landmarks --data CORPUS --out RUN --export "
            "FILE`.",
            bundled=True,
            validator=_validate_audio2landmark,
        ),
        WeightSpec(
            name="dlib-68",
            filename="shape_predictor_68_face_landmarks.dat",
            sha256="fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
            description="dlib 68-point face landmark predictor",
            how_to_get="It comes with the Python package face-recognition-models "
            "(pip install face-recognition-models==0.3.0); or copy "
            "shape_predictor_68_face_landmarks.dat into the user models folder.",
            bundled=True,
            package="face_recognition_models",
            validator=_validate_dlib_shape_predictor,
        ),
        _face_alignment("fan-2d", "2DFAN4-11f355bf06.pth.tar", _FAN2D_SHA, "FAN 2D landmarks"),
        _face_alignment("fan-3d", "3DFAN4-7835d9f11d.pth.tar", None, "FAN 3D landmarks"),
        _face_alignment("fan-depth", "depth-2a464da4ea.pth.tar", None, "FAN 3D depth network"),
        _face_alignment("s3fd", "s3fd-619a316812.pth", _S3FD_SHA, "S3FD face detector for FAN"),
    )
}

_HASHES: dict[tuple[str, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the sha256 of a file, read in chunks and cached per (path, size, mtime_ns).

    Parameters
    ----------
    path
        An existing file.

    Returns
    -------
    str
        Lower-case hex digest.

    Raises
    ------
    OSError
        When the file cannot be read.
    """
    path = Path(path).resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _HASHES_LOCK:
        cached = _HASHES.get(key)
    if cached is not None:
        return cached
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()  # reads in 256 KiB chunks
    with _HASHES_LOCK:
        _HASHES[key] = digest
    return digest


def user_models_dir() -> Path:
    """The user's models folder, ``data_dir()/models`` (created on demand)."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_spec(name: str) -> WeightSpec:
    """Return the registry entry ``name``.

    Raises
    ------
    InvalidInputError
        For a name the registry does not have (the message lists the known ones).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise InvalidInputError(f"unknown model {name!r}; known models: {known}") from None


def _searched(spec: WeightSpec) -> list[Path]:
    folders = [user_models_dir()]
    bundled = spec.bundled_path()
    if bundled is not None:
        folders.append(bundled.parent)
    elif spec.package is not None:
        folders.append(Path(f"<package {spec.package}, not installed>"))
    return folders


def _bundled_mismatch(spec: WeightSpec, path: Path, expected: str | None, actual: str) -> str:
    if expected is None:
        problem = f"its manifest {spec.manifest_path()} is missing or has no valid sha256"
    else:
        problem = f"sha256 {actual} differs from the registered {expected}"
    return (
        f"bundled model {spec.name!r}: {problem}; the installation is damaged: reinstall EVP "
        f"Studio, or put a working {spec.filename} in {user_models_dir()}"
    )


def resolve(name: str, *, verify: bool = True) -> Path:
    """Return the weights file of ``name``: the user's own file first, then the bundled one.

    Parameters
    ----------
    name
        Registry key, e.g. ``"dlib-68"``.
    verify
        Check the sha256 (cached per file version). False only checks that a file exists.

    Returns
    -------
    Path
        The existing file to load.

    Raises
    ------
    ModelNotFoundError
        When no folder has the file; the message names the file, every folder searched and
        how to get it.
    ModelChecksumError
        When the bundled file has another sha256 than the registry's (damaged installation).
    InvalidInputError
        For a name the registry does not have.
    """
    spec = get_spec(name)
    user_file = user_models_dir() / spec.filename
    if user_file.is_file():
        if verify and file_sha256(user_file) != spec.expected_sha256():
            log.info(
                "using the custom model %s for %r (sha256 not the registry's)", user_file, name
            )
        return user_file
    bundled = spec.bundled_path()
    if bundled is not None and bundled.is_file():
        if verify:
            expected, actual = spec.expected_sha256(), file_sha256(bundled)
            if actual != expected:
                raise ModelChecksumError(
                    bundled, expected, actual, _bundled_mismatch(spec, bundled, expected, actual)
                )
        return bundled
    folders = ", ".join(str(p) for p in _searched(spec))
    raise ModelNotFoundError(
        f"model file {spec.filename} ({spec.description}) not found; searched: {folders}. "
        f"{spec.how_to_get}"
    )


def _status_of(spec: WeightSpec) -> ModelStatus:
    expected = spec.expected_sha256()
    user_file = user_models_dir() / spec.filename
    bundled = spec.bundled_path()
    for path, is_user in ((user_file, True), (bundled, False)):
        if path is None or not path.is_file():
            continue
        actual = file_sha256(path)
        state: State = "ok" if actual == expected else "custom" if is_user else "corrupt"
        size = path.stat().st_size
        return ModelStatus(spec.name, path, state, expected, actual, size, spec.bundled)
    return ModelStatus(spec.name, None, "missing", expected, None, None, spec.bundled)


def status() -> list[ModelStatus]:
    """Return the state of every registry entry, in registry order (hashes every file once).

    Returns
    -------
    list of ModelStatus
        The file :func:`resolve` would pick and whether it is ``"ok"``, ``"custom"`` (a
        user's file of another sha256), ``"missing"`` or ``"corrupt"`` (a bundled file of
        another sha256, or without its manifest).
    """
    return [_status_of(spec) for spec in REGISTRY.values()]


def _atomic_copy(source: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(source, "rb") as src, open(tmp, "xb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(e, OSError):
            reason = e.strerror or str(e)
            raise ExportError(dest, f"cannot copy {source} here ({reason}); nothing changed") from e
        raise
    fsync_folder(dest.parent)


def install(name: str, source_file: str | os.PathLike[str]) -> Path:
    """Copy a user's weights file into the user models folder, where :func:`resolve` finds it.

    The entry's validator (if any) must accept the file first; the copy is atomic (temp
    file, fsync, rename), so a failed install leaves the previous file in place.

    Parameters
    ----------
    name
        Registry key.
    source_file
        The file to install.

    Returns
    -------
    Path
        The installed file.

    Raises
    ------
    InvalidInputError
        When the name is unknown, the file does not exist or the validator rejects it.
    ExportError
        When the copy cannot be written.
    """
    spec = get_spec(name)
    source = Path(source_file)
    if not source.is_file():
        raise InvalidInputError(f"{source}: no such file; nothing was installed")
    if spec.validator is not None:
        try:
            spec.validator(source)
        except InvalidInputError as e:  # one line: torch's load errors span several
            first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
            raise InvalidInputError(f"{first}; nothing was installed") from e
    dest = user_models_dir() / spec.filename
    if dest.exists() and os.path.samefile(source, dest):
        return dest
    _atomic_copy(source, dest)
    kind = "registered" if file_sha256(dest) == spec.expected_sha256() else "custom"
    log.info("installed %s as the %s model %r: %s", source, kind, name, dest)
    return dest
