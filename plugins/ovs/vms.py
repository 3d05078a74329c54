"""Dev "VMs": a network namespace whose one interface is plugged into a host's bridge.

VM `ID` is the namespace `netprov-vm-ID` with interface `eth0` (holding the given IP), the peer of
`tap<hash>` in host H's namespace, a port of H's `br-int` with `external_ids:iface-id=ID` (and
`attached-mac`, as Nova sets them). The tap's name is derived from ID (Linux names hold 15
characters, IDs up to 40). The port is born isolated (dead VLAN, as os-vif's `isolate_vif` does):
which network it joins is the agent's decision, from its bindings, not the hypervisor's.

A record per VM (`<data_dir>/ovs/vms/ID.json`) says on which host it lives, so `exec` and `delete`
need only the ID and stopping a host removes its VMs.
"""

import hashlib
import ipaddress
import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from plugins.ovs import linux
from plugins.ovs.host_layout import BRIDGE, DEAD_VLAN, host_netns, host_running, validate_host, vsctl_prefix
from plugins.ovs.linux import CommandError

IFACE_ID = re.compile(r"^[a-z0-9-]{1,40}$")
VM_DEVICE = "eth0"


class VmError(RuntimeError):
    """A dev VM cannot be created, found or removed; the message says why."""


@dataclass(frozen=True)
class Vm:
    iface_id: str
    host: str
    ip: str
    netns: str
    tap: str
    mac: str


def validate_iface_id(iface_id: str) -> str:
    if not IFACE_ID.match(iface_id):
        raise VmError(f"interface id {iface_id!r} must be 1..40 characters of a-z0-9-")
    return iface_id


def vm_netns(iface_id: str) -> str:
    return f"netprov-vm-{validate_iface_id(iface_id)}"


def tap_name(iface_id: str) -> str:
    """The VM's port on the host bridge: "tap" + 11 hex digits of the ID's hash (14 characters)."""
    return "tap" + hashlib.sha256(validate_iface_id(iface_id).encode()).hexdigest()[:11]


def _records(data_dir: Path | str) -> Path:
    return Path(data_dir).absolute() / "ovs" / "vms"


