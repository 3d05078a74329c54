"""A host's switch restarted, or stripped of its configuration, under the whole stack: its ports go
DOWN with a reason naming the switch, and come back UP by themselves once the agent has restored
what was lost (issue 16). No test step repairs anything: only the host's daemons are started again,
as their init system would."""

import os
import signal
import time

import pytest
from ovs_cloud import Cloud

from plugins.ovs import linux
from plugins.ovs.hosts import BRIDGE, host_files, start_hosts

pytestmark = pytest.mark.ovs
UP, DOWN = "UP", "DOWN"


def _pair(cloud: Cloud, name: str, subnet: str) -> tuple[dict, dict]:
    a, b = cloud.hosts
    net = cloud.network(name)
    ports = []
    for index, host in enumerate((a, b), start=1):
        port = cloud.port(net)
        cloud.vm(host, cloud.iface(f"{name}{index}"), f"{subnet}.{index}/24")
        cloud.attach(port, cloud.iface(f"{name}{index}"), host)
        ports.append(port)
    for port in ports:
        cloud.wait_link(port, UP)
    return ports[0], ports[1]


def test_a_killed_vswitchd_is_named_then_its_ports_are_up_again_once_it_runs(cloud: Cloud):
    host = cloud.hosts[0]
    on_host, other = _pair(cloud, "vsd", "10.47.0")

    os.kill(linux.read_pidfile(host_files(host, cloud.data_dir).vswitchd_pid), signal.SIGKILL)
    down = cloud.wait_link(on_host, DOWN, f"ovs-vswitchd on host {host} not running")
    assert not cloud.ping(cloud.iface("vsd1"), "10.47.0.2", attempts=1)
    start_hosts(cloud.hosts, cloud.data_dir)  # what the host's init system does

    cloud.wait_link(on_host, UP)
    assert cloud.ping(cloud.iface("vsd1"), "10.47.0.2")
    assert cloud.get_port(other)["link_status"] == UP
    assert down["link_status_string"] == f"ovs-vswitchd on host {host} not running"


def test_a_deleted_bridge_is_rebuilt_by_the_agent_and_its_ports_come_back(cloud: Cloud):
    host = cloud.hosts[0]
    on_host, _ = _pair(cloud, "brd", "10.48.0")

    before = cloud.vsctl(host, "get", "Bridge", BRIDGE, "_uuid").strip()

    cloud.vsctl(host, "del-br", BRIDGE)
    deleted = time.monotonic()
    while not cloud.vsctl(host, "--if-exists", "get", "Bridge", BRIDGE, "_uuid").strip() or not cloud.switch_port(
        host, cloud.iface("brd1")
    ):
        assert time.monotonic() - deleted < 30, "the agent did not rebuild the bridge"
        time.sleep(0.2)
    took = time.monotonic() - deleted

    assert cloud.vsctl(host, "get", "Bridge", BRIDGE, "_uuid").strip() != before  # a new bridge, made by the agent
    cloud.wait_link(on_host, UP)
    assert cloud.ping(cloud.iface("brd1"), "10.48.0.2")
    print(f"bridge rebuilt after {took:.1f} s")
