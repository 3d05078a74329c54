"""One writer at a time on a SQLite file, handed over at once: a queue in front of SQLite's write lock.

SQLite lets one connection write at a time. A connection that finds the lock taken retries on a
timer (busy_timeout) that sleeps 1, 2, 5, 10 ... up to 100 ms between tries, whenever the lock was
freed: under the API's and the worker's writes together, a write that would take 2 ms waited
hundreds (bench/: the API's claim + commit p99 626 ms at 20 writes/s, p50 14 ms). Here every
connection opened by store.connection takes the database's writer lock before its transaction's
first write (INSERT, UPDATE, DELETE, REPLACE: the statements on which sqlite3 opens a transaction)
and gives it back on commit, rollback or close, so SQLite's own lock is never waited for:

- in a process, a threading lock: a waiting thread wakes the moment the holder is done;
- across processes (API, worker, agents on one file), `flock` on `<database>-writers.lock`, held
  by the process's current writer and polled every POLL_SECONDS: a wait of about a millisecond.

Reads take nothing (WAL readers never wait for the writer). A thread that already writes on one
connection and writes on another is let through to SQLite, as before this module; so is a wait that
passes WAIT_LIMIT_SECONDS, which then ends in SQLite's own "database is locked" as it would have.
"""

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path

POLL_SECONDS = 0.0005
WAIT_LIMIT_SECONDS = 30.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriterLock:
    """The writers' lock of one database file, for every connection of this process."""

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{database}-writers.lock")
        self._threads = threading.Lock()
        self._holder: int | None = None  # the thread holding it
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Wait for the lock; False when this thread holds it already (through another connection)
        or the wait passed WAIT_LIMIT_SECONDS: the caller then goes on without it."""
        if self._holder == threading.get_ident():
            return False
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        if not self._threads.acquire(timeout=WAIT_LIMIT_SECONDS):
            return False
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        self._threads.release()
                        return False
                    time.sleep(POLL_SECONDS)
        except BaseException:
            self._threads.release()
            raise
        self._holder = threading.get_ident()
        return True

    def release(self) -> None:
        self._holder = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


_locks: dict[str, WriterLock] = {}
_locks_guard = threading.Lock()


def writer_lock(database: Path) -> WriterLock:
    """The process's one lock object for `database` (every engine on the file shares it)."""
    key = str(database.resolve())
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = WriterLock(Path(key))
        return lock


def connection_factory(lock: WriterLock) -> type[sqlite3.Connection]:
    """A sqlite3.Connection class (for `connect(factory=...)`) whose transactions take `lock`."""

    class QueuedWriterConnection(sqlite3.Connection):
        _holds = False

        def cursor(self, factory=None):  # noqa: ANN001 - sqlite3's signature
            return super().cursor(factory or QueuedWriterCursor)

        def _run(self, statement, sql: str, *args):  # noqa: ANN001
            """`statement(sql, *args)` with the lock taken before a transaction's first write; a write
            outside a transaction (autocommit) gives it back at once."""
            if not self._holds and not self.in_transaction and sql.lstrip()[:7].upper().startswith(_WRITES):
                self._holds = lock.acquire()
            try:
                return statement(sql, *args)
            finally:
                self._release()

        def _release(self, closing: bool = False) -> None:
            """Give the lock back once no transaction is open (closing: a closed connection has none)."""
            if self._holds and (closing or not self.in_transaction):
                self._holds = False
                lock.release()

        def execute(self, sql, *args):  # noqa: ANN001 - sqlite3's own would not use our cursor
            return self.cursor().execute(sql, *args)

        def executemany(self, sql, *args):  # noqa: ANN001
            return self.cursor().executemany(sql, *args)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._release()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._release()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._release(closing=True)

    class QueuedWriterCursor(sqlite3.Cursor):
        def execute(self, sql, *args):  # noqa: ANN001
            return self.connection._run(super().execute, sql, *args)

        def executemany(self, sql, *args):  # noqa: ANN001
            return self.connection._run(super().executemany, sql, *args)

    return QueuedWriterConnection
