"""Load shedding: the writes this API process handles at once are bounded; one more is refused at
the door with 429 TooManyRequests and Retry-After (CONTRACT.md: "the service sheds load rather than
queue writes without bound") before anything is stored.

    with write_slot(settings): ...   # claim, commit, deliver: the part that queues on the engine

Why a bound on writes in flight: past the engine's capacity every extra write only lengthens the
queue in front of Temporal, so each answer waits longer (issue 17: at 1.5x capacity every write was
accepted and the ack p99 reached 11.6 s). With at most NETPROV_MAX_WRITES_IN_FLIGHT in flight, an
ack waits at most about that many engine calls; what is refused was never accepted, so nothing
accepted is lost. A `Prefer: wait` is not counted while it waits: it holds no engine call.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from api.problems import TooManyRequests
from netprov.settings import Settings

RETRY_AFTER_SECONDS = 1

_in_flight = 0


def writes_in_flight() -> int:
    return _in_flight


@contextmanager
def write_slot(settings: Settings) -> Iterator[None]:
    """Hold one of the process's write slots for the block; TooManyRequests (429) when none is free.
    Event-loop code only (the count is not locked: the loop runs one handler step at a time)."""
    global _in_flight
    if _in_flight >= settings.max_writes_in_flight:
        raise TooManyRequests(
            f"{_in_flight} writes are being handed to the workflow engine; retry in {RETRY_AFTER_SECONDS} s.",
            retry_after=RETRY_AFTER_SECONDS,
        )
    _in_flight += 1
    try:
        yield
    finally:
        _in_flight -= 1
