"""`netprov vm`: dev VMs, network namespaces plugged into a host's Open vSwitch bridge.

    netprov vm create --host h1 --iface vif-1 --ip 10.0.0.1/24
    netprov vm exec --iface vif-1 -- ping -c1 -W1 10.0.0.2
    netprov vm delete --iface vif-1

Needs root and the host's Open vSwitch running (`make run` with NETPROV_PLUGIN=ovs NETPROV_HOSTS=...).
The logic lives in plugins.ovs.vms; this module only speaks command line.
"""

from pathlib import Path
from typing import Annotated

import typer

from plugins.ovs import vms

app = typer.Typer(help="Dev VMs: network namespaces plugged into a host's Open vSwitch bridge.", no_args_is_help=True)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir", envvar="NETPROV_DATA_DIR", help="Where the hosts' Open vSwitch instances keep their files."
    ),
]
Iface = Annotated[str, typer.Option("--iface", help="Interface id (external_ids:iface-id): 1..40 of a-z0-9-.")]


def _fail(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(1)


@app.command()
def create(
    host: Annotated[str, typer.Option("--host", help="Hypervisor host whose bridge the VM is plugged into.")],
    iface: Iface,
    ip: Annotated[str, typer.Option("--ip", help="Address with prefix length, e.g. 10.0.0.1/24.")],
    data_dir: DataDir = Path(".data"),
) -> None:
    """Create a VM: namespace netprov-vm-IFACE, its eth0 with IP, plugged into HOST's br-int."""
    try:
        vm = vms.create_vm(host, iface, ip, data_dir)
    except (vms.VmError, ValueError) as error:
        raise _fail(error) from None
    typer.echo(f"VM {vm.iface_id} on host {vm.host}: {vm.ip} (namespace {vm.netns}, port {vm.tap}, mac {vm.mac})")


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(
    iface: Iface,
    command: Annotated[list[str], typer.Argument(help="The command to run inside the VM, after --.")],
) -> None:
    """Run COMMAND inside the VM; its exit code is this command's."""
    try:
        vms.exec_in_vm(iface, command)
    except vms.VmError as error:
        raise _fail(error) from None


@app.command()
def delete(iface: Iface, data_dir: DataDir = Path(".data")) -> None:
    """Remove the VM: its port, veth and namespace. Removing a VM that is not there succeeds."""
    try:
        existed = vms.delete_vm(iface, data_dir)
    except vms.VmError as error:
        raise _fail(error) from None
    typer.echo(f"VM {iface} deleted" if existed else f"no VM {iface}")


@app.command("list")
def list_(data_dir: DataDir = Path(".data")) -> None:
    """List the VMs of this data dir."""
    for vm in vms.list_vms(data_dir):
        typer.echo(f"{vm.iface_id}\t{vm.host}\t{vm.ip}\t{vm.netns}\t{vm.tap}")


if __name__ == "__main__":
    app()
