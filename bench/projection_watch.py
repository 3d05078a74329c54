"""When resources settle, seen where the API sees it: the rows of the API's database (SQLite or PostgreSQL).

Reading the database directly (a few microseconds per query on SQLite, well under a millisecond on PostgreSQL) lets
the bench poll every few milliseconds without loading the API it measures; the API answers GETs from exactly these
rows. A row is settled when every accepted
operation is applied (`applied_seq >= accepted_seq`), which is when the API stops showing PROVISIONING.
"""

import asyncio
import sqlite3
import time
from pathlib import Path

SETTLED = "applied_seq >= accepted_seq"


class ProjectionWatch:
    """`database`: the SQLite file's path, or a PostgreSQL URL (postgresql+psycopg://...)."""

    def __init__(self, database: Path | str) -> None:
        self.path = database
        self.postgres = str(database).startswith("postgresql")
        self._db = None

    def _conn(self):
        if self._db is None:
            if self.postgres:
                import psycopg
                from sqlalchemy.engine import make_url

                dsn = make_url(str(self.path)).set(drivername="postgresql").render_as_string(hide_password=False)
                self._db = psycopg.connect(dsn, autocommit=True)
            else:
                self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                self._db.execute("PRAGMA busy_timeout = 30000")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.postgres:
            sql = sql.replace("?", "%s")
        return self._conn().execute(sql, params).fetchall()

    def pending(self) -> int:
        """Resources with accepted operations not yet applied."""
        (networks,) = self.query(f"SELECT COUNT(*) FROM networks WHERE NOT ({SETTLED})")[0]
        (ports,) = self.query(f"SELECT COUNT(*) FROM ports WHERE NOT ({SETTLED})")[0]
        return networks + ports

    def resource_count(self) -> dict[str, int]:
        return {
            "networks": self.query("SELECT COUNT(*) FROM networks")[0][0],
            "ports": self.query("SELECT COUNT(*) FROM ports")[0][0],
            "attachments": self.query("SELECT COUNT(*) FROM ports WHERE attachment_id IS NOT NULL")[0][0],
        }

    def network_state(self, network_id: str) -> tuple[bool, str | None]:
        """(settled, status) of one network; (False, None) while its row is missing."""
        rows = self.query(f"SELECT {SETTLED}, status FROM networks WHERE id = ?", (network_id,))
        return (bool(rows[0][0]), rows[0][1]) if rows else (False, None)

    def port_state(self, port_id: str) -> tuple[bool, str | None, str | None]:
        """(settled, status, attachment_status) of one port."""
        rows = self.query(f"SELECT {SETTLED}, status, attachment_status FROM ports WHERE id = ?", (port_id,))
        return (bool(rows[0][0]), rows[0][1], rows[0][2]) if rows else (False, None, None)

    def port_qos(self, port_id: str) -> tuple[bool, str | None]:
        """(settled, qos_status) of one port: settled once every accepted operation (a SET_QOS too) is applied."""
        rows = self.query(f"SELECT {SETTLED}, qos_status FROM ports WHERE id = ?", (port_id,))
        return (bool(rows[0][0]), rows[0][1]) if rows else (False, None)

    def qos_counts(self, network_id: str) -> dict[str, int]:
        """{qos_status: ports} of the network's settled ports ("PENDING" for those not settled yet)."""
        rows = self.query(
            f"SELECT CASE WHEN {SETTLED} THEN COALESCE(qos_status, 'NONE') ELSE 'PENDING' END AS s, COUNT(*) "
            "FROM ports WHERE network_id = ? GROUP BY s",
            (network_id,),
        )
        return dict(rows)

    def settled_ports(self, network_id: str) -> dict[str, str]:
        """{port id: status} of the network's settled ports."""
        return dict(self.query(f"SELECT id, status FROM ports WHERE network_id = ? AND {SETTLED}", (network_id,)))

    async def drain(self, timeout: float, interval: float = 0.1) -> float:
        """Wait until no accepted operation is left unapplied; return how long that took. TimeoutError after
        `timeout` seconds (the figures after it would measure a backlog, not a scenario)."""
        start = time.perf_counter()
        while True:
            left = self.pending()
            if left == 0:
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"{left} resources still PROVISIONING after {timeout:.0f} s")
            await asyncio.sleep(interval)
