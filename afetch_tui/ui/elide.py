"""Shortening names to a column's width so that similar names still read apart."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

SEPARATORS = "-_. +~()[],"
"""Characters that end a word in a file or host name."""

_WORD = re.compile(f"[^{re.escape(SEPARATORS)}]+")
_EXTENSION = 8
"""The longest extension (dot included) kept whole."""
_LEAD = 2
"""Characters of the start that are always kept."""


def truncate_middle(text: str, width: int) -> str:
    """Shorten `text` to `width` cells with an ellipsis in the middle (keeps extensions)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) * 2 // 3
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def common_prefix(a: str, b: str) -> int:
    """How many characters `a` and `b` share at the start."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def elide_name(name: str, width: int, neighbours: tuple[str, ...] = ()) -> str:
    """Shorten a file name to `width` cells keeping what tells it from its `neighbours`.

    Names in a long queue often share a long prefix (``dataset-part-0001.parquet``,
    ``…-0002…``) or differ in several places (``…-amd64-….iso.part1`` against
    ``…-arm64-….iso.part1`` and ``…-amd64-….iso.part2``): plain middle truncation makes
    them identical. The shortened name keeps its extension and first characters, and:

    - against a neighbour of the same shape (as many words, at most a few differ), every
      word that differs: they are the fields that vary in that family of names, so the
      name also reads apart from the family's other members;
    - against any other neighbour, the word where they first differ, unless what is kept
      already rules that neighbour out.

    What is left of `width` then grows those pieces; each run of dropped characters
    becomes one ``…``.
    """
    if len(name) <= width:
        return name
    if width < 8:
        return truncate_middle(name, width)
    others = [other for other in neighbours if other != name]
    fields = sorted({i for other in others for i in _differing_fields(name, other)})
    plain = truncate_middle(name, width)
    head = (width - 1) * 2 // 3
    tail_start = len(name) - (width - 1 - head)
    if all(i < head or i >= tail_start for i in fields) and not any(
        _could_be(plain, other) for other in others
    ):
        return plain
    return _Elision(name, width).keep_apart(fields, others)


class SimilarNames:
    """The names each name must stay distinguishable from when shortened: its neighbours
    in alphabetical order (they differ from it late: ``….iso.part1``/``….iso.part2``) and
    in the order of the names read backwards (they differ from it early or in the middle:
    the ``arm64`` twin of an ``amd64`` name, whatever lies between them alphabetically),
    and one stand-in for each field that varies in its family (`_Families`): with three or
    more fields varying (year, region, kind, shard) a name's four neighbours do not cover
    them all, and names that were no one's neighbour read the same.

    Both orders are sorted lists of the names themselves (the second sorted by the names
    reversed, which are made only while it is searched or rebuilt: 100,000 reversed
    copies kept cost ~65 bytes a row), rebuilt from `every_name()` after many additions,
    else kept by insertion. Names that are gone stay until the next rebuild: a stale neighbour
    only makes a name keep a little more of itself."""

    REBUILD = 512
    """More new names than this at once and both lists are sorted afresh."""

    def __init__(self, every_name: Callable[[], Iterable[str]]) -> None:
        self._every_name = every_name
        self._forward: list[str] = []
        self._backward: list[str] = []  # sorted by each name reversed
        self._families = _Families()
        self._new: list[str] = []

    def reset(self) -> None:
        """Index `every_name()` afresh, at once."""
        self._new.clear()
        self._forward = sorted(set(self._every_name()))
        self._backward = sorted(self._forward, key=_reversed)
        self._families = _Families()
        for name in self._forward:
            self._families.add(name)

    def add(self, name: str) -> None:
        """Index one more name (when it is next asked about)."""
        self._new.append(name)

    def of(self, name: str) -> tuple[str, ...]:
        """The names `name` must read apart from: up to four neighbours, and a stand-in
        for each field its family varies in."""
        self._take_new()
        forward = _around(self._forward, name)
        backward = _around(self._backward, name, _reversed)
        return tuple(dict.fromkeys(forward + backward + self._families.stand_ins(name)))

    def _take_new(self) -> None:
        new, self._new = self._new, []
        if len(new) > self.REBUILD:
            self.reset()
            return
        for name in new:
            _insert(self._forward, name)
            _insert(self._backward, name, _reversed)
            self._families.add(name)


class _Families:
    """Names of one shape (the same separators between as many words) form a family when
    there are a few of them and some word is the same in all; the other words are its
    fields. (Two names of one shape are each other's neighbours or not far off:
    ``debian-12.7.0-amd64-netinst.iso`` and ``ubuntu-24.04.1-desktop-amd64.iso`` are no
    family.) For each position it keeps the first word seen and another one, if any."""

    MOST_FIELDS = 6
    """Stand-ins offered for at most this many fields (the first ones)."""
    FEWEST = 3
    """Members a family has at least."""

    def __init__(self) -> None:
        self._words: dict[str, list[list[str]]] = {}
        """Shape → per word position, the first word and a second, different one."""
        self._members: Counter[str] = Counter()

    def add(self, name: str) -> None:
        shape, words = _shape(name)
        self._members[shape] += 1
        seen = self._words.get(shape)
        if seen is None:
            self._words[shape] = [[word] for word in words]
            return
        for values, word in zip(seen, words, strict=True):
            if len(values) == 1 and word != values[0]:
                values.append(word)

    def stand_ins(self, name: str) -> list[str]:
        """For each field of `name`'s family, `name` with that word as another member has
        it: what `name` must keep to read apart from the family's other members."""
        shape, words = _shape(name)
        seen = self._words.get(shape)
        if seen is None:
            return []
        fields = [i for i, values in enumerate(seen) if len(values) > 1]
        if self._members[shape] < self.FEWEST or len(fields) == len(words):
            return []
        spans = _words(name)
        out = []
        for i in fields[: self.MOST_FIELDS]:
            values = seen[i]
            other = values[1] if words[i] == values[0] else values[0]
            start, end = spans[i]
            out.append(name[:start] + other + name[end:])
        return out


