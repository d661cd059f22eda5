"""The supervisor of ``manage.py up`` on plain processes (``test_foundation_up`` runs it for real)."""

import os
import signal
import time

import pytest

from mediahub import services
from mediahub.supervisor import Program, Supervisor, TooManyCrashes
from tests.waiting import wait_for

SLEEPER = ["sleep", "300"]
CRASHER = ["sh", "-c", "exit 3"]


@pytest.fixture
def supervised():
    made = []

    def make(*programs, **options):
        lines = []
        supervisor = Supervisor(programs, log=lines.append, **options)
        supervisor.start()
        made.append(supervisor)
        return supervisor, lines

    yield make
    for supervisor in made:
        services.stop_processes(supervisor.processes(), timeout=5)


def test_a_killed_program_is_restarted_with_a_log_line_while_the_others_keep_running(supervised):
    supervisor, lines = supervised(Program("api", SLEEPER), Program("workers", SLEEPER))
    api, workers = supervisor.programs
    api_pid, first_pid = api.process.pid, workers.process.pid
    os.kill(first_pid, signal.SIGKILL)
    wait_for(lambda: supervisor.check() or workers.process.pid != first_pid, timeout=10)
    assert workers.process.poll() is None and api.process.pid == api_pid and api.process.poll() is None
    assert lines[0].startswith("workers exited unexpectedly with status -9; restarting it in 0.5 s")
    assert lines[1] == f"workers restarted (pid {workers.process.pid})."


def test_backoff_doubles_with_each_crash_of_a_program(supervised):
    supervisor, lines = supervised(Program("flaky", CRASHER), crash_limit=100)
    wait_for(lambda: supervisor.check() or len(lines) >= 5, timeout=20, interval=0.02)
    delays = [float(line.split("restarting it in ")[1].split(" s")[0]) for line in lines if "exited" in line]
    assert delays[:3] == [0.5, 1.0, 2.0]
    assert "status 3" in lines[0]


def test_five_crashes_in_a_minute_stop_with_a_clear_message(supervised):
    supervisor, lines = supervised(Program("scheduler", CRASHER), Program("workers", CRASHER))
    started = time.monotonic()
    with pytest.raises(TooManyCrashes) as raised:
        supervisor.run()
    assert time.monotonic() - started < 30  # 0.5 s then 1 s of backoff: well within the minute
    assert str(raised.value).startswith("5 crashes within 60 s (the last: ")
    assert "exited with status 3" in str(raised.value)
    assert sum("exited unexpectedly" in line for line in lines) == 4
