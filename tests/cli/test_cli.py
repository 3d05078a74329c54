"""`netprov` as an operator types it, against the real stack (uvicorn + worker + Temporal)."""

import asyncio
import json
import uuid


def _json(result) -> dict | list:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return json.loads(result.stdout)


async def test_network_port_attachment_lifecycle(netprov):
    network = _json(await netprov("network", "create", "web", "--wait", "20", "--json"))
    assert network["status"] == "AVAILABLE" and network["name"] == "web"
    net = network["id"]

    port = _json(await netprov("port", "create", net, "--state", "ACTIVE", "--wait", "20", "--json"))
    assert port["status"] == "ACTIVE" and port["link_status"] == "DOWN" and port["link_status_string"] == "no attachment"
    port_id = port["id"]

    iface = f"vif-{uuid.uuid4().hex[:8]}"
    attachment = _json(await netprov("attachment", "create", net, port_id, "--iface", iface, "--host", "h1", "--wait", "20", "--json"))
    assert {k: attachment[k] for k in ("id", "host", "status", "status_reason")} == {"id": iface, "host": "h1", "status": "AVAILABLE", "status_reason": None}
    assert attachment["links"]["self"].endswith("/attachment") and attachment["created_at"]
    shown = _json(await netprov("port", "show", net, port_id, "--json"))
    assert shown["link_status"] == "UP" and shown["attachment"]["id"] == iface

    # Tables: the ids and statuses are there, whole.
    listed = await netprov("network", "list")
    assert listed.exit_code == 0 and net in listed.stdout and "AVAILABLE" in listed.stdout
    ports_table = await netprov("port", "list", net)
    assert port_id in ports_table.stdout and "ACTIVE" in ports_table.stdout and iface in ports_table.stdout
    attachments = _json(await netprov("attachment", "list", net, "--json"))
    assert attachments[port_id]["id"] == iface
    assert _json(await netprov("network", "list", "--status", "ERROR", "--json")) == []

    renamed = _json(await netprov("network", "update", net, "--name", "web-2", "--json"))
    assert renamed["name"] == "web-2"
    down = _json(await netprov("port", "update", net, port_id, "--state", "DOWN", "--wait", "20", "--json"))
    assert down["status"] == "DOWN" and down["link_status"] == "DOWN"

    # Replace the attachment, then take everything down, waiting each time.
    other = f"{iface}-b"
    replaced = _json(await netprov("attachment", "update", net, port_id, "--iface", other, "--wait", "20", "--json"))
    assert replaced["id"] == other and replaced["status"] == "AVAILABLE"
    assert _json(await netprov("attachment", "delete", net, port_id, "--wait", "20", "--json")) == {"deleted": True, "pending": False}
    assert _json(await netprov("attachment", "show", net, port_id, "--json")) is None
    assert _json(await netprov("port", "delete", net, port_id, "--wait", "20", "--json"))["deleted"] is True
    deleted = await netprov("network", "delete", net, "--wait", "20")
    assert deleted.exit_code == 0 and "deleted" in deleted.stdout

    missing = await netprov("network", "show", net)
    assert missing.exit_code == 1
    assert "Network not found" in missing.stderr and net in missing.stderr and "NetworkNotFound" in missing.stderr


