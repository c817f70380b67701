"""Manager commands that act at once, without asking: pause or resume, move in the
queue, pause or resume everything, and copy a URL or path."""

from __future__ import annotations

from afetch_tui.engine import State
from afetch_tui.ui.format import home_relative
from afetch_tui.ui.model import display_name
from afetch_tui.ui.screens.main.context import ActionContext


async def toggle_pause(ctx: ActionContext) -> None:
    snaps = ctx.targets()
    if not snaps:
        return
    pending = [s for s in snaps if s.state.is_pending]
    paused = [s for s in snaps if s.state is State.PAUSED]
    if pending:
        for snap in pending:
            await ctx.call(ctx.manager.pause(snap.id))
    elif paused:
        for snap in paused:
            await ctx.call(ctx.manager.resume(snap.id))
    elif len(snaps) == 1:
        snap = snaps[0]
        hint = (
            "press r to retry"
            if snap.state is not State.COMPLETED
            else "nothing to pause or resume"
        )
        ctx.say(f"“{display_name(snap)}” is {snap.state.value}: {hint}.", timeout=2)
    else:
        ctx.say("None of the marked downloads can be paused or resumed.", timeout=2)


async def move(ctx: ActionContext, offset: int) -> None:
    snap = ctx.selected()
    if snap is not None:
        await ctx.call(ctx.manager.move(snap.id, offset))


async def move_to(ctx: ActionContext, place: int) -> None:
    """Move the marked or selected downloads to the top (0) or the bottom (-1),
    keeping their order among themselves."""
    snaps = ctx.targets()
    if snaps:  # the cursor follows the (first) moved row: it stays on it as it moves
        ctx.table.select_id(snaps[0].id)
    count = len(ctx.model.order)
    # Top: the last first, so the first ends on top; bottom: the first first.
    for snap in snaps[::-1] if place == 0 else snaps:
        await ctx.call(ctx.manager.move(snap.id, -count if place == 0 else count))


async def pause_all(ctx: ActionContext) -> None:
    await ctx.call(ctx.manager.pause_all())


async def resume_all(ctx: ActionContext) -> None:
    await ctx.call(ctx.manager.resume_all())


def copy(ctx: ActionContext, what: str) -> None:
    snap = ctx.selected()
    if snap is None:
        return
    if what == "url":
        text, shown = snap.url, snap.shown_url  # the toast never shows a password
    else:
        if snap.path is None:  # not named yet: where it will be
            what = "folder"
        text = str(snap.path or snap.directory)
        shown = home_relative(text)
    ctx.app.copy_to_clipboard(text)
    ctx.say(f"Copied {what}: {shown}", timeout=2)
