"""Preferences file (defaults, validation, bad files never stop start-up) and the cache."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from evp_studio import paths, settings
from evp_studio.errors import ExportError, InvalidInputError
from evp_studio.settings import Preferences


@pytest.fixture(autouse=True)
def _no_cache_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "_cache_override", None)


def test_defaults_when_there_is_no_file(_isolated_home: Path) -> None:
    assert settings.preferences_path() == _isolated_home / "config" / "preferences.json"
    prefs, problems = settings.read_preferences()
    assert prefs == Preferences() and problems == []
    assert prefs.device == "auto" and prefs.autosave_interval_s == 60 and prefs.theme == "dark"


def test_save_load_round_trip(tmp_path: Path) -> None:
    prefs = Preferences(
        device="cpu",
        landmark_backend="fan",
        cache_folder=tmp_path / "cache",
        cache_limit_mb=123,
        autosave_interval_s=0,
        theme="light",
        recent_count=5,
    )
    file = settings.save_preferences(prefs)
    data = json.loads(file.read_text(encoding="utf-8"))
    assert data["schema_version"] == settings.SCHEMA_VERSION
    assert data["cache_folder"] == str(tmp_path / "cache")
    assert settings.load_preferences() == prefs
    assert not list(file.parent.glob("*.tmp")), "temp file left behind"


def test_a_failed_save_raises_and_leaves_no_temp_file(tmp_path: Path) -> None:
    blocked = tmp_path / "p.json"
    blocked.mkdir()  # a folder where the file should go: the rename fails, as on a full disk
    with pytest.raises(ExportError, match="p.json"):
        settings.save_preferences(Preferences(theme="light"), blocked)
    assert blocked.is_dir() and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("device", "gpu"),
        ("landmark_backend", "mediapipe"),
        ("theme", "blue"),
        ("autosave_interval_s", -5),
        ("autosave_interval_s", 1.5),
        ("autosave_interval_s", True),
        ("cache_limit_mb", "lots"),
        ("recent_count", 0),
        ("cache_folder", 42),
        ("cache_folder", "  "),
    ],
)
def test_bad_values_are_named_strictly_and_reset_leniently(
    tmp_path: Path, key: str, value: object, caplog: pytest.LogCaptureFixture
) -> None:
    good = {"theme": "light"} if key != "theme" else {"recent_count": 7}
    with pytest.raises(InvalidInputError, match=rf"my.json: key '{key}'"):
        settings.parse_preferences({**good, key: value}, source="my.json")
    file = tmp_path / "preferences.json"
    file.write_text(json.dumps({**good, key: value}), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="evp_studio.settings"):
        prefs = settings.load_preferences(file)
    assert getattr(prefs, key) == getattr(Preferences(), key)
    assert prefs == Preferences(**good)  # the good key is kept
    assert any(str(file) in r.message and key in r.message for r in caplog.records)
    assert (tmp_path / "preferences.json.bak").read_text(encoding="utf-8") == file.read_text(
        encoding="utf-8"
    )


def test_unknown_keys_are_ignored_with_a_warning(tmp_path: Path) -> None:
    file = tmp_path / "preferences.json"
    file.write_text(json.dumps({"theme": "light", "colour": "pink"}), encoding="utf-8")
    prefs, problems = settings.read_preferences(file)
    assert prefs == Preferences(theme="light")
    assert problems == [f"{file}: unknown key 'colour' ignored"]
    with pytest.raises(InvalidInputError, match="unknown key 'colour'"):
        settings.parse_preferences({"colour": "pink"})


@pytest.mark.parametrize(
    "text", ["{not json", "[1, 2]", '"dark"', "", '{"schema_version": "one"}', "\udcff"]
)
def test_a_broken_file_gives_defaults(tmp_path: Path, text: str) -> None:
    file = tmp_path / "preferences.json"
    file.write_bytes(text.encode("utf-8", "surrogateescape"))
    prefs, problems = settings.read_preferences(file)
    assert prefs == Preferences()
    assert len(problems) == 1 and problems[0].startswith(str(file))
    assert (tmp_path / "preferences.json.bak").read_bytes() == file.read_bytes()


def test_a_newer_file_is_read_with_a_warning(tmp_path: Path) -> None:
    file = tmp_path / "preferences.json"
    file.write_text(json.dumps({"schema_version": 99, "theme": "light"}), encoding="utf-8")
    prefs, problems = settings.read_preferences(file)
    assert prefs.theme == "light"
    assert "newer" in problems[0]


def test_a_folder_in_place_of_the_file_gives_defaults(tmp_path: Path) -> None:
    (tmp_path / "preferences.json").mkdir()
    prefs, problems = settings.read_preferences(tmp_path / "preferences.json")
    assert prefs == Preferences() and "cannot read" in problems[0]


def test_resolved_device() -> None:
    assert Preferences().resolved_device(cuda_available=True) == "cuda"
    assert Preferences().resolved_device(cuda_available=False) == "cpu"
    assert Preferences(device="cpu").resolved_device(cuda_available=True) == "cpu"


def test_backends_match_the_landmark_package() -> None:
    from evp_studio.landmarks import BACKENDS

    assert settings.BACKENDS == BACKENDS


def test_cache_dir_follows_the_override(tmp_path: Path, _isolated_home: Path) -> None:
    assert paths.cache_dir() == _isolated_home / "cache"
    paths.set_cache_override(tmp_path / "my cache")
    assert paths.cache_dir() == tmp_path / "my cache" and paths.cache_dir().is_dir()
    paths.set_cache_override(None)
    assert paths.cache_dir() == _isolated_home / "cache"


def _fill_cache(root: Path) -> dict[str, int]:
    sizes = {"landmarks": 3000, "thumbnails": 500, "features": 1200, "numba": 100}
    for kind, size in sizes.items():
        folder = root / kind / "ab"
        folder.mkdir(parents=True)
        (folder / f"{kind}.bin").write_bytes(b"x" * size)
    (root / "notes.txt").write_text("the user's own file", encoding="utf-8")
    (root / "other").mkdir()
    (root / "other" / "keep.bin").write_bytes(b"y" * 999)
    return sizes


def test_cache_usage_and_clear_touch_only_our_folders(tmp_path: Path) -> None:
    sizes = _fill_cache(tmp_path)
    usage = settings.cache_usage(tmp_path)
    assert usage.by_kind == sizes and usage.total == sum(sizes.values())
    assert settings.clear_cache(tmp_path) == sum(sizes.values())
    assert settings.cache_usage(tmp_path).total == 0
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "other" / "keep.bin").exists()


def test_clear_cache_does_not_follow_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.bin").write_bytes(b"z" * 10)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "features").symlink_to(outside, target_is_directory=True)
    settings.clear_cache(cache)
    assert (outside / "precious.bin").exists()


def test_cache_defaults_to_paths_cache_dir(tmp_path: Path) -> None:
    paths.set_cache_override(tmp_path)
    _fill_cache(tmp_path)
    assert settings.cache_usage().total == 4800


def test_trim_cache_removes_the_oldest_files_and_keeps_compiled_code(tmp_path: Path) -> None:
    _fill_cache(tmp_path)
    for age, kind in enumerate(("features", "landmarks", "thumbnails", "numba")):
        file = next((tmp_path / kind).rglob("*.bin"))
        os.utime(file, (1000 + age, 1000 + age))  # numba is the oldest... but kept
    os.utime(next((tmp_path / "numba").rglob("*.bin")), (1, 1))
    freed = settings.trim_cache(2000, tmp_path)
    usage = settings.cache_usage(tmp_path).by_kind
    assert freed == 4200  # features (oldest) then landmarks; thumbnails fit after that
    assert usage == {"landmarks": 0, "thumbnails": 500, "features": 0, "numba": 100}
    assert settings.trim_cache(0, tmp_path) == 0
