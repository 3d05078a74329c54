"""The dev stack's `python -m ...` children: started in process groups of their own, stopped
together (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack.temporal_server import log_tail
from netprov.child_processes import die_with_parent_preexec

STOP_TIMEOUT = 10.0  # seconds a child gets between SIGTERM and SIGKILL


@dataclass
class Child:
    """One `python -m ...` part of the stack, logging to `log_path`, in a process group of its own.

    `die_with_parent` (Linux): the kernel SIGTERMs the child when the thread that started it exits, so even a
    SIGKILLed owner leaves no orphan. Only for children started on the main thread (a pool thread's exit
    would end them).
    """

    name: str
    args: list[str]
    log_path: Path
    die_with_parent: bool = False
    proc: subprocess.Popen[bytes] | None = None
    log_offset: int = field(default=0)

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} devstack starts: {' '.join(self.args)}\n".encode())
            log.flush()
            self.log_offset = log.tell()
            self.proc = subprocess.Popen(
                [sys.executable, *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent_preexec() if self.die_with_parent else None,
            )

    @property
    def exit_code(self) -> int | None:
        """None while running (or never started), else the exit code (negative: killed by that signal)."""
        return None if self.proc is None else self.proc.poll()

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines, self.log_offset)


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every child at once, then SIGKILL whatever process group is still there after `timeout`."""
    for child in children:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"devstack: {child.name} did not stop within {timeout:.0f} s; killing it", file=sys.stderr)
        # Also reaches grandchildren left in the group after the leader exited.
        try:
            os.killpg(child.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        child.proc.wait()
