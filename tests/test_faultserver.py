"""The fault server does what each mode promises, checked with a plain aiohttp client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from faultserver import FaultServer
from multidict import CIMultiDict

Payload = Callable[..., bytes]


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def fetch(
    client: aiohttp.ClientSession, url: str, **headers: str
) -> tuple[int, CIMultiDict[str], bytes]:
    async with client.get(url, headers=headers) as resp:
        return resp.status, resp.headers.copy(), await resp.read()


async def read_until_error(client: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    """Read a body that must end early; return (announced length, bytes received)."""
    got = bytearray()
    async with client.get(url) as resp:
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in resp.content.iter_any():
                got += chunk
        return resp.content_length or -1, bytes(got)


# ------------------------------------------------------------------ basics and ranges


async def test_full_get_has_validators_and_length(server: FaultServer, client, payload) -> None:
    data = payload(1000)
    url = server.add_file("/a.bin", data)
    assert url.startswith("http://127.0.0.1:")
    status, headers, body = await fetch(client, url)
    assert (status, body) == (200, data)
    entity = server.entity("/a.bin")
    assert headers["ETag"] == entity.etag and entity.etag.startswith('"')
    assert headers["Last-Modified"] == entity.last_modified
    assert headers["Content-Length"] == "1000"
    assert headers["Accept-Ranges"] == "bytes"
    await server.wait_for(lambda: server.requests[0].finished is not None)
    [record] = server.requests
    assert (record.path, record.method, record.status, record.bytes_sent) == (
        "/a.bin",
        "GET",
        200,
        1000,
    )
    assert record.finished is not None and not record.aborted_by_client


async def test_validators_can_be_turned_off(server: FaultServer, client, payload) -> None:
    url = server.add_file("/a", payload(10), etag=False, last_modified=False)
    _, headers, _ = await fetch(client, url)
    assert "ETag" not in headers and "Last-Modified" not in headers


async def test_ranges(server: FaultServer, client, payload) -> None:
    data = payload(1000)
    url = server.add_file("/a", data)
    status, headers, body = await fetch(client, url, Range="bytes=100-")
    assert (status, headers["Content-Range"], body) == (206, "bytes 100-999/1000", data[100:])
    status, headers, body = await fetch(client, url, Range="bytes=10-19")
    assert (status, headers["Content-Range"], body) == (206, "bytes 10-19/1000", data[10:20])
    status, headers, body = await fetch(client, url, Range="bytes=-5")
    assert (status, headers["Content-Range"], body) == (206, "bytes 995-999/1000", data[-5:])
    status, headers, _ = await fetch(client, url, Range="bytes=1000-")
    assert (status, headers["Content-Range"]) == (416, "bytes */1000")


async def test_if_range(server: FaultServer, client, payload) -> None:
    data = payload(500)
    url = server.add_file("/a", data)
    entity = server.entity("/a")
    ok = {"Range": "bytes=100-"}
    assert (await fetch(client, url, **ok, **{"If-Range": entity.etag}))[0] == 206
    assert (await fetch(client, url, **ok, **{"If-Range": entity.last_modified}))[0] == 206
    status, _, body = await fetch(client, url, **ok, **{"If-Range": '"other"'})
    assert (status, body) == (200, data)
    old_date = "Sun, 01 Jan 2023 00:00:00 GMT"
    assert (await fetch(client, url, **ok, **{"If-Range": old_date}))[0] == 200


async def test_head_has_headers_and_counts_nothing(server: FaultServer, client, payload) -> None:
    url = server.add_file("/a", payload(300), statuses=[503])
    async with client.head(url) as resp:
        assert resp.status == 200 and resp.headers["Content-Length"] == "300"
    assert (await fetch(client, url))[0] == 503
    assert server.bytes_served("/a") == 0


async def test_chunked_has_no_content_length(server: FaultServer, client, payload) -> None:
    data = payload(300_000)
    url = server.add_file("/a", data, chunked=True)
    status, headers, body = await fetch(client, url)
    assert (status, body) == (200, data)
    assert "Content-Length" not in headers and headers["Transfer-Encoding"] == "chunked"


async def test_content_disposition_verbatim(server: FaultServer, client, payload) -> None:
    value = "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    url = server.add_file("/a", payload(10), content_disposition=value)
    assert (await fetch(client, url))[1]["Content-Disposition"] == value


async def test_large_file_is_fast(server: FaultServer, client, payload) -> None:
    data = payload(32 * 1024 * 1024)
    url = server.add_file("/big", data)
    began = time.monotonic()
    assert (await fetch(client, url))[2] == data
    assert time.monotonic() - began < 2.0


# ----------------------------------------------------------------------- fault modes


async def test_ignore_range_limited_times(server: FaultServer, client, payload) -> None:
    data = payload(1000)
    url = server.add_file("/a", data, ignore_range=True, ignore_range_times=1)
    status, _, body = await fetch(client, url, Range="bytes=100-")
    assert (status, body) == (200, data)
    assert (await fetch(client, url, Range="bytes=100-"))[0] == 206
    always = server.add_file("/b", data, ignore_range=True)
    status, headers, _ = await fetch(client, always, Range="bytes=100-")
    assert status == 200 and "Accept-Ranges" not in headers


async def test_drop_after(server: FaultServer, client, payload) -> None:
    data = payload(400_000)
    url = server.add_file("/a", data, drop_after=150_000, drop_times=1)
    length, got = await read_until_error(client, url)
    assert length == 400_000 and got == data[:150_000]
    assert (await fetch(client, url))[2] == data
    first = server.requests[0]
    assert first.aborted_by_server and not first.aborted_by_client
    assert first.bytes_sent == 150_000 and first.faults == ["drop"]


async def test_stall_then_resume_sending(server: FaultServer, client, payload) -> None:
    data = payload(5000)
    url = server.add_file("/a", data, stall_after=1000, stall_seconds=0.4)
    async with client.get(url) as resp:
        assert await resp.content.readexactly(1000) == data[:1000]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(resp.content.read(1), 0.15)
        assert await resp.read() == data[1000:]  # the timed-out read took nothing


async def test_stall_noticed_when_client_leaves(server: FaultServer, client, payload) -> None:
    url = server.add_file("/a", payload(5000), stall_after=1000)
    async with client.get(url) as resp:
        await resp.content.readexactly(1000)
        resp.close()
    await server.wait_for(lambda: server.requests[0].aborted_by_client, 2)
    assert server.active() == 0


async def test_lie_length(server: FaultServer, client, payload) -> None:
    data = payload(1000)
    url = server.add_file("/a", data, lie_length=500)
    for _ in range(2):
        length, got = await read_until_error(client, url)
        assert (length, got) == (1500, data)


async def test_change_after(server: FaultServer, client, payload) -> None:
    old, new = payload(1000, seed=1), payload(1200, seed=2)
    url = server.add_file("/a", old, change_after=1, new_data=new)
    _, first, body = await fetch(client, url)
    assert body == old
    extra = {"Range": "bytes=100-", "If-Range": first["ETag"]}
    status, second, body = await fetch(client, url, **extra)
    assert (status, body) == (200, new)
    assert second["ETag"] != first["ETag"]
    assert second["Last-Modified"] != first["Last-Modified"]


async def test_wrong_content_range(server: FaultServer, client, payload) -> None:
    data = payload(1000)
    url = server.add_file("/a", data, wrong_content_range=True, wrong_content_range_times=1)
    status, headers, body = await fetch(client, url, Range="bytes=100-")
    assert (status, headers["Content-Range"], body) == (206, "bytes 0-999/1000", data)
    assert (await fetch(client, url, Range="bytes=100-"))[1]["Content-Range"] == (
        "bytes 100-999/1000"
    )
    total = server.add_file("/b", data, wrong_content_range="total")
    assert (await fetch(client, total, Range="bytes=100-"))[1]["Content-Range"] == (
        "bytes 100-999/1001"
    )


async def test_statuses_then_normal_service(server: FaultServer, client, payload) -> None:
    data = payload(100)
    url = server.add_file("/a", data, statuses=[503, 429, 200, 500], retry_after="2")
    seen = []
    for _ in range(5):
        async with client.get(url) as resp:
            seen.append((resp.status, resp.headers.get("Retry-After")))
            body = await resp.read()
    assert seen == [(503, "2"), (429, "2"), (200, None), (500, None), (200, None)]
    assert body == data


async def test_rate_is_accurate(server: FaultServer, client, payload) -> None:
    data = payload(100_000)
    url = server.add_file("/a", data, rate=200_000)
    began = time.monotonic()
    assert (await fetch(client, url))[2] == data
    assert 0.45 <= time.monotonic() - began < 0.7


async def test_delay_before_headers(server: FaultServer, client, payload) -> None:
    url = server.add_file("/a", payload(10), delay=0.3, delay_times=1)
    began = time.monotonic()
    await fetch(client, url)
    assert time.monotonic() - began >= 0.3
    began = time.monotonic()
    await fetch(client, url)
    assert time.monotonic() - began < 0.2


# ------------------------------------------------------------ redirects and statuses


async def test_redirects(server: FaultServer, client, payload) -> None:
    data = payload(10)
    server.add_file("/real", data)
    url = server.add_redirect("/go", "/real")
    assert (await fetch(client, url))[2] == data
    async with client.get(url, allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"] == server.url("/real")
    server.add_redirect("/x", "/y", status=301)
    loop = server.add_redirect("/y", "/x")
    with pytest.raises(aiohttp.TooManyRedirects):
        await fetch(client, loop)


async def test_fixed_status(server: FaultServer, client) -> None:
    assert (await fetch(client, server.add_status("/gone", 404)))[0] == 404
    status, headers, _ = await fetch(client, server.add_status("/busy", 503, retry_after="7"))
    assert (status, headers["Retry-After"]) == (503, "7")
    assert (await fetch(client, server.url("/nothing")))[0] == 404


# ------------------------------------------------------------------ instrumentation


async def test_concurrency_and_bytes(server: FaultServer, client, payload) -> None:
    data = payload(20_000)
    urls = [server.add_file(f"/p/{i}", data, rate=100_000) for i in range(3)]
    urls.append(server.add_file("/q", data, rate=100_000))
    results = await asyncio.gather(*(fetch(client, u) for u in urls))
    assert all(body == data for _, _, body in results)
    assert server.max_concurrent() == 4
    assert server.max_concurrent("/p/") == 3
    await server.wait_for(lambda: server.active() == 0, 1)  # the server thread may lag a bit
    assert server.bytes_served("/q") == 20_000 and server.bytes_served() == 80_000


async def test_client_abort_mid_body_is_recorded(server: FaultServer, client, payload) -> None:
    url = server.add_file("/a", payload(1_000_000), rate=500_000)
    async with client.get(url) as resp:
        await resp.content.readexactly(10_000)
        resp.close()
    await server.wait_for(lambda: server.requests[0].finished is not None, 2)
    record = server.requests[0]
    assert record.aborted_by_client and not record.aborted_by_server
    assert record.bytes_sent < 1_000_000


async def test_stop_is_quick_with_stalled_connection(client, payload) -> None:
    srv = FaultServer().start()
    url = srv.add_file("/a", payload(5000), stall_after=10)
    async with client.get(url) as resp:
        await resp.content.readexactly(10)
        began = time.monotonic()
        srv.stop()
        assert time.monotonic() - began < 1.0
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
