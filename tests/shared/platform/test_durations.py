import pytest

from shared.platform.durations import format_duration, format_effort, format_estimate, parse_duration


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("1h", 3600),
        ("30m", 1800),
        ("45m32s", 2732),
        ("90s", 90),
        ("1h30m", 5400),
        ("1.5h", 5400),
        (" 2H ", 7200),
        ("1h0m5s", 3605),
    ],
)
def test_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "1x", "1h1h", "m30", "1h 30m", "-1h", None, 5])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    "seconds,text", [(2732, "45m32s"), (0, "0s"), (59.6, "1m0s"), (3600, "1h0m0s"), (3725, "1h2m5s"), (-3, "0s")]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds,text", [(1490, "25m"), (1, "1m"), (3600, "1h"), (4000, "1h7m")])
def test_format_estimate(seconds, text):
    assert format_estimate(seconds) == text


@pytest.mark.parametrize("minutes,text", [(870, "14.5h"), (0, "0h"), (15, "0.2h"), (60, "1h")])
def test_format_effort(minutes, text):
    assert format_effort(minutes) == text
