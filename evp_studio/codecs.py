"""Encoder vocabulary shared by the export settings and the media writer (no PyAV import)."""

from __future__ import annotations

# libx264's speed presets, fastest first.
X264_PRESETS: tuple[str, ...] = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
