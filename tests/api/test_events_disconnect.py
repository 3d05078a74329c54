"""A client that goes away in the middle of a long replay: the stream stops writing to the
closed socket (asyncio logs `socket.send() raised exception.` for every write after the fifth
to a lost connection; a stream that kept writing produced about 60 of them)."""

import asyncio
import logging
import socket
import struct
import time

from sqlmodel import Session

from store.tables import EventRow

REPLAYED = 20000


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _fill(engine, tenant: str) -> None:
    with Session(engine) as session:
        for i in range(REPLAYED):
            session.add(EventRow(tenant_id=tenant, resource_type="network", resource_id=f"n{i}", kind="status",
                                 data={"resource_type": "network", "id": f"n{i}", "status": "AVAILABLE",
                                       "status_reason": "x" * 1000}))
        session.commit()


def _connect_read_and_vanish(host: str, port: int, path: str, token: str) -> int:
    """A client in its own thread (so it can vanish while the server's loop is mid-write), as a
    browser tab closed during a replay."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Auth-Token: {token}\r\n\r\n".encode())
        got = b""
        while len(got) < 300_000:  # well into the replay
            chunk = sock.recv(65536)
            assert chunk, got[-300:]
            got += chunk
        # Close with unread data: the kernel answers the server's next writes with RST.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return len(got)


async def test_disconnect_during_a_replay_stops_the_writes(stack, live_url, api):
    _fill(stack.app.state.engine, api.tenant)
    handler = Records()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        host, port = live_url.removeprefix("http://").split(":")
        got = await asyncio.to_thread(_connect_read_and_vanish, host, int(port), f"{api.base}/events?last_event_id=0",
                                             api.headers["X-Auth-Token"])
        assert got > 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        logger.removeHandler(handler)
    warnings = [r for r in handler.records if "socket.send() raised exception" in r.getMessage()]
    assert len(warnings) <= 1, f"{len(warnings)} warnings about writes to the closed socket"
    # The server is still serving, and the stream it served is gone.
    feed = getattr(stack.app.state, "event_feed", None)
    assert feed is None or feed._subscribers == 0
