"""Add from page: read a page's links, see their sizes, tick the ones to queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from afetch_tui.engine import InputError, host_of
from afetch_tui.ui.elide import truncate_middle
from afetch_tui.ui.format import human_size
from afetch_tui.ui.screens.dialog import Dialog
from afetch_tui.ui.style import DIM, ERROR, GOOD

if TYPE_CHECKING:
    from afetch_tui.engine import Link, Manager

NAME_WIDTH = 44


@dataclass(frozen=True, slots=True)
class HarvestResult:
    """The links the user ticked, in page order."""

    urls: tuple[str, ...]
    paused: bool = False


def link_prompt(
    link: Link,
    size: int | None,
    *,
    probing: bool = False,
    width: int = NAME_WIDTH,
    page_host: str = "",
    ticked: bool = True,
) -> Text:
    """One row of the list: a tick (readable without colour), file name, size, and the
    host when it is not the page's."""
    name = link.name or link.shown_url
    text = Text("✓ " if ticked else "  ", style="bold green")
    text.append(f"{truncate_middle(name, width):<{width}} ", style="bold" if ticked else DIM)
    if probing:
        text.append(f"{'…':>10}", style=DIM)
    else:
        text.append(f"{human_size(size) if size is not None else '?':>10}")
    if link.host != page_host:
        text.append(f"  {link.host}", style=DIM)
    return text


def one_line(message: str) -> str:
    """An engine message for the dialog: its first line, without advice on CLI flags."""
    return message.splitlines()[0].split("; --", 1)[0] if message else "failed"


class HarvestDialog(Dialog[HarvestResult | None]):
    """Page URL, match pattern and host filter → the page's links with sizes → ticks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "queue", "Queue", id="afetch.harvest.queue"),
    ]

    def __init__(self, manager: Manager, *, page: str = "", match: str = "") -> None:
        super().__init__()
        self._manager = manager
        self._page = page
        self._match = match
        self._links: list[Link] = []
        self._sizes: dict[str, int | None] = {}
        self._look: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="harvest-dialog") as box:
            box.border_title = "Add from page"
            with Horizontal(classes="field"):
                yield Label("Page", classes="field-label")
                yield Input(
                    self._page, id="page", placeholder="https://mirror.example/pub/", compact=True
                )
            with Horizontal(classes="field"):
                yield Label("Match", classes="field-label")
                yield Input(
                    self._match,
                    id="match",
                    placeholder="*.iso, */stable/*, re:REGEX · empty: every link",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("", classes="field-label")
                yield Checkbox("Same host only", True, id="same_host", compact=True)
                yield Static("", classes="hint")
                yield Button("Find links", id="find", variant="primary", compact=True)
            yield Static(Text("Enter a page, then Find links.", style=DIM), id="harvest-status")
            yield SelectionList[str](id="links")
            with Horizontal(classes="buttons"):
                yield Button("All", id="all", compact=True)
                yield Button("None", id="none", compact=True)
                yield Checkbox("Paused", False, id="paused", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Queue", id="queue", variant="primary", disabled=True, compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#page", Input).focus()
        self.query_one("#links", SelectionList).display = False

    # -- finding ---------------------------------------------------------------------

    @on(Button.Pressed, "#find")
    @on(Input.Submitted, "#page, #match")
    def find(self) -> None:
        """Read the page (again) with the current filters."""
        page = self.query_one("#page", Input).value.strip()
        if not page:
            self._status(Text("✗ enter the page's URL", style=ERROR))
            return
        match = self.query_one("#match", Input).value.strip() or None
        same_host = True if self.query_one("#same_host", Checkbox).value else None
        self._status(Text(f"Reading {page} …", style=DIM))
        self._harvest(page, match, same_host)

    @work(exclusive=True, exit_on_error=False, group="harvest")
    async def _harvest(self, page: str, match: str | None, same_host: bool | None) -> None:
        links_widget = self.query_one("#links", SelectionList)
        try:
            links = await self._manager.harvest(page, match=match, same_host=same_host)
        except (InputError, OSError) as exc:
            self._links = []
            links_widget.clear_options()
            links_widget.display = False
            self._status(Text(f"✗ {one_line(str(exc))}", style=ERROR))
            self._update_queue_button()
            return
        self._links = links
        self._sizes = {}
        look = self._look = {
            "width": max(16, min(60, self.query_one("#dialog").content_size.width - 38)),
            "page_host": host_of(page),
        }
        links_widget.clear_options()
        links_widget.add_options(
            Selection(link_prompt(link, None, probing=True, **look), link.url, True, id=f"link-{n}")
            for n, link in enumerate(links)
        )
        links_widget.display = bool(links)
        if not links:
            self._status(Text("✗ no link on that page matches", style=ERROR))
            self._update_queue_button()
            return
        self._update_queue_button()
        links_widget.focus()  # ready to tick and untick with space
        self._status(Text(f"{len(links)} links · asking for their sizes …", style=DIM))
        self._sizes = await self._manager.probe_sizes(link.url for link in links)
        self._redraw_ticks()
        self._update_queue_button()

    def _status(self, text: Text) -> None:
        self.query_one("#harvest-status", Static).update(text)

    # -- choosing --------------------------------------------------------------------

    @on(SelectionList.SelectedChanged)
    def _ticks_changed(self) -> None:
        self._redraw_ticks()
        self._update_queue_button()

    def _redraw_ticks(self) -> None:
        links_widget = self.query_one("#links", SelectionList)
        chosen = set(links_widget.selected)
        for n, link in enumerate(self._links):
            prompt = link_prompt(
                link,
                self._sizes.get(link.url),
                probing=link.url not in self._sizes,
                ticked=link.url in chosen,
                **self._look,
            )
            links_widget.replace_option_prompt(f"link-{n}", prompt)

    def _update_queue_button(self) -> None:
        chosen = self.query_one("#links", SelectionList).selected
        button = self.query_one("#queue", Button)
        button.disabled = not chosen
        button.label = f"Queue {len(chosen)}" if chosen else "Queue"
        if self._links:
            known = [self._sizes.get(url) for url in chosen]
            total = sum(size for size in known if size is not None)
            status = Text(f"{len(chosen)} of {len(self._links)} links ticked", style=GOOD)
            if self._sizes:
                unknown = sum(1 for size in known if size is None)
                status.append(f" · {human_size(total)}", style="")
                if unknown:
                    status.append(f" + {unknown} of unknown size", style=DIM)
            else:
                status.append(" · asking for their sizes …", style=DIM)
            self._status(status)

    @on(Button.Pressed, "#all")
    def _all(self) -> None:
        self.query_one("#links", SelectionList).select_all()

    @on(Button.Pressed, "#none")
    def _none(self) -> None:
        self.query_one("#links", SelectionList).deselect_all()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#queue")
    def action_queue(self) -> None:
        chosen = set(self.query_one("#links", SelectionList).selected)
        urls = tuple(link.url for link in self._links if link.url in chosen)
        if urls:
            paused = self.query_one("#paused", Checkbox).value
            self.dismiss(HarvestResult(urls, paused=paused))
