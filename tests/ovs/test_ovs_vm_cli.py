"""`netprov vm` (cli.vm) as a user runs it: create, exec with the exit code passed through, delete."""

import os
import subprocess
import sys

import pytest

from plugins.ovs import linux, vms

pytestmark = pytest.mark.ovs


def _vm(lab, *args):
    env = {**os.environ, "NETPROV_DATA_DIR": str(lab.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "cli.vm", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_vm_create_exec_delete(lab, fabric):
    host = lab.hosts[0]
    network, _ = fabric.network()
    first, second = lab.iface("cli-1"), lab.iface("cli-2")
    fabric.vms += [first, second]  # removed by the fixture should the test fail half-way

    created = _vm(lab, "create", "--host", host, "--iface", first, "--ip", "10.40.0.1/24")
    assert created.returncode == 0, created.stderr
    assert _vm(lab, "create", "--host", host, "--iface", first, "--ip", "10.40.0.1/24").returncode == 0
    assert _vm(lab, "create", "--host", host, "--iface", second, "--ip", "10.40.0.2/24").returncode == 0
    fabric.attach(network, host, first)
    fabric.attach(network, host, second)

    pinged = _vm(lab, "exec", "--iface", first, "--", "ping", "-c1", "-W1", "10.40.0.2")
    assert pinged.returncode == 0, pinged.stdout + pinged.stderr
    assert _vm(lab, "exec", "--iface", first, "--", "sh", "-c", "exit 3").returncode == 3
    assert "10.40.0.1/24" in _vm(lab, "exec", "--iface", first, "--", "ip", "-o", "addr", "show", "eth0").stdout

    deleted = _vm(lab, "delete", "--iface", first)
    assert deleted.returncode == 0
    assert not linux.netns_exists(vms.vm_netns(first))
    assert _vm(lab, "delete", "--iface", first).returncode == 0  # already gone: fine


def test_vm_create_refuses_bad_input(lab):
    host = lab.hosts[0]
    bad_id = _vm(lab, "create", "--host", host, "--iface", "Bad_ID", "--ip", "10.41.0.1/24")
    assert bad_id.returncode == 1 and "a-z0-9-" in bad_id.stderr
    too_long = _vm(lab, "create", "--host", host, "--iface", "a" * 41, "--ip", "10.41.0.1/24")
    assert too_long.returncode == 1
    no_prefix = _vm(lab, "create", "--host", host, "--iface", lab.iface("np"), "--ip", "10.41.0.1")
    assert no_prefix.returncode == 1 and "prefix" in no_prefix.stderr
    no_host = _vm(lab, "create", "--host", f"t{lab.tag}q", "--iface", lab.iface("nh"), "--ip", "10.41.0.1/24")
    assert no_host.returncode == 1 and "not running" in no_host.stderr
    no_vm = _vm(lab, "exec", "--iface", lab.iface("none"), "--", "true")
    assert no_vm.returncode == 1 and "no VM" in no_vm.stderr