def _shape(name: str) -> tuple[str, list[str]]:
    """The name with each word replaced by a NUL (its shape), and the words."""
    return _WORD.sub("\0", name), _WORD.findall(name)


def _reversed(name: str) -> str:
    return name[::-1]


def _insert(names: list[str], name: str, key: Callable[[str], str] | None = None) -> None:
    """Put `name` in `names` (sorted by `key`) unless it is there."""
    index = bisect.bisect_left(names, key(name) if key else name, key=key)
    if index == len(names) or names[index] != name:
        names.insert(index, name)


def _around(names: list[str], name: str, key: Callable[[str], str] | None = None) -> list[str]:
    """The entries just before and after `name` in `names` (sorted by `key`)."""
    index = bisect.bisect_left(names, key(name) if key else name, key=key)
    after = index + 1 if index < len(names) and names[index] == name else index
    return [names[i] for i in (index - 1, after) if 0 <= i < len(names)]


def _words(name: str) -> list[tuple[int, int]]:
    return [match.span() for match in _WORD.finditer(name)]


def _differing_fields(name: str, other: str) -> Iterator[int]:
    """Where `name` first differs within each word that differs from `other`'s, when
    the two have the same shape; nothing otherwise."""
    ours, theirs = _words(name), _words(other)
    if len(ours) != len(theirs):
        return
    differing = [
        (a, b) for a, b in zip(ours, theirs, strict=True) if name[a[0] : a[1]] != other[b[0] : b[1]]
    ]
    if len(differing) > max(2, len(ours) // 3):
        return
    for (start, end), (other_start, other_end) in differing:
        shared = common_prefix(name[start:end], other[other_start:other_end])
        yield min(start + shared, end - 1)


def _could_be(shown: str, other: str) -> bool:
    """Whether `other` shortened could read as `shown` (each ``…`` hides 1+ characters)."""
    pattern = ".+".join(re.escape(piece) for piece in shown.split("…"))
    return re.fullmatch(pattern, other, re.DOTALL) is not None


class _Elision:
    """Which characters of a name are kept, and what showing them costs: one cell each,
    plus one ``…`` for each run of dropped characters."""

    def __init__(self, name: str, width: int) -> None:
        self.name = name
        self.width = width
        self.kept = [False] * len(name)
        self.cost = 1  # nothing kept: a lone "…"

    def keep(self, index: int) -> bool:
        """Keep one more character if the result still fits; False when it would not."""
        kept = self.kept
        if not 0 <= index < len(kept):
            return False
        if kept[index]:
            return True
        left_dropped = index > 0 and not kept[index - 1]
        right_dropped = index < len(kept) - 1 and not kept[index + 1]
        # the dropped run it was in splits in two, shrinks, or disappears
        cost = self.cost + 1
        if left_dropped and right_dropped:
            cost += 1
        elif not left_dropped and not right_dropped:
            cost -= 1
        if cost > self.width:
            return False
        kept[index] = True
        self.cost = cost
        return True

    def keep_run(self, indices: range) -> None:
        """Keep `indices` in order until one does not fit."""
        for index in indices:
            if not self.keep(index):
                return

    def keep_word(self, index: int) -> None:
        """Keep the character at `index`, then the word around it (a few characters
        back, more onward)."""
        name = self.name
        end = index
        while end + 1 < len(name) and name[end + 1] not in SEPARATORS and end - index < 8:
            end += 1
        start = index
        while start > 0 and name[start - 1] not in SEPARATORS and index - start < 4:
            start -= 1
        if self.keep(index):
            self.keep_run(range(index + 1, end + 1))
            self.keep_run(range(index - 1, start - 1, -1))

    def keep_apart(self, fields: list[int], others: list[str]) -> str:
        name = self.name
        size = len(name)
        dot = name.rfind(".")
        ext = dot if dot > 0 and size - dot <= min(_EXTENSION, self.width // 2) else size
        self.keep_run(range(size - 1, ext - 1, -1))
        self.keep_run(range(_LEAD))
        for index in fields:  # where each field differs first, then the words
            self.keep(index)
        for index in fields:
            self.keep_word(index)
        starts = list(fields)
        for other in sorted(others, key=lambda o: -common_prefix(name, o)):
            if _could_be(self.render(), other):
                split = min(common_prefix(name, other), size - 1)
                self.keep_word(split)
                starts.append(split)
        # grow the start and each difference onward in turn; then the text before the
        # extension (with no extension, the end grows with the others)
        growing = [iter(range(_LEAD, size))]
        growing += [iter(range(start + 1, size)) for start in sorted(set(starts))]
        before_ext = iter(range(ext - 1, -1, -1))
        if ext == size:
            growing.append(before_ext)
        self._grow(growing)
        self._grow([before_ext])
        return self.render()

    def _grow(self, growing: list[Iterator[int]]) -> None:
        """Keep the next character of each run in turn, until none fits."""
        while growing:
            for run in list(growing):
                for index in run:
                    if not self.kept[index]:
                        if not self.keep(index):
                            growing.remove(run)
                        break
                else:
                    growing.remove(run)

    def render(self) -> str:
        out: list[str] = []
        dropped = False
        for char, kept in zip(self.name, self.kept, strict=True):
            if kept:
                out.append(char)
                dropped = False
            elif not dropped:
                out.append("…")
                dropped = True
        return "".join(out)
