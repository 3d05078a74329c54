"""The write-side translator (api/neutron/write_input.py): Neutron bodies -> the shared write
layer's values, and every malformed field or unknown attribute refused with Neutron's message."""

import pytest

from api.auth import Caller
from api.neutron.definitions import NETWORK, PORT
from api.neutron.write_input import create_inputs, update_input
from api.problems import BadRequest

TENANT = Caller(token_id="t", tenant_id="proj-a", admin=False)
ADMIN = Caller(token_id="a", tenant_id=None, admin=True)
NET_ID = "0b5c7a36-7bd5-4a44-8a4b-5d2d8c1e9f10"


def test_network_create_defaults_and_project():
    (one,), bulk = create_inputs(NETWORK, {"network": {"name": "web"}}, TENANT)
    assert not bulk and one.resource == "network"
    assert one.values == {"name": "web", "description": "", "tags": [], "tenant_id": "proj-a", "qos_policy_id": None}
    (unnamed,), _ = create_inputs(NETWORK, {"network": {}}, TENANT)
    assert unnamed.values["name"] == ""  # optional, as in Neutron


def test_port_create_maps_admin_state_and_binding():
    (one,), _ = create_inputs(PORT, {"port": {"network_id": NET_ID.upper(), "binding:host_id": "h1",
                                              "mac_address": "FA-16-3E-00-00-01", "device_owner": "compute:nova"}}, TENANT)
    assert one.values["network_id"] == NET_ID and one.values["host"] == "h1"
    assert one.values["state"] == "ACTIVE"  # admin_state_up defaults to true, as Neutron
    assert one.values["mac_address"] == "fa:16:3e:00:00:01" and one.values["device_owner"] == "compute:nova"
    (unbound,), _ = create_inputs(PORT, {"port": {"network_id": NET_ID, "admin_state_up": "false"}}, TENANT)
    assert unbound.values["state"] == "DOWN" and unbound.values["host"] is None


def test_bulk():
    inputs, bulk = create_inputs(PORT, {"ports": [{"network_id": NET_ID, "name": f"p{i}"} for i in range(3)]}, TENANT)
    assert bulk and [i.values["name"] for i in inputs] == ["p0", "p1", "p2"]


def test_update_takes_only_what_is_given():
    assert update_input(PORT, {"port": {"binding:host_id": ""}}).values == {"host": None}
    assert update_input(PORT, {"port": {"admin_state_up": False, "name": "x"}}).values == {"state": "DOWN", "name": "x"}
    assert update_input(NETWORK, {"network": {"qos_policy_id": None}}).values == {"qos_policy_id": None}


def test_admin_names_a_project_a_tenant_may_not():
    (one,), _ = create_inputs(NETWORK, {"network": {"name": "n", "project_id": "proj-b"}}, ADMIN)
    assert one.project_id == "proj-b"
    (same,), _ = create_inputs(NETWORK, {"network": {"name": "n", "tenant_id": "proj-a"}}, TENANT)
    assert same.project_id == "proj-a"
    with pytest.raises(BadRequest, match="requires admin privileges"):
        create_inputs(NETWORK, {"network": {"name": "n", "project_id": "proj-b"}}, TENANT)
    with pytest.raises(BadRequest, match="do not match"):
        create_inputs(NETWORK, {"network": {"project_id": "proj-b", "tenant_id": "proj-c"}}, ADMIN)


@pytest.mark.parametrize("resource, body, message", [
    (NETWORK, None, "Resource body required"),
    (NETWORK, [], "Resource body required"),
    (NETWORK, {"port": {}}, "Unable to find 'network' in request body"),
    (NETWORK, {"network": {}, "extra": 1}, "Unrecognized attribute(s) 'extra'"),
    (NETWORK, {"network": "web"}, "must be an object"),
    (NETWORK, {"network": {"nmae": "typo"}}, "Unrecognized attribute(s) 'nmae'"),
    (NETWORK, {"network": {"id": NET_ID}}, "Attribute 'id' not allowed in POST"),
    (NETWORK, {"network": {"status": "ACTIVE"}}, "Attribute 'status' not allowed in POST"),
    (NETWORK, {"network": {"mtu": 9000}}, "Attribute 'mtu' not allowed in POST"),
    (NETWORK, {"network": {"name": 5}}, "Invalid input for name. Reason: '5' is not a valid string."),
    (NETWORK, {"network": {"name": "x" * 256}}, "exceeds maximum length of 255"),
    (NETWORK, {"network": {"name": "a\x00b"}}, "NUL"),
    (NETWORK, {"network": {"admin_state_up": "maybe"}}, "cannot be converted to boolean"),
    (NETWORK, {"network": {"admin_state_up": False}}, "always up"),
    (NETWORK, {"network": {"shared": True}}, "never shared"),
    (NETWORK, {"network": {"qos_policy_id": "gold"}}, "is not a valid UUID"),
    (NETWORK, {"network": {"tags": ["a", "a"]}}, "Duplicate items"),
    (NETWORK, {"networks": []}, "Resources required"),
    (NETWORK, {"networks": ["x"]}, "must be an object"),
    (PORT, {"port": {}}, "Required attribute 'network_id' not specified"),
    (PORT, {"port": {"network_id": "net"}}, "Invalid input for network_id"),
    (PORT, {"port": {"network_id": NET_ID, "mac_address": "01:00:5e:00:00:01"}}, "not a valid MAC address"),
    (PORT, {"port": {"network_id": NET_ID, "fixed_ips": [{"ip_address": "10.0.0.2"}]}}, "allocates no IP addresses"),
    (PORT, {"port": {"network_id": NET_ID, "binding:vnic_type": "direct"}}, "Invalid input for binding:vnic_type"),
    (PORT, {"port": {"network_id": NET_ID, "binding:host_id": "h 1"}}, "no whitespace"),
    (PORT, {"port": {"network_id": NET_ID, "binding:vif_type": "ovs"}}, "not allowed in POST"),
    (PORT, {"port": {"network_id": NET_ID, "data_plane_status": "ACTIVE"}}, "not allowed in POST"),
    (PORT, {"port": {"network_id": NET_ID, "netprov:link_status": "UP"}}, "not allowed in POST"),
])
def test_bad_create_bodies(resource, body, message):
    with pytest.raises(BadRequest) as raised:
        create_inputs(resource, body, TENANT)
    assert message in raised.value.detail


