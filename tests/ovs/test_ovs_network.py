"""The ovs plugin on real Open vSwitch: connectivity, isolation, link status, drift repair."""

import pytest

from netprov.status import AdminState, LinkStatus
from plugins.ovs import linux, vms
from plugins.ovs.hosts import host_netns
from plugins.ovs.switch import DEAD_VLAN

pytestmark = pytest.mark.ovs


def test_two_vms_on_one_network_on_one_host_ping_each_other(lab, fabric):
    host = lab.hosts[0]
    network, vlan = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "one-a", "10.20.0.1/24"))
    b = fabric.attach(network, host, fabric.vm(host, "one-b", "10.20.0.2/24"))

    assert fabric.ping(a.iface_id, "10.20.0.2")
    assert fabric.ping(b.iface_id, "10.20.0.1")
    assert fabric.link(a).status == LinkStatus.UP
    assert fabric.link(b).status == LinkStatus.UP
    assert lab.switch(host).find(a.iface_id).tag == vlan


def test_two_networks_on_one_host_do_not_reach_each_other(lab, fabric):
    host = lab.hosts[0]
    red, red_vlan = fabric.network()
    blue, blue_vlan = fabric.network()
    a = fabric.attach(red, host, fabric.vm(host, "two-a", "10.21.0.1/24"))
    b = fabric.attach(blue, host, fabric.vm(host, "two-b", "10.21.0.2/24"))
    c = fabric.attach(red, host, fabric.vm(host, "two-c", "10.21.0.3/24"))

    assert red_vlan != blue_vlan
    assert fabric.ping(a.iface_id, "10.21.0.3")  # the path works...
    assert fabric.isolated(a.iface_id, "10.21.0.2")  # ...but not into the other network
    assert [fabric.link(x).status for x in (a, b, c)] == [LinkStatus.UP] * 3


def test_across_hosts_through_the_trunk(lab, fabric):
    first, second = lab.hosts
    red, red_vlan = fabric.network()
    blue, _ = fabric.network()
    a = fabric.attach(red, first, fabric.vm(first, "x-a", "10.22.0.1/24"))
    b = fabric.attach(red, second, fabric.vm(second, "x-b", "10.22.0.2/24"))
    c = fabric.attach(blue, second, fabric.vm(second, "x-c", "10.22.0.3/24"))

    assert fabric.ping(a.iface_id, "10.22.0.2")
    assert fabric.ping(b.iface_id, "10.22.0.1")
    assert fabric.isolated(a.iface_id, "10.22.0.3")
    assert lab.switch(first).find(a.iface_id).tag == red_vlan
    assert lab.switch(second).find(b.iface_id).tag == red_vlan
    assert fabric.link(c).status == LinkStatus.UP


def test_plug_before_the_vm_exists_then_reconcile_applies_it(lab, fabric):
    host = lab.hosts[1]
    network, vlan = fabric.network()
    peer = fabric.attach(network, host, fabric.vm(host, "late-peer", "10.23.0.2/24"))
    late = fabric.attach(network, host, lab.iface("late"))

    assert fabric.link(late).reason == f"interface-id {late.iface_id} not found on host {host}"
    fabric.vm(host, "late", "10.23.0.1/24")  # the VM starts now; its port is born isolated
    assert fabric.link(late).reason == f"VLAN tag on host {host} is {DEAD_VLAN}, expected {vlan}"

    changed = lab.plugin.reconcile(host)

    assert [(d.iface_id, d.found_tag, d.tag) for d in changed] == [(late.iface_id, DEAD_VLAN, vlan)]
    assert fabric.link(late).status == LinkStatus.UP
    assert fabric.ping(late.iface_id, "10.23.0.2")
    assert fabric.link(peer).status == LinkStatus.UP


def test_deleted_vm_reports_interface_id_not_found(lab, fabric):
    host = lab.hosts[0]
    network, _ = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "gone", "10.24.0.1/24"))
    assert fabric.link(a).status == LinkStatus.UP

    assert vms.delete_vm(a.iface_id, lab.data_dir)

    report = fabric.link(a)
    assert (report.status, report.reason) == (LinkStatus.DOWN, f"interface-id {a.iface_id} not found on host {host}")
    assert not linux.netns_exists(vms.vm_netns(a.iface_id))
    assert linux.link_info(vms.tap_name(a.iface_id), host_netns(host)) is None


