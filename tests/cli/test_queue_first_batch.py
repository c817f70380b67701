"""A long list: the first downloads start before the rest of it is queued and saved.

Queueing a thousand URLs writes a thousand rows to the state file; the first requests must
not wait for that (the latency benchmark: 20 ms a request, where start-up is the loss).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from faultserver import FaultServer

from afetch_tui.cli import get_parser
from afetch_tui.config import QUEUE_BATCH, build_config, queue_entries
from afetch_tui.engine import Added, DownloadManager, State, StateChanged, Store


async def test_the_first_downloads_start_before_the_rest_of_a_long_list_is_queued(
    server: FaultServer, tmp_path: Path
) -> None:
    url = server.add_file("/f.bin", b"x" * 1024)
    urls = [f"{url}?{n}" for n in range(QUEUE_BATCH)]  # one batch of the queue, before
    (tmp_path / "list.txt").write_text("".join(f"{u}\n" for u in urls))
    args = get_parser().parse_args(
        ["-j2", "-q", "--no-fsync", "-d", str(tmp_path / "out"), "-i", str(tmp_path / "list.txt")]
    )
    config = build_config(args, need_urls=True)
    store = await Store.open(tmp_path / "state.db")
    manager = DownloadManager(
        config.directory, limits=config.limits, options=config.options, store=store
    )
    events = manager.subscribe(lossless=True, kinds=(Added, StateChanged))
    try:
        await manager.start()
        await queue_entries(manager, config)
        await asyncio.sleep(0.05)  # whatever queueing started gets going
        order = events.drain()
    finally:
        await manager.close()
        await store.close()
    added = [e.download.id for e in order if isinstance(e, Added)]
    connecting = [
        i
        for i, e in enumerate(order)
        if isinstance(e, StateChanged) and e.state is State.CONNECTING
    ]
    last_added = max(i for i, e in enumerate(order) if isinstance(e, Added))
    assert len(added) == QUEUE_BATCH
    assert connecting, "nothing started"
    # The first two went out while the other 998 were being queued and written.
    assert connecting[0] < last_added
    assert connecting[0] < 10


async def test_the_same_list_again_queues_only_what_is_not_in_the_list(
    server: FaultServer, tmp_path: Path
) -> None:
    """The dashboard started again with the same -i list: what is in the list already, in
    any state, is not queued again (in the walk, 1000 URLs became 2003 downloads and 390
    files were fetched again as 'name (1).bin'); a new URL of the list still is."""
    url = server.add_file("/f.bin", b"x" * 1024)
    urls = [f"{url}?{n}" for n in range(5)]
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{u}\n" for u in urls[:4]))

    async def start_with_the_list(folder: str = "out") -> tuple[int, list[str]]:
        args = get_parser().parse_args(["-q", "-d", str(tmp_path / folder), "-i", str(listing)])
        config = build_config(args, need_urls=True)
        store = await Store.open(tmp_path / "state.db")
        manager = DownloadManager(config.directory, options=config.options, store=store)
        try:
            await manager.start()
            left_out = await queue_entries(manager, config, skip_listed=True)
            await manager.wait()
            return left_out, [d.url for d in manager.downloads()]
        finally:
            await manager.close()
            await store.close()

    assert await start_with_the_list() == (0, urls[:4])
    listing.write_text("".join(f"{u}\n" for u in urls))  # the same list, and one more
    left_out, listed = await start_with_the_list()
    assert left_out == 4
    assert listed == urls
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert files == {"f.bin"} | {f"f ({n}).bin" for n in range(1, 5)}  # five URLs, no more
    left_out, listed = await start_with_the_list("elsewhere")  # another folder: all again
    assert left_out == 0 and len(listed) == 10
