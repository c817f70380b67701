"""The HTTP client on its own: what ``afetch get --from-page`` reads a page with."""

from __future__ import annotations

import time

import pytest
from faultserver import FaultServer

from afetch_tui.engine.client import Client
from afetch_tui.engine.errors import InputError, PageError
from afetch_tui.engine.events import Limits
from afetch_tui.engine.options import ManagerOptions

PAGE = b'<a href="a.iso">a</a> <a href="b.txt">b</a>'


async def test_a_page_is_read_with_the_options_headers_and_paced_by_the_limits(
    server: FaultServer,
) -> None:
    url = server.add_file("/index.html", PAGE, content_type="text/html")
    options = ManagerOptions(user_agent="afetch-test/1", headers={"X-Token": "t"})
    started = time.monotonic()
    async with Client(options, limits=Limits(host_request_rate=10.0)) as client:
        for _ in range(3):
            links = await client.harvest(url, match="*.iso")
            assert [link.url for link in links] == [server.url("/a.iso")]
    # One request at once, then one every 0.1 s: the host's request rate applies.
    assert time.monotonic() - started >= 0.18
    (first, *_) = server.requests_for("/index.html")
    assert first.header("User-Agent") == "afetch-test/1"
    assert first.header("X-Token") == "t"
    assert first.header("Accept-Encoding") == "gzip, deflate"


async def test_a_page_that_cannot_be_read_is_a_page_error(server: FaultServer) -> None:
    async with Client(ManagerOptions()) as client:
        with pytest.raises(PageError, match="404"):
            await client.harvest(server.url("/missing.html"))
        with pytest.raises(InputError):
            await client.harvest("ftp://example.invalid/")


async def test_a_client_not_started_has_no_session() -> None:
    client = Client(ManagerOptions())
    with pytest.raises(InputError):
        client.session  # noqa: B018
    await client.start()
    try:
        assert client.started and not client.session.closed
    finally:
        await client.close()
    assert not client.started


def test_a_file_is_asked_for_uncompressed_and_closed_when_told() -> None:
    client = Client(ManagerOptions(user_agent="ua", headers={"X-A": "1"}))
    assert client.file_headers({"X-B": "2"}, close=False) == {
        "Accept-Encoding": "identity",
        "User-Agent": "ua",
        "X-A": "1",
        "X-B": "2",
    }
    assert client.file_headers({}, close=True)["Connection"] == "close"