def test_tampered_tag_is_reported_and_repaired_by_reconcile(lab, fabric):
    first, second = lab.hosts
    network, vlan = fabric.network()
    a = fabric.attach(network, first, fabric.vm(first, "tamper-a", "10.25.0.1/24"))
    fabric.attach(network, second, fabric.vm(second, "tamper-b", "10.25.0.2/24"))
    assert fabric.ping(a.iface_id, "10.25.0.2")
    switch = lab.switch(first)
    port = switch.find(a.iface_id).name

    # Someone moves the port to another VLAN by hand.
    switch.vsctl("set", "Port", port, "tag=150")
    report = fabric.link(a)
    assert (report.status, report.reason) == (LinkStatus.DOWN, f"VLAN tag on host {first} is 150, expected {vlan}")
    assert fabric.isolated(a.iface_id, "10.25.0.2")

    assert [str(d) for d in lab.plugin.reconcile(first)] == [
        f"interface-id {a.iface_id} on host {first}: tag 150 -> tag {vlan}"
    ]
    assert fabric.link(a).status == LinkStatus.UP
    assert fabric.ping(a.iface_id, "10.25.0.2")

    # ...or removes the tag altogether.
    switch.vsctl("remove", "Port", port, "tag", str(vlan))
    assert fabric.link(a).reason == f"VLAN tag on host {first} is none, expected {vlan}"
    assert len(lab.plugin.reconcile(first)) == 1
    assert lab.plugin.reconcile(first) == []  # nothing left to repair
    assert fabric.link(a).status == LinkStatus.UP
    assert fabric.ping(a.iface_id, "10.25.0.2")

    # ...or marks it protected.
    switch.vsctl("set", "Port", port, "protected=true")
    assert fabric.link(a).reason == f"port isolated on host {first} (protected)"
    assert [(d.found_protected, d.protected) for d in lab.plugin.reconcile(first)] == [(True, False)]
    assert fabric.link(a).status == LinkStatus.UP


def test_port_admin_down_blocks_traffic(lab, fabric):
    first, second = lab.hosts
    network, vlan = fabric.network()
    a = fabric.attach(network, first, fabric.vm(first, "adm-a", "10.26.0.1/24"))
    b = fabric.attach(network, first, fabric.vm(first, "adm-b", "10.26.0.2/24"))
    c = fabric.attach(network, second, fabric.vm(second, "adm-c", "10.26.0.3/24"))
    assert fabric.ping(a.iface_id, "10.26.0.2") and fabric.ping(a.iface_id, "10.26.0.3")

    fabric.set_state(a, AdminState.DOWN)

    assert (fabric.link(a).status, fabric.link(a).reason) == (LinkStatus.DOWN, "port admin DOWN")
    assert lab.switch(first).find(a.iface_id).isolated
    assert fabric.isolated(b.iface_id, "10.26.0.1")  # same host
    assert fabric.isolated(c.iface_id, "10.26.0.1")  # across the trunk

    # Two dead ports share the dead VLAN but still cannot reach each other (protected ports).
    fabric.set_state(b, AdminState.DOWN)
    assert fabric.isolated(a.iface_id, "10.26.0.2")

    fabric.set_state(a, AdminState.ACTIVE)
    assert fabric.link(a).status == LinkStatus.UP
    assert lab.switch(first).find(a.iface_id).tag == vlan
    assert fabric.ping(a.iface_id, "10.26.0.3")


def test_port_created_down_is_plugged_isolated(lab, fabric):
    host = lab.hosts[0]
    network, _ = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "born-down", "10.27.0.1/24"), state=AdminState.DOWN)

    assert fabric.link(a).reason == "port admin DOWN"
    assert lab.switch(host).find(a.iface_id).isolated


def test_link_down_when_the_vm_side_is_down(lab, fabric):
    host = lab.hosts[1]
    network, _ = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "cable", "10.28.0.1/24"))
    assert fabric.link(a).status == LinkStatus.UP

    linux.run(["ip", "-n", vms.vm_netns(a.iface_id), "link", "set", vms.VM_DEVICE, "down"])

    assert fabric.link(a).reason == f"link down on host {host}"


def test_plug_twice_with_one_request_id_changes_nothing(lab, fabric):
    host = lab.hosts[0]
    network, vlan = fabric.network()
    a = fabric.attach(network, host, fabric.vm(host, "idem", "10.29.0.1/24"))
    plug = a.request()
    lab.plugin.plug_interface(plug)
    before = (lab.plugin.bindings(host), lab.switch(host).find(a.iface_id), lab.plugin.host_ledger(host))

    lab.plugin.plug_interface(plug)

    after = (lab.plugin.bindings(host), lab.switch(host).find(a.iface_id), lab.plugin.host_ledger(host))
    assert after == before
    assert [e.request_id for e in lab.plugin.host_ledger(host)].count(plug.request_id) == 1

    # A replay after a later unplug must not plug again.
    lab.plugin.unplug_interface(a.request())
    assert lab.plugin.binding(host, a.iface_id) is None
    assert lab.switch(host).find(a.iface_id).isolated
    lab.plugin.plug_interface(plug)
    assert lab.plugin.binding(host, a.iface_id) is None
    assert lab.switch(host).find(a.iface_id).isolated
    assert fabric.link(a).reason == f"VLAN tag on host {host} is {DEAD_VLAN}, expected {vlan}"


def test_network_vlan_is_idempotent_and_freed_on_delete(lab, fabric):
    network, vlan = fabric.network()
    request = fabric._request(network)
    assert lab.plugin.create_network(request) == {"vlan": str(vlan)}
    assert lab.plugin.create_network(request) == {"vlan": str(vlan)}
    lab.plugin.delete_network(fabric._request(network))
    assert lab.plugin.vlan_of(network) is None
    again, reused = fabric.network()
    assert reused == vlan  # lowest free id again
