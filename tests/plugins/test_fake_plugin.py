"""The fake plugin: ledger idempotency, faults injected by name, link status, latency knobs."""

import time
import uuid

import pytest

from netprov.operations import PluginAction
from netprov.status import LinkStatus
from plugins.base import PermanentPluginError, TransientPluginError
from plugins.fake import FakePlugin, InjectedFaults


def test_entry_point_loads_the_fake(load):
    plugin = load("fake")
    assert isinstance(plugin, FakePlugin)
    assert plugin.name == "fake"
    assert plugin.store.path.parent.name == "plugins"
    assert plugin.store.path.is_file()


def test_same_request_id_twice_is_applied_once(load, make_request):
    plugin = load("fake")
    network = str(uuid.uuid4())
    req = make_request("fake", network)

    assert plugin.create_network(req) == {}
    assert plugin.create_network(req) == {}

    entries = plugin.ledger()
    assert [(e.request_id, e.action, e.resource_id) for e in entries] == [
        (req.request_id, PluginAction.CREATE_NETWORK, network)
    ]
    assert plugin.residue() == {"networks": 1, "ports": 0, "interfaces": 0}


def test_ledger_survives_a_new_instance(load, make_request):
    network = str(uuid.uuid4())
    req = make_request("fake", network)
    load("fake").create_network(req)

    restarted = load("fake")
    restarted.create_network(req)

    assert len(restarted.ledger()) == 1


def test_change_already_in_place_succeeds_under_another_request_id(load, make_request):
    plugin = load("fake")
    network = str(uuid.uuid4())
    plugin.create_network(make_request("fake", network))
    plugin.create_network(make_request("fake", network))

    assert plugin.residue()["networks"] == 1
    assert len(plugin.ledger()) == 2


def test_full_lifecycle_leaves_no_residue(load, make_request):
    plugin = load("fake")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())
    plugin.create_network(make_request("fake", network))
    plugin.create_port(make_request("fake", network, port_id=port, state="ACTIVE"))
    plugin.plug_interface(make_request("fake", network, port_id=port, iface_id="vif-1", host="h1"))
    assert plugin.residue() == {"networks": 1, "ports": 1, "interfaces": 1}

    plugin.unplug_interface(make_request("fake", network, port_id=port))
    plugin.delete_port(make_request("fake", network, port_id=port))
    plugin.delete_network(make_request("fake", network))

    assert plugin.residue() == {"networks": 0, "ports": 0, "interfaces": 0}
    assert [e.action for e in plugin.ledger()] == [
        "create_network",
        "create_port",
        "plug_interface",
        "unplug_interface",
        "delete_port",
        "delete_network",
    ]


def test_delete_network_removes_its_ports_and_interfaces(load, make_request):
    plugin = load("fake")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())
    plugin.create_network(make_request("fake", network))
    plugin.create_port(make_request("fake", network, port_id=port))
    plugin.plug_interface(make_request("fake", network, port_id=port, iface_id="vif-1", host="h1"))

    plugin.delete_network(make_request("fake", network))

    assert plugin.residue() == {"networks": 0, "ports": 0, "interfaces": 0}


def test_deleting_what_is_absent_succeeds(load, make_request):
    plugin = load("fake")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())
    plugin.unplug_interface(make_request("fake", network, port_id=port))
    plugin.delete_port(make_request("fake", network, port_id=port))
    plugin.delete_network(make_request("fake", network))
    assert plugin.residue() == {"networks": 0, "ports": 0, "interfaces": 0}


def test_fail_prefix_fails_every_provisioning_call_permanently(load, make_request):
    plugin = load("fake")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())

    with pytest.raises(PermanentPluginError, match=r"fake plugin refuses network 'fail-x' \(permanent fault"):
        plugin.create_network(make_request("fake", network, name="fail-x"))
    with pytest.raises(PermanentPluginError):
        plugin.create_port(make_request("fake", network, name="fail-x", port_id=port))
    with pytest.raises(PermanentPluginError):
        plugin.plug_interface(make_request("fake", network, name="fail-x", port_id=port, iface_id="v", host="h1"))

    # Cleanup of a failed network must always be possible.
    plugin.delete_network(make_request("fake", network, name="fail-x"))
    assert plugin.ledger()[-1].action == "delete_network"
    assert plugin.residue() == {"networks": 0, "ports": 0, "interfaces": 0}


