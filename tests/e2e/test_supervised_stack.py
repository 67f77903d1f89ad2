"""`make run` on both cores: the store process with the API and the trigger as its children, started
and stopped together, and the counters exact while eight clients write through it."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import auth
from tests.support.documents import approve, filed
from tests.support.served import Served, live, processes_under

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
STOP_SECONDS = 2.0  # the bound for Ctrl-C and SIGTERM


@pytest.fixture
def served(tmp_path):
    running = Served(tmp_path / "data").wait_up()
    yield running
    if running.process.poll() is None:
        running.kill()


def _gone_within(pids: set[int], seconds: float) -> None:
    start = time.monotonic()
    while alive := live(pids):
        assert time.monotonic() - start < seconds, f"still running after {seconds:.1f} s: {alive}"
        time.sleep(0.02)


def test_the_api_and_the_trigger_run_in_processes_of_their_own(served):
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in processes_under(served.process.pid)]
    spawned = [c for c in commands if b"spawn_main" in c]  # besides multiprocessing's resource tracker
    assert len(spawned) == 2, commands
    assert served.api.get("/health").status == 200


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_sigterm_or_ctrl_c_stops_every_process_within_2_s(served, how):
    everything = {served.process.pid} | processes_under(served.process.pid)
    start = time.monotonic()
    if how == "SIGTERM":
        served.process.send_signal(signal.SIGTERM)
    else:  # a terminal sends it to the whole foreground group
        os.killpg(served.process.pid, signal.SIGINT)
    assert served.process.wait(timeout=10) == 0
    _gone_within(everything, STOP_SECONDS - (time.monotonic() - start))
    assert time.monotonic() - start < STOP_SECONDS


def test_the_children_of_a_killed_supervisor_exit_by_themselves(served):
    children = processes_under(served.process.pid)
    served.kill()
    _gone_within(children, STOP_SECONDS)


def test_eight_clients_writing_while_the_trigger_runs_leave_counters_equal_to_the_recount(served):
    api = served.api
    filings = [filed(api)["id"] for _ in range(3)]
    for filing in filings:
        approve(api, "filing", filing)
    failures: list[str] = []

    def client(n: int) -> None:
        sent: list[dict] = []
        for round_ in range(10):
            batch = [
                {
                    "id": str(uuid.uuid4()),
                    "type": "view",
                    "filing": filings[(n + i) % 3],
                    "user_agent": BROWSER,
                }
                for i in range(10)
            ]
            resend = sent[-2:] if round_ % 3 == 2 else []  # duplicates of earlier events
            who = auth(sub=f"reader-{n}", role="user", side="enterprise")  # resends: the same caller
            answer = api.post("/events", {"events": batch + resend}, headers=who)
            if answer.status != 202 or answer.json["accepted"] != len(batch):
                failures.append(f"{answer.status} {answer.json}")
            like = api.put(f"/filings/{filings[n % 3]}/like", None, headers=who) if round_ % 2 else None
            if like is not None and like.status != 200:
                failures.append(f"like {like.status} {like.json}")
            sent += batch

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    deadline = time.monotonic() + 60
    while True:  # the trigger applies what was written meanwhile; then nothing drifts
        recount = served.recount()
        if recount.returncode == 0:
            break
        assert time.monotonic() < deadline, recount.stdout + recount.stderr
        time.sleep(0.5)
    assert "drifted: 0; click-order problems: 0" in recount.stdout, recount.stdout
    total = sum(api.get(f"/filings/{f}/stats").json["views"]["total"] for f in filings)
    assert total > 0
