"""Harvesting links from a page, against the loopback server: parse, resolve, filter, sizes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from engine_helpers import MakeManager, cpu_seconds
from faultserver import FaultServer

from afetch_tui.engine.errors import InputError, PageError
from afetch_tui.engine.harvest import compile_match, extract_links, parse_srcset
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec

HTML = "text/html; charset=utf-8"


def page(server: FaultServer, path: str, body: str, **options: object) -> str:
    options.setdefault("content_type", HTML)
    return server.add_file(path, body.encode(), **options)


def urls(links: list) -> list[str]:
    return [link.url for link in links]


async def test_relative_links_are_resolved_deduplicated_and_kept_in_page_order(
    server: FaultServer, manager: DownloadManager
) -> None:
    root = server.url("/")[:-1]
    url = page(
        server,
        "/dir/index.html",
        """<html><head><link rel="stylesheet" href="style.css"></head><body>
        <a href="a.iso">A <b>bold</b></a>
        <a href="./a.iso#part2">same file, other fragment</a>
        <a href="/top/b.iso">B</a>
        <a href="../up.txt">up</a>
        <a href="mailto:someone@example.org">mail</a>
        <a href="javascript:void(0)">js</a> <a href="#top">top</a> <a href="ftp://x/y">ftp</a>
        <img src="img/p.png" srcset="img/p2.png 2x, img/p.png 1x" alt="a picture">
        <picture><source srcset="s1.webp 1x,s2.webp 2x"><source src="v.mp4"></picture>
        <a href="a b.iso">a space</a>
        <a href="  sub/c.iso?x=1&amp;y=2  ">query</a>
        </body></html>""",
    )
    links = await manager.harvest(url)
    assert urls(links) == [
        f"{root}/dir/style.css",
        f"{root}/dir/a.iso",
        f"{root}/top/b.iso",
        f"{root}/up.txt",
        f"{root}/dir/img/p.png",
        f"{root}/dir/img/p2.png",
        f"{root}/dir/s1.webp",
        f"{root}/dir/s2.webp",
        f"{root}/dir/v.mp4",
        f"{root}/dir/a%20b.iso",
        f"{root}/dir/sub/c.iso?x=1&y=2",
    ]
    by_url = {link.url: link for link in links}
    assert by_url[f"{root}/dir/a.iso"].text == "A bold"
    assert by_url[f"{root}/dir/a.iso"].tag == "a"
    assert by_url[f"{root}/dir/img/p.png"].text == "a picture"
    assert by_url[f"{root}/dir/a%20b.iso"].name == "a b.iso"


async def test_the_first_base_href_applies_to_the_whole_page(
    server: FaultServer, manager: DownloadManager
) -> None:
    root = server.url("/")[:-1]
    url = page(
        server,
        "/list/index.html",
        """<a href="early.iso">before the base element</a>
        <base href="/mirror/pub/"><base href="/ignored/">
        <a href="x.iso">x</a> <a href="../y.iso">y</a> <a href="/abs.iso">abs</a>
        <a href="http://localhost:1/elsewhere.iso">elsewhere</a>""",
    )
    assert urls(await manager.harvest(url)) == [
        f"{root}/mirror/pub/early.iso",
        f"{root}/mirror/pub/x.iso",
        f"{root}/mirror/y.iso",
        f"{root}/abs.iso",
        "http://localhost:1/elsewhere.iso",
    ]


async def test_links_resolve_against_the_page_a_redirect_led_to(
    server: FaultServer, manager: DownloadManager
) -> None:
    page(server, "/real/index.html", '<a href="f.iso">f</a>')
    moved = server.add_redirect("/moved", "/real/index.html")
    assert urls(await manager.harvest(moved)) == [server.url("/real/f.iso")]


async def test_broken_markup_still_yields_its_links(
    server: FaultServer, manager: DownloadManager
) -> None:
    body = (
        b"<html><body><table><tr><td><a href=unquoted.iso>u</td></div></div>"
        b"<a href='single.iso'>s<a href=\"nested.iso\">n</a></a>"
        b'<p><a href="\xff\xfe-garbage.iso">bad bytes</a>\x00'
        b"<!-- <a href=\"commented.iso\"> --><script>document.write('<a href=x.iso>')</script>"
        b'<a href="last.iso">unterminated <b><i>'
        b'<a href="cut-off.iso'
    )
    url = server.add_file("/broken.html", body, content_type="text/html")
    names = [link.name for link in await manager.harvest(url)]
    # A browser's tree: links after the unclosed table are moved before it (foster parenting),
    # comments and scripts hold no links, a tag cut off by the end of the page is dropped,
    # and the bad bytes become U+FFFD rather than an exception.
    assert sorted(names) == [
        "last.iso",
        "nested.iso",
        "single.iso",
        "unquoted.iso",
        "\ufffd\ufffd-garbage.iso",
    ]


@pytest.mark.parametrize("content_type", ["application/octet-stream", "text/plain", "image/png"])
async def test_a_page_that_is_not_html_is_refused_clearly(
    server: FaultServer, manager: DownloadManager, content_type: str
) -> None:
    url = server.add_file("/file.bin", b'<a href="x.iso">x</a>', content_type=content_type)
    with pytest.raises(PageError, match=f"not an HTML page \\(Content-Type: {content_type}\\)"):
        await manager.harvest(url)


async def test_xhtml_is_accepted(server: FaultServer, manager: DownloadManager) -> None:
    url = page(
        server,
        "/x.xhtml",
        '<html xmlns="http://www.w3.org/1999/xhtml"><a href="x.iso">x</a></html>',
        content_type="application/xhtml+xml",
    )
    assert urls(await manager.harvest(url)) == [server.url("/x.iso")]


async def test_an_error_page_is_refused_with_its_status(
    server: FaultServer, manager: DownloadManager
) -> None:
    with pytest.raises(PageError, match=r"cannot read the page .*: 404 Not Found"):
        await manager.harvest(server.url("/missing.html"))


@pytest.mark.parametrize("chunked", [False, True], ids=["announced", "chunked"])
async def test_a_huge_page_is_cut_off_at_the_cap(
    server: FaultServer, manager: DownloadManager, chunked: bool
) -> None:
    huge = b"<html>" + b'<a href="f.iso">f</a>\n' * (24 * 1024 * 1024 // 22)
    url = server.add_file("/huge.html", huge, content_type="text/html", chunked=chunked)
    with pytest.raises(PageError, match=r"larger than 1(\.0)? MiB; stopped reading"):
        await manager.harvest(url, max_bytes=1024 * 1024)
    await server.wait_for(lambda: all(r.finished for r in server.requests_for("/huge.html")))
    assert server.bytes_served("/huge.html") < len(huge) / 2


async def test_a_five_megabyte_page_parses_quickly(
    server: FaultServer, manager: DownloadManager
) -> None:
    row = '<tr><td><a href="pub/file-{0}.iso">file-{0}.iso</a></td><td>{0} MB</td></tr>\n'
    rows = [row.format(i) for i in range(60_000)]
    body = "<table>" + "".join(rows) + "</table>"
    assert 4.5e6 < len(body) < 5 * 1024 * 1024
    url = page(server, "/big.html", body)
    started = cpu_seconds()  # not the clock: on a loaded machine it counts others' work
    links = await manager.harvest(url, match="*.iso")
    assert len(links) == 60_000
    assert cpu_seconds() - started < 5.0


# ------------------------------------------------------------------------------ filters


@pytest.fixture
def mixed_page(server: FaultServer) -> str:
    other = f"http://localhost:{server.port}"
    return page(
        server,
        "/pub/index.html",
        f"""<a href="debian.iso">iso</a> <a href="DEBIAN-DVD.ISO">upper</a>
        <a href="notes.txt">txt</a> <a href="sums/SHA256SUMS">sums</a>
        <a href="{other}/mirror/ubuntu.iso">other host</a>
        <a href="{other}/mirror/readme.html">other host page</a>
        <a href="archive.iso.sig">signature</a> <a href="get?file=fedora.iso">query</a>""",
    )


async def test_glob_matches_file_names_case_insensitively(
    manager: DownloadManager, mixed_page: str
) -> None:
    links = await manager.harvest(mixed_page, match="*.iso")
    names = [link.name for link in links]
    assert names == ["debian.iso", "DEBIAN-DVD.ISO", "ubuntu.iso", "get"]  # get?file=fedora.iso


async def test_glob_also_matches_the_whole_url(manager: DownloadManager, mixed_page: str) -> None:
    links = await manager.harvest(mixed_page, match="*/sums/*")
    assert [link.name for link in links] == ["SHA256SUMS"]
    links = await manager.harvest(mixed_page, match="*file=*.iso")
    assert [link.name for link in links] == ["get"]


async def test_regex_is_searched_in_the_url(manager: DownloadManager, mixed_page: str) -> None:
    links = await manager.harvest(mixed_page, match=r"re:\.iso(\.sig)?$")
    names = [link.name for link in links]
    assert names == ["debian.iso", "ubuntu.iso", "archive.iso.sig", "get"]
    links = await manager.harvest(mixed_page, match=r"re:(?i)debian")
    assert [link.name for link in links] == ["debian.iso", "DEBIAN-DVD.ISO"]


async def test_same_host_and_other_hosts(
    server: FaultServer, manager: DownloadManager, mixed_page: str
) -> None:
    same = await manager.harvest(mixed_page, same_host=True)
    other = await manager.harvest(mixed_page, same_host=False)
    assert len(same) == 6 and all(link.host == f"127.0.0.1:{server.port}" for link in same)
    assert [link.name for link in other] == ["ubuntu.iso", "readme.html"]
    both = await manager.harvest(mixed_page, match="*.iso", same_host=False)
    assert [link.name for link in both] == ["ubuntu.iso"]
    assert await manager.harvest(mixed_page, match="*.rpm") == []


def test_bad_patterns_are_input_errors() -> None:
    with pytest.raises(InputError, match="not a valid regular expression"):
        compile_match("re:(unclosed")
    with pytest.raises(InputError, match="empty pattern"):
        compile_match("")


def test_srcset_candidates() -> None:
    assert parse_srcset("a.png 1x, b.png 2x") == ["a.png", "b.png"]
    assert parse_srcset("a.png, b.png 480w,  c.png") == ["a.png", "b.png", "c.png"]
    assert parse_srcset("a.png,b.png 480w") == ["a.png,b.png"]  # a comma inside a URL
    assert parse_srcset("x.png 1x (odd, descriptor), y.png") == ["x.png", "y.png"]
    assert parse_srcset("") == []


def test_bytes_are_decoded_by_their_meta_charset() -> None:
    html = '<meta charset="iso-8859-1"><a href="caf\xe9.iso">x</a>'.encode("latin-1")
    (link,) = extract_links(html, "http://127.0.0.1/")
    assert link.url == "http://127.0.0.1/caf%C3%A9.iso"
    assert link.name == "café.iso"


# ------------------------------------------------------------------------------ sizes


def max_overlap(records: list) -> int:
    """Most requests the server was answering at one moment."""
    edges = sorted(
        [(r.started, 1) for r in records] + [(r.finished or r.started, -1) for r in records],
        key=lambda edge: (edge[0], edge[1]),
    )
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


async def test_probe_sizes_with_head_requests_within_the_host_cap(
    server: FaultServer, make_manager: MakeManager
) -> None:
    from afetch_tui.engine.events import Limits

    manager = await make_manager()
    await manager.set_limits(replace(manager.limits, max_per_host=2))
    files = {f"/p/f{i}.bin": b"x" * (1000 * i + 1) for i in range(6)}
    for path, data in files.items():
        server.add_file(path, data, delay=0.15)
    missing = server.url("/p/missing.bin")
    wanted = [server.url(path) for path in files] + [missing]
    sizes = await manager.probe_sizes(wanted + wanted[:2])
    assert sizes == {
        **{server.url(path): len(data) for path, data in files.items()},
        missing: None,
    }
    heads = [r for r in server.requests if r.path.startswith("/p/")]
    assert all(r.method == "HEAD" for r in heads)
    assert len(heads) == 7  # one per distinct URL
    assert max_overlap(heads) == 2
    assert server.bytes_served() == 0
    assert manager.limits == Limits(max_per_host=2)


async def test_probe_falls_back_to_a_ranged_get_without_length(
    server: FaultServer, manager: DownloadManager
) -> None:
    url = server.add_file("/c.bin", b"y" * 5000, chunked=True)
    assert await manager.probe_sizes([url]) == {url: 5000}
    await server.wait_for(lambda: all(r.finished for r in server.requests_for("/c.bin")))
    assert [r.method for r in server.requests_for("/c.bin")] == ["HEAD", "GET"]
    assert server.bytes_served("/c.bin") == 1


async def test_harvest_then_queue_the_links(
    server: FaultServer, manager: DownloadManager, payload, tmp_path
) -> None:
    for name in ("one.bin", "two.bin"):
        server.add_file(f"/files/{name}", payload(70_000, seed=len(name)))
    url = page(
        server, "/files/", '<a href="one.bin">1</a><a href="two.bin">2</a><a href="/">up</a>'
    )
    links = await manager.harvest(url, match="*.bin")
    await manager.add_many(DownloadSpec([link.url for link in links]))
    await manager.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.bin", "two.bin"]
