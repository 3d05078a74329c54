"""The `openstack` CLI's conventions: -f/-c, exit codes of --wait, progress only on a terminal,
plain help, tables that fit a pipe, --version."""

import asyncio
import csv
import io
import json
import os
import pty
import select
import subprocess
import sys
import time
import uuid

import yaml

from cli.context import PIPE_WIDTH


def _ok(result) -> str:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


async def test_formats_and_columns_on_create_list_and_show(netprov):
    net = _ok(await netprov("network", "create", "fmt-a", "--wait", "20", "-f", "value", "-c", "id")).strip()
    assert str(uuid.UUID(net)) == net
    _ok(await netprov("network", "create", "fmt-b", "--wait", "20"))

    listed = json.loads(_ok(await netprov("network", "list", "-f", "json", "-c", "name", "-c", "STATUS")))
    assert sorted(listed, key=lambda n: n["name"]) == [{"name": "fmt-a", "status": "AVAILABLE"},
                                                       {"name": "fmt-b", "status": "AVAILABLE"}]
    rows = list(csv.reader(io.StringIO(_ok(await netprov("network", "list", "-f", "csv")))))
    assert rows[0] == ["id", "name", "status", "status_reason", "plugin"]
    assert sorted(r[1] for r in rows[1:]) == ["fmt-a", "fmt-b"] and all(r[2] == "AVAILABLE" for r in rows[1:])
    raw = _ok(await netprov("network", "list", "-f", "csv", "-c", "name"))
    assert raw.splitlines()[0] == '"name"'  # every field quoted

    values = _ok(await netprov("network", "list", "-f", "value", "-c", "name", "-c", "status")).splitlines()
    assert sorted(values) == ["fmt-a AVAILABLE", "fmt-b AVAILABLE"]

    shown_yaml = yaml.safe_load(_ok(await netprov("network", "show", net, "-f", "yaml")))
    shown_json = json.loads(_ok(await netprov("network", "show", net, "-f", "json")))
    assert shown_yaml == shown_json and shown_json["id"] == net and shown_json["links"]["workflow"]
    # Any field of the body is a column, not only the defaults.
    assert _ok(await netprov("network", "show", net, "-f", "value", "-c", "created_at", "-c", "name")).splitlines()[1] == "fmt-a"
    table = _ok(await netprov("network", "show", net, "-c", "name", "-c", "status"))
    assert table.split() == ["name", "fmt-a", "status", "AVAILABLE"]

    port = json.loads(_ok(await netprov("port", "create", net, "--state", "ACTIVE", "--wait", "20", "-f", "json")))
    port_value = _ok(await netprov("port", "show", net, port["id"], "-f", "value", "-c", "link_status", "-c", "link_status_string"))
    assert port_value.splitlines() == ["DOWN", "no attachment"]

    unknown = await netprov("network", "list", "-c", "colour")
    assert unknown.exit_code == 2 and "no column 'colour'" in unknown.stderr and "status_reason" in unknown.stderr
    bad_format = await netprov("network", "list", "-f", "xml")
    assert bad_format.exit_code == 2


async def test_wait_exit_codes(netprov):
    ok = await netprov("network", "create", "settles", "--wait", "20", "-f", "value", "-c", "status")
    assert (ok.exit_code, ok.stdout.strip()) == (0, "AVAILABLE")

    failed = await netprov("network", "create", "fail-waited", "--wait", "20", "-f", "value", "-c", "status")
    assert failed.exit_code == 1 and failed.stdout.strip() == "ERROR"
    assert "is in ERROR" in failed.stderr and "fake plugin refuses network 'fail-waited'" in failed.stderr

    ran_out = await netprov("network", "create", "not-yet", "--wait", "0", "-f", "json")
    assert ran_out.exit_code == 2, ran_out.stdout
    assert json.loads(ran_out.stdout)["status"] == "PROVISIONING"
    assert "still PROVISIONING" in ran_out.stderr and "after waiting 0 s" in ran_out.stderr

    net = json.loads(_ok(await netprov("network", "create", "w", "--wait", "20", "--json")))["id"]
    port = json.loads(_ok(await netprov("port", "create", net, "--wait", "20", "--json")))
    asked_active = await netprov("port", "update", net, port["id"], "--state", "ACTIVE", "--wait", "20", "-f", "value", "-c", "status")
    assert (asked_active.exit_code, asked_active.stdout.strip()) == (0, "ACTIVE")
    attached = await netprov("attachment", "create", net, port["id"], "--iface", f"vif-{uuid.uuid4().hex[:6]}", "--wait", "20")
    assert attached.exit_code == 0, attached.stderr


