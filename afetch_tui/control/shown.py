"""Server and URL text as this package shows it on a terminal.

Interim: made inert here until ``engine.display.inert`` (issue 9) is on main, then this
module only re-exports it.
"""

from __future__ import annotations

import json
import re

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*):[^\s/?#@]*@")


def shown(text: object) -> str:
    """Controls escaped visibly, URL passwords as ``***``."""
    value = _USERINFO.sub(r"\1:***@", str(text))
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


def json_line(data: object) -> str:
    """One JSON line whose every character is printable."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, ensure_ascii=False))
