"""What the list shows and what is marked: the filter, the state and sort cycles, and
marks. Nothing here asks the manager anything."""

from __future__ import annotations

from textual.widgets import Input

from afetch_tui.ui.model import Show, Sort
from afetch_tui.ui.screens.main.context import ActionContext


def _filter_box(ctx: ActionContext) -> Input:
    return ctx.screen.query_one("#filter", Input)


def find(ctx: ActionContext) -> None:
    box = _filter_box(ctx)
    box.display = True
    box.focus()


def filter_changed(ctx: ActionContext, text: str) -> None:
    ctx.model.set_view(text=text)
    ctx.repaint()


def filter_kept(ctx: ActionContext, text: str) -> None:
    _filter_box(ctx).display = bool(text)
    ctx.table.focus()


def clear_view(ctx: ActionContext) -> None:
    """Escape: clear the filter (text and state), else the marks."""
    box = _filter_box(ctx)
    model = ctx.model
    if box.has_focus or model.filter_text or model.show is not Show.ALL:
        box.value = ""
        box.display = False
        model.set_view(text="", show=Show.ALL)
        ctx.table.focus()
    elif model.marks:
        model.changes.dirty |= model.marks
        model.marks.clear()
        model.changes.view = True
    ctx.repaint()


def cycle_show(ctx: ActionContext) -> None:
    options = list(Show)
    show = options[(options.index(ctx.model.show) + 1) % len(options)]
    ctx.model.set_view(show=show)  # the box's title says what is shown
    ctx.repaint()
    ctx.table.to_top()


def cycle_sort(ctx: ActionContext) -> None:
    options = list(Sort)
    sort = options[(options.index(ctx.model.sort) + 1) % len(options)]
    ctx.model.set_view(sort=sort)
    ctx.repaint()
    ctx.table.to_top()


def mark(ctx: ActionContext) -> None:
    selected = ctx.table.selected_id
    if selected is None:
        return
    ctx.model.toggle_mark(selected)
    ctx.table.action_cursor(1)
    ctx.repaint()


def mark_all(ctx: ActionContext) -> None:
    ctx.model.mark_all_shown()
    ctx.repaint()
