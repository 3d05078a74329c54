"""Host lifecycle on real Open vSwitch: idempotent start, a chain of three, a clean stop."""

import os
import signal

import pytest

from netprov.status import LinkStatus
from plugins.ovs import linux, vms
from plugins.ovs.hosts import (
    host_files,
    host_netns,
    host_running,
    running_hosts,
    start_hosts,
    stop_hosts,
    trunk_device,
)

pytestmark = pytest.mark.ovs


def _pids(host, data_dir):
    files = host_files(host, data_dir)
    return linux.read_pidfile(files.ovsdb_pid), linux.read_pidfile(files.vswitchd_pid)


def test_start_is_idempotent(lab):
    before = [_pids(host, lab.data_dir) for host in lab.hosts]

    start_hosts(lab.hosts, lab.data_dir)

    assert [_pids(host, lab.data_dir) for host in lab.hosts] == before
    assert all(host_running(host, lab.data_dir) for host in lab.hosts)
    trunks = [p for p in lab.switch(lab.hosts[0]).ports() if p.name == trunk_device(lab.hosts[1])]
    assert len(trunks) == 1 and 4095 not in trunks[0].trunks and len(trunks[0].trunks) == 4094


def test_third_host_chained_then_stopped_cleanly(lab, fabric):
    first, second = lab.hosts
    third = f"t{lab.tag}c"
    lab.extra_hosts.append(third)
    start_hosts([second, third], lab.data_dir)  # chain: first - second - third
    network, _ = fabric.network()
    far = fabric.attach(network, third, fabric.vm(third, "far", "10.30.0.3/24"))
    near = fabric.attach(network, first, fabric.vm(first, "near", "10.30.0.1/24"))

    assert fabric.ping(near.iface_id, "10.30.0.3")  # two trunks, through the middle host
    vswitchd = _pids(third, lab.data_dir)[1]

    stop_hosts([third], lab.data_dir)

    assert not host_running(third, lab.data_dir)
    assert third not in running_hosts(lab.data_dir)
    assert not linux.process_alive(vswitchd)
    assert not linux.netns_exists(host_netns(third))
    assert not linux.netns_exists(vms.vm_netns(far.iface_id))  # its VMs went with it
    assert vms.get_vm(far.iface_id, lab.data_dir) is None
    assert not host_files(third, lab.data_dir).conf_db.exists()
    assert all(p.name != trunk_device(third) for p in lab.switch(second).ports())
    assert fabric.link(near).status == LinkStatus.UP
    stop_hosts([third], lab.data_dir)  # stopping again is a no-op


def test_stopped_host_reports_unknown_link(lab, fabric):
    network, _ = fabric.network()
    ghost = f"t{lab.tag}z"
    attachment = fabric.attach(network, lab.hosts[0], fabric.vm(lab.hosts[0], "ghost", "10.31.0.1/24"))
    attachment.host = ghost  # a host whose Open vSwitch does not run

    report = fabric.link(attachment)
    attachment.host = lab.hosts[0]

    assert (report.status, report.reason) == (LinkStatus.UNKNOWN, f"Open vSwitch on host {ghost} not reachable")


def test_crashed_vswitchd_is_reported_and_start_brings_it_back(lab, fabric):
    host = lab.hosts[0]
    network, _ = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "crash-a", "10.32.0.1/24"))
    fabric.attach(network, lab.hosts[1], fabric.vm(lab.hosts[1], "crash-b", "10.32.0.2/24"))
    assert fabric.ping(a.iface_id, "10.32.0.2")

    os.kill(_pids(host, lab.data_dir)[1], signal.SIGKILL)  # the ovs-vswitchd this session started
    assert fabric.link(a).reason == f"ovs-vswitchd on host {host} not running"
    start_hosts(lab.hosts, lab.data_dir)

    assert fabric.ping(a.iface_id, "10.32.0.2")
    assert fabric.link(a).status == LinkStatus.UP