@pytest.mark.parametrize("resource, body, message", [
    (PORT, {"port": {"network_id": NET_ID}}, "Cannot update read-only attribute network_id"),
    (PORT, {"port": {"mac_address": "fa:16:3e:00:00:02"}}, "Cannot update read-only attribute mac_address"),
    (PORT, {"port": {"tags": ["a"]}}, "Cannot update read-only attribute tags"),
    (NETWORK, {"network": {"project_id": "x"}}, "Cannot update read-only attribute project_id"),
    (NETWORK, {"network": {"status": "DOWN"}}, "Cannot update read-only attribute status"),
    (NETWORK, {"network": {"description": ["x"]}}, "Invalid input for description"),
])
def test_bad_update_bodies(resource, body, message):
    with pytest.raises(BadRequest) as raised:
        update_input(resource, body)
    assert message in raised.value.detail


def test_qos_rule_bodies():
    from api.neutron.definitions_qos import BANDWIDTH_LIMIT, DSCP_MARKING, RULES, rule_body

    (limit,), _ = create_inputs(RULES[BANDWIDTH_LIMIT], {"bandwidth_limit_rule": {"max_kbps": "10000"}}, TENANT)
    assert limit.values == {"max_kbps": 10000, "max_burst_kbps": 0, "direction": "egress"}
    (mark,), _ = create_inputs(RULES[DSCP_MARKING], {"dscp_marking_rule": {"dscp_mark": 26}}, TENANT)
    assert mark.values == {"dscp_mark": 26}
    assert rule_body({"id": "r1", "type": "dscp_marking", "dscp_mark": 26}) == {"type": "dscp_marking", "id": "r1", "dscp_mark": 26}
    for body, message in [
        ({"bandwidth_limit_rule": {}}, "Required attribute 'max_kbps' not specified"),
        ({"bandwidth_limit_rule": {"max_kbps": 0}}, "is not in range 1 through 100000000"),
        ({"bandwidth_limit_rule": {"max_kbps": True}}, "is not an integer"),
        ({"bandwidth_limit_rule": {"max_kbps": 10, "direction": "up"}}, "Invalid input for direction"),
        ({"bandwidth_limit_rule": {"max_kbps": 10, "id": "r"}}, "Attribute 'id' not allowed in POST"),
    ]:
        with pytest.raises(BadRequest, match=message):
            create_inputs(RULES[BANDWIDTH_LIMIT], body, TENANT)
    with pytest.raises(BadRequest, match="is not in"):
        create_inputs(RULES[DSCP_MARKING], {"dscp_marking_rule": {"dscp_mark": 27}}, TENANT)


def test_qos_policy_table_reads_a_policy_row():
    """The prepared policy table over a stand-in for the QoS helper's table (own metadata, so
    the schema-drift check never sees it)."""
    from datetime import datetime, timezone

    from sqlalchemy import JSON, String
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    from api.neutron.definitions_qos import qos_policy

    class Base(DeclarativeBase):
        pass

    class PolicyRow(Base):
        __tablename__ = "qos_policies"
        id: Mapped[str] = mapped_column(String, primary_key=True)
        tenant_id: Mapped[str] = mapped_column(String)
        name: Mapped[str] = mapped_column(String)
        rules: Mapped[list] = mapped_column(JSON)
        created_at: Mapped[datetime]
        updated_at: Mapped[datetime]

    at = datetime(2026, 12, 3, 12, 0, 0, 123, tzinfo=timezone.utc)
    row = PolicyRow(id="p1", tenant_id="proj-a", name="gold", created_at=at, updated_at=at,
                    rules=[{"id": "r1", "type": "bandwidth_limit", "max_kbps": 10000}])
    body = qos_policy(PolicyRow).body(row)
    assert body == {
        "id": "p1", "name": "gold", "project_id": "proj-a", "tenant_id": "proj-a", "description": None, "tags": [],
        "revision_number": None, "created_at": "2026-12-03T12:00:00Z", "updated_at": "2026-12-03T12:00:00Z",
        "shared": False, "is_default": False,
        "rules": [{"type": "bandwidth_limit", "id": "r1", "max_kbps": 10000, "max_burst_kbps": 0, "direction": "egress",
                   "qos_policy_id": "p1"}],
    }