def test_flaky_prefix_fails_exactly_n_times_per_request_then_succeeds(load, make_request):
    plugin = load("fake")
    req = make_request("fake", str(uuid.uuid4()), name="flaky2-net")

    for _ in range(2):
        with pytest.raises(TransientPluginError, match="flaky2-net"):
            plugin.create_network(req)
        assert plugin.ledger() == []
    assert plugin.create_network(req) == {}
    assert plugin.create_network(req) == {}

    assert len(plugin.ledger()) == 1
    # The count is per (request_id, action): another request fails its own two times.
    other = make_request("fake", req.network_id, name="flaky2-net")
    with pytest.raises(TransientPluginError):
        plugin.create_network(other)


def test_flaky_count_survives_a_restart(load, make_request):
    req = make_request("fake", str(uuid.uuid4()), name="flaky2-net")
    with pytest.raises(TransientPluginError):
        load("fake").create_network(req)

    restarted = load("fake")
    with pytest.raises(TransientPluginError):
        restarted.create_network(req)
    restarted.create_network(req)

    assert len(load("fake").ledger()) == 1


@pytest.mark.parametrize(
    ("name", "faults"),
    [
        ("net", InjectedFaults()),
        ("fail-x", InjectedFaults(fail_step=1)),
        ("fail3-x", InjectedFaults(fail_step=3)),
        ("flaky2-x", InjectedFaults(flaky_times=2)),
        ("flaky-x", InjectedFaults(flaky_times=1)),
        ("flaky1-fail3-x", InjectedFaults(fail_step=3, flaky_times=1)),
        ("failure", InjectedFaults()),
        ("my-fail-x", InjectedFaults()),
    ],
)
def test_fault_prefixes(name, faults):
    assert InjectedFaults.from_name(name) == faults


def test_transient_failure_rate_one_always_fails_and_applies_nothing(load, make_request):
    plugin = load("fake", transient_failure_rate=1.0)
    with pytest.raises(TransientPluginError, match="fake_transient_failure_rate"):
        plugin.create_network(make_request("fake", str(uuid.uuid4())))
    assert plugin.ledger() == []
    assert plugin.residue()["networks"] == 0


def test_latency_is_slept_per_call(load, make_request):
    plugin = load("fake", latency_ms=50)
    started = time.monotonic()
    plugin.create_network(make_request("fake", str(uuid.uuid4())))
    assert time.monotonic() - started >= 0.05


def test_link_status_reasons(load, make_request):
    plugin = load("fake")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())

    def link():
        report = plugin.link_status(make_request("fake", network, port_id=port))
        return report.status, report.reason

    assert link() == (LinkStatus.DOWN, "network not AVAILABLE")
    plugin.create_network(make_request("fake", network))
    plugin.create_port(make_request("fake", network, port_id=port))
    assert link() == (LinkStatus.DOWN, "no attachment")
    plugin.plug_interface(make_request("fake", network, port_id=port, iface_id="vif-1", host="h1"))
    assert link() == (LinkStatus.DOWN, "port admin DOWN")
    plugin.update_port(make_request("fake", network, port_id=port, state="ACTIVE"))
    assert link() == (LinkStatus.UP, None)
    plugin.unplug_interface(make_request("fake", network, port_id=port))
    assert link() == (LinkStatus.DOWN, "no attachment")


def test_update_without_state_keeps_the_admin_state(load, make_request):
    plugin = load("fake")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())
    plugin.create_network(make_request("fake", network))
    plugin.create_port(make_request("fake", network, port_id=port, state="ACTIVE"))
    plugin.plug_interface(make_request("fake", network, port_id=port, iface_id="vif-1", host="h1"))
    plugin.update_port(make_request("fake", network, port_id=port))
    assert plugin.link_status(make_request("fake", network, port_id=port)).status == LinkStatus.UP
