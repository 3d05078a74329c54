"""Put back what a host's switch lost: its bridge, trunk ports, VM ports. Run by the host's agent
at the start of every reconcile (plugin.py), before the VLAN tags are converged.

Open vSwitch keeps its configuration in conf.db, so a restarted ovs-vswitchd or ovsdb-server finds
everything again by itself; what this repairs is configuration that is gone: a database re-created
(`ovs-vsctl emer-reset`, a lost conf.db), the bridge deleted, a trunk or VM port removed by hand.
The wiring tells what belongs on the bridge, because it survives in the host's namespace:

- `br-int` with `datapath_type=netdev` must exist;
- each trunk device `tr-*` in the namespace must be a trunk port (every usable VLAN, untagged);
- each dev VM of the host (its record, vms.py) whose tap is in the namespace must be a bridge
  port with its iface-id (added isolated; the tags converge right after, from the bindings).

Nothing is done while ovs-vswitchd is down: every write would wait for it until the ovs-vsctl
timeout, and its absence is already the ports' DOWN reason. Each repair is returned, one sentence.
"""

import json
from dataclasses import dataclass

from plugins.ovs import linux, vms
from plugins.ovs.hosts import BRIDGE, TRUNK_VLANS, host_netns, plug_trunk
from plugins.ovs.linux import CommandError
from plugins.ovs.switch import OvsdbUnavailableError, SwitchPort, VSwitch, VsctlError

TRUNK_PREFIX = "tr-"
_ALL_VLANS = tuple(int(vlan) for vlan in TRUNK_VLANS.split(","))


@dataclass(frozen=True)
class Repair:
    host: str
    what: str

    def __str__(self) -> str:
        return f"host {self.host}: {self.what}"


def restore_host(switch: VSwitch) -> list[Repair]:
    """Make host H's bridge hold its trunks and VM ports again; return what was put back."""
    host, data_dir = switch.host, switch.data_dir
    if not switch.forwarding():
        return []
    repairs: list[Repair] = []
    try:
        if not _bridge_ok(switch):
            switch.vsctl("--may-exist", "add-br", BRIDGE, "--", "set", "Bridge", BRIDGE, "datapath_type=netdev")
            repairs.append(Repair(host, f"bridge {BRIDGE} re-created"))
        ports = {port.name: port for port in switch.ports()}
        devices = _devices(host_netns(host))
        for device in sorted(d for d in devices if d.startswith(TRUNK_PREFIX)):
            if not _trunk_ok(ports.get(device)):
                plug_trunk(host, device, device[len(TRUNK_PREFIX):], data_dir)
                repairs.append(Repair(host, f"trunk {device} put back on {BRIDGE}"))
        for vm in vms.list_vms(data_dir, host):
            port = ports.get(vm.tap)
            if vm.tap in devices and (port is None or port.iface_id != vm.iface_id):
                vms.plug_port(host, vm.tap, vm.iface_id, vm.mac, data_dir)
                repairs.append(Repair(host, f"interface-id {vm.iface_id} ({vm.tap}) plugged back into {BRIDGE}"))
    except CommandError as error:
        raise OvsdbUnavailableError(f"cannot restore the switch of host {host}: {error.stderr}") from None
    return repairs


def _bridge_ok(switch: VSwitch) -> bool:
    try:
        kind = switch.vsctl("--if-exists", "get", "Bridge", BRIDGE, "datapath_type").strip().strip('"')
    except VsctlError:
        return False
    return kind == "netdev"


def _trunk_ok(port: SwitchPort | None) -> bool:
    return port is not None and port.tag is None and port.trunks == _ALL_VLANS


def _devices(netns: str) -> set[str]:
    done = linux.run(["ip", "-n", netns, "-j", "link", "show"], check=False)
    try:
        return {str(row.get("ifname", "")) for row in json.loads(done.stdout or "[]")}
    except json.JSONDecodeError:
        return set()