def get_vm(iface_id: str, data_dir: Path | str) -> Vm | None:
    path = _records(data_dir) / f"{validate_iface_id(iface_id)}.json"
    try:
        return Vm(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def list_vms(data_dir: Path | str, host: str | None = None) -> list[Vm]:
    root = _records(data_dir)
    found = [get_vm(path.stem, data_dir) for path in sorted(root.glob("*.json"))] if root.is_dir() else []
    return [vm for vm in found if vm is not None and (host is None or vm.host == host)]


def create_vm(host: str, iface_id: str, ip: str, data_dir: Path | str) -> Vm:
    """Create VM `iface_id` on host H with address `ip` (CIDR, e.g. 10.0.0.1/24). Creating the same
    VM again is a no-op; the same ID on another host or with another address is an error."""
    validate_iface_id(iface_id)
    validate_host(host)
    try:
        address = ipaddress.ip_interface(ip)
    except ValueError:
        raise VmError(f"{ip!r} is not an address with prefix length, e.g. 10.0.0.1/24") from None
    if "/" not in ip:
        raise VmError(f"{ip!r} needs a prefix length, e.g. {ip}/24")
    existing = get_vm(iface_id, data_dir)
    if existing is not None and linux.netns_exists(existing.netns):
        if (existing.host, existing.ip) == (host, str(address)):
            return existing
        raise VmError(f"VM {iface_id} already exists on host {existing.host} with {existing.ip}")
    if not host_running(host, data_dir):
        raise VmError(f"host {host} is not running in {Path(data_dir).absolute()} (start its Open vSwitch first)")

    netns, hv_netns, tap = vm_netns(iface_id), host_netns(host), tap_name(iface_id)
    # Left-overs of a create that died half-way.
    linux.netns_delete(netns)
    linux.link_delete(tap, hv_netns)
    try:
        linux.netns_add(netns)
        linux.veth_pair(tap, hv_netns, VM_DEVICE, netns)
        linux.run(["ip", "-n", netns, "addr", "add", str(address), "dev", VM_DEVICE])
        linux.disable_tx_checksum_offload(VM_DEVICE, netns)
        info = linux.link_info(VM_DEVICE, netns) or {}
        mac = str(info.get("address", ""))
        plug_port(host, tap, iface_id, mac, data_dir)
    except CommandError as error:
        _remove(host, netns, tap, data_dir)
        raise VmError(f"cannot create VM {iface_id} on host {host}: {error}") from None
    vm = Vm(iface_id=iface_id, host=host, ip=str(address), netns=netns, tap=tap, mac=mac)
    root = _records(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{iface_id}.json.tmp"
    tmp.write_text(json.dumps(asdict(vm)))
    tmp.replace(root / f"{iface_id}.json")
    return vm


def plug_port(host: str, tap: str, iface_id: str, mac: str, data_dir: Path | str) -> None:
    """(Re-)make `tap` a port of host H's bridge as the hypervisor plugs a VM's interface: isolated
    (the agent decides its network), with iface-id and attached-mac as Nova sets them."""
    linux.run(
        [
            *vsctl_prefix(host, data_dir),
            "--", "--if-exists", "del-port", BRIDGE, tap,
            "--", "add-port", BRIDGE, tap, f"tag={DEAD_VLAN}", "protected=true",
            "--", "set", "Interface", tap,
            f"external_ids:iface-id={iface_id}",
            "external_ids:iface-status=active",
            f"external_ids:attached-mac={mac}",
        ]
    )  # fmt: skip


def delete_vm(iface_id: str, data_dir: Path | str) -> bool:
    """Remove VM `iface_id`: its port, veth and namespace. Returns False when there was none."""
    vm = get_vm(iface_id, data_dir)
    netns = vm_netns(iface_id)
    existed = vm is not None or linux.netns_exists(netns)
    if vm is not None:
        _remove(vm.host, netns, vm.tap, data_dir)
    else:
        linux.netns_delete(netns)
    (_records(data_dir) / f"{iface_id}.json").unlink(missing_ok=True)
    return existed


def delete_host_vms(host: str, data_dir: Path | str) -> list[str]:
    """Remove every VM of host H; returns their IDs."""
    removed = [vm.iface_id for vm in list_vms(data_dir, host)]
    for iface_id in removed:
        delete_vm(iface_id, data_dir)
    return removed


def exec_argv(iface_id: str, command: Sequence[str]) -> list[str]:
    """The command line that runs `command` inside VM `iface_id`."""
    netns = vm_netns(iface_id)
    if not linux.netns_exists(netns):
        raise VmError(f"no VM {iface_id} (namespace {netns} does not exist)")
    if not command:
        raise VmError("no command given")
    return ["ip", "netns", "exec", netns, *command]


def run_in_vm(iface_id: str, command: Sequence[str], *, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run `command` inside VM `iface_id`; the finished process, whatever its exit code."""
    return subprocess.run(
        exec_argv(iface_id, command),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=linux.command_env(),
        stdin=subprocess.DEVNULL,
    )


def exec_in_vm(iface_id: str, command: Sequence[str]) -> None:
    """Replace this process by `command` inside VM `iface_id` (its exit code becomes ours)."""
    argv = exec_argv(iface_id, command)
    os.execvpe(argv[0], argv, linux.command_env())


def _remove(host: str, netns: str, tap: str, data_dir: Path | str) -> None:
    # The tap goes first: a namespace still held by a running process outlives its name, and with
    # it the veth, so deleting the namespace alone could leave the port alive on the bridge.
    linux.link_delete(tap, host_netns(host))
    if host_running(host, data_dir):
        linux.run([*vsctl_prefix(host, data_dir), "--if-exists", "del-port", BRIDGE, tap], check=False)
    linux.netns_delete(netns)
