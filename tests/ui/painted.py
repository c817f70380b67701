"""What the terminal shows: the active screen's lines as plain text (the real compositor)."""

from __future__ import annotations

from textual.app import App


def screen_lines(app: App[object]) -> list[str]:
    """Each row of the active screen as painted, without styles."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