async def test_errors_print_title_and_detail_and_exit_non_zero(netprov, tenant_env, api):
    network = _json(await netprov("network", "create", "errs", "--json"))
    bad_state = await netprov("port", "create", network["id"], "--state", "SIDEWAYS")
    assert bad_state.exit_code == 1
    assert "Requested state invalid" in bad_state.stderr and "SIDEWAYS" in bad_state.stderr

    as_json = await netprov("port", "show", network["id"], str(uuid.uuid4()), "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["code"] == "PortNotFound"

    not_uuid = await netprov("network", "show", "not-a-uuid")
    assert not_uuid.exit_code == 1 and "Bad request" in not_uuid.stderr

    wrong_token = await netprov("network", "list", env={"NETPROV_TOKEN": "nope"})
    assert wrong_token.exit_code == 1 and "Unauthorized" in wrong_token.stderr

    other_tenant = await netprov("network", "list", env={"NETPROV_TENANT": "someone-else"})
    assert other_tenant.exit_code == 1 and "Forbidden" in other_tenant.stderr

    nowhere = await netprov("network", "list", env={"NETPROV_API_URL": "http://127.0.0.1:9"})
    assert nowhere.exit_code == 3 and "cannot reach" in nowhere.stderr

    no_tenant = await netprov("network", "list", env={"NETPROV_TENANT": ""})
    assert no_tenant.exit_code == 2 and "--tenant" in no_tenant.stderr

    # Flags win over the environment.
    flagged = await netprov("--tenant", api.tenant, "--token", tenant_env["NETPROV_TOKEN"], "network", "list", "--json",
                            env={"NETPROV_TOKEN": "nope", "NETPROV_TENANT": "x"})
    assert [n["id"] for n in _json(flagged)] == [network["id"]]


async def test_watch_shows_live_statuses_until_settled(netprov):
    network = _json(await netprov("network", "create", "watched", "--json"))
    port = _json(await netprov("port", "create", network["id"], "--state", "ACTIVE", "--json"))
    iface = f"vif-{uuid.uuid4().hex[:8]}"
    _json(await netprov("attachment", "create", network["id"], port["id"], "--iface", iface, "--json"))

    watched = await netprov("watch", "--until-settled", "--timeout", "30")
    assert watched.exit_code == 0, watched.stderr
    assert network["id"] in watched.stdout and port["id"] in watched.stdout
    assert "PROVISIONING" not in watched.stdout.split("\n")[-3:]  # the final table is settled
    assert "AVAILABLE" in watched.stdout and "ACTIVE" in watched.stdout and "UP" in watched.stdout
    assert f"{iface}@h1" in watched.stdout


async def test_watch_json_streams_events_as_they_happen(netprov, api):
    # One CLI run at a time (the runner swaps sys.stdout): the changes come through the API.
    watcher = asyncio.create_task(netprov("watch", "--json", "--timeout", "5"))
    await asyncio.sleep(1.5)  # let the stream open (only changes after it are shown)
    network = await api.create_network("streamed")
    await api.settle(f"networks/{network['id']}", "network")
    result = await watcher
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    mine = [e for e in events if e["data"]["id"] == network["id"]]
    assert [e["data"]["status"] for e in mine] == ["PROVISIONING", "AVAILABLE"]
    assert [e["type"] for e in mine] == ["network.status", "network.status"]
    assert mine[0]["id"] < mine[1]["id"]


async def test_token_commands_need_an_admin(netprov, admin):
    refused = await netprov("token", "create", "--tenant-id", "t9")
    assert refused.exit_code == 1 and "Forbidden" in refused.stderr
    issued = _json(await netprov("token", "create", "--tenant-id", "t9", "--json", env={"NETPROV_TOKEN": admin.headers["X-Auth-Token"]}))
    assert issued["tenant_id"] == "t9" and issued["secret"]
    usable = await netprov("network", "list", "--json", env={"NETPROV_TOKEN": issued["secret"], "NETPROV_TENANT": "t9"})
    assert usable.exit_code == 0
    revoked = await netprov("token", "delete", issued["id"], env={"NETPROV_TOKEN": admin.headers["X-Auth-Token"]})
    assert revoked.exit_code == 0
    gone = await netprov("network", "list", env={"NETPROV_TOKEN": issued["secret"], "NETPROV_TENANT": "t9"})
    assert gone.exit_code == 1 and "Unauthorized" in gone.stderr
    assert "usage" in (await netprov("token", "create")).stderr.lower()


async def test_health(netprov):
    result = await netprov("health", "--json")
    assert _json(result) == {"status": "ok", "temporal": "ok", "database": "ok"}


async def test_admin_retry_cancel_history(netprov):
    # A wait that ends in ERROR exits 1 with the reason on stderr; the resource is printed all the same.
    created = await netprov("network", "create", "fail-cli", "--wait", "20", "--json")
    assert created.exit_code == 1 and "is in ERROR" in created.stderr and "fail-cli" in created.stderr
    failed = json.loads(created.stdout)
    assert failed["status"] == "ERROR"
    net = failed["id"]
    nothing = await netprov("admin", "cancel", net)
    assert nothing.exit_code == 1 and "Nothing to cancel" in nothing.stderr

    _json(await netprov("network", "update", net, "--name", "cli-fixed", "--json"))
    retried = _json(await netprov("admin", "retry", net, "--wait", "20", "--json"))
    assert retried["status"] == "AVAILABLE" and retried["name"] == "cli-fixed"
    again = await netprov("admin", "retry", net)
    assert again.exit_code == 1 and "Nothing to retry" in again.stderr and "AVAILABLE" in again.stderr

    history = _json(await netprov("admin", "history", net, "--json"))
    assert [op["kind"] for op in history["operations"]] == ["create", "retry"]
    assert {e["data"]["status"] for e in history["events"]} >= {"PROVISIONING", "ERROR", "AVAILABLE"}
    table = await netprov("admin", "history", net)
    assert table.exit_code == 0
    assert "Operations accepted" in table.stdout and "Workflow runs" in table.stdout and "retry" in table.stdout

    port = _json(await netprov("port", "create", net, "--wait", "20", "--json"))
    port_history = _json(await netprov("admin", "history", net, port["id"], "--json"))
    assert port_history["resource_type"] == "port" and port_history["operations"][0]["kind"] == "create"
