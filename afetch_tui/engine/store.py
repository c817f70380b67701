"""The persistent queue: SQLite in WAL mode, used from one thread of its own.

It holds every download's options, state, validators and checkpoint (the number of bytes
known to be flushed to disk), plus the live limits. One process at a time owns a store:
a lock file next to it refuses a second one with a clear message.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import functools
import hashlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from afetch_tui.engine.errors import StoreBusy, StoreError
from afetch_tui.engine.records import COLUMNS, BadRow, Record

T = TypeVar("T")

SCHEMA_VERSION = 4
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE downloads (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            directory TEXT NOT NULL,
            requested_name TEXT,
            name TEXT,
            headers TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL,
            checkpoint INTEGER NOT NULL DEFAULT 0,
            total INTEGER,
            etag TEXT,
            last_modified TEXT,
            retries INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            rank REAL NOT NULL,
            limit_rate REAL,
            added_at REAL NOT NULL,
            finished_at REAL,
            log TEXT NOT NULL DEFAULT '[]'
        )""",
        "CREATE INDEX downloads_rank ON downloads (rank)",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ],
    2: ["ALTER TABLE downloads ADD COLUMN checksum TEXT"],
    3: [
        "ALTER TABLE downloads ADD COLUMN connections INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE downloads ADD COLUMN regions TEXT",
    ],
    4: [  # checkpoints of the same boot (written) and fsynced ones (survive a power cut)
        "ALTER TABLE downloads ADD COLUMN boot_id TEXT",
        "ALTER TABLE downloads ADD COLUMN synced INTEGER NOT NULL DEFAULT 0",
        "UPDATE downloads SET synced = checkpoint",
        f"CREATE TABLE set_aside ({', '.join(COLUMNS)}, reason TEXT, set_aside_at REAL)",
    ],
}
MAX_NOTICES = 5
"""Bad rows named one by one; beyond this many, one line counts the rest."""


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir("afetch", appauthor=False))


def default_path() -> Path:
    """The dashboard's queue."""
    return data_dir() / "state.db"


def headless_path(directory: Path) -> Path:
    """Where ``afetch get`` keeps what it needs to resume downloads into ``directory``."""
    digest = hashlib.sha256(os.fsencode(directory)).hexdigest()[:16]
    return data_dir() / "get" / f"{digest}.db"


