"""Load shedding: the writes this API process hands to the engine at once are bounded, and one more is refused at
the door with 429 TooManyRequests and Retry-After (CONTRACT.md: "the service sheds load rather than queue writes
without bound") before anything is stored, so nothing refused was ever accepted.

    with write_slot(settings, received_at): ...   # claim, commit, deliver: the part that queues on the engine

Why: past the engine's capacity every extra write only lengthens the queue in front of Temporal, and each answer
waits longer (issue 17: at 1.5x capacity every write was accepted and the ack p99 reached 11.6 s). A fixed bound
cannot say how many writes fit in a second on a given machine (the engine's speed varies 4x between a quiet and a
busy one), so the bound adapts, as an AIMD congestion window does, to keep a write's time in the slot under
ACK_BUDGET_S: it shrinks by a fifth when the recent writes took longer, grows by one when they took less than half,
between MIN_LIMIT and NETPROV_MAX_WRITES_IN_FLIGHT. A request that already waited QUEUED_BUDGET_S before reaching its
slot (an overloaded loop) is refused too: its client is better served by a quick 429 than a late 202.
A `Prefer: wait` is not counted while it waits: it holds no engine call.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from api.problems import TooManyRequests
from netprov.settings import Settings

RETRY_AFTER_SECONDS = 1
ACK_BUDGET_S = 0.5
QUEUED_BUDGET_S = 1.0
# Never fewer slots than this. The bound caps throughput at slots / time in a slot (Little's law), and on a busy
# machine a write spends ~1 s in its slot without any queue at all: bench/ (SQLite, load 13) with a floor of 8
# settled 7.9 ports/s against bare Temporal's 14.7 (0.54 x), the bound throttling, not the engine.
MIN_LIMIT = 16
# Weight of the newest write in the moving average of time in the slot, and how often the limit may move.
SMOOTHING = 0.2
ADJUST_EVERY_S = 0.1


class WriteAdmission:
    """The process's writes in flight and their adaptive bound. Event-loop code only (not locked: the loop runs
    one handler step at a time)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.limit: float | None = None
        self.held_s = 0.0
        self._adjusted_at = 0.0

    def admit(self, settings: Settings, received_at: float | None) -> float:
        ceiling = settings.max_writes_in_flight
        limit = ceiling if self.limit is None else min(self.limit, ceiling)
        now = time.monotonic()
        waited = now - received_at if received_at is not None else 0.0
        if self.in_flight >= int(limit) or waited > QUEUED_BUDGET_S:
            raise TooManyRequests(
                f"The service is at its write capacity ({self.in_flight} writes being handed to the workflow "
                f"engine); nothing was changed. Retry in {RETRY_AFTER_SECONDS} s.",
                retry_after=RETRY_AFTER_SECONDS,
            )
        self.in_flight += 1
        return now

    def release(self, settings: Settings, started: float) -> None:
        self.in_flight -= 1
        now = time.monotonic()
        self.held_s += SMOOTHING * ((now - started) - self.held_s)
        if now - self._adjusted_at < ADJUST_EVERY_S:
            return
        self._adjusted_at = now
        ceiling = settings.max_writes_in_flight
        limit = ceiling if self.limit is None else self.limit
        if self.held_s > ACK_BUDGET_S:
            limit = max(MIN_LIMIT, limit * 0.8)
        elif self.held_s < ACK_BUDGET_S / 2:
            limit = min(ceiling, limit + 1)
        self.limit = limit


ADMISSION = WriteAdmission()


@contextmanager
def write_slot(settings: Settings, received_at: float | None = None) -> Iterator[None]:
    """Hold one of the process's write slots for the block; TooManyRequests (429) when none is free or the request
    already waited past the budget (`received_at`: monotonic time it was read)."""
    started = ADMISSION.admit(settings, received_at)
    try:
        yield
    finally:
        ADMISSION.release(settings, started)


def writes_in_flight() -> int:
    return ADMISSION.in_flight
