from fractions import Fraction

import pytest

from evp_studio.timecode import format_timecode, frame_to_seconds, seconds_to_frame

NTSC = Fraction(30000, 1001)


@pytest.mark.parametrize(
    ("frame", "rate", "expected"),
    [
        (0, Fraction(25), "00:00:00:00"),
        (24, Fraction(25), "00:00:00:24"),
        (25, Fraction(25), "00:00:01:00"),
        (25 * 3661 + 3, Fraction(25), "01:01:01:03"),
        (59, Fraction(60), "00:00:00:59"),
        # Drop-frame: frame numbers 00 and 01 are skipped at each minute but every tenth.
        (1799, NTSC, "00:00:59;29"),
        (1800, NTSC, "00:01:00;02"),
        (17982, NTSC, "00:10:00;00"),
        (107892, NTSC, "01:00:00;00"),
    ],
)
def test_format_timecode(frame: int, rate: Fraction, expected: str) -> None:
    assert format_timecode(frame, rate) == expected


def test_drop_frame_timecode_tracks_wall_clock() -> None:
    # One hour of NTSC video is 107892 frames, and drop-frame timecode reads exactly one hour.
    assert frame_to_seconds(107892, NTSC) == pytest.approx(3599.9964, abs=1e-3)


def test_seconds_round_trip_is_exact_at_ntsc() -> None:
    for frame in (0, 1, 29, 30, 1799, 1800, 107891):
        assert seconds_to_frame(frame_to_seconds(frame, NTSC), NTSC) == frame


def test_negative_frame_rejected() -> None:
    with pytest.raises(ValueError, match="-1"):
        format_timecode(-1, Fraction(25))
