"""Text from servers and URLs made fit to show: the one function every display path uses.

A reason phrase, a ``Location``, a header value, a file name or a page's link text may hold
anything: escape sequences that clear the screen or retitle the terminal, C1 controls that
some terminals obey, bidi overrides that reorder what is read, lone surrogates (aiohttp
decodes header bytes that are not UTF-8 with ``surrogateescape``) that make ``print`` raise,
and passwords (``http://bob:pw@host/``). `inert` renders all of those visibly and masks the
password, so the result can go to a terminal, a widget or a log as it is.

What is made inert once stays inert: every character `inert` emits is printable, so applying
it again changes nothing.
"""

from __future__ import annotations

import json
import re

from yarl import URL

__all__ = [
    "SECRET_HEADERS",
    "inert",
    "json_line",
    "mask_password",
    "shown_header",
    "unmask_password",
]

# C0 controls (tab and newline too: a shown value is one line), DEL, C1 controls, lone
# surrogates, and the marks that reorder text (LRM/RLM, embeddings/overrides, isolates,
# ALM), which can make "evil\u202etxt.exe" read as "evilexe.txt".
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# ``scheme://user:password@``: the password ends at the first ``@``, ``/``, ``?``, ``#``
# or whitespace (a valid URL percent-encodes any of those inside it).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*):[^\s/?#@]*@")
_MASK = "***"
#: Request headers whose values are credentials: never shown, whoever asks.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def inert(text: object) -> str:
    """``text`` as it may be shown: controls escaped visibly, passwords masked.

    ``ESC`` becomes ``\\x1b``, a surrogate-escaped byte ``\\udce9`` becomes ``\\xe9`` (the
    byte the server sent), other code points ``\\u202e``; ``bob:pw@`` becomes ``bob:***@``.
    Never raises; idempotent.
    """
    shown = text if isinstance(text, str) else str(text)
    if shown.isprintable() and "@" not in shown:  # the common case, at C speed
        return shown
    if "@" in shown:
        shown = mask_password(shown)
    if _UNSAFE.search(shown) is None:
        return shown
    return _UNSAFE.sub(_escape, shown)


def shown_header(name: str, value: str) -> str:
    """``Name: value`` as it may be shown; a credential's value is ``***``."""
    if name.strip().lower() in SECRET_HEADERS:
        value = _MASK
    return inert(f"{name}: {value}")


def mask_password(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` with the password as ``***``."""
    return _USERINFO.sub(rf"\1:{_MASK}@", text)


def unmask_password(edited: str, original: str) -> str:
    """``edited`` (a URL shown masked, then edited) with the original password back in
    place of ``***``, when the user and host are still the original's."""
    try:
        new, old = URL(edited), URL(original)
        if new.password != _MASK or (new.user, new.host) != (old.user, old.host):
            return edited
        return str(new.with_password(old.password))
    except (ValueError, TypeError):
        return edited


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def json_line(data: object) -> str:
    """``data`` as one JSON line whose every character is printable.

    ``json.dumps`` escapes C0 controls itself; DEL, C1 controls, bidi marks and lone
    surrogates are escaped here as ``\\uXXXX``, so a reader gets the exact string back and a
    terminal showing the line obeys none of them.
    """
    text = json.dumps(data, ensure_ascii=False)
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
