"""The VLAN allocator of the plugins that map a network to a VLAN id (ovs-sim, ovs).

Each such plugin keeps a `vlans` table in its own SQLite file (plugins/plugin_store.py), so every worker
allocates from one pool and a restart keeps the bindings. Allocation is lowest free id first and runs
inside the caller's BEGIN IMMEDIATE transaction, so no two workers take the same id.
"""

import sqlite3
from typing import Annotated

from pydantic import AfterValidator

from plugins.base import PermanentPluginError

VLANS_SCHEMA = """
CREATE TABLE IF NOT EXISTS vlans (
    network_id TEXT PRIMARY KEY,
    vlan       INTEGER NOT NULL UNIQUE
);
"""


def parse_range(value: str) -> tuple[int, int]:
    """Parse "100-199" into (100, 199); raise ValueError when it is not a valid VLAN range."""
    low, sep, high = value.partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise ValueError(f"range must look like 100-199, not {value!r}")
    lo, hi = int(low), int(high)
    if not 1 <= lo <= hi <= 4094:
        raise ValueError(f"VLAN range {value!r} must lie within 1-4094")
    return lo, hi


def _checked(value: str) -> str:
    parse_range(value)
    return value


# A settings field holding a VLAN range ("100-199"), refused at start when it is not one.
VlanRange = Annotated[str, AfterValidator(_checked)]


class VlanAllocator:
    """Networks' VLAN ids from `vlan_range` (low, high), in a plugin's `vlans` table."""

    def __init__(self, vlan_range: tuple[int, int]) -> None:
        self.low, self.high = vlan_range

    @staticmethod
    def vlan_of(db: sqlite3.Connection, network_id: str) -> int | None:
        row = db.execute("SELECT vlan FROM vlans WHERE network_id = ?", (network_id,)).fetchone()
        return row[0] if row else None

    def allocate(self, db: sqlite3.Connection, network_id: str) -> int:
        """The network's VLAN: the one it has, else the lowest free one; PermanentPluginError when none is left."""
        current = self.vlan_of(db, network_id)
        if current is not None:
            return current
        used = {vlan for (vlan,) in db.execute("SELECT vlan FROM vlans WHERE vlan BETWEEN ? AND ?", (self.low, self.high))}
        free = next((vlan for vlan in range(self.low, self.high + 1) if vlan not in used), None)
        if free is None:
            raise PermanentPluginError(
                f"VLAN range {self.low}-{self.high} exhausted: no VLAN id left for network {network_id}"
            )
        db.execute("INSERT INTO vlans (network_id, vlan) VALUES (?, ?)", (network_id, free))
        return free

    @staticmethod
    def release(db: sqlite3.Connection, network_id: str) -> None:
        db.execute("DELETE FROM vlans WHERE network_id = ?", (network_id,))
