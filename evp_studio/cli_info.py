"""Human-readable descriptions of media files for ``evp-studio info``."""

from __future__ import annotations

from evp_studio.media import MediaInfo


def _duration(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    h, m = divmod(int(m), 60)
    return f"{h:d}:{m:02d}:{s:06.3f}"


def describe_media(info: MediaInfo) -> str:
    """A few aligned lines: container, video stream, audio streams."""
    lines = [
        f"file:       {info.path}",
        f"container:  {info.container}, {info.size_bytes / 1e6:.2f} MB, "
        f"{_duration(info.duration_s)}",
    ]
    v = info.video
    if v is None:
        lines.append("video:      none")
    else:
        rate = (
            f"{v.frame_rate.numerator}/{v.frame_rate.denominator}"
            if v.frame_rate.denominator != 1
            else str(v.frame_rate.numerator)
        )
        vfr = ", variable frame rate" if v.vfr else ""
        rot = f", rotated {v.rotation}°" if v.rotation else ""
        lines.append(
            f"video:      #{v.index} {v.codec} {v.width}x{v.height} {v.pixel_format}{rot}, "
            f"{rate} fps ({float(v.frame_rate):.3f}){vfr}, {v.frame_count} frames, "
            f"{_duration(v.duration_s)}"
        )
    if not info.audio:
        lines.append("audio:      none")
    for a in info.audio:
        lines.append(
            f"audio:      #{a.index} {a.codec} {a.sample_rate} Hz, {a.channels} ch, "
            f"{_duration(a.duration_s)}"
        )
    return "\n".join(lines)
