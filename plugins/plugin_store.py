"""A simulated plugin's own SQLite file: its device state, a ledger of applied requests, and
attempt counts for injected faults.

The file lives under the data dir, so a restarted worker (or a second worker process) sees the same
devices. It is safe for concurrent calls from threads and processes:

- each thread has its own connection, opened on its first call and reused by its later ones (an sqlite3
  connection must not be shared between threads; opening one per call cost a worker more CPU than the rest
  of a plugin step); a transaction begun while the thread's own is still open gets a fresh connection;
- WAL lets readers run beside the one writer, and busy_timeout makes a writer wait, not fail;
  synchronous=NORMAL (as for netprov's own database, store/connection.py): a commit survives a crash
  of the process, not of the machine, and costs no fsync (one per commit was most of a step's time);
- every check-then-write runs in one BEGIN IMMEDIATE transaction, so two workers cannot both see
  "not applied yet" and both apply.
"""

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from netprov.operations import PluginRequest
from netprov.settings import Settings

_BUSY_TIMEOUT_S = 30.0

_LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    request_id  TEXT NOT NULL,
    action      TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    applied_at  TEXT NOT NULL,
    result      TEXT,
    UNIQUE (request_id, action)
);
CREATE TABLE IF NOT EXISTS attempts (
    request_id TEXT NOT NULL,
    action     TEXT NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (request_id, action)
);
"""


@dataclass(frozen=True)
class LedgerEntry:
    """One action applied for one request. `action` is the plugin call (for a multi-step plugin, the
    step name); `resource_id` is the network id for network calls, else the port id."""

    request_id: str
    action: str
    resource_id: str
    applied_at: datetime
    result: dict[str, str] | None


def resource_id_of(request: PluginRequest, action: str) -> str:
    if action.endswith("network") or not request.port_id:
        return request.network_id
    return request.port_id


class PluginStore:
    """The SQLite file `<data_dir>/plugins/<name>.db`, with the plugin's tables from `schema`."""

    def __init__(self, settings: Settings, name: str, schema: str) -> None:
        self.path = Path(settings.data_dir) / "plugins" / f"{name}.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._init_file(schema)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the transaction is exactly ours.
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA synchronous = NORMAL")  # per connection, not stored in the file
        return db

    def _init_file(self, schema: str) -> None:
        db = self._connect()
        try:
            # Switching to WAL takes an exclusive lock and can report "locked" without waiting
            # while a second process is doing the same; it is persistent, so retrying is enough.
            for attempt in range(50):
                try:
                    db.execute("PRAGMA journal_mode = WAL")
                    break
                except sqlite3.OperationalError:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
        finally:
            db.close()
        with self.transaction() as db:
            for statement in (_LEDGER_SCHEMA + schema).split(";"):
                if statement.strip():
                    db.execute(statement)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction on this thread's connection: committed when the block ends, rolled back when it
        raises. `write=True` takes the write lock at BEGIN (IMMEDIATE), so what the block reads
        cannot change before it writes; `write=False` gives a consistent snapshot for reading."""
        cached = getattr(self._local, "db", None)
        nested = cached is not None and cached.in_transaction
        db = cached if cached is not None and not nested else self._connect()
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except BaseException:
            # A BEGIN, COMMIT or ROLLBACK that failed may leave a transaction open: closing the connection
            # rolls it back, and the thread's next call opens a new one.
            if db.in_transaction or nested:
                db.close()
                if db is cached:
                    self._local.db = None
            else:
                self._local.db = db
            raise
        if nested:
            db.close()
        else:
            self._local.db = db

    def apply_once(
        self,
        request: PluginRequest,
        action: str,
        change: Callable[[sqlite3.Connection], dict[str, str] | None],
    ) -> dict[str, str] | None:
        """Run `change` and record (request_id, action) in the ledger, in one transaction. When the
        ledger already holds them, `change` is not run and the result recorded then is returned.
        An exception from `change` rolls everything back: nothing applied, nothing recorded."""
        with self.transaction() as db:
            return self._apply_in(db, request, action, change)

    def apply_many_once(
        self, entries: list[tuple[PluginRequest, str, Callable[[sqlite3.Connection], dict[str, str] | None]]]
    ) -> list[dict[str, str] | None | Exception]:
        """`apply_once` for many (request, action, change) in one transaction (one commit for a
        batch chunk). Each entry runs under its own savepoint: one whose `change` raises is rolled
        back alone and its exception is returned in its place."""
        results: list[dict[str, str] | None | Exception] = []
        if not entries:
            return results
        with self.transaction() as db:
            for request, action, change in entries:
                db.execute("SAVEPOINT entry")
                try:
                    results.append(self._apply_in(db, request, action, change))
                except Exception as error:  # noqa: BLE001 - handed back to the caller, per entry
                    db.execute("ROLLBACK TO entry")
                    results.append(error)
                db.execute("RELEASE entry")
        return results

    def _apply_in(
        self,
        db: sqlite3.Connection,
        request: PluginRequest,
        action: str,
        change: Callable[[sqlite3.Connection], dict[str, str] | None],
    ) -> dict[str, str] | None:
        row = db.execute(
            "SELECT result FROM ledger WHERE request_id = ? AND action = ?", (request.request_id, action)
        ).fetchone()
        if row is not None:
            return None if row[0] is None else json.loads(row[0])
        result = change(db)
        db.execute(
            "INSERT INTO ledger (request_id, action, resource_id, applied_at, result) VALUES (?, ?, ?, ?, ?)",
            (
                request.request_id,
                action,
                resource_id_of(request, action),
                datetime.now(UTC).isoformat(),
                None if result is None else json.dumps(result),
            ),
        )
        return result

    def count_attempt(self, request_id: str, action: str) -> int:
        """Count one more call of (request_id, action); return how many there have been, this one included."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO attempts (request_id, action, count) VALUES (?, ?, 1)"
                " ON CONFLICT (request_id, action) DO UPDATE SET count = count + 1",
                (request_id, action),
            )
            (count,) = db.execute(
                "SELECT count FROM attempts WHERE request_id = ? AND action = ?", (request_id, action)
            ).fetchone()
            return count

    def ledger(self) -> list[LedgerEntry]:
        """Every applied action, oldest first."""
        with self.transaction(write=False) as db:
            rows = db.execute(
                "SELECT request_id, action, resource_id, applied_at, result FROM ledger ORDER BY rowid"
            ).fetchall()
        return [
            LedgerEntry(
                request_id=request_id,
                action=action,
                resource_id=resource_id,
                applied_at=datetime.fromisoformat(applied_at),
                result=None if result is None else json.loads(result),
            )
            for request_id, action, resource_id, applied_at, result in rows
        ]

    def count_rows(self, tables: dict[str, str]) -> dict[str, int]:
        """{key: number of rows in table} for `tables` = {key: table name} (names are ours, not input)."""
        with self.transaction(write=False) as db:
            return {
                key: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for key, table in tables.items()
            }
