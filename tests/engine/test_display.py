"""`inert`: server and URL text made fit to show, and the places that rely on it."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from afetch_tui.engine.display import inert, json_line, mask_password, shown_header, unmask_password
from afetch_tui.engine.errors import DownloadError, InputError, PageError
from afetch_tui.engine.events import LogEntry, State, StateChanged
from afetch_tui.engine.harvest import Link
from afetch_tui.engine.inputfile import parse_header
from afetch_tui.engine.urls import host_of, validate_url

EVIL = "404 \x1b[2J\x1b[31mPWNED\x1b]0;title\x07"


def printable(text: str) -> bool:
    """Nothing a terminal would obey, nothing `print` cannot encode."""
    text.encode("utf-8")
    return not any(
        ord(c) < 0x20
        or 0x7F <= ord(c) <= 0x9F
        or c in "\u061c\u200e\u200f"
        or 0x202A <= ord(c) <= 0x202E
        or 0x2066 <= ord(c) <= 0x2069
        for c in text
    )


def test_escape_sequences_are_shown_not_obeyed() -> None:
    assert inert(EVIL) == "404 \\x1b[2J\\x1b[31mPWNED\\x1b]0;title\\x07"


def test_c1_del_bidi_and_newlines_are_visible() -> None:
    assert inert("a\x9bb\x7fc\u202ed\ne\tf") == "a\\x9bb\\x7fc\\u202ed\\x0ae\\x09f"


def test_a_surrogate_escaped_byte_shows_as_that_byte() -> None:
    header = b"caf\xe9".decode("utf-8", "surrogateescape")  # how aiohttp hands it over
    shown = inert(header)
    assert shown == "caf\\xe9"
    shown.encode("utf-8")  # printing it cannot raise


def test_plain_text_and_unicode_pass_unchanged() -> None:
    for text in ("report.pdf", "foo-ä.html", "日本語.txt", "http://host/a?b=c#d"):
        assert inert(text) == text


def test_passwords_in_urls_are_masked_wherever_they_are() -> None:
    assert inert("http://bob:pw@host/x") == "http://bob:***@host/x"
    assert inert("FAILED https://u:p%40ss@h:8/a then ftp://x:y@z/") == (
        "FAILED https://u:***@h:8/a then ftp://x:***@z/"
    )
    assert inert("http://bob@host/") == "http://bob@host/"  # no password, nothing to hide
    assert mask_password("mailto:bob@host") == "mailto:bob@host"


@given(st.text())
def test_inert_is_printable_and_idempotent(text: str) -> None:
    shown = inert(text)
    assert printable(shown)
    assert inert(shown) == shown


@given(st.text())
def test_a_json_line_is_printable_and_gives_the_string_back(text: str) -> None:
    line = json_line({"value": text})
    assert printable(line)
    assert json.loads(line) == {"value": text}


def test_credentials_in_headers_are_never_shown() -> None:
    assert shown_header("Authorization", "Bearer s3cret") == "Authorization: ***"
    assert shown_header("proxy-authorization", "Basic x") == "proxy-authorization: ***"
    assert shown_header("Cookie", "sid=1") == "Cookie: ***"
    assert shown_header("Accept", "text/\x1b[2J") == "Accept: text/\\x1b[2J"


def test_a_bad_header_option_does_not_print_its_secret() -> None:
    for text in ("Authorization: Bearer s3cret\r\n", "Authorization Bearer s3cret"):
        try:
            parse_header(text)
        except InputError as exc:
            assert "s3cret" not in str(exc)
        else:
            raise AssertionError("accepted")


def test_engine_errors_and_events_carry_inert_text() -> None:
    assert "\x1b" not in DownloadError(EVIL).message
    assert "\x1b" not in str(PageError(f"cannot read the page: {EVIL}"))
    assert StateChanged(1, State.FAILED, EVIL).error == inert(EVIL)
    assert LogEntry(0.0, EVIL).message == inert(EVIL)


def test_link_names_and_text_are_inert() -> None:
    link = Link("http://u:pw@h/%1b%5b2Jx.iso", "a", "click \x1b]0;t\x07")
    assert link.name == "\\x1b[2Jx.iso"
    assert link.text == "click \\x1b]0;t\\x07"
    assert link.shown_url == "http://u:***@h/%1b%5b2Jx.iso"
    assert link.url == "http://u:pw@h/%1b%5b2Jx.iso"  # still usable as it is


def test_an_edited_masked_url_gets_its_password_back() -> None:
    original = "http://bob:pw@host/a?sig=1"
    assert unmask_password("http://bob:***@host/a?sig=2", original) == "http://bob:pw@host/a?sig=2"
    # another user or host: the *** is what the user typed
    assert unmask_password("http://eve:***@host/a", original) == "http://eve:***@host/a"
    assert unmask_password("http://bob:***@other/a", original) == "http://bob:***@other/a"


def test_international_hosts_are_shown_in_ascii() -> None:
    # Cyrillic letters that read as "apple.com"
    url = validate_url("http://\u0430\u0440\u0440\u04cf\u0435.com/x")
    assert host_of(url) == "xn--80ak6aa92e.com"
    assert host_of("http://xn--80ak6aa92e.com:8080/") == "xn--80ak6aa92e.com:8080"
    assert "xn--80ak6aa92e.com" in url
