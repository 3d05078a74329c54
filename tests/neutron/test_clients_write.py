"""The real clients writing, unchanged, against the live server: openstacksdk 4.22 and the
`openstack` CLI (python-openstackclient 10.5), auth type admin_token, no identity service."""

import asyncio
import json
import uuid

import pytest
from openstack import exceptions


def call(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


def raw_post(net, path: str, body: dict) -> None:
    """A body the SDK's resources would not send (an unknown attribute), parsed by the SDK."""
    exceptions.raise_from_response(net.post(path, json=body))


async def test_sdk_network_and_port_lifecycle(sdk):
    net = sdk.network
    network = await call(net.create_network, name=f"sdk-{uuid.uuid4().hex[:6]}", description="made by the sdk")
    assert network.status == "BUILD" and network.description == "made by the sdk"
    network = await call(net.wait_for_status, network, status="ACTIVE", failures=["ERROR"], interval=0.2, wait=30)
    revision = network.revision_number
    renamed = await call(net.update_network, network, name="sdk-renamed")  # updates `network` in place, too
    assert renamed.name == "sdk-renamed" and renamed.revision_number > revision

    port = await call(net.create_port, network_id=network.id, name="vm-port", device_id="vm-1", binding_host_id="h1")
    assert port.status == "BUILD" and port.binding_host_id == "h1" and port.is_admin_state_up is True
    port = await call(net.wait_for_status, port, status="ACTIVE", failures=["ERROR"], interval=0.2, wait=30)
    assert port.binding_vif_type == "ovs" and port.data_plane_status == "ACTIVE"

    # Values must change: the SDK sends nothing for an attribute it already has.
    moved = await call(net.update_port, port, binding_host_id="h2", name="vm-port-2")
    assert moved.binding_host_id == "h2" and moved.name == "vm-port-2"
    moved = await call(net.wait_for_status, moved, status="ACTIVE", failures=["ERROR"], interval=0.2, wait=30)
    down = await call(net.update_port, moved, is_admin_state_up=False)
    assert down.is_admin_state_up is False
    down = await call(net.wait_for_status, down, status="DOWN", failures=["ERROR"], interval=0.2, wait=30)

    with pytest.raises(exceptions.ConflictException) as raised:
        await call(net.delete_network, network)
    assert "There are one or more ports still in use on the network" in str(raised.value)

    tagged = await call(net.set_tags, network, ["red", "blue"])
    assert sorted(tagged.tags) == ["blue", "red"]
    assert [n.id for n in await call(lambda: list(net.networks(tags="red")))] == [network.id]

    await call(net.delete_port, down)  # bound: unplugged and deleted (204)
    await call(net.wait_for_delete, down, interval=0.2, wait=30)
    await call(net.delete_network, network)
    await call(net.wait_for_delete, network, interval=0.2, wait=30)
    with pytest.raises(exceptions.NotFoundException, match=f"Network {network.id} could not be found"):
        await call(net.get_network, network.id)


async def test_sdk_bulk_ports_and_errors(sdk):
    net = sdk.network
    network = await call(net.create_network, name="bulk")
    ports = await call(lambda: list(net.create_ports([{"network_id": network.id, "name": f"b{i}", "tags": ["bulk"]}
                                                     for i in range(3)])))  # fmt: skip
    assert [p.name for p in ports] == ["b0", "b1", "b2"] and all(p.tags == ["bulk"] for p in ports)
    for p in ports:
        await call(net.wait_for_status, p, status="DOWN", failures=["ERROR"], interval=0.2, wait=30)
    # Bound in bulk: each port's interface is plugged on its host by the same batch.
    bound = await call(lambda: list(net.create_ports([{"network_id": network.id, "name": f"h{i}", "binding_host_id": "h1"}
                                                      for i in range(2)])))  # fmt: skip
    assert [(p.binding_host_id, p.binding_vif_type) for p in bound] == [("h1", "ovs")] * 2
    for p in bound:
        await call(net.wait_for_status, p, status="ACTIVE", failures=["ERROR"], interval=0.2, wait=30)
    mac = ports[0].mac_address
    with pytest.raises(exceptions.ConflictException, match=f"The mac address {mac} is in use"):
        await call(net.create_port, network_id=network.id, mac_address=mac)
    with pytest.raises(exceptions.BadRequestException, match=r"Unrecognized attribute\(s\) 'colour'"):
        await call(raw_post, net, "/ports", {"port": {"network_id": network.id, "colour": "red"}})
    with pytest.raises(exceptions.NotFoundException, match="could not be found"):
        await call(net.create_port, network_id=str(uuid.uuid4()))
    with pytest.raises(exceptions.BadRequestException, match="data_plane_status"):
        await call(net.update_port, ports[0], data_plane_status="ACTIVE")


async def test_cli_network_and_port_lifecycle(cli):
    name = f"cli-{uuid.uuid4().hex[:6]}"
    network = await cli.json("network", "create", name, "--description", "from the cli")
    assert network["name"] == name and network["status"] == "BUILD"
    port = await cli.json("port", "create", "--network", name, "--host", "h1", "--device", "vm-9", f"{name}-p")
    assert port["binding_host_id"] == "h1" and port["device_id"] == "vm-9"
    for _ in range(150):
        shown = await cli.json("port", "show", f"{name}-p")
        if shown["status"] == "ACTIVE":
            break
        await asyncio.sleep(0.2)
    assert shown["status"] == "ACTIVE" and shown["binding_vif_type"] == "ovs"
    await cli.run("port", "set", "--host", "h2", "--name", f"{name}-q", f"{name}-p")
    moved = await cli.json("port", "show", f"{name}-q")
    assert moved["binding_host_id"] == "h2"
    await cli.run("network", "set", "--tag", "gold", name)
    assert "gold" in (await cli.json("network", "show", name))["tags"]

    refused = await cli.run("network", "delete", name, ok=False)
    assert refused.returncode != 0 and "ports still in use" in refused.stderr
    await cli.run("port", "delete", f"{name}-q")
    for _ in range(150):
        if not await cli.json("port", "list", "--network", name):
            break
        await asyncio.sleep(0.2)
    await cli.run("network", "delete", name)
    missing = await cli.run("network", "show", network["id"], ok=False)
    for _ in range(150):
        if missing.returncode != 0:
            break
        await asyncio.sleep(0.2)
        missing = await cli.run("network", "show", network["id"], ok=False)
    assert missing.returncode != 0 and ("could not be found" in missing.stderr or "No Network found" in missing.stderr)


async def test_sdk_qos_policies_and_rules(sdk):
    net = sdk.network
    gold = await call(net.create_qos_policy, name=f"gold-{uuid.uuid4().hex[:4]}", description="8 Mbit/s")
    rule = await call(net.create_qos_bandwidth_limit_rule, gold, max_kbps=8000, max_burst_kbps=800)
    assert rule.max_kbps == 8000 and rule.direction == "egress"
    await call(net.create_qos_dscp_marking_rule, gold, dscp_mark=26)
    with pytest.raises(exceptions.ConflictException, match="duplicate QosBandwidthLimitRule"):
        await call(net.create_qos_bandwidth_limit_rule, gold, max_kbps=1)
    updated = await call(net.update_qos_bandwidth_limit_rule, rule, gold, max_kbps=9000)
    assert updated.max_kbps == 9000
    shown = await call(net.get_qos_policy, gold.id)
    assert sorted(r["type"] for r in shown.rules) == ["bandwidth_limit", "dscp_marking"]
    assert [r.id for r in await call(lambda: list(net.qos_bandwidth_limit_rules(gold)))] == [rule.id]
    assert (await call(net.find_qos_policy, gold.name)).id == gold.id

    network = await call(net.create_network, name="qos-sdk")
    port = await call(net.create_port, network_id=network.id, binding_host_id="h1")
    port = await call(net.update_port, port, qos_policy_id=gold.id)
    assert port.qos_policy_id == gold.id
    with pytest.raises(exceptions.ConflictException, match=gold.id):
        await call(net.delete_qos_policy, gold)
    with pytest.raises(exceptions.NotFoundException, match="could not be found"):
        await call(net.get_qos_bandwidth_limit_rule, str(uuid.uuid4()), gold)
    await call(net.update_port, port, qos_policy_id=None)
    await call(net.delete_qos_bandwidth_limit_rule, rule, gold)
    await call(net.delete_qos_policy, gold)
    with pytest.raises(exceptions.NotFoundException):
        await call(net.get_qos_policy, gold.id)


async def test_cli_qos_and_port_set_qos_policy(cli, v2):
    name = f"q{uuid.uuid4().hex[:6]}"
    made = await cli.json("network", "qos", "policy", "create", name)
    assert made["name"] == name
    rule = await cli.json("network", "qos", "rule", "create", "--type", "bandwidth-limit", "--max-kbps", "8000",
                          "--egress", name)  # fmt: skip
    assert rule["max_kbps"] == 8000
    await cli.run("network", "qos", "rule", "create", "--type", "dscp-marking", "--dscp-mark", "26", name)
    rules = await cli.json("network", "qos", "rule", "list", name)
    assert sorted(r["Type"] for r in rules) == ["bandwidth_limit", "dscp_marking"]
    duplicate = await cli.run("network", "qos", "rule", "create", "--type", "bandwidth-limit", "--max-kbps", "1",
                              "--egress", name, ok=False)  # fmt: skip
    assert duplicate.returncode != 0 and "duplicate" in duplicate.stderr

    await cli.json("network", "create", f"{name}-net")
    await cli.json("port", "create", "--network", f"{name}-net", "--host", "h1", f"{name}-port")
    await cli.run("port", "set", "--qos-policy", name, f"{name}-port")
    shown = await cli.json("port", "show", f"{name}-port")
    assert shown["qos_policy_id"] == made["id"]
    for _ in range(150):
        body = (await v2.request("GET", f"/v2.0/ports/{shown['id']}")).json()["port"]
        if body["netprov:qos_status"] == "AVAILABLE":
            break
        await asyncio.sleep(0.2)
    assert body["netprov:qos_status"] == "AVAILABLE"
    in_use = await cli.run("network", "qos", "policy", "delete", name, ok=False)
    assert in_use.returncode != 0
    await cli.run("port", "unset", "--qos-policy", f"{name}-port")
    assert (await cli.json("port", "show", f"{name}-port"))["qos_policy_id"] is None
    await cli.run("network", "qos", "policy", "delete", name)


async def test_cli_with_environment_variables_and_clouds_yaml(live_url, api, tmp_path):
    """The two ways the README gives, exactly: OS_* variables, and a clouds.yaml entry."""
    import os
    import subprocess

    from tests.neutron.conftest import OPENSTACK_CLI

    token = api.headers["X-Auth-Token"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    by_env = clean | {"OS_AUTH_TYPE": "admin_token", "OS_ENDPOINT": live_url, "OS_TOKEN": token,
                      "OS_CLIENT_CONFIG_FILE": "/dev/null"}  # fmt: skip
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(f"clouds:\n  netprov:\n    auth_type: admin_token\n    auth:\n      endpoint: {live_url}\n"
                      f"      token: {token}\n")  # fmt: skip
    by_file = clean | {"OS_CLIENT_CONFIG_FILE": str(clouds), "OS_CLOUD": "netprov"}
    for env, name in ((by_env, "env-net"), (by_file, "yaml-net")):
        made = await asyncio.to_thread(subprocess.run, [OPENSTACK_CLI, "network", "create", name, "-f", "json"],
                                       capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["project_id"] == api.tenant
