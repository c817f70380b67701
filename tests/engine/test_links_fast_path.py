"""The plain-reference fast path of link resolution gives exactly what joining gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from afetch_tui.engine.links import _resolve, _Resolver

BASES = [
    "http://h.example/dir/",
    "http://h.example/dir/page.html?q=1#top",
    "https://h.example",
    "http://bob:pw@h.example:8080/a/b/c",
    "http://h.example/a/./b/../c/",
    "http://h.example/%7Euser/caf%C3%A9/",
    "http://xn--80ak6aa92e.com/x/",
    "http://[::1]:9/v6/",
    "http://h.example//double//slash/",
]

refs = st.text(alphabet="abcXYZ019._~-/%?#:", min_size=0, max_size=12)


@settings(max_examples=400, deadline=None)
@given(base=st.sampled_from(BASES), ref=refs)
def test_fast_path_matches_join(base: str, ref: str) -> None:
    assert _Resolver(URL(base))(ref) == _resolve(URL(base), ref)


def test_plain_references_take_the_fast_path() -> None:
    resolver = _Resolver(URL("http://h.example/dir/page.html"))
    assert resolver("pub/file-1.iso") == "http://h.example/dir/pub/file-1.iso"
    assert resolver("/img/a.png") == "http://h.example/img/a.png"
    assert resolver("../up.txt") == "http://h.example/up.txt"  # the slow path, still right
