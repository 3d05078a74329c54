"""Real VMs on real Open vSwitch, provisioned through the REST API: connectivity, link status and
its conditions, agents dying and coming back, drift repaired."""

import time

import pytest
from ovs_cloud import CONTRACT_S, Cloud, condition

pytestmark = pytest.mark.ovs
UP, DOWN = "UP", "DOWN"


def test_vms_on_one_network_ping_each_other_and_not_another_network(cloud: Cloud):
    host = cloud.hosts[0]
    blue, red = cloud.network("blue"), cloud.network("red")
    assert blue["plugin"] == "ovs" and blue["plugin_data"]["vlan"] != red["plugin_data"]["vlan"]
    ports = {name: cloud.port(net) for name, net in (("b1", blue), ("b2", blue), ("r1", red))}
    ips = {"b1": "10.41.0.1/24", "b2": "10.41.0.2/24", "r1": "10.41.0.3/24"}
    # b1's VM exists before its attachment; b2's and r1's come after: the agent tags them once they appear.
    cloud.vm(host, cloud.iface("b1"), ips["b1"])
    for name, port in ports.items():
        cloud.attach(port, cloud.iface(name), host)
    assert cloud.get_port(ports["b1"])["link_status"] == UP
    missing = cloud.get_port(ports["b2"])
    assert missing["attachment"]["status"] == "AVAILABLE"
    assert (missing["link_status"], missing["link_status_string"]) == (
        DOWN, f"interface-id {cloud.iface('b2')} not found on host {host}"
    )
    cloud.vm(host, cloud.iface("b2"), ips["b2"])
    cloud.vm(host, cloud.iface("r1"), ips["r1"])
    for port in ports.values():
        cloud.wait_link(port, UP)

    assert cloud.ping(cloud.iface("b1"), "10.41.0.2")
    assert cloud.ping(cloud.iface("b2"), "10.41.0.1")
    assert not cloud.ping(cloud.iface("b1"), "10.41.0.3", attempts=2)
    assert not cloud.ping(cloud.iface("r1"), "10.41.0.2", attempts=2)
    vlan = int(blue["plugin_data"]["vlan"])
    assert cloud.switch_port(host, cloud.iface("b1")).tag == vlan


def test_vms_on_two_hosts_ping_across_the_trunk_and_networks_stay_apart(cloud: Cloud):
    a, b = cloud.hosts
    green, gold = cloud.network("green"), cloud.network("gold")
    placement = {"g1": (green, a, "10.42.0.1/24"), "g2": (green, b, "10.42.0.2/24"), "o1": (gold, b, "10.42.0.3/24")}
    ports = {}
    for name, (net, host, ip) in placement.items():
        cloud.vm(host, cloud.iface(name), ip)
        ports[name] = cloud.port(net)
        cloud.attach(ports[name], cloud.iface(name), host)
    for name, port in ports.items():
        body = cloud.wait_link(port, UP)
        assert body["attachment"]["host"] == placement[name][1]

    assert cloud.ping(cloud.iface("g1"), "10.42.0.2")
    assert not cloud.ping(cloud.iface("g1"), "10.42.0.3", attempts=2)
    # The same VLAN on both hosts; the gold VM on host b only shares the trunk, not the network.
    assert cloud.switch_port(a, cloud.iface("g1")).tag == cloud.switch_port(b, cloud.iface("g2")).tag


def test_conditions_say_which_part_blocks_the_port(cloud: Cloud):
    host = cloud.hosts[0]
    net = cloud.network("cond")
    port = cloud.port(net)
    body = cloud.get_port(port)
    assert [c["type"] for c in body["conditions"]] == ["Provisioned", "AgentAlive", "LinkUp"]
    assert (condition(body, "Provisioned")["status"], condition(body, "LinkUp")["reason"]) == ("True", "NoAttachment")
    assert condition(body, "AgentAlive")["status"] == "Unknown"
    assert (body["link_status"], body["link_status_string"]) == (DOWN, "no attachment")

    cloud.vm(host, cloud.iface("c1"), "10.43.0.1/24")
    cloud.attach(port, cloud.iface("c1"), host)
    up = cloud.wait_link(port, UP)
    assert {c["type"]: (c["status"], c["reason"]) for c in up["conditions"]} == {
        "Provisioned": ("True", "Provisioned"),
        "AgentAlive": ("True", "AgentPolling"),
        "LinkUp": ("True", "LinkUp"),
    }
    assert up["link_status_string"] is None

    cloud.set_state(port, "DOWN")
    down = cloud.wait_link(port, DOWN, "port admin DOWN")
    assert down["status"] == "DOWN"
    assert condition(down, "LinkUp")["reason"] == "AdminDown"
    # last_transition_time moves only with a condition's status (Provisioned went False and back
    # while the update was applied; the agent stayed alive throughout).
    assert condition(down, "LinkUp")["last_transition_time"] > condition(up, "LinkUp")["last_transition_time"]
    assert condition(down, "Provisioned")["status"] == "True"
    assert condition(down, "AgentAlive")["last_transition_time"] == condition(up, "AgentAlive")["last_transition_time"]
    # The switch cut the VM off: its port is isolated on the host.
    assert cloud.switch_port(host, cloud.iface("c1")).isolated

    cloud.set_state(port, "ACTIVE")
    cloud.wait_link(port, UP)


