"""`python -m bench --scenarios qos` in its smallest form: its own stack, the two QoS figures measured (PUT
qos_policy_id to qos AVAILABLE, a policy update fanned out to every port using it), judged against their
targets, and no process left behind. The figures are not judged here (a loaded CI machine says nothing)."""

import json

from bench_process import run_bench

from bench.probes import alive

QOS_SMOKE_TIMEOUT = 120


def test_qos_scenario_measures_put_latency_and_the_fan_out(tmp_path):
    output = tmp_path / "qos.json"
    returncode, stdout, stderr = run_bench(
        ["bench", "--smoke", "--output", str(output), "--scenarios", "qos"], timeout=QOS_SMOKE_TIMEOUT
    )
    doc = json.loads(stdout)
    assert returncode == 0, f"errors: {doc.get('errors')}\n{stderr[-3000:]}"
    assert json.loads(output.read_text()) == doc and doc["scenarios_run"] == ["qos"]
    assert not [name for name, pid in doc["pids"].items() if alive(pid)]

    qos = doc["scenarios"]["qos"]
    single = qos["put_to_available"]
    assert single["n"] == doc["sizes"]["qos_samples"] == 5
    assert single["p99_ms"] >= single["p50_ms"] > 0 and single["put_answer"]["n"] == 5
    fan = qos["fan_out"]
    assert qos["fan_out_ports"] == fan["ports"] == doc["sizes"]["qos_fanout_ports"] == 20
    # Every port using the policy got the update, and reads back what was asked.
    assert fan["final_qos_statuses"] == {"AVAILABLE": 20}
    assert 0 < fan["update_progress"]["25%"] <= fan["update_progress"]["100%"] == fan["update_to_all_available_s"]
    assert fan["network_policy_to_all_available_s"] > 0 and fan["update_answer_ms"] > 0

    targets = {row["key"]: row["result"] for row in doc["targets"]}
    assert targets["qos_fanout_1000"] == "n/a (reduced size)"  # 20 ports is not the target's 1,000
    assert "7 qos" in stderr  # the human table
