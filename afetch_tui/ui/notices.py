"""Notices in one line: the dashboard shows the newest in its downloads box's top border,
in place, instead of as a toast (at 80x24 toasts covered the hosts panel).

The notifications stay Textual's (`App.notify`, with their timeouts); only how the main
screen shows them differs. Under a dialog nothing shows (the dialog's own CSS).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.notifications import Notification

from afetch_tui.engine import State
from afetch_tui.ui.style import DIM, ERROR, GOOD, STATE_LOOK, WARN

_LOOK = {"information": GOOD, "warning": WARN, "error": ERROR}


def newest_notice(notifications: Iterable[Notification]) -> Text | None:
    """The newest live notification in one line (a count of the others after it)."""
    live = [n for n in notifications if not n.has_expired]
    if not live:
        return None
    newest = max(live, key=lambda n: n.raised_at)
    line = notice_line(newest)
    if len(live) > 1:
        line.append(f" (+{len(live) - 1})", style=DIM)
    return line


def notice_line(notification: Notification) -> Text:
    """Title and message on one line: the message's lines joined with `` · ``. A message
    that is not markup (server text: names, reasons) is never read as markup."""
    style = _LOOK.get(notification.severity, "")
    text = Text()
    if notification.title:
        text.append(f"{notification.title}: ", style=f"bold {style}")
    message = (
        Text.from_markup(notification.message)
        if notification.markup
        else Text(notification.message)
    )
    lines = [line for line in message.split("\n") if line.plain.strip()]
    for index, line in enumerate(lines):
        if index:
            text.append(" · ", style=DIM)
        line.stylize(style)
        _state_colours(line)
        text.append_text(_lstrip(line))
    return text


def _state_colours(line: Text) -> None:
    """``✓ 3 completed · ✗ 1 failed``: each count in its state's colour (a summary with a
    failure is an error notice, but its completions are not)."""
    plain = line.plain
    for state in (State.COMPLETED, State.FAILED):
        icon = STATE_LOOK[state].icon
        start = plain.find(icon)
        while start >= 0:
            end = plain.find(" · ", start)
            end = len(plain) if end < 0 else end
            line.stylize(STATE_LOOK[state].style, start, end)
            start = plain.find(icon, end)


def _lstrip(text: Text) -> Text:
    strip = len(text.plain) - len(text.plain.lstrip())
    return text[strip:] if strip else text
