"""A cache of derived per-clip arrays (features, landmarks ...), keyed by file content.

An entry is found by the content of the clip files the extractor reads (video, audio,
ground truth; :func:`evp_studio.project.hash_media`), the extractor's name and a hash of
its parameters as canonical JSON, and lives at ``<root>/<name>/<hh>/<content>-<params>.npz``.
Entries are written atomically (temp file, fsync, rename); one that cannot be read or does
not match its key is discarded with a warning and computed again. An extractor must depend
only on those files and its parameters, never on the clip's folder names or labels.

Public API::

    FeatureCache(root).get_or_compute(clip, name, params, fn, *, uses=ROLES)
        -> dict[str, np.ndarray]
    FeatureCache(root).iter_features(clips, name, params, fn, *, on_error="skip",
        cancel=None, uses=ROLES) -> FeatureIterator (.skipped, .summary)
    build_cache(clips, *, cache, name, params, fn, cancel=None, uses=ROLES)
        -> Job[CacheSummary]
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from evp_studio.data.mead import Clip
from evp_studio.errors import InvalidInputError
from evp_studio.jobs import CancelToken, Job, Progress
from evp_studio.project import hash_media

__all__ = [
    "ROLES",
    "CacheSummary",
    "Extractor",
    "FeatureCache",
    "FeatureIterator",
    "SkippedClip",
    "build_cache",
]

log = logging.getLogger(__name__)

Extractor = Callable[[Clip], Mapping[str, np.ndarray]]
OnError = Literal["skip", "raise"]
Status = Literal["hit", "computed", "recovered"]
FORMAT = 1
_META = "__meta__"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: The files of a clip an extractor may read.
ROLES: tuple[str, ...] = ("video", "audio", "ground_truth")


class _CorruptCacheError(Exception):
    """A cache file cannot be read or does not match its key (handled inside the cache)."""


@dataclass(frozen=True)
class SkippedClip:
    """A clip whose features could not be made.

    Parameters
    ----------
    clip
        The clip.
    reason
        The :class:`~evp_studio.errors.InvalidInputError` message.
    """

    clip: Clip
    reason: str


@dataclass(frozen=True)
class CacheSummary:
    """What a pass over clips did.

    Parameters
    ----------
    name
        Extractor name.
    computed
        Entries computed (recovered ones included).
    hits
        Entries read from the cache.
    recovered
        Corrupt entries discarded and computed again.
    skipped
        Clips left out, with the reason.
    """

    name: str
    computed: int
    hits: int
    recovered: int
    skipped: tuple[SkippedClip, ...]

    def describe(self) -> str:
        """One line for the log."""
        return (
            f"{self.name} features: {self.computed} computed ({self.recovered} recovered "
            f"from corrupt files), {self.hits} from cache, {len(self.skipped)} clips skipped"
        )


@dataclass(frozen=True)
class _Key:
    """An extractor name, its parameters and the files it reads, validated once per pass."""

    name: str
    params_hash: str
    uses: tuple[str, ...]

    @classmethod
    def of(cls, name: str, params: Mapping[str, Any], uses: Sequence[str] = ROLES) -> _Key:
        if isinstance(uses, str) or not uses or any(role not in ROLES for role in uses):
            raise InvalidInputError(f"extractor inputs {uses!r} must be some of {ROLES}")
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
            raise InvalidInputError(
                f"extractor name {name!r} must be letters, digits, '_', '-' or '.'"
            )
        try:
            text = json.dumps(dict(params), sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as e:
            raise InvalidInputError(
                f"parameters of extractor {name!r} are not plain JSON values: {e}"
            ) from e
        return cls(name, hashlib.sha256(text.encode()).hexdigest(), tuple(uses))


class FeatureCache:
    """Per-clip derived arrays on disk, keyed by file content, extractor and parameters.

    Parameters
    ----------
    root
        Folder of the cache; created on the first write.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        # path -> (stat stamp, hash_media digest): re-hash only files that changed
        self._hashes: dict[str, tuple[tuple[int, ...], str]] = {}

    def content_hash(self, clip: Clip, uses: Sequence[str] = ROLES) -> str:
        """Hex digest of the content of the clip's files named in ``uses`` (when present).

        Raises
        ------
        InvalidInputError
            When the clip has none of those files, or one cannot be read (naming it).
        """
        parts = [
            f"{role}={self._file_hash(path)}"
            for role in ROLES
            if role in uses and (path := getattr(clip, role)) is not None
        ]
        if not parts:
            raise InvalidInputError(f"clip {clip.key} has no {'/'.join(uses)} file to read")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def _file_hash(self, path: Path) -> str:
        try:
            st = os.stat(path)
        except OSError:
            return hash_media(path)  # raises the MediaError naming the file
        stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        known = self._hashes.get(str(path))
        if known is not None and known[0] == stamp:
            return known[1]
        digest = hash_media(path)
        self._hashes[str(path)] = (stamp, digest)
        return digest

    def path_for(
        self, clip: Clip, name: str, params: Mapping[str, Any], *, uses: Sequence[str] = ROLES
    ) -> Path:
        """Where the entry of ``clip`` for this extractor and these parameters lives."""
        key = _Key.of(name, params, uses)
        return self._path(self.content_hash(clip, key.uses), key)

    def _path(self, content: str, key: _Key) -> Path:
        return self.root / key.name / content[:2] / f"{content[:40]}-{key.params_hash[:16]}.npz"

    def get_or_compute(
        self,
        clip: Clip,
        name: str,
        params: Mapping[str, Any],
        fn: Extractor,
        *,
        uses: Sequence[str] = ROLES,
    ) -> dict[str, np.ndarray]:
        """Return the cached arrays of a clip, computing and storing them when missing.

        Parameters
        ----------
        clip
            The clip.
        name
            Extractor name (a folder of the cache).
        params
            Everything the result depends on besides the files, JSON-serialisable.
        fn
            Computes ``{name: array}`` from the clip; raises InvalidInputError for a clip
            it cannot use. Object arrays and names starting with ``"__"`` are refused.
        uses
            The clip files ``fn`` reads, from :data:`ROLES`; only their content keys the
            entry, so that audio features are shared by a recording's seven views.

        Returns
        -------
        dict[str, np.ndarray]
            The arrays.

        Raises
        ------
        InvalidInputError
            When a file cannot be read, ``fn`` refuses the clip, or name/params are bad.
        TypeError
            When ``fn`` returns something else than a dict of plain arrays.
        """
        return self._lookup(clip, _Key.of(name, params, uses), fn)[0]

    def _lookup(self, clip: Clip, key: _Key, fn: Extractor) -> tuple[dict[str, np.ndarray], Status]:
        """:meth:`get_or_compute` with a prepared key, also telling how it was served."""
        content = self.content_hash(clip, key.uses)
        path = self._path(content, key)
        status: Status = "computed"
        try:
            return _read(path, content, key), "hit"
        except FileNotFoundError:
            pass
        except _CorruptCacheError as e:
            log.warning("%s: discarding corrupt cache file (%s); recomputing %s", path, e, clip.key)
            with contextlib.suppress(OSError):
                path.unlink()
            status = "recovered"
        arrays = _checked(fn(clip), key.name, clip)
        meta = {"format": FORMAT, "content": content, "params": key.params_hash, "clip": clip.key}
        _write(path, arrays, meta)
        return arrays, status

    def iter_features(
        self,
        clips: Iterable[Clip],
        name: str,
        params: Mapping[str, Any],
        fn: Extractor,
        *,
        on_error: OnError = "skip",
        cancel: CancelToken | None = None,
        uses: Sequence[str] = ROLES,
    ) -> FeatureIterator:
        """Iterate ``(clip, arrays)`` over clips, leaving out those ``fn`` refuses.

        Parameters
        ----------
        clips, name, params, fn, uses
            As in :meth:`get_or_compute`.
        on_error
            ``"skip"``: a clip raising InvalidInputError (no face, no audio samples, an
            unreadable file) is logged, recorded in ``.skipped`` and passed over;
            ``"raise"``: the error propagates.
        cancel
            Checked before each clip.

        Returns
        -------
        FeatureIterator
            Also holds ``.skipped`` and, once exhausted, a complete ``.summary``.

        Raises
        ------
        InvalidInputError
            At once, when ``name``, ``params`` or ``on_error`` are bad.
        """
        return FeatureIterator(self, clips, _Key.of(name, params, uses), fn, on_error, cancel)


