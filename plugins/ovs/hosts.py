"""Simulated hypervisor hosts: one Open vSwitch instance per host, all on this machine.

Host H is:

- `<data_dir>/ovs/H/`: conf.db, the ovsdb-server socket `db.sock`, pid files, unixctl sockets, logs
  (and the agent's own state, see plugin.py);
- an ovsdb-server listening on that socket (in the machine's namespace: it only needs the file);
- a network namespace `netprov-hv-H` running that host's ovs-vswitchd, with the bridge `br-int`
  (`datapath_type=netdev`, the userspace datapath: no kernel module). The namespace is what lets
  several userspace datapaths coexist: each creates a tap named `ovs-netdev`, and those names would
  clash in one namespace. It also keeps bridge and port names short and private to the host.

Hosts given together to `start_hosts` are chained by trunks: a veth pair `tr-<B>` (in A) / `tr-<A>`
(in B), each end a port of its host's bridge carrying VLANs 1-4094. Not 4095: that is the dead VLAN
of isolated ports (see switch.py), which must never leave its host. A chain, not a mesh, because
the bridges run no spanning tree: a loop would flood forever.

`start_hosts` is idempotent (what runs is kept, what is missing is started); `stop_hosts` ends the
host's daemons, deletes its dev VMs, its namespace (and with it every veth end in it) and its
conf.db, and takes the trunk ports towards it off the other running hosts. Logs and the agent's
state stay. A host per call holds a file lock, so two processes starting one host do not race.
"""

import fcntl
import os
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from plugins.ovs import linux, vms
from plugins.ovs.host_layout import (
    BRIDGE,
    HOST_NAME,
    TRUNK_VLANS,
    HostFiles,
    daemon_pid,
    host_files,
    host_netns,
    host_running,
    ovsdb_running,
    trunk_device,
    validate_host,
    vsctl_prefix,
    vswitchd_running,
)
from plugins.ovs.linux import OVS_SCHEMA, OVS_TOOLS, CommandError, ToolsUnavailableError

_STOP_WAIT_S = 5.0

__all__ = [
    "BRIDGE",
    "HostConflictError",
    "HostFiles",
    "ToolsUnavailableError",
    "ensure_ovs_installed",
    "host_files",
    "host_netns",
    "host_running",
    "ovsdb_running",
    "plug_trunk",
    "running_hosts",
    "start_hosts",
    "stop_hosts",
    "trunk_device",
    "validate_host",
    "vsctl_prefix",
    "vswitchd_running",
]


class HostConflictError(RuntimeError):
    """The host's namespace is in use by an OVS instance this data dir did not start."""


def ensure_ovs_installed(extra_tools: Mapping[str, str] | None = None) -> None:
    """Make sure Open vSwitch, iproute2 and ethtool (plus `extra_tools`, {tool: Debian package}) are
    installed: apt-get installs what is missing when we are root; otherwise raise
    ToolsUnavailableError with a one-line reason."""
    linux.ensure_tools({**OVS_TOOLS, **(extra_tools or {})})


def running_hosts(data_dir: Path | str) -> list[str]:
    """Hosts of this data dir whose ovsdb-server runs."""
    root = Path(data_dir).absolute() / "ovs"
    if not root.is_dir():
        return []
    return sorted(
        entry.name
        for entry in root.iterdir()
        if HOST_NAME.match(entry.name) and daemon_pid(entry / "ovsdb-server.pid") is not None
    )


def start_hosts(hosts: Sequence[str], data_dir: Path | str) -> None:
    """Start each host's OVS instance (no-op for what already runs) and chain them by trunks in the
    order given. Needs root."""
    hosts = [validate_host(host) for host in hosts]
    if len(set(hosts)) != len(hosts):
        raise ValueError(f"host names must be distinct: {hosts}")
    if os.geteuid() != 0:
        raise PermissionError("Open vSwitch hosts need root (network namespaces, veths)")
    ensure_ovs_installed()
    for host in hosts:
        _start_host(host, data_dir)
    for left, right in zip(hosts, hosts[1:]):
        _ensure_trunk(left, right, data_dir)


def stop_hosts(hosts: Sequence[str], data_dir: Path | str) -> None:
    """Stop each host: its dev VMs, daemons, namespace and conf.db go; logs and agent state stay.
    Stopping a host that does not run is a no-op."""
    for host in hosts:
        _stop_host(validate_host(host), data_dir)


# --- one host ------------------------------------------------------------------------------------


