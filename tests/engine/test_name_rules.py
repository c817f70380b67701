"""Tests for afetch_tui.engine.name_rules: safe, unique local file names."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afetch_tui.engine.name_rules import (
    DEFAULT_NAME,
    MAX_NAME_BYTES,
    PART_SUFFIX,
    _reduced,
    choose_name,
    filename_from_content_disposition,
    filename_from_url,
    is_inside,
    safe_basename,
    split_ext,
    unique_name,
)

# ----------------------------------------------------------- Content-Disposition


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="report.pdf"', "report.pdf"),
        ("attachment; filename=report.pdf", "report.pdf"),
        ("inline; filename=report.pdf", "report.pdf"),
        ("ATTACHMENT; FILENAME=Report.PDF", "Report.PDF"),
        # filename* (RFC 8187) beats filename, whatever the order.
        ("attachment; filename=\"naive.txt\"; filename*=UTF-8''na%C3%AFve.txt", "naïve.txt"),
        ("attachment; filename*=UTF-8''na%C3%AFve.txt; filename=\"naive.txt\"", "naïve.txt"),
        ("attachment; filename*=utf-8'en'%E2%82%AC%20rates.txt", "€ rates.txt"),
        ("attachment; filename*=ISO-8859-1''%E9t%E9.txt", "été.txt"),
        # An undecodable filename* is dropped in favour of filename.
        ("attachment; filename*=UTF-8''%FF%FE.txt; filename=fallback.txt", "fallback.txt"),
        ("attachment; filename*=no-such-charset''%E9.txt; filename=fb.txt", "fb.txt"),
        # RFC 2231 continuations.
        ('attachment; filename*0="long"; filename*1="name.txt"', "longname.txt"),
        # Quoted strings: escapes and semicolons.
        (r'attachment; filename="a\"b.txt"', 'a"b.txt'),
        ('attachment; filename="a;b.txt"', "a;b.txt"),
        ("attachment; filename=a.txt;", "a.txt"),
        # Unsanitised: traversal survives here and is removed by safe_basename.
        ("attachment; filename*=UTF-8''..%2F..%2Fx", "../../x"),
        # No usable file name.
        ("attachment", None),
        ('attachment; filename=""', None),
        ("attachment; name=field", None),
        (None, None),
        ("", None),
        # Malformed headers: never raise, just None.
        ("filename=a.txt", None),
        (";;;", None),
        ('attachment; filename="unterminated.txt', None),
        ("attachment; filename=a.txt; filename=b.txt", None),
        ("attachment; filename=two words.txt", None),
        ("attachment; filename", None),
        ("\x00\x01\x02", None),
    ],
)
def test_filename_from_content_disposition(header: str | None, expected: str | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the wrapper must swallow aiohttp's warnings
        assert filename_from_content_disposition(header) == expected


# ---------------------------------------------------------------------------- URL


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/file.zip", "file.zip"),
        ("http://h/dir/file.zip?token=abc#frag", "file.zip"),
        ("https://h/a/b/c.tar.gz", "c.tar.gz"),
        ("http://h/na%C3%AFve%20file.txt", "naïve file.txt"),
        ("http://h/bad%FFbyte.bin", "bad\ufffdbyte.bin"),
        ("http://h/a%2F..%2Fb", "a/../b"),  # decoded, not yet sanitised
        ("http://h/", None),
        ("http://h", None),
        ("http://h/dir/", None),
        ("http://h/?q=file.zip", None),
        ("", None),
    ],
)
def test_filename_from_url(url: str, expected: str | None) -> None:
    assert filename_from_url(url) == expected


# ---------------------------------------------------------------------- sanitising


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("file.txt", "file.txt"),
        ("naïve résumé.pdf", "naïve résumé.pdf"),
        # Traversal and absolute paths collapse to the last component.
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\cmd.exe", "cmd.exe"),
        ("dir/", None),
        ("a/..", None),
        ("a\\.", None),
        # Dots.
        (".", None),
        ("..", None),
        ("...", None),
        ("....", None),
        (". .", None),
        ("..foo", "..foo"),
        (".bashrc", ".bashrc"),
        ("file.", "file"),
        ("file. . .", "file"),
        # Whitespace.
        ("  spaced.txt  ", "spaced.txt"),
        ("\t\n", None),
        ("", None),
        (None, None),
        # Control characters: NUL, newline, DEL, C1, bidi override.
        ("a\x00b.txt", "ab.txt"),
        ("evil\nname.txt", "evilname.txt"),
        ("x\x7fy\x85z\x9f.txt", "xyz.txt"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("\x00", None),
        ("..\x00", None),
        (".\x00.", None),
        # Windows-reserved characters and device names.
        (
            'a<b>c:d"e|f?g*h.txt',
            "a_b_c_d_e_f_g_h.txt" if os.name == "nt" else "a_b_c_d_e_f?g_h.txt",
        ),
        ("file.txt:stream", "file.txt_stream"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("com1.tar.gz", "_com1.tar.gz"),
        ("console.txt", "console.txt"),
        # Lone surrogates (surrogateescape-decoded header bytes) become valid text.
        ("caf\udce9.txt", "caf\ufffd.txt"),
    ],
)
def test_safe_basename(name: str | None, expected: str | None) -> None:
    assert safe_basename(name) == expected


@pytest.mark.parametrize(
    ("name", "ext"),
    [
        ("é" * 300 + ".txt", ".txt"),  # 2-byte chars
        ("€" * 300 + ".pdf", ".pdf"),  # 3-byte chars
        ("😀" * 300 + ".jpeg", ".jpeg"),  # 4-byte chars
        ("a" + "😀" * 300 + ".jpeg", ".jpeg"),  # off-by-one alignment
        ("ab" + "€" * 300 + ".tar.gz", ".tar.gz"),
        ("x" * 1000 + ".bin", ".bin"),
        ("€" * 300, ""),
    ],
)
def test_safe_basename_long_names_fit_and_keep_extension(name: str, ext: str) -> None:
    result = safe_basename(name)
    assert result is not None
    encoded = result.encode("utf-8")  # would raise on a half-cut character
    assert len(encoded) <= MAX_NAME_BYTES
    assert len(encoded) > MAX_NAME_BYTES - 4  # truncated no further than needed
    assert result.endswith(ext)
    assert name.startswith(result[: len(result) - len(ext)])


def test_safe_basename_overlong_extension_is_not_kept() -> None:
    name = "a" * 300 + "." + "b" * 40
    result = safe_basename(name)
    assert result is not None
    assert result == "a" * MAX_NAME_BYTES


def test_safe_basename_max_bytes() -> None:
    assert safe_basename("abcdef.txt", max_bytes=8) == "abcd.txt"
    assert safe_basename("€€€.txt", max_bytes=9) == "€.txt"  # 7 bytes, not a broken char


def test_safe_basename_truncation_does_not_leave_trailing_dot_or_space() -> None:
    name = "a" * 249 + " ." * 10 + ".txt"
    result = safe_basename(name)
    assert result is not None
    assert result == "a" * 249 + ".txt"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("file.txt", ("file", ".txt")),
        ("archive.tar.gz", ("archive", ".tar.gz")),
        ("archive.TAR.XZ", ("archive", ".TAR.XZ")),
        ("archive.tar", ("archive", ".tar")),
        ("my.archive.tar.bz2", ("my.archive", ".tar.bz2")),
        ("a.b.c", ("a.b", ".c")),
        ("noext", ("noext", "")),
        (".bashrc", (".bashrc", "")),
        (".config.json", (".config", ".json")),
        ("..foo", ("..foo", "")),
        ("v1.0 final", ("v1.0 final", "")),
        ("x." + "y" * 17, ("x." + "y" * 17, "")),
        (".tar.gz", (".tar", ".gz")),
    ],
)
def test_split_ext(name: str, expected: tuple[str, str]) -> None:
    assert split_ext(name) == expected


# ----------------------------------------------------------------------- choosing


@pytest.mark.parametrize(
    ("requested", "cd", "url", "final_url", "expected"),
    [
        # Priority: requested > Content-Disposition > URL > final URL > index.html.
        ("mine.bin", 'attachment; filename="cd.bin"', "http://h/u.bin", None, "mine.bin"),
        (None, 'attachment; filename="cd.bin"', "http://h/u.bin", None, "cd.bin"),
        (None, None, "http://h/u.bin", "http://h/final.bin", "u.bin"),
        (None, None, "http://h/dl/", "http://h/final.bin?x=1", "final.bin"),
        (None, None, "http://h/", "http://h/", DEFAULT_NAME),
        (None, None, "http://h", None, DEFAULT_NAME),
        (None, "attachment", "http://h/dir/", None, DEFAULT_NAME),
        # Unusable candidates fall through.
        ("..", 'attachment; filename="cd.bin"', "http://h/u.bin", None, "cd.bin"),
        ("", None, "http://h/u.bin", None, "u.bin"),
        (None, 'attachment; filename="..."', "http://h/u.bin", None, "u.bin"),
        (None, "attachment; filename=", "http://h/u.bin", None, "u.bin"),
        (None, "garbage;;", "http://h/u.bin", None, "u.bin"),
        (None, None, "http://h/..", "http://h/ok.bin", "ok.bin"),
        (None, None, "http://h/%2E%2E", None, DEFAULT_NAME),
        # Everything is sanitised.
        ("../../etc/passwd", None, "http://h/u.bin", None, "passwd"),
        ("sub/dir/out.txt", None, "http://h/u.bin", None, "out.txt"),
        (None, "attachment; filename*=UTF-8''..%2F..%2Fx", "http://h/u.bin", None, "x"),
        (None, 'attachment; filename="/etc/passwd"', "http://h/u.bin", None, "passwd"),
        (None, 'attachment; filename="..\\\\..\\\\boot.ini"', "http://h/u", None, "boot.ini"),
        (None, "attachment; filename*=UTF-8''%2E%2E", "http://h/u.bin", None, "u.bin"),
        (None, "attachment; filename*=UTF-8''a%00b%0A.txt", "http://h/u", None, "ab.txt"),
        (None, None, "http://h/a%2F..%2F..%2Fetc%2Fshadow", None, "shadow"),
        (None, None, "http://h/na%C3%AFve%20file.txt?dl=1", None, "naïve file.txt"),
        # filename* beats filename.
        (
            None,
            "attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC.txt",
            "http://h/u.bin",
            None,
            "€.txt",
        ),
    ],
)
def test_choose_name(
    requested: str | None, cd: str | None, url: str, final_url: str | None, expected: str
) -> None:
    name = choose_name(requested=requested, content_disposition=cd, url=url, final_url=final_url)
    assert name == expected


def test_choose_name_leaves_room_for_part_suffix() -> None:
    name = choose_name(requested="€" * 300 + ".iso", content_disposition=None, url="http://h/")
    assert name.endswith(".iso")
    assert len((name + PART_SUFFIX).encode("utf-8")) <= MAX_NAME_BYTES


# ------------------------------------------------------------------------ unique


def _touch(directory: Path, *names: str) -> None:
    for name in names:
        (directory / name).write_bytes(b"")


@pytest.mark.parametrize(
    ("existing", "taken", "overwrite", "name", "expected"),
    [
        ((), (), False, "f.txt", "f.txt"),
        (("f.txt",), (), False, "f.txt", "f (1).txt"),
        (("f.txt.part",), (), False, "f.txt", "f (1).txt"),
        (("f.txt", "f (1).txt"), (), False, "f.txt", "f (2).txt"),
        (("f.txt", "f (1).txt.part"), (), False, "f.txt", "f (2).txt"),
        ((), ("f.txt",), False, "f.txt", "f (1).txt"),
        (("f.txt",), ("f (1).txt",), False, "f.txt", "f (2).txt"),
        ((), ("F.txt",), False, "f.txt", "f.txt"),
        (("archive.tar.gz",), (), False, "archive.tar.gz", "archive (1).tar.gz"),
        (("a.tar.gz", "a (1).tar.gz"), (), False, "a.tar.gz", "a (2).tar.gz"),
        (("README",), (), False, "README", "README (1)"),
        ((".bashrc",), (), False, ".bashrc", ".bashrc (1)"),
        (("v1.0 final",), (), False, "v1.0 final", "v1.0 final (1)"),
        # overwrite: the existing file (or .part) may be replaced...
        (("f.txt",), (), True, "f.txt", "f.txt"),
        (("f.txt.part",), (), True, "f.txt", "f.txt"),
        # ...but never a name another download has reserved, nor a numbered one.
        (("f.txt",), ("f.txt",), True, "f.txt", "f (1).txt"),
        (("f (1).txt",), ("f.txt",), True, "f.txt", "f (2).txt"),
    ],
)
def test_unique_name(
    tmp_path: Path,
    existing: tuple[str, ...],
    taken: tuple[str, ...],
    overwrite: bool,
    name: str,
    expected: str,
) -> None:
    _touch(tmp_path, *existing)
    assert unique_name(tmp_path, name, taken=set(taken), overwrite=overwrite) == expected


def test_unique_name_counts_directories_and_dangling_symlinks(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    assert unique_name(tmp_path, "d") == "d (1)"
    if hasattr(os, "symlink"):
        (tmp_path / "link").symlink_to(tmp_path / "missing")
        assert unique_name(tmp_path, "link") == "link (1)"


def test_unique_name_keeps_long_names_within_limit(tmp_path: Path) -> None:
    name = safe_basename("€" * 300 + ".tar.gz", max_bytes=MAX_NAME_BYTES - len(PART_SUFFIX))
    assert name is not None
    _touch(tmp_path, name)
    result = unique_name(tmp_path, name)
    assert result.endswith(" (1).tar.gz")
    assert len((result + PART_SUFFIX).encode("utf-8")) <= MAX_NAME_BYTES
    _touch(tmp_path, result + PART_SUFFIX)  # the file system accepts it


def test_unique_name_accepts_any_collection(tmp_path: Path) -> None:
    assert unique_name(tmp_path, "f.txt", taken=["f.txt", "f (1).txt"]) == "f (2).txt"
    assert unique_name(tmp_path, "f.txt", taken=frozenset({"f.txt"})) == "f (1).txt"


# ------------------------------------------------------------------------ inside


def test_is_inside(tmp_path: Path) -> None:
    root = tmp_path / "downloads"
    root.mkdir()
    assert is_inside(root, root / "file.txt")
    assert is_inside(root, root / "sub" / "file.txt")
    assert not is_inside(root, root)
    assert not is_inside(root, root / ".." / "escape.txt")
    assert not is_inside(root, root / "sub" / ".." / ".." / "escape.txt")
    assert not is_inside(root, Path("/etc/passwd"))
    assert not is_inside(root, tmp_path / "downloads-sibling" / "f")


def test_is_inside_follows_symlinks(tmp_path: Path) -> None:
    if not hasattr(os, "symlink"):
        pytest.skip("no symlinks")
    root = tmp_path / "downloads"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    assert not is_inside(root, root / "link" / "file.txt")
    # A download directory that is itself a symlink still contains its files.
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)
    assert is_inside(alias, alias / "file.txt")
    assert is_inside(alias, root / "file.txt")


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["a", "Z", "0", ".", "..", "-", "_", " ", "/", "\\", ":", "*", "é", "\u202e", "\x01",
             "con", "NUL", "lpt1", "x" * 120, "tar", "gz"]
        ),
        max_size=8,
    ).map("".join),
    st.sampled_from([255, 250, 10, 3, 1]),
)  # fmt: skip
def test_the_quick_path_of_safe_basename_changes_nothing(name: str, max_bytes: int) -> None:
    """A name taken as it is (no rule would touch it) is what the rules give, for any name."""
    assert safe_basename(name, max_bytes=max_bytes) == _reduced(name, max_bytes)
