"""`checked_url` answers plain URLs without yarl: the answer must be yarl's, always."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.urls import _parsed_url, checked_url

_PIECES = st.sampled_from(
    [
        "a",
        "Z",
        "0",
        "9",
        ".",
        "-",
        "_",
        "~",
        "/",
        "?",
        "=",
        "&",
        "%41",
        "%7e",
        ":",
        "#",
        "..",
        "xn--",
    ]
)
_HOSTS = st.sampled_from(
    ["h", "example.com", "EXAMPLE.com", "127.0.0.1", "a-", "-a", "a..b", "xn--80ak6aa92e.com",
     "a.xn--p1ai", "h.", "[::1]", ""]
)  # fmt: skip
_PORTS = st.sampled_from(
    ["", ":80", ":443", ":8080", ":0", ":080", ":65535", ":65536", ":", ":99999"]
)


def _both(text: str) -> tuple[object, object]:
    answers = []
    for check in (checked_url, _parsed_url):
        try:
            answers.append(check(text))
        except InputError as exc:
            answers.append(("refused", str(exc)))
    return answers[0], answers[1]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["http", "https", "HTTP", "ftp"]),
    _HOSTS,
    _PORTS,
    st.lists(_PIECES, max_size=8).map("".join),
)
def test_the_quick_path_agrees_with_yarl(scheme: str, host: str, port: str, rest: str) -> None:
    text = f"{scheme}://{host}{port}{'/' if rest[:1] not in ('/', '?', '#', '') else ''}{rest}"
    fast, slow = _both(text)
    assert fast == slow


@pytest.mark.parametrize(
    "text",
    [
        "http://127.0.0.1:8080/small/s0001.bin",
        "https://example.com/a/b.iso?sig=abc&x=1",
        "http://h:80/x",
        "https://h:443/x",
        "http://h/a/../b",
        "http://h/a?",
        "http://h?x=1",
        "http://h/%7euser",
        "http://xn--80ak6aa92e.com/",
        "http://h/a b",
        " http://h/x",
    ],
)
def test_edge_cases_agree(text: str) -> None:
    fast, slow = _both(text)
    assert fast == slow
