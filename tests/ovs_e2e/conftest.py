"""Fixtures of the Open vSwitch end-to-end tests; what the cloud is: see ovs_cloud.py."""

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from ovs_cloud import AGENT_CHECK_TIMEOUT_S, CLOUD_PREFIX, MONITOR_INTERVAL_S, Cloud
from ovs_lab import new_lab, require_ovs

from devstack.processes import ProcessStack
from plugins.ovs import linux
from plugins.ovs.hosts import start_hosts, stop_hosts


@pytest.fixture(scope="session")
def cloud_session() -> Iterator[Cloud]:
    require_ovs("Open vSwitch end-to-end tests")
    data_dir = new_lab(CLOUD_PREFIX)
    tag = uuid.uuid4().hex[:6]
    hosts = [f"e{tag}a", f"e{tag}b"]
    stack = ProcessStack(
        data_dir,
        env={
            "NETPROV_PLUGIN": "fake",
            "NETPROV_DEFAULT_HOST": hosts[0],
            "NETPROV_LINK_MONITOR_INTERVAL_S": str(MONITOR_INTERVAL_S),
            "NETPROV_AGENT_CHECK_TIMEOUT_S": str(AGENT_CHECK_TIMEOUT_S),
            "NETPROV_LOG_FORMAT": "text",
        },
        agents=hosts,
    )
    try:
        start_hosts(hosts, data_dir)
        stack.start()
        cloud = Cloud(stack, data_dir, hosts, tag)
        yield cloud
        cloud.http.close()
    finally:
        stack.stop()
        stop_hosts(hosts, data_dir)
        for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines():
            name = line.split(" ")[0]
            if tag in name:
                linux.netns_delete(name)
        if os.environ.get("NETPROV_KEEP_E2E") != "1":
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def cloud(cloud_session: Cloud) -> Iterator[Cloud]:
    """The session's cloud; the VMs a test made are removed after it, and every agent runs again."""
    try:
        yield cloud_session
    finally:
        cloud_session.delete_vms()
        for host in cloud_session.hosts:
            child = cloud_session.stack.children[f"agent-{host}"]
            if child.exit_code is not None:
                cloud_session.stack.restart(f"agent-{host}")
