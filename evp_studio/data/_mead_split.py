"""Train/val/test splits and cross-reconstruction pairs over MEAD clips.

Splits
------
``"paper"``: the EVP paper only says "the models are trained and tested on the train/test
splits of the dataset" (section 4) and never defines them; MEAD publishes no split file.
So the split is the official code's, which splits by **sentence id** (the number in the
file name): ``train/emotion_pretrain/code/mfcc_preprocess.py`` and
``train/landmark/code/preprocess.py`` (jixinya/EVP) put a clip in the held-out list when
``int(sentence) < 10`` and train on the rest; the landmark loader reads that held-out list
as its test list. Here:

- test  = sentences 001-009 (exactly the official held-out set, every emotion and level);
- val   = sentences 010-012 (the official code has no separate validation set; these are
  taken from its training ids so that model selection never sees a test sentence, and
  ``val_sentences=()`` gives back the official training set unchanged);
- train = every other sentence (013-030, and 013-040 for neutral).

The disentanglement loader's own test set, "the first 15 % of content indices", is made
of DTW windows numbered across the 13 sentence groups in order, i.e. windows of sentences
001-002, which lie inside this test set (the released DTW script restarts the numbering
per sentence, a bug; see the reference notes, section 10).

``"actors"``: actors held out whole (identity generalisation): about 15 % of the actors
(at least one) for test and 10 % (at least one when three or more actors) for val,
picked by a seeded hash of the actor names, so the pick does not depend on their order.

Pairs
-----
MEAD's sentence ids do not mean the same text in every emotion. The official DTW script
(``train/disentanglement/dtw/MFCC_dtw.py``) pairs only 13 sentence groups: the common
sentences 001-003 (every emotion, neutral included) and emotional 021-030 with neutral
031-040. ``content="mead"`` uses exactly that correspondence (neutral 031-040 count as
021-030; other ids are not paired, being possibly different text). The script's tables
also shift a few ids for single actors (M030 contempt, M003 disgusted), take slips that a
generic rule cannot know. ``content="same_id"`` pairs equal ids, for corpora that speak
sentence *k* in every emotion (the synthetic one).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable, Collection, Iterable
from typing import Literal

from evp_studio.data._mead_records import Clip
from evp_studio.errors import InvalidInputError
from evp_studio.project import NEUTRAL_INDEX

log = logging.getLogger(__name__)

SplitScheme = Literal["paper", "actors"]
ContentMode = Literal["mead", "same_id"]
SPLITS: tuple[str, ...] = ("train", "val", "test")

#: Official held-out sentences: ``int(sentence) < 10``.
PAPER_TEST_SENTENCES: frozenset[int] = frozenset(range(1, 10))
#: Validation sentences carved from the official training ids.
PAPER_VAL_SENTENCES: frozenset[int] = frozenset({10, 11, 12})
#: Sentences every emotion (neutral included) says with the same text.
MEAD_COMMON_SENTENCES: frozenset[int] = frozenset({1, 2, 3})
#: Emotional sentence ids whose text neutral says as ``id + 10`` (031-040).
MEAD_SHARED_SENTENCES: frozenset[int] = frozenset(range(21, 31))
NEUTRAL_SHARED_OFFSET = 10
ACTOR_TEST_FRACTION = 0.15
ACTOR_VAL_FRACTION = 0.10


def split_clips(
    clips: Iterable[Clip],
    *,
    scheme: SplitScheme = "paper",
    test_sentences: Collection[int] = PAPER_TEST_SENTENCES,
    val_sentences: Collection[int] = PAPER_VAL_SENTENCES,
    test_actors: Collection[str] | None = None,
    val_actors: Collection[str] | None = None,
    seed: int = 0,
) -> dict[str, list[Clip]]:
    """Split clips into train, val and test, deterministically (see the module docstring).

    Parameters
    ----------
    clips
        Clips from :func:`evp_studio.data.mead.scan_mead`.
    scheme
        ``"paper"`` (by sentence id, the official code's split) or ``"actors"``.
    test_sentences, val_sentences
        ``"paper"`` only: the sentence ids held out; they must not overlap.
    test_actors, val_actors
        ``"actors"`` only: the actors held out; None picks them from ``seed``.
    seed
        ``"actors"`` only: which actors an automatic pick holds out.

    Returns
    -------
    dict[str, list[Clip]]
        ``{"train": [...], "val": [...], "test": [...]}``, each sorted by ``Clip.sort_key``.

    Raises
    ------
    InvalidInputError
        For an unknown scheme, overlapping held-out sets, unknown actors, or fewer than two
        actors under ``"actors"``.
    """
    ordered = sorted(clips, key=lambda c: c.sort_key)
    assign: Callable[[Clip], str]
    if scheme == "paper":
        assign = _by_sentence(set(test_sentences), set(val_sentences))
    elif scheme == "actors":
        assign = _by_actor(sorted({c.actor for c in ordered}), test_actors, val_actors, seed)
    else:
        raise InvalidInputError(f"split scheme {scheme!r} is not 'paper' or 'actors'")
    out: dict[str, list[Clip]] = {name: [] for name in SPLITS}
    for clip in ordered:
        out[assign(clip)].append(clip)
    sizes = ", ".join(f"{name} {len(out[name])}" for name in SPLITS)
    log.info("split %r of %d clips: %s", scheme, len(ordered), sizes)
    return out


def _by_sentence(test: set[int], val: set[int]) -> Callable[[Clip], str]:
    if test & val:
        raise InvalidInputError(
            f"sentences {sorted(test & val)} are both test and val sentences; pick one"
        )

    def assign(clip: Clip) -> str:
        return "test" if clip.sentence in test else "val" if clip.sentence in val else "train"

    return assign


def _by_actor(
    actors: list[str],
    test_actors: Collection[str] | None,
    val_actors: Collection[str] | None,
    seed: int,
) -> Callable[[Clip], str]:
    if len(actors) < 2:
        raise InvalidInputError(
            f"the 'actors' split needs clips of at least two actors, got {actors}"
        )
    if test_actors is None:
        if val_actors is not None:
            raise InvalidInputError("give test_actors too when giving val_actors")
        test, val = _pick_actors(actors, seed)
    else:
        test, val = set(test_actors), set(val_actors or ())
        unknown = sorted((test | val) - set(actors))
        if unknown:
            raise InvalidInputError(f"held-out actors {unknown} have no clips (have {actors})")
        if test & val:
            raise InvalidInputError(f"actors {sorted(test & val)} are both test and val actors")
        if not set(actors) - test - val:
            raise InvalidInputError(f"every actor of {actors} is held out; none left to train")

    def assign(clip: Clip) -> str:
        return "test" if clip.actor in test else "val" if clip.actor in val else "train"

    return assign


def _pick_actors(actors: list[str], seed: int) -> tuple[set[str], set[str]]:
    """Hold out actors by a seeded hash of their names: stable whatever else is there."""
    n = len(actors)
    n_test = max(1, round(ACTOR_TEST_FRACTION * n))
    n_val = max(1, round(ACTOR_VAL_FRACTION * n)) if n - n_test >= 2 else 0

    def rank(actor: str) -> str:
        return hashlib.sha256(f"{seed}:{actor}".encode()).hexdigest()

    order = sorted(actors, key=rank)
    return set(order[:n_test]), set(order[n_test : n_test + n_val])


def content_group(clip: Clip, *, content: ContentMode = "mead") -> int | None:
    """Return the id of the text a clip speaks, None when it cannot be matched.

    Parameters
    ----------
    clip
        The clip.
    content
        ``"mead"`` (the official DTW correspondence) or ``"same_id"``.

    Returns
    -------
    int | None
        Equal for clips of the same text: ``"mead"`` maps neutral 031-040 to 021-030 and
        gives None for ids outside 001-003 and the shared 021-030 (031-040 for neutral).

    Raises
    ------
    InvalidInputError
        For an unknown ``content`` mode.
    """
    if content == "same_id":
        return clip.sentence
    if content != "mead":
        raise InvalidInputError(f"content mode {content!r} is not 'mead' or 'same_id'")
    if clip.sentence in MEAD_COMMON_SENTENCES:
        return clip.sentence
    if clip.label == NEUTRAL_INDEX:  # neutral 031-040 say emotional 021-030
        shared = clip.sentence - NEUTRAL_SHARED_OFFSET
        return shared if shared in MEAD_SHARED_SENTENCES else None
    return clip.sentence if clip.sentence in MEAD_SHARED_SENTENCES else None


def emotion_pairs(
    clips: Iterable[Clip], *, content: ContentMode = "mead"
) -> list[tuple[Clip, Clip]]:
    """Pairs for cross-reconstruction: same actor, view and text, different emotions.

    Within each pair of emotions the levels are matched: for every level either emotion
    has, each side takes its clip of that level or, when it lacks it, of the nearest level
    (the lower one on a tie). Neutral has only level 1, so it pairs with each level of the
    other emotion. Which sentence ids speak the same text is decided by ``content`` (see
    :func:`content_group`).

    Parameters
    ----------
    clips
        Clips from :func:`evp_studio.data.mead.scan_mead` (any views).
    content
        ``"mead"`` (the official DTW correspondence) or ``"same_id"``.

    Returns
    -------
    list[tuple[Clip, Clip]]
        ``(a, b)`` with ``a.label < b.label``, sorted by actor, view, text group, labels,
        levels; no pair twice.

    Raises
    ------
    InvalidInputError
        For an unknown ``content`` mode.
    """
    groups: dict[tuple[str, str, int], dict[int, dict[int, Clip]]] = {}
    for clip in sorted(clips, key=lambda c: c.sort_key):
        group = content_group(clip, content=content)
        if group is not None:
            by_label = groups.setdefault((clip.actor, clip.view, group), {})
            by_label.setdefault(clip.label, {}).setdefault(clip.level, clip)
    pairs: list[tuple[Clip, Clip]] = []
    for key in sorted(groups):
        by_label = groups[key]
        for label_a, label_b in itertools.combinations(sorted(by_label), 2):
            pairs.extend(_level_matched(by_label[label_a], by_label[label_b]))
    return pairs


def _level_matched(a: dict[int, Clip], b: dict[int, Clip]) -> list[tuple[Clip, Clip]]:
    out: list[tuple[Clip, Clip]] = []
    for level in sorted(a.keys() | b.keys()):
        pair = (a[_nearest(a, level)], b[_nearest(b, level)])
        if pair not in out:
            out.append(pair)
    return out


def _nearest(levels: dict[int, Clip], level: int) -> int:
    return min(levels, key=lambda have: (abs(have - level), have))
