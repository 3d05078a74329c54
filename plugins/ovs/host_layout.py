"""Where a simulated host's Open vSwitch lives: names, files, namespace, and whether its daemons run.

The leaf of the ovs plugin's modules: hosts.py (start and stop), switch.py (one host's bridge) and vms.py
(dev VMs) all build on it, and it imports none of them.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from plugins.ovs import linux

BRIDGE = "br-int"
# Trunks carry every usable VLAN but the dead one (4095).
TRUNK_VLANS = ",".join(str(vlan) for vlan in range(1, 4095))
# The tag of isolated ports (switch.py) and of VM taps not yet bound: never carried by a trunk.
DEAD_VLAN = 4095
HOST_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
VSCTL_TIMEOUT_S = 10.0
_IFNAMSIZ = 15


@dataclass(frozen=True)
class HostFiles:
    """Where host H's OVS instance keeps its files (all absolute: the daemons chdir to /)."""

    host: str
    dir: Path

    @property
    def conf_db(self) -> Path:
        return self.dir / "conf.db"

    @property
    def socket(self) -> Path:
        return self.dir / "db.sock"

    @property
    def ovsdb_pid(self) -> Path:
        return self.dir / "ovsdb-server.pid"

    @property
    def vswitchd_pid(self) -> Path:
        return self.dir / "ovs-vswitchd.pid"

    @property
    def ovsdb_ctl(self) -> Path:
        return self.dir / "ovsdb-server.ctl"

    @property
    def vswitchd_ctl(self) -> Path:
        return self.dir / "ovs-vswitchd.ctl"

    @property
    def ovsdb_log(self) -> Path:
        return self.dir / "ovsdb-server.log"

    @property
    def vswitchd_log(self) -> Path:
        return self.dir / "ovs-vswitchd.log"

    @property
    def daemon_env(self) -> dict[str, str]:
        # Keeps every default path of the OVS tools (bridge .mgmt sockets, ctl files) in our dir,
        # never in the system's /var/run/openvswitch.
        return {"OVS_RUNDIR": str(self.dir), "OVS_LOGDIR": str(self.dir), "OVS_DBDIR": str(self.dir)}


def validate_host(host: str) -> str:
    """Return `host` when it is a valid host name (1..32 of a-z0-9-, not starting with -)."""
    if not HOST_NAME.match(host):
        raise ValueError(f"host name {host!r} must be 1..32 characters of a-z0-9- and not start with -")
    return host


def host_files(host: str, data_dir: Path | str) -> HostFiles:
    return HostFiles(host=validate_host(host), dir=Path(data_dir).absolute() / "ovs" / host)


def host_netns(host: str) -> str:
    """The network namespace in which host H's ovs-vswitchd runs and its ports live."""
    return f"netprov-hv-{validate_host(host)}"


def trunk_device(peer: str) -> str:
    """The name, inside a host's namespace, of its trunk end towards host `peer`."""
    label = peer if len("tr-" + peer) <= _IFNAMSIZ else hashlib.sha256(peer.encode()).hexdigest()[:12]
    return f"tr-{label}"


def vsctl_prefix(host: str, data_dir: Path | str, *, timeout: float = VSCTL_TIMEOUT_S) -> list[str]:
    """`ovs-vsctl` bound to host H's ovsdb; `--timeout` so a dead ovs-vswitchd cannot hang a call."""
    files = host_files(host, data_dir)
    return ["ovs-vsctl", f"--db=unix:{files.socket}", f"--timeout={max(1, round(timeout))}"]


def host_running(host: str, data_dir: Path | str) -> bool:
    """True when host H's ovsdb-server and ovs-vswitchd both run (started from this data dir)."""
    files = host_files(host, data_dir)
    return daemon_pid(files.ovsdb_pid) is not None and daemon_pid(files.vswitchd_pid) is not None


def vswitchd_running(host: str, data_dir: Path | str) -> bool:
    """True when host H's ovs-vswitchd runs. OVSDB alone cannot tell: the columns vswitchd writes
    (link_state, ...) keep their last values after it died."""
    return daemon_pid(host_files(host, data_dir).vswitchd_pid) is not None


def ovsdb_running(host: str, data_dir: Path | str) -> bool:
    """True when host H's ovsdb-server runs."""
    return daemon_pid(host_files(host, data_dir).ovsdb_pid) is not None


def daemon_pid(pidfile: Path) -> int | None:
    """The pid in `pidfile` when that process is alive and is the daemon that wrote it (a reused pid
    belongs to someone else: its command line does not name our pid file)."""
    pid = linux.read_pidfile(pidfile)
    if pid is None or not linux.process_alive(pid):
        return None
    return pid if f"--pidfile={pidfile}" in linux.process_cmdline(pid) else None
