"""MEAD-layout reader, splits, emotion pairs and the feature cache (no Qt).

The media are real but tiny (3-frame 16x16 H.264, 0.1 s AAC/wav tones), made once per
module and hard-linked into hand-made trees that carry the quirks of real MEAD releases.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from evp_studio.data.cache import Extractor, FeatureCache, build_cache
from evp_studio.data.mead import (
    PAPER_TEST_SENTENCES,
    Clip,
    ScanSummary,
    SkipReason,
    content_group,
    emotion_pairs,
    scan_mead,
    split_clips,
)
from evp_studio.errors import Cancelled, InvalidInputError
from evp_studio.jobs import CancelToken, Progress, run_job
from evp_studio.media import ExportConfig, VideoWriter
from evp_studio.project import EMOTIONS
from tests.core.media_fixtures import write_tone

R = SkipReason


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mead_media")
    video = folder / "clip.mp4"
    config = ExportConfig(preset="ultrafast")
    with VideoWriter(video, width=16, height=16, frame_rate=Fraction(25), config=config) as w:
        for i in range(3):
            w.write(np.full((16, 16, 3), 40 * i, np.uint8))
    files = {"mp4": video, "m4a": folder / "tone.m4a", "npz": folder / "truth.npz"}
    write_tone(files["m4a"], freq=440, seconds=0.1)
    for i, freq in enumerate((300, 500, 700)):
        files[f"wav{i}"] = folder / f"tone{i}.wav"
        write_tone(files[f"wav{i}"], freq=freq, seconds=0.05 + 0.01 * i)
    t = 3
    np.savez(
        files["npz"],
        lmk2d=np.zeros((t, 68, 2), np.float32),
        lmk3d=np.zeros((t, 68, 3), np.float32),
        pose=np.zeros((t, 6), np.float32),
        phonemes=np.array(["h", "e", "l"]),
    )
    files["junk"] = folder / "junk.bin"
    files["junk"].write_bytes(b"this is not a video" * 10)
    return files


def place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


@pytest.fixture
def tree(tmp_path: Path, media: dict[str, Path]) -> Path:
    root = tmp_path / "MEAD"
    m = root / "M003"
    v, a = m / "video" / "front", m / "audio"
    for rel in ("angry/level_1/001", "angry/level_1/002", "angry/level_1/010", "angry/level_3/001"):
        place(media["mp4"], v / f"{rel}.mp4")
        place(media["m4a"], a / f"{rel}.m4a")
    place(media["mp4"], v / "disgust/level_2/001.mp4")  # video says disgust,
    place(media["m4a"], a / "disgusted/level_2/001.m4a")  # audio says disgusted
    place(media["mp4"], v / "neutral/level1/001.mp4")  # level1 without underscore
    place(media["m4a"], a / "neutral/level_1/001.m4a")
    place(media["mp4"], v / "neutral/level_1/031.mp4")
    place(media["wav0"], a / "neutral/level_1/031.wav")
    place(media["mp4"], v / "fear/level_1/004.mp4")
    place(media["m4a"], a / "fear/level_1/004.m4a")
    place(media["junk"], v / "fear/level_2/007.mp4")  # unreadable, only verify finds out
    place(media["m4a"], a / "fear/level_2/007.m4a")
    (v / "fear/level_1/notes.txt").write_text("not media")
    place(media["mp4"], v / "happy/level_1/003.mp4")  # video without audio
    place(media["m4a"], a / "surprised/level_2/005.m4a")  # audio without video
    (v / "sad").mkdir()  # empty emotion folder
    place(media["mp4"], v / "joy/level_1/001.mp4")  # unknown emotion
    place(media["mp4"], v / "angry/level_x/001.mp4")  # unparsable level
    place(media["mp4"], v / "angry/level_1/take2.mp4")  # unparsable sentence
    place(media["mp4"], m / "video/left_30/angry/level_1/001.mp4")  # another view
    (m / "video.tar").write_bytes(b"tar beside its unpacked folder")
    (m / "audio" / ".DS_Store").write_bytes(b"")  # hidden clutter: ignored
    w = root / "W009" / "W009"  # tar part unpacked one level deeper
    place(media["mp4"], w / "video/front/Angry/level_2/012.mp4")  # capitalised
    place(media["m4a"], w / "audio/ANGRY/level_2/012.m4a")
    place(media["mp4"], w / "video/front/Contempt/level_1/021.mp4")
    place(media["m4a"], w / "audio/contempt/level_1/021.m4a")
    (root / "W011").mkdir()
    (root / "W011" / "video.tar").write_bytes(b"not unpacked")
    (root / "W011" / "audio.tar").write_bytes(b"not unpacked")
    (root / "README.txt").write_text("MEAD")
    s = root / "S001"  # synthetic corpus: ground truth next to the media
    for emotion in ("happy", "neutral"):
        place(media["mp4"], s / f"video/front/{emotion}/level_1/001.mp4")
        place(media["wav1"], s / f"audio/{emotion}/level_1/001.wav")
    place(media["npz"], s / "landmarks/happy/level_1/001.npz")
    return root


EXPECTED = [
    "M003/angry/1/001",
    "M003/angry/1/002",
    "M003/angry/1/010",
    "M003/angry/3/001",
    "M003/disgusted/2/001",
    "M003/fear/1/004",
    "M003/fear/2/007",
    "M003/neutral/1/001",
    "M003/neutral/1/031",
    "S001/happy/1/001",
    "S001/neutral/1/001",
    "W009/angry/2/012",
    "W009/contempt/1/021",
]


def skipped_paths(summary: ScanSummary, reason: SkipReason) -> set[str]:
    return {s.path.as_posix() for s in summary.skipped_for(reason)}


def test_scan_finds_clips_through_the_quirks(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="evp_studio.data")
    scan = scan_mead(tree)
    assert [c.key for c in scan.clips] == EXPECTED
    by_key = {c.key: c for c in scan.clips}
    disgusted = by_key["M003/disgusted/2/001"]
    assert (disgusted.emotion, disgusted.label, disgusted.level, disgusted.sentence) == (
        "disgusted",
        EMOTIONS.index("disgusted"),
        2,
        1,
    )
    assert disgusted.video is not None and disgusted.video.parts[-3] == "disgust"
    assert by_key["W009/angry/2/012"].label == 0 and "W009/W009" in str(
        by_key["W009/angry/2/012"].video
    )
    assert by_key["M003/neutral/1/001"].video == tree / "M003/video/front/neutral/level1/001.mp4"
    assert by_key["M003/neutral/1/031"].audio == tree / "M003/audio/neutral/level_1/031.wav"
    assert all(c.view == "front" and c.video and c.audio for c in scan.clips)
    assert by_key["S001/happy/1/001"].ground_truth == tree / "S001/landmarks/happy/level_1/001.npz"
    assert [c.key for c in scan.clips if c.ground_truth] == ["S001/happy/1/001"]

    summary = scan.summary
    assert summary.n_clips == len(EXPECTED)
    assert summary.per_actor() == {"M003": 9, "S001": 2, "W009": 2}
    assert summary.per_emotion() == {
        "angry": 5,
        "contempt": 1,
        "disgusted": 1,
        "fear": 2,
        "happy": 1,
        "neutral": 3,
    }
    assert summary.per_level() == {1: 9, 2: 3, 3: 1}
    assert summary.counts[("M003", "angry", 1)] == 3
    assert summary.not_unpacked == (Path("W011/audio.tar"), Path("W011/video.tar"))
    assert skipped_paths(summary, R.ARCHIVE_BESIDE_FOLDER) == {"M003/video.tar"}
    assert skipped_paths(summary, R.UNKNOWN_EMOTION) == {"M003/video/front/joy"}
    assert skipped_paths(summary, R.BAD_LEVEL) == {"M003/video/front/angry/level_x"}
    assert skipped_paths(summary, R.BAD_SENTENCE) == {"M003/video/front/angry/level_1/take2.mp4"}
    assert skipped_paths(summary, R.NOT_MEDIA) == {"M003/video/front/fear/level_1/notes.txt"}
    assert skipped_paths(summary, R.EMPTY) == {"M003/video/front/sad"}
    assert skipped_paths(summary, R.VIDEO_WITHOUT_AUDIO) == {
        "M003/video/front/happy/level_1/003.mp4"
    }
    assert skipped_paths(summary, R.AUDIO_WITHOUT_VIDEO) == {"M003/audio/surprised/level_2/005.m4a"}
    assert len(summary.skipped) == 10 and sum(summary.reasons().values()) == 10

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 10
    assert any("not unpacked: W011/video.tar" in r.getMessage() for r in warnings)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("13 clips from 3 actors" in m and "skipped 10" in m for m in infos)


def test_scan_options_views_requirements_and_verify(tree: Path) -> None:
    all_views = scan_mead(tree, views=None)
    left = [c for c in all_views.clips if c.view == "left_30"]
    assert [c.key for c in left] == ["M003/angry/1/001/left_30"]
    assert left[0].audio == tree / "M003/audio/angry/level_1/001.m4a"
    assert left[0].ground_truth is None

    audio_only = scan_mead(tree, require=("audio",))
    orphan = [c for c in audio_only.clips if c.key == "M003/surprised/2/005"]
    assert orphan and orphan[0].video is None and orphan[0].view == ""
    assert skipped_paths(audio_only.summary, R.VIDEO_WITHOUT_AUDIO)  # still needs audio

    with_truth = scan_mead(tree, require=("video", "audio", "ground_truth"))
    assert [c.key for c in with_truth.clips] == ["S001/happy/1/001"]

    verified = scan_mead(tree, verify=True)
    assert "M003/fear/2/007" not in [c.key for c in verified.clips]
    assert skipped_paths(verified.summary, R.UNREADABLE) == {
        "M003/video/front/fear/level_2/007.mp4"
    }

    with pytest.raises(InvalidInputError, match="unknown view"):
        scan_mead(tree, views=("frontal",))
    with pytest.raises(InvalidInputError, match="unknown requirement"):
        scan_mead(tree, require=("subtitles",))


def test_scan_of_one_actor_folder(tree: Path) -> None:
    scan = scan_mead(tree / "M003")
    assert {c.actor for c in scan.clips} == {"M003"}
    assert len(scan.clips) == 9


def test_scan_refuses_missing_empty_or_unusable_roots(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"nowhere.*not found.*video/front/<emotion>"):
        scan_mead(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"empty.*is empty.*level_<k>"):
        scan_mead(tmp_path / "empty")
    packed = tmp_path / "packed" / "M003"
    packed.mkdir(parents=True)
    (packed / "video.tar").write_bytes(b"x")
    with pytest.raises(InvalidInputError, match=r"no usable clips.*not unpacked: M003/video.tar"):
        scan_mead(tmp_path / "packed")


def make_clips(actors: list[str], sentences: range, levels: tuple[int, ...] = (1, 3)) -> list[Clip]:
    clips = []
    for actor in actors:
        for label, emotion in enumerate(EMOTIONS):
            for level in (1,) if emotion == "neutral" else levels:
                for s in sentences:
                    if emotion != "neutral" and s > 30:
                        continue
                    media = Path(f"/data/{actor}/{emotion}/{level}/{s:03d}")
                    clip = Clip(actor, emotion, label, level, s, "front", media, media, None)
                    clips.append(clip)
    return clips


def test_paper_split_is_by_sentence_and_deterministic() -> None:
    clips = make_clips(["M003", "W009"], range(1, 41))
    split = split_clips(clips)
    sentences = {name: {c.sentence for c in part} for name, part in split.items()}
    assert sentences["test"] == set(PAPER_TEST_SENTENCES) == set(range(1, 10))
    assert sentences["val"] == {10, 11, 12}
    assert sentences["train"] == set(range(13, 41))
    assert sum(len(p) for p in split.values()) == len(clips)
    shuffled = clips[:]
    random.Random(1).shuffle(shuffled)
    assert split_clips(shuffled) == split
    assert split_clips(clips, val_sentences=())["val"] == []
    with pytest.raises(InvalidInputError, match="both test and val"):
        split_clips(clips, val_sentences=(9, 10))
    with pytest.raises(InvalidInputError, match="scheme"):
        split_clips(clips, scheme="random")  # type: ignore[arg-type]


def test_actor_split_holds_out_whole_actors() -> None:
    actors = [f"M{i:03d}" for i in range(1, 11)]
    clips = make_clips(actors, range(1, 4))
    split = split_clips(clips, scheme="actors")
    held = {name: {c.actor for c in part} for name, part in split.items()}
    assert (len(held["test"]), len(held["val"]), len(held["train"])) == (2, 1, 7)
    assert not held["test"] & held["train"] and not held["val"] & held["train"]
    assert not held["test"] & held["val"]
    assert split_clips(list(reversed(clips)), scheme="actors") == split
    other_seed = split_clips(clips, scheme="actors", seed=5)
    assert {c.actor for c in other_seed["test"]} != held["test"]
    fixed = split_clips(clips, scheme="actors", test_actors=["M003"], val_actors=["M004"])
    assert {c.actor for c in fixed["test"]} == {"M003"}
    assert {c.actor for c in fixed["val"]} == {"M004"}
    with pytest.raises(InvalidInputError, match="at least two actors"):
        split_clips(make_clips(["M003"], range(1, 2)), scheme="actors")
    with pytest.raises(InvalidInputError, match="M999"):
        split_clips(clips, scheme="actors", test_actors=["M999"])


def clip(emotion: str, level: int, sentence: int, actor: str = "M003") -> Clip:
    path = Path(f"/d/{actor}/{emotion}{level}{sentence}.mp4")
    return Clip(actor, emotion, EMOTIONS.index(emotion), level, sentence, "front", path, path, None)


def test_emotion_pairs_match_text_levels_and_neutral() -> None:
    a1, a2, a3 = (clip("angry", lv, 1) for lv in (1, 2, 3))
    h3, n1 = clip("happy", 3, 1), clip("neutral", 1, 1)
    a21, n31, n21 = clip("angry", 3, 21), clip("neutral", 1, 31), clip("neutral", 1, 21)
    a5, h5 = clip("angry", 2, 5), clip("happy", 2, 5)
    other = clip("happy", 1, 1, actor="W009")
    clips = [n21, h5, a5, other, n31, a21, n1, h3, a3, a2, a1]

    pairs = emotion_pairs(clips)
    assert pairs == [
        (a1, h3),
        (a2, h3),
        (a3, h3),
        (a1, n1),
        (a2, n1),
        (a3, n1),
        (h3, n1),
        (a21, n31),
    ]
    assert content_group(n31) == 21 and content_group(n21) is None and content_group(a5) is None
    assert emotion_pairs(list(reversed(clips))) == pairs

    same_id = emotion_pairs(clips, content="same_id")
    assert (a5, h5) in same_id and (a21, n21) in same_id and (a21, n31) not in same_id
    assert all(x.actor == y.actor and x.label < y.label for x, y in same_id)


def counted(calls: list[str], *, fail_on: str | None = None) -> Extractor:
    def fn(c: Clip) -> dict[str, np.ndarray]:
        calls.append(c.key)
        if c.key == fail_on:
            raise InvalidInputError(f"{c.audio}: no face found")
        assert c.audio is not None
        return {"bytes": np.frombuffer(c.audio.read_bytes()[:64], np.uint8), "n": np.array(3)}

    return fn


@pytest.fixture
def three(tmp_path: Path, media: dict[str, Path]) -> list[Clip]:
    clips = []
    for i in range(3):
        path = tmp_path / "data" / f"{i}.wav"
        place(media[f"wav{i}"], path)
        clips.append(Clip("M003", "angry", 0, 1, i + 1, "", None, path, None))
    return clips


def test_cache_computes_once_then_hits(tmp_path: Path, three: list[Clip]) -> None:
    calls: list[str] = []
    fn = counted(calls)
    cache = FeatureCache(tmp_path / "cache")
    first = cache.get_or_compute(three[0], "mfcc", {"a": 1, "b": [2, 3]}, fn)
    again = cache.get_or_compute(three[0], "mfcc", {"b": [2, 3], "a": 1}, fn)
    fresh = FeatureCache(tmp_path / "cache").get_or_compute(
        three[0], "mfcc", {"a": 1, "b": [2, 3]}, fn
    )
    assert calls == ["M003/angry/1/001"]
    for got in (again, fresh):
        assert got.keys() == first.keys()
        np.testing.assert_array_equal(got["bytes"], first["bytes"])
    path = cache.path_for(three[0], "mfcc", {"a": 1, "b": [2, 3]})
    assert path.is_file() and path.is_relative_to(tmp_path / "cache" / "mfcc")
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_cache_invalidates_on_params_name_and_content(tmp_path: Path, three: list[Clip]) -> None:
    calls: list[str] = []
    fn = counted(calls)
    cache = FeatureCache(tmp_path / "cache")
    clip0 = three[0]
    cache.get_or_compute(clip0, "mfcc", {"hop": 160}, fn)
    cache.get_or_compute(clip0, "mfcc", {"hop": 320}, fn)
    cache.get_or_compute(clip0, "lmk", {"hop": 160}, fn)
    assert len(calls) == 3
    assert clip0.audio is not None
    with open(clip0.audio, "r+b") as handle:  # same size, one byte changed, in place
        handle.seek(50)
        byte = handle.read(1)
        handle.seek(50)
        handle.write(bytes([byte[0] ^ 0xFF]))
    out = cache.get_or_compute(clip0, "mfcc", {"hop": 160}, fn)
    assert len(calls) == 4
    assert out["bytes"][50] == byte[0] ^ 0xFF
    with pytest.raises(InvalidInputError, match="JSON"):
        cache.get_or_compute(clip0, "mfcc", {"hop": {1, 2}}, fn)
    with pytest.raises(InvalidInputError, match="extractor name"):
        cache.get_or_compute(clip0, "../up", {}, fn)


def test_cache_recovers_corrupt_files(
    tmp_path: Path, three: list[Clip], caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    fn = counted(calls)
    cache = FeatureCache(tmp_path / "cache")
    path = cache.path_for(three[0], "mfcc", {})
    for damage in (b"garbage", None):
        cache.get_or_compute(three[0], "mfcc", {}, fn)
        if damage is None:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
        else:
            path.write_bytes(damage)
        out = cache.get_or_compute(three[0], "mfcc", {}, fn)
        assert int(out["n"]) == 3
    assert len(calls) == 3
    assert sum("discarding corrupt cache file" in r.getMessage() for r in caplog.records) == 2
    cache.get_or_compute(three[0], "mfcc", {}, fn)
    assert len(calls) == 3


def test_cache_write_failures_leave_no_temp_file(
    tmp_path: Path, three: list[Clip], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    fn = counted(calls)
    cache = FeatureCache(tmp_path / "cache")

    def refuse(*_: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("evp_studio.data.cache.os.replace", refuse)
        out = cache.get_or_compute(three[0], "mfcc", {}, fn)
    assert int(out["n"]) == 3  # still served, only not cached
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("interrupted")

    with monkeypatch.context() as patch:
        patch.setattr(np.lib.format, "write_array", crash)
        with pytest.raises(RuntimeError):
            cache.get_or_compute(three[1], "mfcc", {}, fn)
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []

    with pytest.raises(TypeError, match="object array"):
        cache.get_or_compute(three[2], "bad", {}, lambda c: {"x": np.array([None])})


def test_iter_features_skips_refused_clips(
    tmp_path: Path, three: list[Clip], caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []
    fn = counted(calls, fail_on="M003/angry/1/002")
    cache = FeatureCache(tmp_path / "cache")
    features = cache.iter_features(three, "mfcc", {}, fn)
    got = [c.key for c, arrays in features if int(arrays["n"]) == 3]
    assert got == ["M003/angry/1/001", "M003/angry/1/003"]
    assert [s.clip.key for s in features.skipped] == ["M003/angry/1/002"]
    assert "no face found" in features.skipped[0].reason
    assert any("M003/angry/1/002" in r.getMessage() for r in caplog.records)
    missing = Clip("M003", "sad", 6, 1, 9, "", None, tmp_path / "gone.wav", None)
    again = cache.iter_features([*three, missing], "mfcc", {}, fn)
    assert len(list(again)) == 2
    summary = again.summary
    assert (summary.hits, summary.computed, len(summary.skipped)) == (2, 0, 2)
    assert "file not found" in summary.skipped[1].reason
    with pytest.raises(InvalidInputError, match="no face"):
        list(cache.iter_features(three, "mfcc", {}, fn, on_error="raise"))


def test_build_cache_job_reports_progress_and_cancels(tmp_path: Path, three: list[Clip]) -> None:
    calls: list[str] = []
    fn = counted(calls, fail_on="M003/angry/1/003")
    cache = FeatureCache(tmp_path / "cache")
    reports: list[Progress] = []
    job = build_cache(three, cache=cache, name="mfcc", params={}, fn=fn)
    summary = run_job(job, on_progress=reports.append)
    assert (summary.computed, summary.hits, len(summary.skipped)) == (2, 0, 1)
    assert reports[0] == Progress("Caching mfcc features", 0, 3)
    assert reports[-1] == Progress("Caching mfcc features", 3, 3)

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        next(cache.iter_features(three, "mfcc", {}, fn, cancel=token))
    token = CancelToken()
    job = build_cache(three, cache=cache, name="other", params={}, fn=fn, cancel=token)
    with pytest.raises(Cancelled):
        run_job(job, on_progress=lambda p: token.cancel() if p.done >= 1 else None)
    assert calls.count("M003/angry/1/001") == 2  # once per extractor name, no more


def test_scan_caps_warnings_and_reports_duplicates_and_strays(
    tmp_path: Path, media: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "MEAD"
    level = root / "M003" / "audio" / "angry" / "level_1"
    place(media["m4a"], level / "001.m4a")
    place(media["wav0"], level / "1.wav")  # same sentence once more
    place(media["mp4"], root / "M003/video/front/angry/level_1/001.mp4")
    place(media["mp4"], root / "M003/video/front/angry/002.mp4")  # no level folder
    for i in range(25):
        (level / f"readme{i}.txt").write_text("x")
    caplog.set_level(logging.WARNING, logger="evp_studio.data")
    scan = scan_mead(root)
    assert [c.key for c in scan.clips] == ["M003/angry/1/001"]
    assert scan.clips[0].audio == level / "001.m4a"
    reasons = scan.summary.reasons()
    assert reasons[R.DUPLICATE] == 1 and reasons[R.NOT_MEDIA] == 25 and reasons[R.UNEXPECTED] == 1
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 21
    assert "7 more skipped items not listed" in messages[-1]


def test_cache_keys_only_the_files_an_extractor_reads(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    audio = tmp_path / "data" / "001.wav"
    place(media["wav0"], audio)
    views = [
        Clip("M003", "angry", 0, 1, 1, view, tmp_path / f"{view}.mp4", audio, None)
        for view in ("front", "left_30")
    ]
    place(media["mp4"], views[0].video)  # type: ignore[arg-type]
    place(media["junk"], views[1].video)  # type: ignore[arg-type]
    calls: list[str] = []
    cache = FeatureCache(tmp_path / "cache")
    for c in views:
        cache.get_or_compute(c, "mfcc", {}, counted(calls), uses=("audio",))
    assert len(calls) == 1  # one audio, two views: computed once
    for c in views:
        cache.get_or_compute(c, "all", {}, counted(calls))
    assert len(calls) == 3  # the videos differ
    with pytest.raises(InvalidInputError, match="inputs"):
        cache.get_or_compute(views[0], "mfcc", {}, counted(calls), uses=("subtitles",))