def test_deleted_vm_interface_shows_interface_id_not_found_and_a_new_one_comes_up(cloud: Cloud):
    host = cloud.hosts[1]
    net = cloud.network("gone")
    port = cloud.port(net)
    iface = cloud.vm(host, cloud.iface("d1"), "10.44.0.1/24")
    cloud.attach(port, iface, host)
    cloud.wait_link(port, UP)

    deleted = cloud.vm_cli("delete", "--iface", iface)
    assert deleted.returncode == 0, deleted.stderr
    body = cloud.wait_link(port, DOWN, f"interface-id {iface} not found on host {host}")
    assert condition(body, "LinkUp")["reason"] == "InterfaceNotFound"
    assert condition(body, "AgentAlive")["status"] == "True"

    cloud.vm(host, iface, "10.44.0.1/24")
    cloud.wait_link(port, UP)


def test_tag_changed_by_hand_is_put_back(cloud: Cloud):
    host = cloud.hosts[0]
    net = cloud.network("drift")
    ports = [cloud.port(net), cloud.port(net)]
    ifaces = [cloud.vm(host, cloud.iface(f"t{i}"), f"10.45.0.{i}/24") for i in (1, 2)]
    for port, iface in zip(ports, ifaces):
        cloud.attach(port, iface, host)
        cloud.wait_link(port, UP)
    vlan = int(net["plugin_data"]["vlan"])
    tap = cloud.switch_port(host, ifaces[0]).name

    cloud.vsctl(host, "set", "Port", tap, "tag=4000")
    deadline = time.monotonic() + CONTRACT_S
    while cloud.switch_port(host, ifaces[0]).tag != vlan:
        assert time.monotonic() < deadline, "the agent did not put the tag back"
        time.sleep(0.2)
    cloud.wait_link(ports[0], UP)
    assert cloud.ping(ifaces[0], "10.45.0.2")

    cloud.vsctl(host, "clear", "Port", tap, "tag")
    deadline = time.monotonic() + CONTRACT_S
    while cloud.switch_port(host, ifaces[0]).tag != vlan:
        assert time.monotonic() < deadline, "the agent did not put the cleared tag back"
        time.sleep(0.2)
    assert cloud.ping(ifaces[0], "10.45.0.2")


def test_dead_agent_shows_on_its_ports_and_its_work_waits_until_it_returns(cloud: Cloud):
    a, b = cloud.hosts
    net = cloud.network("agents")
    sim = cloud.network("agents-fake", plugin="fake")
    on_b, on_a = cloud.port(net), cloud.port(net)
    cloud.vm(b, cloud.iface("k1"), "10.46.0.1/24")
    cloud.vm(a, cloud.iface("k2"), "10.46.0.2/24")
    cloud.attach(on_b, cloud.iface("k1"), b)
    cloud.attach(on_a, cloud.iface("k2"), a)
    sim_port = cloud.port(sim)
    cloud.attach(sim_port, cloud.iface("k9"), b)
    cloud.wait_link(on_b, UP)
    cloud.wait_link(on_a, UP)
    assert condition(cloud.get_port(sim_port), "AgentAlive")["reason"] == "NotRequired"

    cloud.stack.kill(f"agent-{b}")
    killed = time.monotonic()
    body = cloud.wait_link(on_b, DOWN, f"agent on host {b} not running")
    detected = time.monotonic() - killed
    assert body["link_status_string"] == f"agent on host {b} not running"
    assert (condition(body, "AgentAlive")["status"], condition(body, "AgentAlive")["reason"]) == ("False", "AgentNotRunning")
    assert condition(body, "LinkUp")["reason"] == "AgentNotRunning"
    # Only host b's ports; the fake plugin's port on b has no agent to lose.
    assert cloud.get_port(on_a)["link_status"] == UP
    sim_body = cloud.get_port(sim_port)
    assert "agent" not in (sim_body["link_status_string"] or "") and condition(sim_body, "AgentAlive")["status"] == "True"
    # The VMs still reach each other: the switch keeps forwarding without its agent.
    assert cloud.ping(cloud.iface("k1"), "10.46.0.2")

    # Work for the dead host waits in its queue (no retries spent) ...
    late = cloud.port(net)
    cloud.vm(b, cloud.iface("k3"), "10.46.0.3/24")
    response = cloud.attach(late, cloud.iface("k3"), b, wait=3)
    assert response.status_code == 202 and response.json()["attachment"]["status"] == "PROVISIONING"
    time.sleep(3)
    waiting = cloud.wait_port(late, lambda body: body["link_status_string"] == f"agent on host {b} not running")
    assert waiting["status"] == "PROVISIONING" and waiting["attachment"]["status"] == "PROVISIONING"
    assert condition(waiting, "Provisioned")["status"] == condition(waiting, "AgentAlive")["status"] == "False"
    assert not cloud.ping(cloud.iface("k3"), "10.46.0.1", attempts=1)

    # ... and completes once the agent is back, when its ports are checked again.
    cloud.stack.restart(f"agent-{b}")
    restarted = time.monotonic()
    back = cloud.wait_link(on_b, UP)
    returned = time.monotonic() - restarted
    assert condition(back, "AgentAlive")["reason"] == "AgentPolling"
    plugged = cloud.wait_link(late, UP)
    assert plugged["attachment"]["status"] == "AVAILABLE" and plugged["status"] == "ACTIVE"
    assert cloud.ping(cloud.iface("k3"), "10.46.0.1")
    print(f"agent death reported after {detected:.1f} s, return after {returned:.1f} s")
    assert detected < CONTRACT_S and returned < CONTRACT_S
