"""Supervision of the dev stack's children, as an init system does it: a child that dies is logged
and started again after a backoff, and the others keep running.

    start_everything()          # as the stack starts: a part that fails here stops the stack
    supervisor = Supervisor([child_service(worker, env), temporal_service(temporal), ...], data_dir)
    supervisor.adopt_all()      # from now on, a death is a restart
    while True:
        supervisor.tick()       # notices deaths, restarts what waited out its backoff
        time.sleep(0.25)

Backoff: the first restart comes `initial_s` after the death, each further one twice as late, at
most `max_s`; a child that then ran `stable_s` seconds starts from `initial_s` again. The table of
children (state, pid, restarts, last exit) goes to `<data_dir>/devstack/processes.json` on every
change (netprov.process_table), where /healthz and `netprov health` read it.

A service may have an `on_exit` hook, run once per death right after it is noticed (a host agent's
marks its ports "agent on host H not running" at once, instead of waiting for the link monitor).
A hook or a start that raises is logged and counts as a failure; it never stops the supervisor.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from netprov.process_table import remove_table, write_table
from netprov.resources import ProcessState

RUNNING, RESTARTING, STARTING = "running", "restarting", "starting"


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 8.0
    stable_s: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait before restart number `failures` (1 = the first after a stable run)."""
        return min(self.max_s, self.initial_s * self.factor ** max(0, failures - 1))


@dataclass
class Service:
    """One supervised part. `start` launches it (and may block until it is ready), `alive` says
    whether it still runs, `pid` which process it is, `exit_detail` how it ended."""

    name: str
    start: Callable[[], None]
    alive: Callable[[], bool]
    pid: Callable[[], int | None]
    exit_detail: Callable[[], str] = lambda: "exited"
    on_exit: Callable[[], None] | None = None
    state: str = STARTING
    restarts: int = 0
    failures: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    since: str | None = None
    last_exit: str | None = None

    def snapshot(self) -> ProcessState:
        return ProcessState(
            name=self.name,
            state=self.state,
            pid=self.pid() if self.state == RUNNING else None,
            restarts=self.restarts,
            since=self.since,
            last_exit=self.last_exit,
        )


@dataclass
class Supervisor:
    services: Sequence[Service]
    data_dir: Path
    backoff: Backoff = field(default_factory=Backoff)
    log: Callable[[str], None] = lambda line: print(f"devstack: {line}", file=sys.stderr, flush=True)

    def adopt_all(self) -> None:
        """Take over services that were started (and found healthy) by the caller."""
        now = time.monotonic()
        for service in self.services:
            service.state, service.started_at, service.since = RUNNING, now, _now()
        self.publish()

    def tick(self) -> None:
        """Notice deaths and restart what has waited out its backoff."""
        changed = False
        now = time.monotonic()
        for service in self.services:
            if service.state == RUNNING and not service.alive():
                self._died(service, now)
                changed = True
            elif service.state == RESTARTING and now >= service.next_start:
                service.restarts += 1
                self.log(f"restarting {service.name} (restart {service.restarts})")
                self._start(service, now)
                changed = True
        if changed:
            self.publish()

    def publish(self) -> None:
        try:
            write_table(self.data_dir, [service.snapshot() for service in self.services])
        except OSError as error:
            self.log(f"cannot write the process table: {error}")

    def close(self) -> None:
        remove_table(self.data_dir)

    def _start(self, service: Service, now: float) -> None:
        try:
            service.start()
        except Exception as error:  # noqa: BLE001 - a failed start is one more failure, then a retry
            service.last_exit = f"failed to start: {error}"
            self._schedule(service, now)
            return
        service.state, service.started_at, service.since = RUNNING, now, _now()

    def _died(self, service: Service, now: float) -> None:
        service.last_exit = service.exit_detail()
        if now - service.started_at >= self.backoff.stable_s:
            service.failures = 0
        self.log(f"{service.name} {service.last_exit}")
        if service.on_exit is not None:
            try:
                service.on_exit()
            except Exception as error:  # noqa: BLE001 - the hook's failure must not stop supervision
                self.log(f"after {service.name} died: {error!r}")
        self._schedule(service, now)

    def _schedule(self, service: Service, now: float) -> None:
        service.failures += 1
        delay = self.backoff.delay(service.failures)
        service.state, service.next_start, service.since = RESTARTING, now + delay, _now()
        self.log(f"{service.name} restarts in {delay:g} s ({service.last_exit})")


def exit_detail(code: int | None) -> str:
    """How a process ended, from its return code (negative: the signal that killed it)."""
    if code is None:
        return "vanished"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
