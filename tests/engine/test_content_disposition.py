"""Content-Disposition as RFC 6266 and the tc2231 cases read it, header bytes included."""

from __future__ import annotations

import os

import pytest

from afetch_tui.engine.events import State
from afetch_tui.engine.name_rules import choose_name, filename_from_content_disposition

URL = "http://h/from-url.html"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # tc2231 attwithisofnplain: the header's bytes are ISO-8859-1 (aiohttp hands the
        # byte 0xE4 over as the surrogate U+DCE4)
        (b'attachment; filename="foo-\xe4.html"', "foo-ä.html"),
        # UTF-8 bytes in a plain filename are read as UTF-8
        (b'attachment; filename="foo-\xc3\xa4.html"', "foo-ä.html"),
        # tc2231 attwithfn2231iso: ISO-8859-1 percent-encoded
        (b"attachment; filename*=iso-8859-1''foo-%E4.html", "foo-ä.html"),
        # tc2231 attwithfn2231utf8
        (b"attachment; filename*=UTF-8''foo-%c3%a4-%e2%82%ac.html", "foo-ä-€.html"),
        # tc2231 attwithfn2231iso-bad: %82 is not ISO-8859-1 text: the URL's name is used
        (b"attachment; filename*=iso-8859-1''foo-%c3%a4-%e2%82%ac.html", "from-url.html"),
        # ...or the plain filename beside it, when there is one
        (b"attachment; filename=\"plain.html\"; filename*=iso-8859-1''foo-%82.html", "plain.html"),
        # tc2231 attwithfn2231utf8-bad: not UTF-8
        (b"attachment; filename*=UTF-8''foo-%E4.html", "from-url.html"),
        # tc2231 attrfc2047quoted: RFC 2047 is not decoded, and "?" is a name's character
        (
            b'attachment; filename="=?ISO-8859-1?Q?foo-=E4.html?="',
            "=_ISO-8859-1_Q_foo-=E4.html_=" if os.name == "nt" else "=?ISO-8859-1?Q?foo-=E4.html?=",
        ),
    ],
)
def test_tc2231_names(header: bytes, expected: str) -> None:
    as_aiohttp_gives_it = header.decode("utf-8", "surrogateescape")
    name = choose_name(requested=None, content_disposition=as_aiohttp_gives_it, url=URL)
    assert name == expected


def test_a_header_of_pure_text_is_read_as_it_is() -> None:
    assert filename_from_content_disposition('attachment; filename="café.txt"') == "café.txt"


async def test_iso_8859_1_bytes_on_the_wire_give_the_right_name(
    server, manager, fetch, tmp_path
) -> None:
    url = server.add_raw(
        "/dl",
        200,
        headers=[("Content-Disposition", b'attachment; filename="foo-\xe4.html"')],
        body=b"hello",
    )
    snap = await fetch(manager, url)
    assert snap.state is State.COMPLETED, snap.error
    assert snap.name == "foo-ä.html"
    assert (tmp_path / "foo-ä.html").read_bytes() == b"hello"
