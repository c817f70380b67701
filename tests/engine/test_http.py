"""The response rules (`afetch_tui.engine.http`): one Content-Range parser, one 206 validator,
one error mapping, used by whole-file, ranged and page fetches alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from afetch_tui.engine.errors import PageError
from afetch_tui.engine.events import State
from afetch_tui.engine.http import ContentRange, parse_content_range
from afetch_tui.engine.name_rules import PART_SUFFIX
from afetch_tui.engine.retry import parse_retry_after
from afetch_tui.format import size

MIB = 1024 * 1024
SIZE = MIB  # above SMALL_BODY: streamed, so a cut leaves bytes to resume from
CUT = 300_000


def gets(server, path: str):
    return server.requests_for(path, "GET")


def assert_exact(directory: Path, name: str, expected: bytes) -> None:
    assert (directory / name).read_bytes() == expected
    assert not list(directory.glob(f"*{PART_SUFFIX}"))


# ------------------------------------------------------------------ the parsers


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("bytes 0-9/10", ContentRange(0, 9, 10)),
        ("BYTES  5-9/*", ContentRange(5, 9, None)),
        ("bytes */1234", ContentRange(None, None, 1234)),
        ("bytes */*", None),
        ("bytes 9-5/10", None),  # last before first
        ("bytes 0-10/10", None),  # last beyond the total
        ("bytes \u0660-\u0669/\u0661\u0660", None),  # non-ASCII digits are not digits here
        ("items 0-9/10", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_content_range(value, parsed):
    assert parse_content_range(value) == parsed


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0660", "1e3", "-5", " "])
def test_retry_after_takes_only_ascii_seconds_or_a_date(value):
    assert parse_retry_after(value, 0.0) is None


def test_retry_after_seconds_and_date():
    assert parse_retry_after(" 7 ", 0.0) == 7.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", 0.0) == 60.0


# --------------------------------------------------------- the partial-answer rule


async def test_206_without_the_validators_we_hold_restarts(
    server, payload, manager, fetch, tmp_path
):
    """One rule for whole-file and ranged resumes: a validator we hold but the 206 lacks
    is doubt, and doubt restarts from zero (the old whole-file check tolerated it)."""
    data = payload(SIZE, seed=11)
    url = server.add_file(
        "/nv.bin", data, drop_after=CUT, drop_times=1, partial_without_validators=True
    )

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path, "nv.bin", data)
    ranges = [r.header("Range") for r in gets(server, "/nv.bin")]
    assert ranges == [None, f"bytes={CUT}-", None]
    assert any("changed since the last attempt" in e.message for e in snap.log)


async def test_total_learnt_from_content_range_must_be_reached(
    server, payload, manager, fetch, tmp_path
):
    """A chunked first answer (no length) cut short, then a 206 ``bytes N-M/T`` without
    Content-Length that closes early: the total T is known, so the short file is a
    truncation, never 'completed'."""
    data = payload(SIZE, seed=12)
    url = server.add_file(
        "/cr.bin",
        data,
        chunked=True,
        range_close_delimited=True,
        drop_plan=[CUT, 200_000],
    )

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path, "cr.bin", data)
    assert snap.total == SIZE
    ranges = [r.header("Range") for r in gets(server, "/cr.bin")]
    assert ranges == [None, f"bytes={CUT}-", f"bytes={CUT + 200_000}-"]


async def test_short_206_during_the_overlap_check_is_retried(
    server, payload, manager, fetch, tmp_path
):
    """No validator: the resume re-reads the last 64 KiB to compare; a 206 that ends
    inside them (here one delimited by the connection closing) is a truncated answer,
    retried, not an internal error."""
    data = payload(SIZE, seed=13)
    url = server.add_file(
        "/ov.bin",
        data,
        etag=False,
        last_modified=False,
        range_close_delimited=True,
        drop_plan=[CUT, 1000],
    )

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path, "ov.bin", data)
    assert snap.retries == 2
    assert not any("internal error" in e.message for e in snap.log)


# ------------------------------------------------------------------ error mapping


async def test_page_connection_refused_reads_like_a_download(manager, closed_port):
    port = closed_port

    with pytest.raises(
        PageError, match=rf"cannot connect to 127\.0\.0\.1:{port}: Connection refused"
    ):
        await manager.harvest(f"http://127.0.0.1:{port}/index.html")


async def test_redirect_to_a_closed_port_names_the_host_tried(
    server, make_manager, fetch, closed_port
):
    port = closed_port
    url = server.add_redirect("/away.bin", f"http://127.0.0.1:{port}/x.bin")
    manager = await make_manager(retries=0)

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    assert snap.error == f"cannot connect to 127.0.0.1:{port}: Connection refused"


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:,hi"])
async def test_redirect_to_another_scheme_is_a_permanent_clear_failure(
    server, manager, fetch, tmp_path, location
):
    url = server.add_location("/elsewhere.bin", location)

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    assert snap.retries == 0
    scheme = location.partition(":")[0]
    assert snap.error is not None
    assert f"redirected to a {scheme}: URL" in snap.error
    assert "only http and https" in snap.error
    assert len(gets(server, "/elsewhere.bin")) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "answer",
    [b"HTTP/1.1 2x0 Nope\r\n\r\n", b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n"],
)
async def test_a_response_aiohttp_cannot_parse_is_a_protocol_error(
    server, make_manager, fetch, answer
):
    url = server.add_bytes("/garbled.bin", answer)
    manager = await make_manager(retries=0)

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    assert snap.error is not None
    assert snap.error.startswith(f"protocol error from 127.0.0.1:{server.port}: ")
    reason = snap.error.removeprefix(f"protocol error from 127.0.0.1:{server.port}: ")
    # Not aiohttp's "400, message=..." (the port itself may hold the digits 400).
    assert not re.search(r"\b400\b", reason)


async def test_non_ascii_retry_after_is_not_an_internal_error(server, make_manager, fetch):
    url = server.add_status("/later.bin", 503, retry_after="²")
    manager = await make_manager(retries=1)

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    assert snap.error is not None
    assert snap.error.startswith("503 Service Unavailable from ")
    assert snap.retries == 1


async def test_a_truncated_small_body_says_how_much_arrived(server, payload, manager, fetch):
    data = payload(100 * 1024, seed=14)  # read whole (SMALL_BODY), never streamed
    url = server.add_file("/small.bin", data, drop_after=30_000, drop_times=1)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    cut = next(e.message for e in snap.log if "closed early" in e.message)
    assert f"after {size(30_000)} of {size(len(data))}" in cut
