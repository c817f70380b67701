"""Choosing a safe local file name for a download.

Everything here is a pure function except :func:`unique_name` (which looks at the
download directory) and :func:`is_inside` (which resolves paths). The engine calls
those two from a worker thread.

Every name that comes from the outside world -- the user's ``-o``, a server's
``Content-Disposition`` header, the URL path -- is reduced by :func:`safe_basename`
to a single, harmless path component before it is joined to the download directory.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Container, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = [
    "DEFAULT_NAME",
    "MAX_EXT_CHARS",
    "MAX_NAME_BYTES",
    "PART_SUFFIX",
    "choose_name",
    "filename_from_content_disposition",
    "filename_from_url",
    "is_inside",
    "safe_basename",
    "split_ext",
    "unique_name",
]

#: Most file systems (ext4, XFS, btrfs, APFS, NTFS in UTF-16 units) cap one
#: path component at 255 bytes.
MAX_NAME_BYTES = 255
#: Suffix of the file a download is written to before it completes.
PART_SUFFIX = ".part"
#: Longest extension (without the dot) that truncation tries to keep.
MAX_EXT_CHARS = 16
#: Last resort when no candidate yields a usable name.
DEFAULT_NAME = "index.html"

# Budget for the names choose_name/unique_name produce, so that ``name + ".part"``
# still fits in one path component.
_NAME_BUDGET = MAX_NAME_BYTES - len(PART_SUFFIX.encode())

# C0 controls, DEL, C1 controls, plus the Unicode bidi embedding/override/isolate
# marks, which can make "evil\u202etxt.exe" display as "evilexe.txt".
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# C1 controls: bytes 0x80-0x9F are no ISO-8859-1 text, so a filename* decoding to them
# was never meant as a name.
_C1_RE = re.compile("[\x80-\x9f]")
# Characters Windows refuses in file names (":" would even open an NTFS stream). "?" is
# legal elsewhere and common in names a server suggests (tc2231 keeps "=?ISO-8859-1?Q?...?="
# literally), so only Windows loses it.
_RESERVED_RE = re.compile(r'[<>:"|?*]' if os.name == "nt" else r'[<>:"|*]')
# A name that `safe_basename` keeps as it is (if short enough and no device name).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?")
# Device names Windows treats specially whatever their extension.
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)


# --------------------------------------------------------------------------- sources


def filename_from_content_disposition(header: str | None) -> str | None:
    """The file name a ``Content-Disposition`` header suggests, unsanitised.

    RFC 6266: ``filename*`` (RFC 8187 ``charset'lang'pct-encoded``, UTF-8 or
    ISO-8859-1) wins over ``filename``; RFC 2231 continuations (``filename*0``,
    ``filename*1``...) are joined. A ``filename*`` that decodes to C1 controls
    (``iso-8859-1''%82``: 0x80-0x9F are not ISO-8859-1 text) is ignored. Header bytes
    that are not UTF-8 are read as ISO-8859-1 (RFC 9110's obs-text), so a plain
    ``filename="foo-\xe4.html"`` gives ``foo-ä.html``. Returns None for a missing, empty
    or malformed header and never raises. The result may still contain ``/``, ``..`` and so on:
    pass it through :func:`safe_basename`.
    """
    if not header or not isinstance(header, str):
        return None
    # Imported here: the name rules are used where aiohttp is not (afetch add, the CLI).
    from aiohttp.multipart import content_disposition_filename, parse_content_disposition

    header = _header_text(header)
    try:
        # aiohttp reports every oddity through warnings.warn(); with -W error (or a
        # pytest filterwarnings=error) those would become exceptions.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _disptype, params = parse_content_disposition(header)
            if _C1_RE.search(params.get("filename*", "")):
                del params["filename*"]
            name = content_disposition_filename(params)
    except Exception:
        return None
    return name or None


def _header_text(header: str) -> str:
    """A header value as text: aiohttp decodes its bytes as UTF-8 with ``surrogateescape``;
    bytes that are not UTF-8 are ISO-8859-1 (RFC 9110 obs-text), as browsers read them."""
    try:
        header.encode("utf-8")
    except UnicodeEncodeError:
        raw = header.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    return header


def filename_from_url(url: str) -> str | None:
    """The last path segment of *url*, percent-decoded, or None if there is none.

    The query and fragment are ignored; invalid UTF-8 escapes decode to U+FFFD.
    The result is unsanitised (``%2F`` decodes to ``/``): pass it through
    :func:`safe_basename`.
    """
    try:
        path = urlsplit(url).path
    except (ValueError, TypeError, AttributeError):
        return None
    segment = path.rpartition("/")[2]
    if not segment:
        return None
    return unquote(segment, encoding="utf-8", errors="replace") or None


# ----------------------------------------------------------------------- sanitising


def split_ext(name: str) -> tuple[str, str]:
    """Split *name* into ``(stem, ext)`` where ``ext`` includes its dot(s).

    Leading dots belong to the stem (``.bashrc`` has no extension); an extension
    longer than :data:`MAX_EXT_CHARS` or containing whitespace is not one;
    ``archive.tar.gz`` splits as ``("archive", ".tar.gz")``.
    """
    core = name.lstrip(".")
    lead = name[: len(name) - len(core)]
    stem, dot, ext = core.rpartition(".")
    if not dot or not stem or not _is_ext(ext):
        return name, ""
    inner_stem, inner_dot, inner_ext = stem.rpartition(".")
    if inner_dot and inner_stem and inner_ext.lower() == "tar":
        return lead + inner_stem, f".{inner_ext}.{ext}"
    return lead + stem, f".{ext}"


def _is_ext(ext: str) -> bool:
    return 0 < len(ext) <= MAX_EXT_CHARS and not any(c.isspace() for c in ext)


def _fix_surrogates(text: str) -> str:
    """Turn lone surrogates (from surrogateescape-decoded headers) into text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "replace")
        text = raw.decode("utf-8", "replace")
    return text


