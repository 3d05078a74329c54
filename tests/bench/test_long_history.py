"""`python -m bench.long_history` at a small size: through the real API and processes, a port updated past the
operations-per-run bound continues as new, applies every update in order and ends in the state asked for last."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workflows.resource_loop import OPS_PER_RUN

REPO = Path(__file__).resolve().parents[2]
UPDATES = OPS_PER_RUN + 50
TIMEOUT = 120


def test_a_port_updated_past_the_bound_continues_as_new():
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.long_history", "--updates", str(UPDATES), "--timeout", "90"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("NETPROV_")},
    )
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the script stops the stack it started
        stdout, stderr = proc.communicate(timeout=30)
        pytest.fail(f"python -m bench.long_history took over {TIMEOUT} s:\n{stderr[-3000:]}")
    assert proc.returncode == 0, stderr[-3000:]
    result = json.loads(stdout)

    assert result["final_state_ok"], result["final_port"]
    assert result["operations_applied"] == UPDATES + 1
    # The create's run, then the updates' run that continued as new at the bound, then the rest.
    assert result["runs_continued_as_new"] >= 1
    assert result["workflow_runs"] >= 3
    # 7 to 10 events per operation applied (more when signals split workflow tasks), plus one signal per
    # operation accepted while the run worked: bounded by the run's operations, not by the port's.
    assert result["longest_history_events"] < 12 * OPS_PER_RUN + UPDATES