class FeatureIterator(Iterator[tuple[Clip, dict[str, np.ndarray]]]):
    """The iterator :meth:`FeatureCache.iter_features` returns.

    Raises
    ------
    Cancelled
        From ``next()`` when the cancel token was set.
    """

    def __init__(
        self,
        cache: FeatureCache,
        clips: Iterable[Clip],
        key: _Key,
        fn: Extractor,
        on_error: OnError,
        cancel: CancelToken | None,
    ) -> None:
        if on_error not in ("skip", "raise"):
            raise InvalidInputError(f"on_error {on_error!r} is not 'skip' or 'raise'")
        self.skipped: list[SkippedClip] = []
        self.processed = 0
        self._counts: dict[Status, int] = {"hit": 0, "computed": 0, "recovered": 0}
        self._key = key
        self._run = self._generate(cache, clips, fn, on_error, cancel)

    def __iter__(self) -> FeatureIterator:
        return self

    def __next__(self) -> tuple[Clip, dict[str, np.ndarray]]:
        return next(self._run)

    @property
    def summary(self) -> CacheSummary:
        """Counts so far (complete once the iterator is exhausted)."""
        recovered = self._counts["recovered"]
        computed = self._counts["computed"] + recovered
        return CacheSummary(
            self._key.name, computed, self._counts["hit"], recovered, tuple(self.skipped)
        )

    def _generate(
        self,
        cache: FeatureCache,
        clips: Iterable[Clip],
        fn: Extractor,
        on_error: OnError,
        cancel: CancelToken | None,
    ) -> Iterator[tuple[Clip, dict[str, np.ndarray]]]:
        for clip in clips:
            if cancel is not None:
                cancel.check()
            try:
                arrays, status = cache._lookup(clip, self._key, fn)
            except InvalidInputError as e:
                if on_error == "raise":
                    raise
                log.warning("%s: skipped for %s features: %s", clip.key, self._key.name, e)
                self.skipped.append(SkippedClip(clip, str(e)))
                continue
            finally:
                self.processed += 1
            self._counts[status] += 1
            yield clip, arrays
        log.info("%s", self.summary.describe())


