"""`netprov qos ...`, `netprov port set --qos-policy`, `netprov network set --qos-policy` as an operator
types them, against the real stack (uvicorn + worker + Temporal, fake plugin)."""

import asyncio
import json
import time
import uuid


def _json(result) -> dict | list:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return json.loads(result.stdout)


async def _port_until(netprov, net: str, port: str, until, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = _json(await netprov("port", "show", net, port, "--json"))
        if until(body):
            return body
        assert time.monotonic() < deadline, f"port {port} not as expected: {body}"
        await asyncio.sleep(0.2)


def _qos_settled(status: str | None):
    return lambda body: body["qos_status"] == status and body["status"] == "ACTIVE"


async def test_policy_lifecycle_and_a_port_configured_by_name(netprov):
    gold = _json(await netprov(
        "qos", "policy", "create", "gold", "--bandwidth-limit", "8000,burst=800,direction=egress",
        "--bandwidth-limit", "2000,direction=ingress", "--dscp-mark", "26", "--json",
    ))
    assert gold["name"] == "gold" and gold["status"] == "AVAILABLE"
    assert gold["rules"] == [
        {"type": "bandwidth_limit", "max_kbps": 8000, "max_burst_kbps": 800, "direction": "egress"},
        {"type": "bandwidth_limit", "max_kbps": 2000, "max_burst_kbps": 0, "direction": "ingress"},
        {"type": "dscp_marking", "dscp_mark": 26},
    ]
    listed = await netprov("qos", "policy", "list")
    assert listed.exit_code == 0 and gold["id"] in listed.stdout and "RULES" in listed.stdout
    values = await netprov("qos", "policy", "list", "-f", "value", "-c", "id", "-c", "rules")
    assert values.stdout.strip() == (f"{gold['id']} bandwidth_limit egress 8000 kbps, burst 800 kbps; "
                                     "bandwidth_limit ingress 2000 kbps; dscp_marking 26")
    assert _json(await netprov("qos", "policy", "show", "gold", "--json"))["id"] == gold["id"]  # by name
    shown = await netprov("qos", "policy", "show", gold["id"], env={"COLUMNS": "300"})  # by id, as a table
    assert shown.exit_code == 0 and "bandwidth_limit ingress 2000 kbps" in shown.stdout
    assert _json(await netprov("qos", "policy", "show", "gold", "-f", "json", "-c", "name")) == {"name": "gold"}

    # Configure QoS right away: the network is still PROVISIONING.
    net = _json(await netprov("network", "create", "qos-web", "--json"))["id"]
    port = _json(await netprov("port", "create", net, "--state", "ACTIVE", "--json"))["id"]
    iface = f"vif-{uuid.uuid4().hex[:8]}"
    assert (await netprov("attachment", "create", net, port, "--iface", iface, "--host", "h1")).exit_code == 0
    at_once = _json(await netprov("port", "set", net, port, "--qos-policy", "gold", "--json"))
    assert at_once["qos_policy_id"] == gold["id"] and at_once["qos_status"] in ("PROVISIONING", "AVAILABLE")
    applied = await _port_until(netprov, net, port, _qos_settled("AVAILABLE"))
    assert (applied["qos_status_reason"], applied["link_status"]) == (None, "UP")
    table = await netprov("port", "list", net)
    assert table.exit_code == 0 and port in table.stdout and "QOS" in table.stdout
    qos_column = await netprov("port", "list", net, "-f", "value", "-c", "id", "-c", "qos")
    assert qos_column.stdout.strip() == f"{port} AVAILABLE {gold['id']}"
    details = await netprov("port", "show", net, port)
    assert "qos_status" in details.stdout and "qos_network_policy_id" in details.stdout and gold["id"] in details.stdout

    in_use = await netprov("qos", "policy", "delete", "gold")
    assert in_use.exit_code == 1 and "QosPolicyInUse" in in_use.stderr and "HTTP 409" in in_use.stderr

    # New rules replace the old ones and reach the port.
    updated = _json(await netprov("qos", "policy", "set", "gold", "--bandwidth-limit", "4000", "--json"))
    assert updated["rules"] == [{"type": "bandwidth_limit", "max_kbps": 4000, "max_burst_kbps": 0, "direction": "egress"}]
    await _port_until(netprov, net, port, _qos_settled("AVAILABLE"))
    renamed = _json(await netprov("qos", "policy", "set", "gold", "--name", "gold-2", "--json"))
    assert renamed["name"] == "gold-2" and renamed["rules"] == updated["rules"]

    # The network's policy applies to a port without its own.
    silver = _json(await netprov("qos", "policy", "create", "silver", "--dscp-mark", "46", "--json"))
    network = _json(await netprov("network", "set", net, "--qos-policy", silver["id"], "--json"))
    assert network["qos_policy_id"] == silver["id"] and network["name"] == "qos-web"
    cleared = _json(await netprov("port", "set", net, port, "--no-qos-policy", "--wait", "20", "--json"))
    assert (cleared["qos_policy_id"], cleared["qos_network_policy_id"]) == (None, silver["id"])
    inherited = await _port_until(netprov, net, port, _qos_settled("AVAILABLE"))
    assert inherited["qos_network_policy_id"] == silver["id"]
    inherited_column = await netprov("port", "list", net, "-f", "value", "-c", "qos")
    assert inherited_column.stdout.strip() == f"AVAILABLE {silver['id']} (network's)"
    network = _json(await netprov("network", "set", net, "--no-qos-policy", "--name", "qos-web-2", "--json"))
    assert (network["qos_policy_id"], network["name"]) == (None, "qos-web-2")
    await _port_until(netprov, net, port, _qos_settled(None))

    deleted = await netprov("qos", "policy", "delete", "gold-2")
    assert deleted.exit_code == 0 and "deleted" in deleted.stdout
    assert _json(await netprov("qos", "policy", "delete", silver["id"], "--json")) == {"deleted": True, "pending": False}
    assert _json(await netprov("qos", "policy", "list", "--json")) == []


async def test_qos_usage_and_api_errors_exit_as_the_other_commands(netprov):
    # Syntax: usage errors (exit 2), nothing sent.
    for bad in ("fast", "8000,color=red", "8000,burst=lots", "8000,direction"):
        result = await netprov("qos", "policy", "create", "bad", "--bandwidth-limit", bad)
        assert result.exit_code == 2, (bad, result.stdout, result.stderr)
    # Ranges and the DSCP set are the API's: its 400 sentence, exit 1.
    for option, value in (("--dscp-mark", "7"), ("--bandwidth-limit", "0")):
        result = await netprov("qos", "policy", "create", "bad", option, value)
        assert result.exit_code == 1 and "BadRequest" in result.stderr and "HTTP 400" in result.stderr, result.stderr
    twice = await netprov("qos", "policy", "create", "bad", "--bandwidth-limit", "100", "--bandwidth-limit", "200")
    assert twice.exit_code == 1 and "BadRequest" in twice.stderr
    assert _json(await netprov("qos", "policy", "list", "--json")) == []

    net = _json(await netprov("network", "create", "qos-errors", "--json"))["id"]
    port = _json(await netprov("port", "create", net, "--json"))["id"]
    missing = await netprov("port", "set", net, port, "--qos-policy", "nosuch")
    assert missing.exit_code == 1 and "QosPolicyNotFound" in missing.stderr and "'nosuch'" in missing.stderr
    unknown_id = str(uuid.uuid4())
    missing = await netprov("port", "set", net, port, "--qos-policy", unknown_id)
    assert missing.exit_code == 1 and "QosPolicyNotFound" in missing.stderr and "HTTP 404" in missing.stderr
    assert (await netprov("network", "set", net, "--qos-policy", unknown_id)).exit_code == 1
    assert (await netprov("qos", "policy", "show", unknown_id)).exit_code == 1
    both = await netprov("port", "set", net, port, "--qos-policy", "x", "--no-qos-policy")
    assert both.exit_code == 2
    assert (await netprov("port", "set", net, port)).exit_code == 2  # nothing to set
    assert (await netprov("network", "set", net)).exit_code == 2
    assert (await netprov("qos", "policy", "set", "x")).exit_code == 2

    # Two policies of one name: the name no longer says which.
    first = _json(await netprov("qos", "policy", "create", "twin", "--dscp-mark", "8", "--json"))
    second = _json(await netprov("qos", "policy", "create", "twin", "--dscp-mark", "10", "--json"))
    ambiguous = await netprov("port", "set", net, port, "--qos-policy", "twin")
    assert ambiguous.exit_code == 2 and first["id"] in ambiguous.stderr and second["id"] in ambiguous.stderr
    # The port is unchanged by all of it; its state can still be set alone.
    body = _json(await netprov("port", "set", net, port, "--state", "ACTIVE", "--json"))
    assert (body["state"], body["qos_policy_id"]) == ("ACTIVE", None)


async def test_watch_shows_qos_and_waits_for_it_to_settle(netprov):
    policy = _json(await netprov("qos", "policy", "create", "watched", "--bandwidth-limit", "1000", "--json"))
    net = _json(await netprov("network", "create", "qos-watched", "--json"))["id"]
    port = _json(await netprov("port", "create", net, "--state", "ACTIVE", "--json"))["id"]
    assert (await netprov("port", "set", net, port, "--qos-policy", policy["id"])).exit_code == 0
    watched = await netprov("watch", "--until-settled", "--timeout", "30", env={"COLUMNS": "400"})
    assert watched.exit_code == 0, watched.stderr
    assert "QOS" in watched.stdout
    (line,) = [line for line in watched.stdout.splitlines() if port in line]
    assert "ACTIVE" in line and "AVAILABLE" in line, line  # the port's status, then its QoS
    body = _json(await netprov("port", "show", net, port, "--json"))
    assert body["qos_status"] == "AVAILABLE"  # --until-settled waited for the QoS too
