"""`python -m bench.rally` in its smallest form: one iteration of Rally's create_and_delete_ports through
openstacksdk on the harness's own stack, with bare Temporal's iteration of the same shape (one each, before
and after netprov's); the JSON says what was measured, the ratio is netprov's median over bare Temporal's, and
nothing is left behind. The figures themselves are not judged here (a loaded CI machine says nothing about
speed)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_rally_one_iteration(tmp_path):
    output = tmp_path / "rally.json"
    process = subprocess.run(
        [sys.executable, "-m", "bench.rally", "--iterations", "1", "--concurrency", "1", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    doc = json.loads(output.read_text())
    assert doc["scenario"] == "NeutronNetworks.create_and_delete_ports" and doc["iterations"] == 1
    assert doc["ports_per_network"] == 10 and len(doc["iterations_s"]) == 1
    assert 0 < doc["median_s"] == doc["iterations_s"][0] < 60
    assert doc["neutron_published"]["median_s"] == 8.5
    assert json.loads(process.stdout) == doc
    bare = doc["bare_temporal"]
    for run in (bare["before"], bare["after"]):
        assert len(run["iterations_s"]) == 1 and 0 < run["median_s"] == run["iterations_s"][0] < 60
        # 22 workflow starts in the one iteration, which is the whole run's wall time.
        assert run["wall_s"] >= run["median_s"] and run["writes_per_s"] == pytest.approx(22 / run["wall_s"], rel=0.01)
        assert sum(run["phase_median_s"].values()) == pytest.approx(run["median_s"], abs=0.01)
    assert bare["median_s"] == pytest.approx((bare["before"]["median_s"] + bare["after"]["median_s"]) / 2, abs=0.001)
    assert doc["ratio_to_bare"]["median"] == round(doc["median_s"] / bare["median_s"], 2)
    assert doc["bare_target_met"] == (bare["median_s"] < 2.0)
    assert set(doc["load_average_1m"]) == {"before_stack", "netprov_start", "end"}
