"""The FaultServer's scripted mode does what each step says, checked with a plain client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from faultscript import Replace, ScriptOptions, Step
from faultserver import FaultServer
from multidict import CIMultiDict

DATA = bytes(range(256)) * 400  # 102400 bytes


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def get(
    client: aiohttp.ClientSession, url: str, **headers: str
) -> tuple[int, CIMultiDict[str], bytes | str]:
    """(status, headers, body), or the body as the name of the error that ended it."""
    async with client.get(url, headers=headers) as response:
        try:
            body: bytes | str = await response.read()
        except aiohttp.ClientError as exc:
            body = type(exc).__name__
        return response.status, response.headers.copy(), body


async def test_plan_is_followed_in_order_then_the_file_behaves(
    server: FaultServer, client: aiohttp.ClientSession
) -> None:
    plan = [Step(status=503, retry_after="7"), Step(cut=0.5), Step(ignore_range=True)]
    url = server.add_scripted("/f", DATA, plan)
    status, headers, _ = await get(client, url)
    assert (status, headers["Retry-After"]) == (503, "7")
    assert (await get(client, url))[2] == "ClientPayloadError"
    status, _, body = await get(client, url, Range="bytes=100-")
    assert (status, body) == (200, DATA)
    status, headers, body = await get(client, url, Range="bytes=100-")
    assert (status, headers["Content-Range"], body) == (206, "bytes 100-102399/102400", DATA[100:])
    assert [r.status for r in server.requests_for("/f")] == [503, 200, 200, 206]


async def test_if_range_follows_the_current_version(
    server: FaultServer, client: aiohttp.ClientSession
) -> None:
    url = server.add_scripted("/f", DATA, [Step(), Step(replace=Replace("tail", at=0.5))])
    _, headers, _ = await get(client, url)
    status, _, body = await get(client, url, Range="bytes=10-", **{"If-Range": headers["ETag"]})
    old, new = server.versions("/f")
    assert (old, new[:51200]) == (DATA, DATA[:51200]) and new != DATA
    assert (status, body) == (200, new)  # the ETag changed with the entity
    lm = ScriptOptions(etag=None)
    url = server.add_scripted("/g", DATA, [], lm)
    _, headers, _ = await get(client, url)
    assert "ETag" not in headers
    date = headers["Last-Modified"]
    status, _, body = await get(client, url, Range="bytes=10-", **{"If-Range": date})
    assert (status, body) == (206, DATA[10:])


@pytest.mark.parametrize(
    ("step", "content_range", "body"),
    [
        (Step(content_range="shift"), "bytes 0-102399/102400", DATA),
        (Step(content_range="end"), "bytes 100-102398/102400", DATA[100:-1]),
        (Step(content_range="total"), "bytes 100-102399/102401", DATA[100:]),
        (Step(content_range="star"), "bytes 100-102399/*", DATA[100:]),
        (Step(content_range="missing"), None, DATA[100:]),
        (Step(length_delta=-10), "bytes 100-102399/102400", DATA[100:-10]),
        (Step(length_delta=10), "bytes 100-102399/102400", "ClientPayloadError"),
        (Step(framing="close", cut=0.5), "bytes 100-102399/102400", DATA[100:51250]),
        (Step(framing="chunked", cut=0.5), "bytes 100-102399/102400", "ClientPayloadError"),
    ],
)
async def test_partial_answers(
    server: FaultServer,
    client: aiohttp.ClientSession,
    step: Step,
    content_range: str | None,
    body: bytes | str,
) -> None:
    url = server.add_scripted("/f", DATA, [step])
    status, headers, got = await get(client, url, Range="bytes=100-")
    assert (status, headers.get("Content-Range"), got) == (206, content_range, body)


async def test_resets_and_raw_header_bytes(
    server: FaultServer, client: aiohttp.ClientSession
) -> None:
    plan = [Step(reset=True), Step(reset=True), Step(status=429, retry_after="²")]
    url = server.add_scripted("/f", DATA, plan)
    with pytest.raises(aiohttp.ClientOSError):  # aiohttp itself retries a reset request once
        await get(client, url)
    assert len(server.requests_for("/f")) == 2
    status, headers, _ = await get(client, url)
    assert (status, headers["Retry-After"]) == (429, "²")
    odd = ScriptOptions(content_disposition='attachment; filename="\x1bx"')
    url = server.add_scripted("/g", DATA, [], odd)
    status, headers, body = await get(client, url)
    assert (status, headers["Content-Disposition"], body) == (200, odd.content_disposition, DATA)