def build_cache(
    clips: Iterable[Clip],
    *,
    cache: FeatureCache,
    name: str,
    params: Mapping[str, Any],
    fn: Extractor,
    cancel: CancelToken | None = None,
    uses: Sequence[str] = ROLES,
) -> Job[CacheSummary]:
    """Job that fills the cache for every clip, skipping clips ``fn`` refuses.

    Parameters
    ----------
    clips, name, params, fn, uses
        As in :meth:`FeatureCache.get_or_compute`.
    cache
        The cache to fill.
    cancel
        Checked before each clip.

    Yields
    ------
    Progress
        ``("Caching <name> features", clips done, clips in all)``, once per clip.

    Returns
    -------
    CacheSummary
        Counts and skipped clips.

    Raises
    ------
    Cancelled
        When ``cancel`` was set.
    InvalidInputError
        When ``name`` or ``params`` are bad.
    """
    todo = list(clips)
    stage = f"Caching {name} features"
    features = cache.iter_features(todo, name, params, fn, cancel=cancel, uses=uses)
    yield Progress(stage, 0, len(todo))
    for _ in features:
        yield Progress(stage, features.processed, len(todo))
    yield Progress(stage, features.processed, len(todo))  # counts trailing skipped clips
    return features.summary


def _checked(result: Mapping[str, Any], name: str, clip: Clip) -> dict[str, np.ndarray]:
    """Plain arrays under file-safe names, or TypeError naming the extractor."""
    if not isinstance(result, Mapping):
        raise TypeError(f"extractor {name!r} returned {type(result).__name__} for {clip.key}")
    arrays: dict[str, np.ndarray] = {}
    for field, value in result.items():
        array = np.asarray(value)
        if not isinstance(field, str) or _NAME.fullmatch(field) is None or field.startswith("__"):
            raise TypeError(f"extractor {name!r} returned a bad array name {field!r}")
        if array.dtype.hasobject:
            raise TypeError(f"extractor {name!r} returned an object array {field!r}")
        arrays[field] = array
    return arrays


def _read(path: Path, content: str, key: _Key) -> dict[str, np.ndarray]:
    """Load an entry; FileNotFoundError when absent, _CorruptCacheError when unusable."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise _CorruptCacheError("not an .npz archive")
        with data:
            meta = json.loads(str(data[_META][()]))
            arrays = {field: data[field] for field in data.files if field != _META}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise _CorruptCacheError(f"{type(e).__name__}: {e}") from e
    expected = {"format": FORMAT, "content": content, "params": key.params_hash}
    if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in expected.items()):
        raise _CorruptCacheError("its recorded key does not match")
    return arrays


def _write(path: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write an entry atomically; on an OS error log it and go on (it is only a cache)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    members = {**arrays, _META: np.array(json.dumps(dict(meta)))}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                for field, array in members.items():
                    with archive.open(f"{field}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _discard(tmp)
        log.warning("%s: cannot write the cache file (%s); going on uncached", path, e)
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()
