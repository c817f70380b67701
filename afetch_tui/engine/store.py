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
import hashlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from afetch_tui.engine.errors import StoreError

T = TypeVar("T")

SCHEMA_VERSION = 3
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
}

COLUMNS = (
    "id",
    "url",
    "directory",
    "requested_name",
    "name",
    "headers",
    "state",
    "checkpoint",
    "total",
    "etag",
    "last_modified",
    "retries",
    "error",
    "rank",
    "limit_rate",
    "added_at",
    "finished_at",
    "log",
    "checksum",
    "connections",
    "regions",
)


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir("afetch", appauthor=False))


def default_path() -> Path:
    """The dashboard's queue."""
    return data_dir() / "state.db"


def headless_path(directory: Path) -> Path:
    """Where ``afetch get`` keeps what it needs to resume downloads into ``directory``."""
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
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


@dataclass(slots=True)
class Record:
    """One download as stored."""

    id: int
    url: str
    directory: str
    requested_name: str | None
    name: str | None
    headers: dict[str, str]
    state: str
    checkpoint: int
    total: int | None
    etag: str | None
    last_modified: str | None
    retries: int
    error: str | None
    rank: float
    limit_rate: float | None
    added_at: float
    finished_at: float | None
    log: list[tuple[float, str]]
    checksum: str | None = None
    """``algo=hex`` the file must match, if one was given."""
    connections: int = 1
    regions: list[list[int]] | None = None
    """``[start, end, checkpoint]`` for each region of a download split over connections."""

    def row(self) -> tuple[Any, ...]:
        values = [getattr(self, c) for c in COLUMNS]
        values[COLUMNS.index("headers")] = json.dumps(self.headers)
        values[COLUMNS.index("log")] = json.dumps(self.log)
        values[COLUMNS.index("regions")] = json.dumps(self.regions) if self.regions else None
        return tuple(values)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Record:
        values = dict(zip(COLUMNS, row, strict=True))
        values["headers"] = json.loads(values["headers"])
        values["log"] = [tuple(entry) for entry in json.loads(values["log"])]
        values["regions"] = json.loads(values["regions"]) if values["regions"] else None
        return cls(**values)


class Store:
    """Use ``await Store.open(path)``; every method runs on the store's own thread."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path).expanduser().absolute() if path else default_path()
        self.notice: str | None = None
        """A one-line message for the user when opening had to repair something."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="afetch-store")
        self._conn: sqlite3.Connection | None = None
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
            self.notice = (
                f"the state file {self.path} was unreadable; it was moved to {aside.name} "
                "and afetch started with an empty queue"
            )
            _make_private(self.path)
            self._conn = self._connect()

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
            self._lock_file.seek(0)
            pid = self._lock_file.read().strip() or "?"
            self._lock_file.close()
            raise StoreError(
                f"another afetch (pid {pid}) is using {self.path}; "
                "close it, or use --state to pick another state file"
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
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM downloads ORDER BY rank")
        records = [Record.from_row(row) for row in rows]
        settings = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM settings")}
        return records, settings

    async def save(self, records: Iterable[Record], deleted: Iterable[int] = ()) -> None:
        """Insert or update ``records`` and delete ``deleted``, in one transaction."""
        await self._run(self._save, [r.row() for r in records], list(deleted))

    def _save(self, rows: list[tuple[Any, ...]], deleted: list[int]) -> None:
        conn = self._db()
        placeholders = ", ".join("?" for _ in COLUMNS)
        with _transaction(conn):
            conn.executemany(
                f"INSERT OR REPLACE INTO downloads ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                rows,
            )
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


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection):  # type: ignore[no-untyped-def]
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def read_records(path: Path | str | None = None) -> list[Record]:
    """The stored queue, read without taking the lock (safe beside a running afetch: WAL)."""
    source = Path(path).expanduser().absolute() if path else default_path()
    if not source.exists():
        raise StoreError(f"no afetch state at {source}")
    try:
        conn = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {source}: {exc}") from None
    try:
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM downloads ORDER BY rank")
        return [Record.from_row(row) for row in rows]
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {source}: {exc}") from None
    finally:
        conn.close()
