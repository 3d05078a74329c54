"""`make run` stops on SIGINT sent where the Makefile says: to the devstack (its pid in
$NETPROV_DATA_DIR/devstack.pid) or to make's process group (what Ctrl-C does). A SIGINT to make alone
does nothing, as the Makefile says: GNU make does not pass signals on, it waits for its children."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from devstack.temporal_server import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=1)
        return True
    except httpx.HTTPError:
        return False


@pytest.fixture
def make_run(tmp_path):
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NETPROV_", "TEMPORAL_", "MAKE"))}
    env.update(NETPROV_DATA_DIR=str(tmp_path / "data"), NETPROV_API_PORT=str(api_port),
               NETPROV_TEMPORAL_PORT=str(free_port()), NETPROV_TEMPORAL_UI_PORT=str(free_port()),
               NETPROV_ADMIN_TOKEN="make-run-admin", NETPROV_PLUGIN="fake", PYTHONUNBUFFERED="1")
    log = (tmp_path / "make.log").open("wb")
    # -o: the venv is this one, installed already; its own session, as a terminal's job would be.
    proc = subprocess.Popen(["make", "--no-print-directory", "-o", ".venv/.installed", "run"], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(url):
            assert proc.poll() is None, (tmp_path / "make.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "make.log").read_text()
            time.sleep(0.3)
        yield proc, url, tmp_path / "data" / "devstack.pid", tmp_path / "make.log"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def _wait_exit(proc: subprocess.Popen, timeout: float) -> int | None:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def test_sigint_to_the_devstack_pid_stops_make_run(make_run):
    proc, url, pid_file, log = make_run
    # To make alone: nothing happens (make waits for its child).
    os.kill(proc.pid, signal.SIGINT)
    time.sleep(2)
    assert proc.poll() is None and _healthy(url)

    devstack = int(pid_file.read_text())
    ppid = int(Path(f"/proc/{devstack}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert ppid == proc.pid and "devstack" in Path(f"/proc/{devstack}/cmdline").read_text()
    os.kill(devstack, signal.SIGINT)
    code = _wait_exit(proc, 40)
    # The stack stopped cleanly; make then ends by the SIGINT it had been sent (as after Ctrl-C).
    assert code == -signal.SIGINT, log.read_text()
    assert "devstack: stopped" in log.read_text()
    assert not _answers(url)


def test_sigint_to_make_s_process_group_stops_make_run(make_run):
    proc, url, _, log = make_run
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    code = _wait_exit(proc, 40)
    assert code == -signal.SIGINT, log.read_text()
    assert "devstack: stopped" in log.read_text()
    assert not _answers(url)