def _make_private(path: Path) -> None:
    """Create ``path`` (and its directory) readable by its owner only: it holds the URLs
    and headers a resume needs, passwords and tokens included.

    The file (and SQLite's ``-wal``/``-shm`` beside it) is 0600; a directory afetch creates,
    and its own data directory, are 0700. A directory the user chose (``--state``) is left
    as it is.
    """
    directory, root = path.parent, data_dir()
    if directory.is_relative_to(root):
        private = [directory, *(level for level in directory.parents if level.is_relative_to(root))]
    else:
        private = [] if directory.exists() else [directory]
    directory.mkdir(parents=True, exist_ok=True)
    for level in private:
        if stat.S_IMODE(level.stat().st_mode) != 0o700:
            os.chmod(level, 0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", 0o600)


def _owner_pid(lock_file: Any) -> int | None:
    """The pid the lock's holder wrote, waiting a moment for one that has just taken it
    (it writes its pid right after taking the lock)."""
    for _ in range(20):
        lock_file.seek(0)
        text = lock_file.read().strip()
        if text.isdigit():
            return int(text)
        time.sleep(0.025)
    return None


class Store:
    """Use ``await Store.open(path)``; every method runs on the store's own thread."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path).expanduser().absolute() if path else default_path()
        self.notices: list[str] = []
        """One-line messages for the user about what opening had to repair."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="afetch-store")
        self._conn: sqlite3.Connection | None = None
        self._opened: list[Record] | None = None
        self._lock_file: Any = None

    @classmethod
    async def open(cls, path: Path | str | None = None) -> Store:
        store = cls(path)
        try:
            await store._run(store._open)
        except BaseException:
            store._executor.shutdown(wait=False)
            raise
        return store

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # -- opening --------------------------------------------------------------------------

    def _open(self) -> None:
        try:
            _make_private(self.path)
        except OSError as exc:
            raise StoreError(f"cannot create {self.path}: {exc.strerror}") from None
        self._take_lock()
        try:
            self._conn = self._connect()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise StoreError(
                    f"the state file {self.path} is locked by another program"
                ) from None
            raise StoreError(f"cannot open the state file {self.path}: {exc}") from None
        except sqlite3.DatabaseError:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            for suffix in ("", "-wal", "-shm"):
                source = Path(str(self.path) + suffix)
                if source.exists():
                    os.replace(source, Path(str(aside) + suffix))
            self.notices = [
                f"the state file {self.path} was unreadable; it was moved to {aside.name} "
                "and afetch started with an empty queue"
            ]
            _make_private(self.path)
            self._conn = self._connect()
        self._set_aside_bad_rows(self._conn)

    @property
    def notice(self) -> str | None:
        return "\n".join(self.notices) if self.notices else None

    def _set_aside_bad_rows(self, conn: sqlite3.Connection) -> None:
        """Move rows that are not downloads to ``set_aside``, with one message each."""
        bad, good = [], []
        for row in conn.execute(f"SELECT {', '.join(COLUMNS)} FROM downloads ORDER BY rank"):
            try:
                good.append(Record.from_row(row))
            except BadRow as exc:
                bad.append((row, str(exc)))
        self._opened = good  # what the first load returns: every row is read once
        if not bad:
            return
        placeholders = ", ".join("?" for _ in range(len(COLUMNS) + 2))
        with _transaction(conn):
            conn.executemany(
                f"INSERT INTO set_aside VALUES ({placeholders})",
                [(*row, reason, time.time()) for row, reason in bad],
            )
            conn.executemany("DELETE FROM downloads WHERE rowid = ?", [(row[0],) for row, _ in bad])
        self.notices += _bad_row_notices(self.path, [(row[0], r) for row, r in bad], "set aside")

    def _take_lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            # Never through a link: a planted ``state.db.lock`` symlink would be truncated.
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StoreError(
                    f"{lock_path} is a symbolic link; afetch will not use it as its lock file"
                ) from None
            raise StoreError(f"cannot open {lock_path}: {exc.strerror}") from None
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)
        self._lock_file = os.fdopen(fd, "r+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _owner_pid(self._lock_file)
            self._lock_file.close()
            raise StoreBusy(
                f"another afetch (pid {pid or '?'}) is using {self.path}; "
                "close it, or use --state to pick another state file",
                pid,
            ) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 3000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
            self._migrate(conn)
            try:  # the tables afetch reads must have the columns it reads
                conn.execute(f"SELECT {', '.join(COLUMNS)} FROM downloads LIMIT 0")
                conn.execute("SELECT key, value FROM settings LIMIT 0")
            except sqlite3.OperationalError as exc:
                raise _Unusable(str(exc)) from None
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the state file was written by a newer afetch (schema {version}); "
                "upgrade afetch or use --state to pick another file"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with _transaction(conn):
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")

    # -- reading and writing --------------------------------------------------------------

    async def load(self) -> tuple[list[Record], dict[str, Any]]:
        return await self._run(self._load)

    def _load(self) -> tuple[list[Record], dict[str, Any]]:
        conn = self._db()
        records, self._opened = self._opened, None
        if records is None:  # bad rows were set aside at open
            rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM downloads ORDER BY rank")
            records = [Record.from_row(row) for row in rows]
        settings = {}
        for key, value in conn.execute("SELECT key, value FROM settings"):
            try:
                settings[key] = json.loads(value)
            except (TypeError, ValueError):  # a bad setting is dropped: its default applies
                continue
        return records, settings

    async def save(self, records: Iterable[Record], deleted: Iterable[int] = ()) -> None:
        """Insert or update ``records`` and delete ``deleted``, in one transaction."""
        await self._run(self._save, [r.row() for r in records], list(deleted))

    def _save(self, rows: list[tuple[Any, ...]], deleted: list[int]) -> None:
        conn = self._db()
        self._opened = None  # the rows read at open are stale now
        with _transaction(conn):
            start = 0
            for count in _chunks(len(rows)):
                chunk = rows[start : start + count]
                conn.execute(_insert(count), [value for row in chunk for value in row])
                start += count
            conn.executemany("DELETE FROM downloads WHERE id = ?", [(i,) for i in deleted])

    async def save_settings(self, settings: dict[str, Any]) -> None:
        await self._run(self._save_settings, settings)

    def _save_settings(self, settings: dict[str, Any]) -> None:
        conn = self._db()
        with _transaction(conn):
            conn.executemany(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in settings.items()],
            )

    async def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            await self._run(self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn


ROWS_PER_INSERT = 512
"""Rows written by one INSERT statement at most (512 rows of 23 values, under SQLite's 32,766).

One statement per row (``executemany``) lets go of the GIL and takes it back for every
row: while the event loop's thread is busy (transfers running beside a long list being
queued) each of those waits up to a switch interval (5 ms) to get it back, and writing
1,000 rows took seconds instead of milliseconds."""


def _chunks(count: int) -> list[int]:
    """``count`` rows as statements of `ROWS_PER_INSERT` rows, then of powers of two for
    the rest: a dozen statement shapes in all, each prepared once (`_insert`)."""
    full, rest = divmod(count, ROWS_PER_INSERT)
    return [ROWS_PER_INSERT] * full + [1 << bit for bit in range(9, -1, -1) if rest & (1 << bit)]


@functools.lru_cache(maxsize=16)
def _insert(count: int) -> str:
    """The statement that writes ``count`` rows of `COLUMNS`."""
    row = f"({', '.join('?' for _ in COLUMNS)})"
    return f"INSERT OR REPLACE INTO downloads ({', '.join(COLUMNS)}) VALUES " + ", ".join(
        row for _ in range(count)
    )


_ADDED_LATER = {"connections": "1", "synced": "0"}
"""Values for columns a file from an older afetch lacks (the others are NULL)."""


class _Unusable(sqlite3.DatabaseError):
    """SQLite, but not tables afetch wrote: handled like a corrupt file."""


def _bad_row_notices(path: Path, bad: list[tuple[Any, str]], done: str) -> list[str]:
    lines = [f"download {row_id} in {path} is unreadable ({why}); {done}" for row_id, why in bad]
    if len(lines) > MAX_NOTICES:
        lines = [*lines[: MAX_NOTICES - 1], f"and {len(lines) - MAX_NOTICES + 1} more, {done}"]
    return lines


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection):  # type: ignore[no-untyped-def]
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def read_records(path: Path | str | None = None, skipped: list[str] | None = None) -> list[Record]:
    """The stored queue, read without taking the lock (safe beside a running afetch: WAL).

    A row that is not a download is left out, with a message added to ``skipped``.
    """
    source = Path(path).expanduser().absolute() if path else default_path()
    if not source.exists():
        raise StoreError(f"no afetch state at {source}")
    try:
        conn = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {source}: {exc}") from None
    try:
        present = {info[1] for info in conn.execute("PRAGMA table_info(downloads)")}
        columns = [c if c in present else _ADDED_LATER.get(c, "NULL") for c in COLUMNS]
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM downloads ORDER BY rank")
        records, bad = [], []
        for row in rows:
            try:
                records.append(Record.from_row(row))
            except BadRow as exc:
                bad.append((row[0], str(exc)))
        if skipped is not None:
            skipped += _bad_row_notices(source, bad, "left out")
        return records
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {source}: {exc}") from None
    finally:
        conn.close()
