"""Walking a MEAD-layout folder tree: names, quirks and what is left out.

Layout (as MEAD's per-actor tar parts unpack, and as the synthetic corpus is written)::

    <actor>/video/<view>/<emotion>/level_<k>/<nnn>.mp4
    <actor>/audio/<emotion>/level_<k>/<nnn>.m4a
    <actor>/landmarks/<emotion>/level_<k>/<nnn>.npz      (synthetic corpus only)

Quirks accepted: emotion folders in any case and with the spellings releases use
(``disgust``, ``surprise``, ``anger`` ...); level folders ``level_1``, ``level1``,
``Level-1``; an actor folder nested once more in itself (``M003/M003/video``); the root
being one actor folder. Everything else is recorded as a :class:`Skipped` item.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evp_studio.data._mead_records import VIEWS, Skipped, SkipReason
from evp_studio.project import EMOTIONS

Kind = Literal["video", "audio", "ground_truth"]
ItemKey = tuple[str, str, int, int]  # actor, canonical emotion, level, sentence

SUFFIXES: dict[Kind, tuple[str, ...]] = {
    "video": (".mp4", ".mov", ".avi", ".mkv"),
    "audio": (".m4a", ".wav", ".mp3", ".aac", ".flac"),
    "ground_truth": (".npz",),
}
_FOLDER_KIND: dict[str, Kind] = {"video": "video", "audio": "audio", "landmarks": "ground_truth"}
_ALIASES = {
    "anger": "angry",
    "contemptuous": "contempt",
    "disgust": "disgusted",
    "fearful": "fear",
    "happiness": "happy",
    "sadness": "sad",
    "surprise": "surprised",
}
EMOTION_NAMES: dict[str, str] = {**{e: e for e in EMOTIONS}, **_ALIASES}
assert set(EMOTION_NAMES.values()) == set(EMOTIONS)
_LEVEL = re.compile(r"level[ _-]?(\d+)", re.IGNORECASE)
_SENTENCE = re.compile(r"\d{1,3}")
_ARCHIVE = re.compile(r".*\.(tar(\..*)?|tgz|tbz2?|txz|zip|7z|rar|gz|bz2|xz)", re.IGNORECASE)
_IGNORED = {"__macosx", "thumbs.db", "desktop.ini"}


def canonical_emotion(name: str) -> str | None:
    """Return the canonical emotion of a folder name (``"Disgust"`` -> ``"disgusted"``)."""
    return EMOTION_NAMES.get(name.strip().lower())


def parse_level(name: str) -> int | None:
    """Return the level of ``level_3`` / ``level3`` / ``Level-3``, None if not 1..3."""
    match = _LEVEL.fullmatch(name.strip())
    if match is None or not 1 <= int(match.group(1)) <= 3:
        return None
    return int(match.group(1))


def parse_sentence(stem: str) -> int | None:
    """Return the sentence id of a file stem ``"001"``, None when it is not 1..999."""
    if _SENTENCE.fullmatch(stem) is None or int(stem) == 0:
        return None
    return int(stem)


def _entries(folder: Path) -> list[Path]:
    """Children of ``folder`` sorted by name, without hidden and OS clutter files.

    Raises
    ------
    OSError
        When the folder cannot be listed.
    """
    return sorted(
        (
            child
            for child in folder.iterdir()
            if not child.name.startswith(".") and child.name.lower() not in _IGNORED
        ),
        key=lambda c: c.name,
    )


def _media_folders(folder: Path) -> dict[Kind, Path]:
    """The ``video`` / ``audio`` / ``landmarks`` sub-folders of an actor folder."""
    found: dict[Kind, Path] = {}
    try:
        children = _entries(folder)
    except OSError:
        return found  # reported when the folder is listed as an actor or a stray
    for child in children:
        kind = _FOLDER_KIND.get(child.name.lower())
        if kind is not None and child.is_dir() and kind not in found:
            found[kind] = child
    return found


@dataclass
class Item:
    """Files found for one (actor, emotion, level, sentence); private accumulator."""

    videos: dict[str, Path] = field(default_factory=dict)
    audio: Path | None = None
    ground_truth: Path | None = None


class Walker:
    """Collects the media files under a MEAD root and the items it has to leave out.

    Parameters
    ----------
    root
        The dataset folder (holding actor folders, or being one).
    views
        Camera views to collect; other known views are passed over silently.
    """

    def __init__(self, root: Path, views: tuple[str, ...]) -> None:
        self.root = root
        self.views = views
        self.items: dict[ItemKey, Item] = {}
        self.skipped: list[Skipped] = []

    def skip(self, path: Path, reason: SkipReason, detail: str = "") -> None:
        """Record one skipped item (path made relative to the root)."""
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            rel = path
        self.skipped.append(Skipped(rel if rel.parts else Path(path.name), reason, detail))

    def _list(self, folder: Path) -> list[Path]:
        """Entries of a folder; an unreadable or empty one is recorded and gives []."""
        try:
            entries = _entries(folder)
        except OSError as e:
            self.skip(folder, SkipReason.UNREADABLE, f"cannot list it: {e.strerror or e}")
            return []
        if not entries:
            self.skip(folder, SkipReason.EMPTY)
        return entries

    def walk(self) -> None:
        """Walk the whole tree."""
        for actor, sources in self._actors():
            for source in sources:
                self._actor_folder(actor, source)

    def _actors(self) -> Iterator[tuple[str, list[Path]]]:
        if _media_folders(self.root):
            yield self.root.resolve().name, [self.root]
            return
        for entry in self._list(self.root):
            if entry.is_file():
                if _ARCHIVE.fullmatch(entry.name):
                    self.skip(entry, SkipReason.NOT_UNPACKED, "unpack it with tar -xf")
                continue  # a README or checksum list beside the actors
            sources = [entry] if _media_folders(entry) else []
            nested = [c for c in self._list(entry) if c.name.lower() == entry.name.lower()]
            if nested and nested[0].is_dir() and _media_folders(nested[0]):
                if not sources:  # M003/M003/video: the outer folder may hold the archives
                    self._archives(entry, {})
                sources.append(nested[0])
            if sources:
                yield entry.name, sources
            else:
                self._not_an_actor(entry)

    def _not_an_actor(self, folder: Path) -> None:
        """Report a root entry without media folders (empty ones are reported already)."""
        try:
            children = _entries(folder)
        except OSError:
            return  # reported as unreadable already
        archives = [c for c in children if c.is_file() and _ARCHIVE.fullmatch(c.name)]
        for archive in archives:
            self.skip(archive, SkipReason.NOT_UNPACKED, "unpack it with tar -xf")
        if children and not archives:
            self.skip(folder, SkipReason.NOT_ACTOR, "no video/ or audio/ folder inside")

    def _archives(self, folder: Path, media: dict[Kind, Path]) -> None:
        """Report the archives in an actor folder (MEAD ships ``video.tar``, ``audio.tar``)."""
        for entry in self._list(folder):
            if entry.is_file() and _ARCHIVE.fullmatch(entry.name):
                stem = entry.name.split(".")[0].lower()
                if _FOLDER_KIND.get(stem) in media:
                    detail = f"its folder {stem}/ is there; delete the archive if unpacked fully"
                    self.skip(entry, SkipReason.ARCHIVE_BESIDE_FOLDER, detail)
                else:
                    self.skip(entry, SkipReason.NOT_UNPACKED, "unpack it with tar -xf")

    def _actor_folder(self, actor: str, folder: Path) -> None:
        media = _media_folders(folder)
        self._archives(folder, media)
        if "video" in media:
            self._views(actor, media["video"])
        if "audio" in media:
            self._emotions(actor, media["audio"], "audio", "")
        if "ground_truth" in media:
            self._emotions(actor, media["ground_truth"], "ground_truth", "")

    def _stray(self, entry: Path, what: str) -> None:
        if entry.is_file() and _ARCHIVE.fullmatch(entry.name):
            self.skip(entry, SkipReason.NOT_UNPACKED, "unpack it with tar -xf")
        else:
            self.skip(entry, SkipReason.UNEXPECTED, f"expected {what} here")

    def _views(self, actor: str, folder: Path) -> None:
        for entry in self._list(folder):
            view = entry.name.lower()
            if not entry.is_dir():
                self._stray(entry, "view folders")
            elif view not in VIEWS:
                self.skip(entry, SkipReason.UNKNOWN_VIEW, f"expected one of {', '.join(VIEWS)}")
            elif view in self.views:
                self._emotions(actor, entry, "video", view)

    def _emotions(self, actor: str, folder: Path, kind: Kind, view: str) -> None:
        for entry in self._list(folder):
            emotion = canonical_emotion(entry.name)
            if not entry.is_dir():
                self._stray(entry, "emotion folders")
            elif emotion is None:
                detail = f"expected one of {', '.join(EMOTIONS)}"
                self.skip(entry, SkipReason.UNKNOWN_EMOTION, detail)
            else:
                self._levels(actor, emotion, entry, kind, view)

    def _levels(self, actor: str, emotion: str, folder: Path, kind: Kind, view: str) -> None:
        for entry in self._list(folder):
            level = parse_level(entry.name)
            if not entry.is_dir():
                self._stray(entry, "level_<k> folders")
            elif level is None:
                self.skip(entry, SkipReason.BAD_LEVEL, "expected level_1, level_2 or level_3")
            else:
                self._files(actor, emotion, level, entry, kind, view)

    def _files(
        self, actor: str, emotion: str, level: int, folder: Path, kind: Kind, view: str
    ) -> None:
        for entry in self._list(folder):
            if not entry.is_file():
                self._stray(entry, f"{kind.replace('_', ' ')} files")
            elif entry.suffix.lower() not in SUFFIXES[kind]:
                if _ARCHIVE.fullmatch(entry.name):
                    self.skip(entry, SkipReason.NOT_UNPACKED, "unpack it with tar -xf")
                else:
                    self.skip(entry, SkipReason.NOT_MEDIA, f"expected {'/'.join(SUFFIXES[kind])}")
            elif (sentence := parse_sentence(entry.stem)) is None:
                self.skip(entry, SkipReason.BAD_SENTENCE, "expected a number such as 001")
            else:
                self._add((actor, emotion, level, sentence), kind, view, entry)

    def _add(self, key: ItemKey, kind: Kind, view: str, path: Path) -> None:
        item = self.items.setdefault(key, Item())
        if kind == "video":
            first = item.videos.setdefault(view, path)
        elif kind == "audio":
            first = item.audio = item.audio or path
        else:
            first = item.ground_truth = item.ground_truth or path
        if first != path:
            self.skip(path, SkipReason.DUPLICATE, f"same clip as {first.name} (kept)")
