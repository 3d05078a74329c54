"""The faults of the link-truth harness (bench/truth.py), each done as an operator or a crash would
do it to a running `make run` stack on real Open vSwitch. None is undone by the harness: recovering
is the stack's job (its supervisor, the hosts' agents).

Each fault takes the harness's `Fabric` (the stack, its VMs and networks) and a random source, and
returns one sentence saying what it did.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable
from dataclasses import dataclass

from bench.devstack_run import DevStack
from plugins.ovs import linux
from plugins.ovs.hosts import BRIDGE, host_files
from plugins.ovs.switch import VSwitch

UNUSED_VLAN = 3999  # inside 1-4094, outside every network's range (NETPROV_OVS_VLAN_RANGE 100-199)


@dataclass(frozen=True)
class VmPort:
    """One VM of the harness and the port it is attached to."""

    iface: str
    host: str
    ip: str
    network: str  # the network's name in the harness
    port_path: str  # the port's API path


@dataclass
class Fabric:
    stack: DevStack
    hosts: list[str]
    vms: list[VmPort]

    def switch(self, host: str) -> VSwitch:
        return VSwitch(host, self.stack.data_dir)

    def tap(self, vm: VmPort) -> str | None:
        port = self.switch(vm.host).find(vm.iface)
        return port.name if port else None


def kill_agent(fabric: Fabric, rnd: random.Random) -> str:
    host = rnd.choice(fabric.hosts)
    pid = fabric.stack.kill(f"agent {host}")
    return f"SIGKILL agent of host {host} (pid {pid})"


def kill_worker(fabric: Fabric, rnd: random.Random) -> str:
    return f"SIGKILL central worker (pid {fabric.stack.kill('worker')})"


def kill_temporal(fabric: Fabric, rnd: random.Random) -> str:
    return f"SIGKILL Temporal dev server (pid {fabric.stack.kill('temporal')})"


def restart_vswitchd(fabric: Fabric, rnd: random.Random) -> str:
    """Stop one host's ovs-vswitchd as `systemctl restart` would (SIGTERM); the stack's supervisor
    starts it again, as the unit's restart would."""
    host = rnd.choice(fabric.hosts)
    pid = linux.read_pidfile(host_files(host, fabric.stack.data_dir).vswitchd_pid)
    if pid is None:
        return f"ovs-vswitchd of host {host} was not running"
    os.kill(pid, signal.SIGTERM)
    return f"SIGTERM ovs-vswitchd of host {host} (pid {pid})"


def _on_a_port(change: Callable[[Fabric, VmPort, str], str]) -> Callable[[Fabric, random.Random], str]:
    """A fault done by hand to the bridge port of a random VM."""

    def fault(fabric: Fabric, rnd: random.Random) -> str:
        vm = rnd.choice(fabric.vms)
        tap = fabric.tap(vm)
        return f"{vm.iface} has no bridge port on host {vm.host}" if tap is None else change(fabric, vm, tap)

    return fault


@_on_a_port
def retag(fabric: Fabric, vm: VmPort, tap: str) -> str:
    fabric.switch(vm.host).set_tag(tap, UNUSED_VLAN)
    return f"VLAN tag of {vm.iface} on host {vm.host} set to {UNUSED_VLAN} by hand"


@_on_a_port
def remove_interface(fabric: Fabric, vm: VmPort, tap: str) -> str:
    fabric.switch(vm.host).vsctl("--if-exists", "del-port", BRIDGE, tap)
    return f"port {tap} of {vm.iface} removed from {BRIDGE} of host {vm.host}"


def wrong_network(fabric: Fabric, rnd: random.Random) -> str:
    """Give one VM's port the VLAN of another network: a real cross-connect, the worst case for
    a lying UP (both networks' VMs could reach each other)."""
    vm = rnd.choice(fabric.vms)
    others = [o for o in fabric.vms if o.network != vm.network]
    tap = fabric.tap(vm)
    if tap is None or not others:
        return f"{vm.iface} cannot be moved to another network"
    other = rnd.choice(others)
    other_port = fabric.switch(other.host).find(other.iface)
    if other_port is None or other_port.tag is None:
        return f"{other.iface} has no VLAN to borrow"
    fabric.switch(vm.host).set_tag(tap, other_port.tag)
    return f"{vm.iface} on host {vm.host} plugged into network {other.network} (VLAN {other_port.tag}) by hand"


FAULTS: dict[str, Callable[[Fabric, random.Random], str]] = {
    "kill_agent": kill_agent,
    "kill_worker": kill_worker,
    "kill_temporal": kill_temporal,
    "restart_vswitchd": restart_vswitchd,
    "retag": retag,
    "remove_interface": remove_interface,
    "wrong_network": wrong_network,
}

