"""The supervisor's rules without processes: deaths noticed, restarts after an exponential backoff
that resets after a stable run, a failing start or hook never stops it, the table is published."""

import time

from devstack.supervisor import RESTARTING, RUNNING, Backoff, Service, Supervisor, exit_detail
from netprov.process_table import read_table


class FakeProcess:
    def __init__(self) -> None:
        self.alive = True
        self.starts = 0
        self.fail_starts = 0

    def start(self) -> None:
        self.starts += 1
        if self.fail_starts:
            self.fail_starts -= 1
            raise RuntimeError("port in use")
        self.alive = True

    def service(self, **kwargs) -> Service:
        return Service(name="agent h1", start=self.start, alive=lambda: self.alive, pid=lambda: 4242,
                       exit_detail=lambda: "killed by SIGKILL", **kwargs)  # fmt: skip


def test_backoff_doubles_up_to_its_bound():
    backoff = Backoff(initial_s=0.5, factor=2, max_s=8)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 8, 8]


def test_a_death_is_restarted_after_the_backoff_and_published(tmp_path):
    proc = FakeProcess()
    deaths = []
    lines = []
    service = proc.service(on_exit=lambda: deaths.append(1))
    supervisor = Supervisor([service], tmp_path, Backoff(initial_s=0.2, max_s=1, stable_s=60), log=lines.append)
    supervisor.adopt_all()
    assert [(p.name, p.state, p.pid) for p in read_table(tmp_path)] == [("agent h1", RUNNING, 4242)]

    proc.alive = False
    supervisor.tick()
    assert service.state == RESTARTING and deaths == [1] and proc.starts == 0
    assert read_table(tmp_path)[0].last_exit == "killed by SIGKILL"
    supervisor.tick()  # backoff not over yet
    assert proc.starts == 0
    time.sleep(0.25)
    supervisor.tick()
    assert service.state == RUNNING and proc.starts == 1 and service.restarts == 1
    assert read_table(tmp_path)[0].restarts == 1
    assert "agent h1 killed by SIGKILL" in lines and "restarting agent h1 (restart 1)" in lines

    proc.alive = False  # a second quick death waits twice as long
    supervisor.tick()
    assert service.next_start - time.monotonic() > 0.3
    supervisor.close()
    assert read_table(tmp_path) is None


def test_a_failing_start_and_a_failing_hook_are_retried_not_fatal(tmp_path):
    proc = FakeProcess()
    service = proc.service(on_exit=lambda: 1 / 0)
    supervisor = Supervisor([service], tmp_path, Backoff(initial_s=0.05, max_s=0.05), log=lambda line: None)
    supervisor.adopt_all()
    proc.alive, proc.fail_starts = False, 2
    deadline = time.monotonic() + 5
    while service.state != RUNNING or proc.starts < 3:
        assert time.monotonic() < deadline, (service, proc.starts)
        supervisor.tick()
        time.sleep(0.02)
    assert service.restarts == 3


def test_exit_details():
    assert exit_detail(-9) == "killed by SIGKILL"
    assert exit_detail(1) == "exited with code 1"
    assert exit_detail(None) == "vanished"


def test_a_table_without_a_live_supervisor_is_absent(tmp_path):
    (tmp_path / "devstack").mkdir()
    (tmp_path / "devstack" / "processes.json").write_text('{"supervisor_pid": 999999999, "processes": []}')
    assert read_table(tmp_path) is None
