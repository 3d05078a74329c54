"""`python -m bench.long_history` at a small size: through the real API and processes, a port updated past the
operations-per-run bound continues as new, applies every update in order and ends in the state asked for last."""

import json

from bench_process import run_bench

from workflows.resource_loop import OPS_PER_RUN

UPDATES = OPS_PER_RUN + 50
TIMEOUT = 120


def test_a_port_updated_past_the_bound_continues_as_new():
    returncode, stdout, stderr = run_bench(
        ["bench.long_history", "--updates", str(UPDATES), "--timeout", "90"], timeout=TIMEOUT
    )
    assert returncode == 0, stderr[-3000:]
    result = json.loads(stdout)

    assert result["final_state_ok"], result["final_port"]
    assert result["operations_applied"] == UPDATES + 1
    # The create's run, then the updates' run that continued as new at the bound, then the rest.
    assert result["runs_continued_as_new"] >= 1
    assert result["workflow_runs"] >= 3
    # 7 to 10 events per operation applied (more when signals split workflow tasks), plus one signal per
    # operation accepted while the run worked: bounded by the run's operations, not by the port's.
    assert result["longest_history_events"] < 12 * OPS_PER_RUN + UPDATES
