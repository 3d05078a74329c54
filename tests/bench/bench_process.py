"""Running a bench command as an operator does: its own process, none of the test run's NETPROV_* settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_bench(args: list[str], timeout: float) -> tuple[int, str, str]:
    """`python -m <args>` from the repository; (exit code, stdout, stderr). Past `timeout` it gets SIGTERM, not
    subprocess.run's SIGKILL, so that it stops the stack it started, and the test fails."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("NETPROV_")},
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=30)
        pytest.fail(f"python -m {' '.join(args)} took over {timeout:.0f} s:\n{stderr[-3000:]}")
    return proc.returncode, stdout, stderr
