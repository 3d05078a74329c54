"""Port MAC addresses in Neutron's style: the `fa:16:3e` prefix and 24 random bits, unique.

`new_mac_address` is the column default of `ports.mac_address` (store/tables.py): SQLAlchemy
calls it once per inserted row, ORM or Core, single or executemany. With 24 random bits two of
10,000 ports would share a MAC about three times in a thousand draws of a fleet, so each draw is
checked against the table (on the inserting connection, inside its transaction) and against the
MACs already drawn for the same statement (an executemany inserts its rows only after drawing all
of them). The unique index stays the last word: two transactions drawing the same free MAC at the
same instant (about 1 in 16 million per concurrent pair) get an IntegrityError, never a duplicate.
"""

import secrets

from sqlalchemy import text

PREFIX = "fa:16:3e"
_DRAWN = "_netprov_drawn_macs"


def random_mac_address() -> str:
    value = secrets.randbits(24)
    return f"{PREFIX}:{value >> 16:02x}:{(value >> 8) & 0xFF:02x}:{value & 0xFF:02x}"


def new_mac_address(context) -> str:
    """A MAC no port has and no other row of this INSERT statement was given. `context` (the
    statement's execution context) must stay a required argument: SQLAlchemy passes it only to
    defaults whose signature requires it, and would silently call this without."""
    # The execution context lives for one statement: the set is that statement's draws.
    drawn: set[str] = context.__dict__.setdefault(_DRAWN, set())
    for _ in range(64):
        mac = random_mac_address()
        if mac in drawn or _taken(context.connection, mac):
            continue
        drawn.add(mac)
        return mac
    raise RuntimeError("no free MAC address found in 64 draws (is the fa:16:3e space nearly full?)")


def _taken(connection, mac: str) -> bool:
    return connection.execute(text("SELECT 1 FROM ports WHERE mac_address = :mac"), {"mac": mac}).first() is not None
