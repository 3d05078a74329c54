"""`python -m bench.rally` in its smallest form: one iteration of Rally's create_and_delete_ports through
openstacksdk on the harness's own stack; the JSON says what was measured and nothing is left behind. The
figure itself is not judged here (a loaded CI machine says nothing about speed)."""

import json
import subprocess
import sys
from pathlib import Path

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