@contextmanager
def _host_lock(files: HostFiles) -> Iterator[None]:
    files.dir.mkdir(parents=True, exist_ok=True)
    with open(files.dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _start_host(host: str, data_dir: Path | str) -> None:
    files = host_files(host, data_dir)
    netns = host_netns(host)
    vsctl = vsctl_prefix(host, data_dir)
    with _host_lock(files):
        vswitchd = daemon_pid(files.vswitchd_pid)
        foreign = [pid for pid in linux.netns_pids(netns) if pid != vswitchd]
        if any("ovs-vswitchd" in " ".join(linux.process_cmdline(pid)) for pid in foreign):
            raise HostConflictError(
                f"namespace {netns} already runs an ovs-vswitchd not started from {files.dir}:"
                f" host {host} is in use by another data dir"
            )
        if daemon_pid(files.ovsdb_pid) is None:
            if not files.conf_db.exists():
                linux.run(["ovsdb-tool", "create", str(files.conf_db), str(OVS_SCHEMA)])
            for stale in (files.socket, files.ovsdb_ctl):
                stale.unlink(missing_ok=True)
            linux.run(
                [
                    "ovsdb-server",
                    str(files.conf_db),
                    f"--remote=punix:{files.socket}",
                    f"--pidfile={files.ovsdb_pid}",
                    f"--unixctl={files.ovsdb_ctl}",
                    f"--log-file={files.ovsdb_log}",
                    "--detach",
                ],
                env=files.daemon_env,
            )
        linux.run([*vsctl, "--no-wait", "init"], env=files.daemon_env)
        if vswitchd is not None and not linux.netns_exists(netns):
            # Someone deleted the namespace under a running vswitchd: its ports are gone with it.
            _terminate(vswitchd)
            vswitchd = None
        if vswitchd is None:
            linux.netns_add(netns)
            # A host's own links (trunk ends, VM taps) are switch ports, not hosts: without this the
            # kernel sends IPv6 solicitations from them, which the peer trunk drops with a warning.
            linux.disable_ipv6(netns)
            files.vswitchd_ctl.unlink(missing_ok=True)
            linux.run(
                [
                    "ip", "netns", "exec", netns,
                    "ovs-vswitchd",
                    f"unix:{files.socket}",
                    f"--pidfile={files.vswitchd_pid}",
                    f"--unixctl={files.vswitchd_ctl}",
                    f"--log-file={files.vswitchd_log}",
                    "--detach",
                ],
                env=files.daemon_env,
            )  # fmt: skip
        linux.run(
            [*vsctl, "--may-exist", "add-br", BRIDGE, "--", "set", "Bridge", BRIDGE, "datapath_type=netdev"],
            env=files.daemon_env,
        )


def _ensure_trunk(left: str, right: str, data_dir: Path | str) -> None:
    ends = ((left, trunk_device(right), right), (right, trunk_device(left), left))
    fresh = any(linux.link_info(device, host_netns(host)) is None for host, device, _ in ends)
    if fresh:
        for host, device, _ in ends:
            linux.link_delete(device, host_netns(host))
        linux.veth_pair(ends[0][1], host_netns(left), ends[1][1], host_netns(right))
    for host, device, peer in ends:
        plug_trunk(host, device, peer, data_dir, replace=fresh)


def plug_trunk(host: str, device: str, peer: str, data_dir: Path | str, *, replace: bool = False) -> None:
    """Make `device` (a trunk end in host H's namespace) a bridge port carrying every usable VLAN,
    untagged. `replace`: drop the port first (a re-created device needs its port re-added:
    vswitchd keeps the old one's handle otherwise)."""
    remove = ["--", "--if-exists", "del-port", BRIDGE, device] if replace else []
    linux.run(
        [
            *vsctl_prefix(host, data_dir),
            *remove,
            "--", "--may-exist", "add-port", BRIDGE, device,
            "--", "set", "Port", device, f"trunks={TRUNK_VLANS}",
            "--", "clear", "Port", device, "tag",
            "--", "set", "Interface", device, f"external_ids:netprov-trunk-to={peer}",
        ]
    )  # fmt: skip


def _stop_host(host: str, data_dir: Path | str) -> None:
    files = host_files(host, data_dir)
    netns = host_netns(host)
    vms.delete_host_vms(host, data_dir)
    for other in running_hosts(data_dir):
        if other != host:
            linux.run(
                [*vsctl_prefix(other, data_dir), "--if-exists", "del-port", BRIDGE, trunk_device(host)],
                check=False,
            )
    with _host_lock(files):
        vswitchd = daemon_pid(files.vswitchd_pid)
        if vswitchd is not None:
            _terminate(vswitchd)
        ovsdb = daemon_pid(files.ovsdb_pid)
        if ovsdb is not None:
            _terminate(ovsdb)
        if not [pid for pid in linux.netns_pids(netns) if linux.process_alive(pid)]:
            # Deleting the namespace destroys the bridge's taps and every veth end in it; their
            # peers (trunk ends on other hosts, VM sides) go with them.
            linux.netns_delete(netns)
        for path in (
            files.conf_db,
            files.dir / ".conf.db.~lock~",
            files.socket,
            files.ovsdb_ctl,
            files.vswitchd_ctl,
            files.ovsdb_pid,
            files.vswitchd_pid,
        ):
            path.unlink(missing_ok=True)
        for mgmt in files.dir.glob("*.mgmt"):
            mgmt.unlink(missing_ok=True)


def _terminate(pid: int) -> None:
    """SIGTERM, then SIGKILL after a grace period; returns once the process is gone (or a zombie)."""
    for sig, wait in ((signal.SIGTERM, _STOP_WAIT_S), (signal.SIGKILL, _STOP_WAIT_S)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not linux.process_alive(pid):
                return
            time.sleep(0.05)
    raise CommandError(["kill", str(pid)], "process does not end")
