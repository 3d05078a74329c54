"""`netprov batch` as an operator types it, over real HTTP against the session's stack."""

import json
import uuid

import yaml


def _topology(names: list[str], ports: int) -> dict:
    tag = uuid.uuid4().hex[:8]
    return {
        "networks": [{"ref": f"n{i}", "name": name} for i, name in enumerate(names)],
        "ports": [{"ref": f"p{i}-{j}", "network": f"n{i}", "state": "ACTIVE"} for i in range(len(names)) for j in range(ports)],
        "attachments": [{"port": f"p{i}-{j}", "id": f"vif-{tag}-{i}-{j}", "host": "h1"} for i in range(len(names)) for j in range(ports)],
    }


async def test_apply_waits_shows_progress_and_a_summary(netprov_cli, tmp_path):
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(_topology(["cli-a", "cli-b"], 3)))
    result = await netprov_cli("batch", "apply", str(path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "COMPLETED" in out
    for line in ("networks", "ports", "attachments"):
        assert line in out
    # The summary: 6 ports, all ACTIVE.
    assert any(row.split()[:3] == ["ports", "6", "6"] for row in out.replace("│", " ").splitlines() if row.strip().startswith("ports")), out
    batch_id = out.split("batch ", 1)[1].split(":", 1)[0].strip()
    status = await netprov_cli("batch", "status", batch_id, "--json")
    assert status.exit_code == 0 and json.loads(status.stdout)["counts"]["port"]["ACTIVE"] == 6
    listed = await netprov_cli("batch", "list")
    assert batch_id in listed.stdout


async def test_apply_json_no_wait_and_a_failing_batch(netprov_cli, tmp_path):
    path = tmp_path / "topology.json"
    path.write_text(json.dumps({"batch": _topology(["fine", "fail-cli"], 2)}))
    result = await netprov_cli("batch", "apply", str(path), "--no-wait")
    assert result.exit_code == 0
    batch_id = result.stdout.strip()
    uuid.UUID(batch_id)
    # Applied again and followed: this one ends PARTIAL (exit 1), its failed items listed.
    path.write_text(json.dumps({"batch": _topology(["fine", "fail-cli"], 2)}))
    result = await netprov_cli("batch", "apply", str(path))
    assert result.exit_code == 1, result.output
    assert "PARTIAL" in result.stdout and "failed items" in result.stdout and "fail-cli" in result.stdout
    status = await netprov_cli("batch", "status", batch_id, "--json")
    body = json.loads(status.stdout)
    assert body["status"] in ("PROVISIONING", "PARTIAL") and len(body["items"]) == 2 + 4 + 4


async def test_problems_are_printed_not_raised(netprov_cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"ports": [{"ref": "p", "network": "nowhere"}]}))
    result = await netprov_cli("batch", "apply", str(path))
    assert result.exit_code == 1
    assert "ports[0] (ref p): network 'nowhere' is neither a network ref" in result.stderr
    path.write_text("networks: [unclosed")
    result = await netprov_cli("batch", "apply", str(path))
    # Click prints usage errors in a box as wide as the terminal: read its words, not its lines.
    words = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "bad.yaml is not valid YAML" in words, result.output
    result = await netprov_cli("batch", "status", str(uuid.uuid4()))
    assert result.exit_code == 1 and "BatchNotFound" in result.stderr
