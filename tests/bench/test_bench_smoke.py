"""`python -m bench` in its smallest form: the harness starts its own stack, runs every scenario, reports every
target, writes its JSON, and leaves no process behind. The figures themselves are not judged here (a loaded CI
machine says nothing about speed); that the harness measured them is."""

import inspect
import json
import math
import os

import pytest
from bench_process import run_bench

from bench.__main__ import OFFERED, SCENARIOS, parse_args, scenario_module
from bench.probes import alive
from bench.report import TARGETS, judge
from bench.stats import percentile, summary_ms

SMOKE_TIMEOUT = 55


def test_percentiles_interpolate_between_ranks():
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    assert summary_ms([0.010, 0.020, 0.030]) == {
        "n": 3, "p50_ms": 20.0, "p90_ms": 28.0, "p99_ms": 29.8, "max_ms": 30.0, "mean_ms": 20.0,
    }


def test_targets_are_judged_pass_fail_or_not_applicable():
    doc = {
        "scenarios": {
            "writes": {"levels": {"50": {"network": {"p99_ms": 49.9}, "port": {"p99_ms": 50.0}}}},
            "settle": {"throughput": {"ratio_to_bare_temporal": 0.8}},
            "reads": {"seeded_ports": 1_000, "get_port": {"p99_ms": 3.0}, "list_ports": {"p99_ms": 10.0}},
            "batch": {"post_to_completed_s": 4.2, "ports": 1_000},
        }
    }
    results = {row["key"]: row["result"] for row in judge(doc)}
    assert results["write_p99_50_network"] == "pass"
    assert results["write_p99_50_port"] == "FAIL"  # the target is strictly under 50 ms
    assert results["write_p99_50_attachment"] == "not measured"
    assert results["settle_ratio"] == "pass"
    assert results["batch_1000"] == "pass"
    assert results["get_p99"] == "pass"
    assert results["list_10000_p99"] == "n/a (reduced size)"  # 1,000 seeded ports is not the target's 10,000
    assert results["api_rss"] == "not measured"
    assert len(results) == len(TARGETS)


def test_scenarios_are_checked_and_run_in_a_fixed_order():
    assert parse_args(["--scenarios", "memory,writes", "reads"]).scenarios == ["writes", "reads", "memory"]
    with pytest.raises(SystemExit):
        parse_args(["--scenarios", "nonsense"])


def test_the_harness_offers_what_every_scenario_module_asks_for():
    """Scenarios 3 and 5 are written apart from the harness and called by parameter name: every parameter
    they require must be one the harness offers."""
    for name in ("batch", "wait_vs_poll"):
        module = scenario_module(name)
        assert module is not None, f"bench/{name}.py is missing"
        required = [
            p.name for p in inspect.signature(module.run).parameters.values()
            if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        assert set(required) <= OFFERED, f"{name}.run requires {set(required) - OFFERED}"


def test_smoke_run_measures_every_scenario_and_stops_every_process(tmp_path):
    """Every scenario but 5, which starts a stack of its own with fixed-length phases (about 25 s): the
    interface test above covers how the harness calls it; and but qos, which has a smoke test of its own
    (tests/bench/test_bench_qos.py), so that this one stays within its time."""
    output = tmp_path / "latest.json"
    scenarios = [name for name in SCENARIOS if name not in ("wait_vs_poll", "qos")]
    returncode, stdout, stderr = run_bench(
        ["bench", "--smoke", "--output", str(output), "--scenarios", *scenarios], timeout=SMOKE_TIMEOUT
    )
    doc = json.loads(stdout)
    assert returncode == 0, f"errors: {doc.get('errors')}\n{stderr[-3000:]}"
    assert json.loads(output.read_text()) == doc
    assert doc["size"] == "smoke" and doc["scenarios_run"] == scenarios
    assert doc["machine"]["cores"] == os.cpu_count() and doc["machine"]["memory_mb"] > 0

    # Every process the run started is gone.
    assert set(doc["pids"]) == {"temporal", "worker", "api"}
    assert not [name for name, pid in doc["pids"].items() if alive(pid)]

    bare = doc["baselines"]["bare_temporal"]
    assert bare["completed_per_s"] > 0 and bare["one_at_a_time"]["n"] == 3
    assert doc["baselines"]["sync_plugin"]["calls"]["create_port"]["calls"] == 50

    levels = doc["scenarios"]["writes"]["levels"]
    assert set(levels) == {"1", "10"}
    for level in levels.values():
        for kind in ("network", "port", "attachment"):
            assert level[kind]["unexpected_statuses"] == {}
            assert level[kind]["p99_ms"] >= level[kind]["p50_ms"] > 0
    assert levels["10"]["port"]["n"] == 20

    settle = doc["scenarios"]["settle"]
    assert settle["one_at_a_time"]["port_to_active"]["n"] == 3
    throughput = settle["throughput"]
    assert throughput["settled"] == 20 and throughput["final_statuses"] == {"ACTIVE": 20}
    (paired,) = throughput["rounds"]
    assert paired["bare_temporal"]["count"] == 20 and throughput["ratio_to_bare_temporal"] == paired["ratio"] > 0

    reads = doc["scenarios"]["reads"]
    assert reads["list_ports"]["ports"] == 1_000 and reads["get_port"]["n"] == 30

    batch = doc["scenarios"]["batch"]
    assert batch["batch"]["status"] == "COMPLETED" and batch["ports"] == 20

    memory = doc["scenarios"]["memory"]
    assert memory["api"]["peak_rss_mb"] > 0 and memory["worker"]["peak_rss_mb"] > 0
    assert sum(memory["resources_in_database"].values()) >= 10_000

    assert {row["key"] for row in doc["targets"]} == {t.key for t in TARGETS}
    assert all(row["result"] in ("pass", "FAIL", "n/a (reduced size)", "not measured") for row in doc["targets"])
    assert "targets" in stderr  # the human table
