"""What a front end may ask of "a download manager", wherever its engine runs.

`DownloadManager` (in this process) and the control client's ``RemoteManager`` (in
another afetch, over its socket) both implement `Manager`; the dashboard is written against
this protocol only, so no widget knows or asks where the downloads actually run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from afetch_tui.engine.events import DownloadSnapshot, HostSnapshot, Limits
from afetch_tui.engine.harvest import Link
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.spec import Defaults, DownloadSpec
from afetch_tui.engine.subscription import Subscription


class Manager(Protocol):
    """Snapshots are read synchronously; commands are coroutines that raise `InputError`
    (an `AfetchError`) for bad input or an unknown id."""

    directory: Path
    options: ManagerOptions

    @property
    def owner(self) -> str | None:
        """None when this process runs the downloads; else who does (``afetch serve (pid
        4711)``), whose downloads go on after this front end quits."""

    # -- reading ---------------------------------------------------------------------------

    @property
    def limits(self) -> Limits: ...

    @property
    def defaults(self) -> Defaults: ...

    def downloads(self) -> list[DownloadSnapshot]: ...

    def download(self, download_id: int) -> DownloadSnapshot: ...

    def hosts(self) -> list[HostSnapshot]: ...

    @property
    def speed(self) -> float: ...

    def subscribe(self, maxsize: int = 10_000) -> Subscription: ...

    @property
    def on_complete(self) -> tuple[tuple[str, ...] | None, float]: ...

    @property
    def hook_failures(self) -> frozenset[int]: ...

    # -- commands --------------------------------------------------------------------------

    async def add_many(self, spec: DownloadSpec) -> list[int]: ...

    async def pause(self, download_id: int) -> None: ...

    async def resume(self, download_id: int) -> None: ...

    async def retry(self, download_id: int) -> None: ...

    async def cancel(self, download_id: int) -> None: ...

    async def remove(self, download_id: int, *, delete_file: bool = False) -> None: ...

    async def move(self, download_id: int, offset: int) -> None: ...

    async def pause_all(self) -> None: ...

    async def resume_all(self) -> None: ...

    async def clear_finished(self) -> list[int]: ...

    async def replace_url(self, download_id: int, url: str) -> None: ...

    async def set_limits(self, limits: Limits) -> Limits: ...

    async def set_defaults(self, defaults: Defaults) -> Defaults: ...

    async def set_host_limit(self, host: str, rate: float | None) -> None: ...

    async def set_download_limit(self, download_id: int, rate: float | None) -> None: ...

    def set_on_complete(
        self, command: tuple[str, ...] | None, time_limit: float = 60.0
    ) -> None: ...

    async def harvest(
        self,
        page_url: str,
        *,
        match: str | None = None,
        same_host: bool | None = None,
        max_bytes: int = ...,
        headers: Mapping[str, str] | None = None,
    ) -> list[Link]: ...

    async def probe_sizes(
        self, urls: Iterable[str], *, headers: Mapping[str, str] | None = None
    ) -> dict[str, int | None]: ...
