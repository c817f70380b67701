"""Human-readable sizes, rates and durations, and small text-drawn charts.

Pure functions with no Textual imports, so they are cheap to test and reuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from afetch_tui.engine import InputError, parse_size
from afetch_tui.format import duration as format_duration
from afetch_tui.format import size as format_size

_SPARK = "▁▂▃▄▅▆▇█"

UNLIMITED_WORDS = {"", "0", "none", "off", "unlimited", "-", "∞", "inf"}
"""What a limit field may say to mean "no limit"."""


def home_relative(path: Path | str) -> str:
    """`/home/ada/Downloads/x.iso` → `~/Downloads/x.iso` (other paths unchanged)."""
    path = Path(path)
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except (ValueError, RuntimeError):
        return str(path)


def human_size(size: float | None) -> str:
    """`1536` → `1.5 KiB`; `None` → `?`."""
    return format_size(size)


def human_rate(rate: float | None) -> str:
    """`2097152` → `2.0 MiB/s`; `None` → `∞` (unlimited)."""
    if rate is None:
        return "∞"
    return f"{human_size(rate)}/s"


def human_speed(rate: float | None) -> str:
    """A transfer speed: blank when idle, so quiet rows stay quiet."""
    if not rate or rate < 1:
        return ""
    return human_rate(rate)


def human_duration(seconds: float | None) -> str:
    """`3725` → `1h02m`; unknown → blank, so quiet rows stay quiet."""
    text = format_duration(seconds)
    return "" if text == "-" else text


def parse_rate(text: str) -> float | None:
    """Parse a bandwidth such as `2M`, `500K`, `1.5MiB` into bytes per second (K = 1024).

    Empty, `0`, `none`, `off`, `unlimited` and `∞` mean no limit and give `None`. Raises
    `ValueError` with a one-line reason otherwise (the engine's own parser does the work).
    """
    raw = text.strip()
    if raw.lower() in UNLIMITED_WORDS:
        return None
    try:
        return parse_size(raw)
    except InputError as exc:
        raise ValueError(str(exc)) from None


def format_rate_input(rate: float | None) -> str:
    """The inverse of `parse_rate`, for pre-filling inputs: `2097152` → `2M`."""
    if rate is None:
        return ""
    for unit, power in (("T", 4), ("G", 3), ("M", 2), ("K", 1)):
        scaled = rate / 1024**power
        if scaled >= 1:
            return f"{scaled:.3f}".rstrip("0").rstrip(".") + unit
    return f"{rate:.0f}"


def sparkline(samples: Sequence[float], width: int, peak: float | None = None) -> str:
    """Draw `samples` (oldest first) as `width` block characters, newest on the right.

    Samples are bucketed (max of each bucket) when there are more than `width`, and the
    line is left-padded with spaces when there are fewer. Zero draws as a space.
    """
    if width <= 0:
        return ""
    values = list(samples)
    if len(values) > width:
        size = len(values) / width
        values = [
            max(values[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)])
            for i in range(width)
        ]
    top = peak if peak is not None else max(values, default=0.0)
    if top <= 0:
        chars = ["▁" if v > 0 else " " for v in values]
    else:
        last = len(_SPARK) - 1
        chars = [" " if v <= 0 else _SPARK[min(last, round(v / top * last))] for v in values]
    return " " * (width - len(chars)) + "".join(chars)


def progress_bar(fraction: float | None, width: int) -> tuple[str, str]:
    """A bar of `width` cells as (done, rest): heavy `━` done, light `─` to go.

    Half cells show as `╸`. Unknown totals give an all-light bar. The two parts are
    returned apart so they can be coloured; their thickness differs even without colour.
    """
    if width <= 0:
        return "", ""
    if fraction is None:
        return "", "─" * width
    halves = round(min(1.0, max(0.0, fraction)) * width * 2)
    full, half = divmod(halves, 2)
    done = "━" * full + ("╸" if half else "")
    return done, "─" * (width - len(done))


def percent(fraction: float | None) -> str:
    """`0.4213` → `42.1%`; `None` → `` (unknown)."""
    if fraction is None:
        return ""
    if fraction >= 1:
        return "100%"
    return f"{fraction * 100:.1f}%"


def plural(count: int, word: str, words: str | None = None) -> str:
    """`plural(1, "file")` → `1 file`; `plural(2, "file")` → `2 files`."""
    return f"{count} {word if count == 1 else (words or word + 's')}"