def _strip(name: str) -> str:
    """Strip surrounding whitespace and trailing dots (Windows drops those)."""
    name = name.strip()
    while name and (name[-1] == "." or name[-1].isspace()):
        name = name[:-1]
    return name


def _truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of *text* that is at most *max_bytes* in UTF-8."""
    if max_bytes <= 0:
        return ""
    # A cut inside a multibyte sequence leaves an incomplete tail, which "ignore"
    # drops; the prefix before it is always valid.
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def _fit(stem: str, ext: str, max_bytes: int) -> str:
    """``stem + ext``, shortening the stem so the whole fits in *max_bytes*."""
    budget = max_bytes - len(ext.encode("utf-8"))
    if budget < 1:
        # An extension this large cannot be kept; cut the whole name instead.
        stem, ext, budget = stem + ext, "", max_bytes
    if len(stem.encode("utf-8")) > budget:
        stem = _strip(_truncate_utf8(stem, budget)) or _truncate_utf8("_", budget)
    return stem + ext


def safe_basename(name: str | None, *, max_bytes: int = MAX_NAME_BYTES) -> str | None:
    """Reduce *name* to one safe path component, or None if nothing usable is left.

    Keeps only what follows the last ``/`` or ``\\``; removes control characters
    (C0, DEL, C1, bidi overrides); replaces Windows-reserved characters ``<>:"|*``
    (and ``?`` on Windows) with ``_`` and prefixes Windows device names (``CON``,
    ``NUL``...) with ``_``; strips surrounding whitespace and trailing dots; rejects ``.``,
    ``..`` and the empty name; and truncates the stem (keeping the extension) so
    the result is at most *max_bytes* bytes of UTF-8. A leading dot is kept.
    """
    if not name or not isinstance(name, str):
        return None
    if (
        _PLAIN_NAME.fullmatch(name)
        and len(name) <= max_bytes
        and name.split(".", 1)[0].upper() not in _WINDOWS_DEVICES
    ):  # most names: nothing to remove, replace or cut
        return name
    return _reduced(name, max_bytes)


def _reduced(name: str, max_bytes: int) -> str | None:
    """`safe_basename`, rule by rule."""
    name = _fix_surrogates(name)
    name = re.split(r"[/\\]", name)[-1]
    name = _CONTROL_RE.sub("", name)
    name = _RESERVED_RE.sub("_", name)
    name = _strip(name)
    if name in ("", ".", ".."):  # trailing-dot stripping already empties those
        return None
    stem, ext = split_ext(name)
    if stem.split(".", 1)[0].rstrip().upper() in _WINDOWS_DEVICES:
        stem = "_" + stem
    name = _fit(stem, ext, max_bytes)
    return name or None


# ------------------------------------------------------------------------- choosing


def choose_name(
    *,
    requested: str | None,
    content_disposition: str | None,
    url: str,
    final_url: str | None = None,
) -> str:
    """Pick the local file name for a download.

    Priority: *requested* (the user's ``-o``) > ``Content-Disposition`` > the
    original URL's last path segment > the final URL's (after redirects) >
    ``index.html``. Each candidate goes through :func:`safe_basename`; an unusable
    one falls through to the next. The result leaves room for :data:`PART_SUFFIX`
    within :data:`MAX_NAME_BYTES`.
    """
    for candidate in _candidates(requested, content_disposition, url, final_url):
        safe = safe_basename(candidate, max_bytes=_NAME_BUDGET)
        if safe is not None:
            return safe
    return DEFAULT_NAME


def _candidates(
    requested: str | None, content_disposition: str | None, url: str, final_url: str | None
) -> Iterator[str | None]:
    """`choose_name`'s candidates in order, each made only if those before were unusable."""
    yield requested
    yield filename_from_content_disposition(content_disposition)
    yield filename_from_url(url)
    if final_url:
        yield filename_from_url(final_url)


def unique_name(
    directory: Path,
    name: str,
    *,
    taken: Container[str] = (),
    overwrite: bool = False,
) -> str:
    """A name in *directory* that no file, partial download or in-flight download uses.

    Returns *name* itself if neither ``directory/name`` nor ``directory/name.part``
    exists and *name* is not in *taken* (names reserved by other downloads);
    otherwise ``stem (1).ext``, ``stem (2).ext``... (``archive (1).tar.gz``).
    With *overwrite* the existing file may be replaced, so *name* is returned
    unless another download has it in *taken*; numbered alternatives never
    replace anything. Numbered names are shortened to stay within the byte limit.
    Raises :class:`FileExistsError` if no free name is found (after 9999 tries).
    """

    def free(candidate: str) -> bool:
        # A held name's ``.part`` is taken too, and so is a name whose ``.part`` is held.
        if candidate in taken or candidate + PART_SUFFIX in taken:
            return False
        if candidate.endswith(PART_SUFFIX) and candidate[: -len(PART_SUFFIX)] in taken:
            return False
        path = os.path.join(directory, candidate)  # a str: a Path costs ~3x as much
        return not (os.path.lexists(path) or os.path.lexists(path + PART_SUFFIX))

    if name not in taken and (overwrite or free(name)):
        return name
    stem, ext = split_ext(name)
    for n in range(1, 10_000):
        candidate = _fit(stem, f" ({n}){ext}", _NAME_BUDGET)
        if free(candidate):
            return candidate
    raise FileExistsError(f"no free name for {name!r} in {directory}")


def is_inside(directory: Path, path: Path) -> bool:
    """Whether *path*, resolved, lies strictly inside the resolved *directory*.

    Symlinks are followed; a path equal to the directory itself is not inside.
    Returns False if either path cannot be resolved (e.g. a symlink loop).
    """
    try:
        root = Path(directory).resolve()
        target = Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return target != root and target.is_relative_to(root)
