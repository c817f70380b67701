"""Adding downloads: the add dialog (asked again, with the reason, if the manager refuses),
links from a web page, and the question first when URLs are already in the list."""

from __future__ import annotations

from pathlib import Path

from afetch_tui.config import Backlog, already_listed
from afetch_tui.engine import AfetchError, DownloadSpec, inert
from afetch_tui.ui.format import plural
from afetch_tui.ui.screens.add_dialog import AddDialog, AddRequest
from afetch_tui.ui.screens.harvest_dialog import HarvestDialog
from afetch_tui.ui.screens.main.context import ActionContext
from afetch_tui.ui.screens.prompts import ConfirmDialog


class Adding:
    """The add flows, and the draft the add dialog keeps when it is closed with Escape."""

    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx
        self.draft = ""
        """What the add dialog held when it was closed with Escape."""
        self.backlog: Backlog | None = None
        """The command line's URLs still being queued: the add dialog counts them listed."""

    def dialog(self, text: str = "") -> AddDialog:
        """The add dialog, holding `text`, else the draft (which it takes)."""
        draft, self.draft = self.draft, ""
        return AddDialog(
            Path(self.ctx.manager.directory),
            text=text or draft,
            connections=self.ctx.manager.options.connections,
            keep_draft=self._keep_draft,
        )

    def _keep_draft(self, text: str) -> None:
        self.draft = text

    async def add(self, dialog: AddDialog) -> None:
        """Ask for URLs (again, with the reason, if the manager refuses them)."""
        ctx = self.ctx
        while True:
            request = await ctx.app.push_screen_wait(dialog)
            if request is None:
                return
            urls = await self._skip_or_repeat(request.urls, request.directory)
            if not urls:
                return
            try:
                spec = DownloadSpec(
                    urls,
                    directory=request.directory,
                    name=request.name,
                    paused=request.paused,
                    connections=request.connections,
                    checksum=request.checksum,
                )
                await ctx.manager.add_many(spec)
            except (AfetchError, OSError) as exc:
                dialog = _again(request, str(exc))
                continue
            ctx.say(
                f"Queued {plural(len(urls), 'download')}" + (" (paused)" if request.paused else ""),
                timeout=2,
            )
            return

    async def from_page(self) -> None:
        ctx = self.ctx
        result = await ctx.app.push_screen_wait(HarvestDialog(ctx.manager))
        if result is None:
            return
        urls = await self._skip_or_repeat(result.urls, ctx.manager.defaults.directory)
        ids = (
            await ctx.call(ctx.manager.add_many(DownloadSpec(urls, paused=result.paused)))
            if urls
            else None
        )
        if ids:
            ctx.say(
                f"Queued {plural(len(ids), 'download')} from the page"
                + (" (paused)" if result.paused else ""),
                timeout=2,
            )

    async def _skip_or_repeat(self, urls: tuple[str, ...], directory: Path) -> tuple[str, ...]:
        """URLs already in the list are asked about first: skip them, or download again."""
        in_list = self.ctx.model.listed()
        folder = _as_a_downloads(directory)
        known = {url for url in urls if already_listed(url, folder, in_list)}
        if self.backlog is not None:  # the command line's, still being queued
            known |= self.backlog.pending(urls, folder)
        repeated = [url for url in urls if url in known]
        if not repeated:
            return urls
        fresh = tuple(url for url in urls if url not in known)
        what = (
            f"“{inert(repeated[0])}” is"  # inert also masks a password
            if len(repeated) == 1
            else f"{len(repeated)} of these URLs are"
        )
        again = await self.ctx.app.push_screen_wait(
            ConfirmDialog(
                "Already in the list",
                f"{what} already in the list (queued or done). Download again?",
                yes="Download again",
                no="Skip" if fresh else "Add nothing",
                danger=False,
            )
        )
        return urls if again else fresh


def _again(request: AddRequest, error: str) -> AddDialog:
    return AddDialog(
        request.directory,
        text="\n".join(request.urls),
        name=request.name or "",
        paused=request.paused,
        connections=request.connections or 1,
        checksum="=".join(request.checksum) if request.checksum else "",
        error=error,
    )


def _as_a_downloads(directory: Path) -> Path:
    """A folder as a download's is written (`check_directory`), to compare with it."""
    return directory.expanduser().absolute()
