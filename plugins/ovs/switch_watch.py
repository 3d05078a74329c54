"""Watch one host's switch and say when it changed, so its agent checks at once rather than at the
next periodic check: a tag changed by hand, a port removed, a daemon gone are seen (and repaired,
and shown) within about a second instead of one monitor interval.

Two sources, one thread each:

- `ovsdb-client monitor` on the host's database (Bridge, Port and Interface columns that decide
  forwarding): every update line after the initial one is a change. When ovsdb-server goes away
  the monitor ends; that is a change too, and the monitor is started again once it is back;
- the daemons' liveness (their pid files), polled every `poll_s`: ovs-vswitchd dying or coming
  back changes nothing in the database.

`changed()` is called from these threads and must be cheap and thread-safe; the caller debounces.
"""

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from netprov.child_processes import die_with_parent_preexec
from plugins.ovs import linux
from plugins.ovs.hosts import host_files, ovsdb_running, vswitchd_running

_TABLES = (
    "Bridge", "name,ports,datapath_type",
    "Port", "name,tag,trunks,protected,interfaces",
    "Interface", "name,ofport,link_state,admin_state,external_ids",
)  # fmt: skip


class SwitchWatch:
    def __init__(self, host: str, data_dir: Path | str, changed: Callable[[], None], *, poll_s: float = 0.25) -> None:
        self.host = host
        self.data_dir = Path(data_dir)
        self.changed = changed
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._procs: list[subprocess.Popen[str]] = []
        self._threads = [
            threading.Thread(target=self._monitor, name=f"switch-watch-db-{host}", daemon=True),
            threading.Thread(target=self._daemons, name=f"switch-watch-pid-{host}", daemon=True),
        ]

    def start(self) -> "SwitchWatch":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._end_monitors()
        for thread in self._threads:
            thread.join(timeout=5)

    def _monitor(self) -> None:
        socket = host_files(self.host, self.data_dir).socket
        argv = ["ovsdb-client", "monitor", "--format=json", f"unix:{socket}", "Open_vSwitch"]
        # `ovsdb-client monitor` follows one table per process.
        while not self._stop.is_set():
            if not ovsdb_running(self.host, self.data_dir):
                self._stop.wait(self.poll_s)
                continue
            try:
                self._procs = [self._spawn([*argv, table, columns]) for table, columns in zip(_TABLES[::2], _TABLES[1::2])]
            except OSError:  # no ovsdb-client here: the pid watch and the periodic check remain
                self._end_monitors()
                return
            readers = [threading.Thread(target=self._read, args=(proc,), daemon=True) for proc in self._procs]
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join()
            self._end_monitors()
            if not self._stop.is_set():
                self.changed()  # the database went away (or a monitor failed): worth a check
                self._stop.wait(self.poll_s)

    @staticmethod
    def _spawn(argv: list[str]) -> subprocess.Popen[str]:
        # Ends with the watch's thread (or a SIGKILLed agent): a monitor left behind would only
        # notice when writing its next update.
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
            env=linux.command_env(), preexec_fn=die_with_parent_preexec(),
        )  # fmt: skip

    def _end_monitors(self) -> None:
        for proc in list(self._procs):
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        first = True
        for line in proc.stdout:
            if self._stop.is_set():
                break
            if first:
                first = False  # the table as it is: no change
                continue
            if line.strip():
                self.changed()
        # One monitor ended (its database went away): end the others too, they restart together.
        for other in self._procs:
            if other is not proc and other.poll() is None:
                other.terminate()

    def _daemons(self) -> None:
        seen = self._daemon_state()
        while not self._stop.wait(self.poll_s):
            now = self._daemon_state()
            if now != seen:
                seen = now
                self.changed()

    def _daemon_state(self) -> tuple[bool, bool, int | None]:
        """Both daemons' liveness, and which ovs-vswitchd: one restarted between two polls has
        another pid (its datapath was down meanwhile, and was re-created)."""
        files = host_files(self.host, self.data_dir)
        return (
            ovsdb_running(self.host, self.data_dir),
            vswitchd_running(self.host, self.data_dir),
            linux.read_pidfile(files.vswitchd_pid),
        )
