"""Link UP is earned by the datapath, and a host's switch that lost or stopped things recovers:
real Open vSwitch, real pings (issue 16)."""

import os
import signal
import subprocess

import pytest

from netprov.status import LinkStatus
from plugins.ovs import linux
from plugins.ovs.hosts import BRIDGE, host_files, start_hosts, trunk_device

pytestmark = pytest.mark.ovs


def _vsctl(lab, host, *args):
    return subprocess.run(["ovs-vsctl", f"--db=unix:{host_files(host, lab.data_dir).socket}", *args], check=True)


def test_a_frozen_vswitchd_is_not_up_though_its_configuration_is(lab, fabric):
    host = lab.hosts[0]
    network, _ = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "frz-a", "10.50.0.1/24"))
    fabric.attach(network, host, fabric.vm(host, "frz-b", "10.50.0.2/24"))
    assert fabric.ping(a.iface_id, "10.50.0.2") and fabric.link(a).status == LinkStatus.UP

    pid = linux.read_pidfile(host_files(host, lab.data_dir).vswitchd_pid)
    os.kill(pid, signal.SIGSTOP)  # alive, OVSDB intact and saying link up: only the datapath is gone
    try:
        report = fabric.link(a)
        reachable = fabric.ping(a.iface_id, "10.50.0.2", attempts=1)
    finally:
        os.kill(pid, signal.SIGCONT)

    assert not reachable
    assert report.status == LinkStatus.DOWN
    assert report.reason.startswith(f"switch on host {host} restarting or stuck")
    assert fabric.link(a).status == LinkStatus.UP and fabric.ping(a.iface_id, "10.50.0.2")


def test_a_flow_dropping_the_vms_frames_is_not_up(lab, fabric):
    host = lab.hosts[0]
    network, _ = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "drp-a", "10.51.0.1/24"))
    fabric.attach(network, host, fabric.vm(host, "drp-b", "10.51.0.2/24"))
    tap = lab.switch(host).find(a.iface_id).name
    mgmt = f"unix:{host_files(host, lab.data_dir).dir / (BRIDGE + '.mgmt')}"
    assert fabric.link(a).status == LinkStatus.UP

    subprocess.run(["ovs-ofctl", "add-flow", mgmt, f"priority=100,in_port={tap},actions=drop"], check=True)
    try:
        report = fabric.link(a)
        reachable = fabric.ping(a.iface_id, "10.51.0.2", attempts=2)
    finally:
        subprocess.run(["ovs-ofctl", "del-flows", "--strict", mgmt, f"priority=100,in_port={tap}"], check=True)

    assert not reachable
    assert report.status == LinkStatus.DOWN
    assert report.reason.startswith(f"datapath does not forward frames from port {tap}") and host in report.reason
    assert fabric.link(a).status == LinkStatus.UP


def test_killed_ovsdb_server_is_named_and_the_restarted_switch_is_up_again(lab, fabric):
    host = lab.hosts[0]
    network, _ = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "db-a", "10.52.0.1/24"))
    fabric.attach(network, lab.hosts[1], fabric.vm(lab.hosts[1], "db-b", "10.52.0.2/24"))
    assert fabric.ping(a.iface_id, "10.52.0.2")

    os.kill(linux.read_pidfile(host_files(host, lab.data_dir).ovsdb_pid), signal.SIGKILL)
    down = fabric.link(a)
    start_hosts(lab.hosts, lab.data_dir)

    assert (down.status, down.reason) == (LinkStatus.DOWN, f"ovsdb-server on host {host} not running")
    assert fabric.ping(a.iface_id, "10.52.0.2") and fabric.link(a).status == LinkStatus.UP


def test_a_deleted_bridge_is_rebuilt_by_reconcile_with_trunk_vm_port_and_tag(lab, fabric):
    host, other = lab.hosts
    network, vlan = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "br-a", "10.53.0.1/24"))
    b = fabric.attach(network, other, fabric.vm(other, "br-b", "10.53.0.2/24"))
    assert fabric.ping(a.iface_id, "10.53.0.2")

    _vsctl(lab, host, "del-br", BRIDGE)  # the whole configuration of the host's switch is gone
    gone = fabric.link(a)
    repairs = [str(r) for r in lab.plugin.reconcile(host)]

    assert (gone.status, gone.reason) == (LinkStatus.DOWN, f"interface-id {a.iface_id} not found on host {host}")
    assert f"host {host}: bridge {BRIDGE} re-created" in repairs
    assert f"host {host}: trunk {trunk_device(other)} put back on {BRIDGE}" in repairs
    assert any(a.iface_id in r and "plugged back" in r for r in repairs)
    assert lab.switch(host).find(a.iface_id).tag == vlan
    assert fabric.ping(a.iface_id, "10.53.0.2")
    assert fabric.link(a).status == fabric.link(b).status == LinkStatus.UP
    assert lab.plugin.reconcile(host) == []  # nothing left to repair