async def test_a_bad_interface_id_is_answered_with_the_rule_in_words(netprov):
    net = json.loads(_ok(await netprov("network", "create", "ifaces", "--json")))["id"]
    port = json.loads(_ok(await netprov("port", "create", net, "--json")))["id"]
    result = await netprov("attachment", "create", net, port, "--iface", "vif 1")
    assert result.exit_code == 1
    assert "no whitespace" in result.stderr and "pattern" not in result.stderr, result.stderr


async def test_piped_tables_fit_the_pipe_and_keep_ids_whole(netprov, api):
    network = await api.create_network("wide-" + "x" * 200)
    port = await api.create_port(network["id"], state="ACTIVE")
    lines = _ok(await netprov("port", "list", network["id"])).splitlines()
    assert max(len(line) for line in lines) <= PIPE_WIDTH, "\n".join(lines)
    assert any(port["id"] in line for line in lines)
    networks = _ok(await netprov("network", "list")).splitlines()
    assert max(len(line) for line in networks) <= PIPE_WIDTH and any(network["id"] in line for line in networks)
    # A wider $COLUMNS is honoured.
    assert max(len(line) for line in _ok(await netprov("network", "list", env={"COLUMNS": "300"})).splitlines()) > PIPE_WIDTH


async def test_help_is_plain_and_version_is_there(netprov):
    for command in (["--help"], ["network", "create", "--help"], ["port", "list", "--help"], ["watch", "--help"],
                    ["batch", "apply", "--help"], ["admin", "retry", "--help"]):
        text = _ok(await netprov(*command))
        assert "<bool>" not in text, (command, text)
        assert "\x1b[" not in text and "╭" not in text
    assert "-f, --format" in _ok(await netprov("network", "list", "--help"))
    version = _ok(await netprov("--version")).strip()
    assert version.startswith("netprov ") and version.split()[1][0].isdigit()


def _run_on_a_terminal(argv: list[str], env: dict[str, str], timeout: float = 30.0) -> tuple[int, str]:
    """`argv` with stdout and stderr on a pseudo-terminal; its exit code and all it wrote there."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(5), output.decode(errors="replace")


async def test_progress_on_a_terminal_and_none_when_piped(netprov, tenant_env, tmp_path):
    env = {**os.environ, **tenant_env, "COLUMNS": "100", "TERM": "xterm"}
    cli = [sys.executable, "-m", "cli.main"]
    code, screen = await asyncio.to_thread(_run_on_a_terminal, [*cli, "network", "create", "on-tty", "--wait", "20"], env)
    assert code == 0, screen
    assert "waiting up to 20 s" in screen and "AVAILABLE" in screen

    topology = tmp_path / "t.yaml"
    topology.write_text(yaml.safe_dump({"networks": [{"ref": "n", "name": "batch-tty"}],
                                        "ports": [{"ref": f"p{i}", "network": "n"} for i in range(3)]}))
    code, screen = await asyncio.to_thread(_run_on_a_terminal, [*cli, "batch", "apply", str(topology)], env)
    assert code == 0, screen
    assert "3/3" in screen and "ports" in screen  # the bars: ports done of total

    piped = await netprov("network", "create", "piped", "--wait", "20")
    assert piped.exit_code == 0 and "waiting up to" not in piped.stderr + piped.stdout
    topology.write_text(yaml.safe_dump({"networks": [{"ref": "n", "name": "batch-pipe"}]}))
    piped_batch = await netprov("batch", "apply", str(topology))
    assert piped_batch.exit_code == 0 and "1/1" not in piped_batch.stderr + piped_batch.stdout
    assert "COMPLETED" in piped_batch.stdout
