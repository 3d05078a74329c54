"""ovs-sim: VLAN allocation from the configured range, port bindings, link status."""

import uuid

import pytest

from netprov.operations import PluginAction
from netprov.status import LinkStatus
from plugins.base import PermanentPluginError
from plugins.ovs_sim import OvsSimPlugin


def test_entry_point_loads_ovs_sim(load):
    plugin = load("ovs-sim")
    assert isinstance(plugin, OvsSimPlugin)
    # Synchronous: one step per action.
    assert [step.name for step in plugin.steps(PluginAction.CREATE_NETWORK)] == ["create_network"]


def test_networks_get_the_lowest_free_vlan_and_keep_it(load, make_request):
    plugin = load("ovs-sim", vlan_range="100-199")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    assert plugin.create_network(make_request("ovs-sim", first)) == {"vlan": "100"}
    assert plugin.create_network(make_request("ovs-sim", second)) == {"vlan": "101"}
    # Same network again, under a new request id: same VLAN, nothing new allocated.
    assert plugin.create_network(make_request("ovs-sim", first)) == {"vlan": "100"}
    assert plugin.vlan_of(first) == 100
    assert plugin.residue()["networks"] == 2


def test_same_request_id_is_one_ledger_entry(load, make_request):
    plugin = load("ovs-sim")
    req = make_request("ovs-sim", str(uuid.uuid4()))
    assert plugin.create_network(req) == plugin.create_network(req)
    assert len(plugin.ledger()) == 1
    assert plugin.ledger()[0].result == plugin.create_network(req)


def test_exhausted_range_fails_permanently_and_delete_frees_the_vlan(load, make_request):
    plugin = load("ovs-sim", vlan_range="100-101")
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    plugin.create_network(make_request("ovs-sim", a))
    plugin.create_network(make_request("ovs-sim", b))

    with pytest.raises(PermanentPluginError, match=rf"VLAN range 100-101 exhausted: no VLAN id left for network {c}"):
        plugin.create_network(make_request("ovs-sim", c))
    assert plugin.vlan_of(c) is None
    assert len(plugin.ledger()) == 2

    plugin.delete_network(make_request("ovs-sim", a))
    assert plugin.vlan_of(a) is None
    assert plugin.create_network(make_request("ovs-sim", c)) == {"vlan": "100"}


def test_vlans_survive_a_restart(load, make_request):
    network = str(uuid.uuid4())
    load("ovs-sim").create_network(make_request("ovs-sim", network))
    restarted = load("ovs-sim")
    assert restarted.vlan_of(network) == 100
    assert restarted.create_network(make_request("ovs-sim", str(uuid.uuid4()))) == {"vlan": "101"}


def test_port_before_network_is_refused(load, make_request):
    plugin = load("ovs-sim")
    with pytest.raises(PermanentPluginError, match="has no VLAN"):
        plugin.create_port(make_request("ovs-sim", str(uuid.uuid4()), port_id=str(uuid.uuid4())))
    assert plugin.ledger() == []


def test_plug_before_port_is_refused(load, make_request):
    plugin = load("ovs-sim")
    network = str(uuid.uuid4())
    plugin.create_network(make_request("ovs-sim", network))
    with pytest.raises(PermanentPluginError, match="is not bound"):
        plugin.plug_interface(make_request("ovs-sim", network, port_id=str(uuid.uuid4()), iface_id="v", host="h1"))


def test_lifecycle_link_status_and_no_residue(load, make_request):
    plugin = load("ovs-sim")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())

    def link():
        report = plugin.link_status(make_request("ovs-sim", network, port_id=port))
        return report.status, report.reason

    assert link() == (LinkStatus.DOWN, "network not AVAILABLE")
    plugin.create_network(make_request("ovs-sim", network))
    plugin.create_port(make_request("ovs-sim", network, port_id=port))
    assert link() == (LinkStatus.DOWN, "no attachment")
    plugin.plug_interface(make_request("ovs-sim", network, port_id=port, iface_id="vif-1", host="h1"))
    assert link() == (LinkStatus.DOWN, "port admin DOWN")
    plugin.update_port(make_request("ovs-sim", network, port_id=port, state="ACTIVE"))
    assert link() == (LinkStatus.UP, None)

    plugin.delete_network(make_request("ovs-sim", network))
    assert plugin.residue() == {"networks": 0, "ports": 0, "interfaces": 0}
    # Deleting again, and deleting what never existed, succeed.
    plugin.delete_network(make_request("ovs-sim", network))
    plugin.delete_port(make_request("ovs-sim", network, port_id=port))
    plugin.unplug_interface(make_request("ovs-sim", network, port_id=port))
