"""Actions that ask first: each awaits its dialog (`push_screen_wait`) and then acts.

They run in the screen's one dialog worker (`MainScreen` starts them with `@work`).
"""

from __future__ import annotations

from dataclasses import replace

from afetch_tui.engine import AfetchError, State
from afetch_tui.ui.format import human_size, plural
from afetch_tui.ui.model import display_name
from afetch_tui.ui.screens.main.context import ActionContext, describe
from afetch_tui.ui.screens.prompts import (
    ConfirmDialog,
    RateDialog,
    RemoveChoice,
    RemoveDialog,
    UrlDialog,
)
from afetch_tui.ui.screens.settings import SettingsDialog
from afetch_tui.ui.widgets.hosts_panel import HostsPanel


async def cancel(ctx: ActionContext) -> None:
    snaps = [s for s in ctx.targets() if not s.state.is_finished]
    if not snaps:
        ctx.say("Nothing to cancel: already finished.", timeout=2)
        return
    kept = sum(s.done for s in snaps)
    message = f"Stop {describe(snaps)}"
    if kept:
        message += f" and delete the {human_size(kept)} downloaded so far"
    if await ctx.app.push_screen_wait(
        ConfirmDialog("Cancel download", message + "?", yes="Cancel download", no="Keep")
    ):
        for snap in snaps:
            await ctx.call(ctx.manager.cancel(snap.id))


async def remove(ctx: ActionContext) -> None:
    snaps = ctx.targets()
    if not snaps:
        return
    # An unfinished download's .part always goes (nothing could resume it): the
    # choice to keep or delete a file is offered only for finished ones.
    has_file = any(s.state is State.COMPLETED for s in snaps)
    partial = any(not s.state.is_finished and s.done > 0 for s in snaps)
    name = display_name(snaps[0]) if len(snaps) == 1 else plural(len(snaps), "download")
    choice = await ctx.app.push_screen_wait(
        RemoveDialog(name, has_file=has_file, partial=partial, quoted=len(snaps) == 1)
    )
    if choice is None:
        return
    delete = choice is RemoveChoice.DELETE_FILE
    for snap in snaps:
        await ctx.call(ctx.manager.remove(snap.id, delete_file=delete))


async def retry(ctx: ActionContext) -> None:
    """Retry the marked or selected failed/cancelled downloads; on any other row,
    offer to retry every failed one (asked: it touches rows you are not on)."""
    model = ctx.model
    snaps = ctx.targets() if model.marks else []
    if not snaps:
        snap = ctx.selected()
        snaps = [snap] if snap is not None else []
    retryable = [s for s in snaps if s.state in (State.FAILED, State.CANCELLED)]
    if retryable:
        for snap in retryable:
            await ctx.call(ctx.manager.retry(snap.id))
        if len(retryable) > 1:
            ctx.say(f"Retrying {plural(len(retryable), 'download')}.", timeout=2)
        return
    failed = [i for i in model.order if model.rows[i].state is State.FAILED]
    if not failed:
        ctx.say("Nothing to retry.", timeout=2)
        return
    if not await ctx.app.push_screen_wait(
        ConfirmDialog(
            "Retry failed downloads",
            f"This row has not failed. Retry all {plural(len(failed), 'failed download')}?",
            yes=f"Retry {len(failed)}",
            no="Cancel",
            danger=False,
        )
    ):
        return
    for failed_id in failed:
        await ctx.call(ctx.manager.retry(failed_id))
    ctx.say(f"Retrying {plural(len(failed), 'failed download')}.", timeout=2)


async def replace_url(ctx: ActionContext) -> None:
    snap = ctx.selected()
    if snap is None:
        return
    if snap.state is State.COMPLETED:
        ctx.say("That download is complete.", timeout=2)
        return
    url = await ctx.app.push_screen_wait(UrlDialog(display_name(snap), snap.shown_url))
    if url is not None:
        await ctx.call(ctx.manager.replace_url(snap.id, url))


async def download_limit(ctx: ActionContext) -> None:
    snaps = ctx.targets()
    if not snaps:
        return
    result = await ctx.app.push_screen_wait(
        RateDialog("Download limit", describe(snaps), snaps[0].limit_rate)
    )
    if result is not None:
        for snap in snaps:
            await ctx.call(ctx.manager.set_download_limit(snap.id, result.rate))


async def edit_host_limit(ctx: ActionContext, host: str | None) -> None:
    """Ask for a host's bandwidth limit (the selected host by default)."""
    host = host or ctx.screen.query_one(HostsPanel).selected_host
    if host is None:
        ctx.say("No host yet.", timeout=2)
        return
    snap = ctx.model.hosts.get(host)
    result = await ctx.app.push_screen_wait(
        RateDialog("Host limit", host, snap.limit_rate if snap else None)
    )
    if result is not None:
        await ctx.call(ctx.manager.set_host_limit(host, result.rate))


async def settings(ctx: ActionContext) -> None:
    manager = ctx.manager
    command, _ = manager.on_complete
    result = await ctx.app.push_screen_wait(
        SettingsDialog(manager.limits, command, manager.defaults)
    )
    if result is None:
        return
    said = []
    if result.on_complete_changed:
        _, time_limit = manager.on_complete
        manager.set_on_complete(result.on_complete, time_limit)
        said.append("On-complete command set." if result.on_complete else "No on-complete command.")
    if (
        result.defaults is not None
        and await ctx.call(manager.set_defaults(result.defaults)) is not None
    ):
        said.append("New downloads and attempts take the new defaults.")
    if result.changes:
        try:
            changed = replace(manager.limits, **result.changes)  # Limits checks itself
        except AfetchError as exc:
            ctx.say(str(exc), title="afetch", severity="error")
        else:
            if await ctx.call(manager.set_limits(changed)) is not None:
                said.insert(0, "Limits updated.")
    if said:
        ctx.say(" ".join(said), timeout=2)


async def clear_finished(ctx: ActionContext) -> None:
    finished = sum(
        1 for row in ctx.model.rows.values() if row.state in (State.COMPLETED, State.CANCELLED)
    )
    if not finished:
        ctx.say("Nothing finished to clear.", timeout=2)
        return
    if not await ctx.app.push_screen_wait(
        ConfirmDialog(
            "Clear finished",
            f"Clear {plural(finished, 'completed or cancelled row')} from the list? "
            "The files stay.",
            yes="Clear",
            no="Keep",
            danger=False,
        )
    ):
        return
    cleared = await ctx.call(ctx.manager.clear_finished())
    if cleared is not None:
        ctx.say(f"Cleared {plural(len(cleared), 'finished download')}.", timeout=2)
