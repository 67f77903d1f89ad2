"""`python -m local_stack` as a real process on a data directory: start, stop (SIGTERM or kill -9),
and the store's whole contents as bytes, for tests of what survives a restart."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import Client, over_http

ROOT = Path(__file__).resolve().parents[2]


def quick_session() -> requests.Session:
    """A requests session to a loopback stack: no proxy or netrc lookup from the environment per request."""
    session = requests.Session()
    session.trust_env = False  # ~0.13 ms of CPU a request, and a loopback stack sits behind no proxy
    return session


def _first_ephemeral_port() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A free port whose next one is free too (the embedded DynamoDB listens on port + 1), taken below
    the kernel's ephemeral range: a port the kernel hands out can go to another worker's outgoing
    connection between this check and the child's bind (seen: "Address already in use")."""
    highest, rng = min(_first_ephemeral_port(), 30_000) - 1, random.SystemRandom()
    while True:
        port = rng.randrange(10_000, highest)
        try:
            for candidate in (port, port + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", candidate))
            return port
        except OSError:
            continue


def _parent_if_live(pid: int) -> int | None:
    """The parent of process `pid`, or None once it has ended (zombies have ended)."""
    try:
        state, parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:2]
    except OSError:
        return None
    return None if state == "Z" else int(parent)


def live(pids: set[int]) -> set[int]:
    """Those of `pids` still running."""
    return {pid for pid in pids if _parent_if_live(pid) is not None}


def processes_under(pid: int) -> set[int]:
    """The live processes descended from `pid`."""
    parents = {
        int(entry.name): parent
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (parent := _parent_if_live(int(entry.name))) is not None
    }
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


class Served:
    """One `python -m local_stack` process serving `data_dir`."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None):
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.moto_endpoint = f"http://127.0.0.1:{self.port + 1}"  # the embedded DynamoDB and S3
        environment = {**os.environ, "NAVI_DATA_DIR": str(data_dir), "PORT": str(self.port), **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_stack"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as a terminal's: Ctrl-C is sent to it whole
        )
        self.session = quick_session()
        self.api = Client(over_http(self.url, self.session), url=self.url, session=self.session)

    def wait_up(self, timeout: float = 60) -> Served:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the stack exited {self.process.returncode}: {self.process.stderr.read()}"
                )
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)  # a start takes ~1-2 s: poll finely, the first answer ends the wait
        self.kill()
        raise AssertionError("the stack did not answer /health")

    def recount(self) -> subprocess.CompletedProcess:
        """scripts/recount.py against this stack's store: exit 0 when no counter drifted."""
        return subprocess.run(
            [sys.executable, "scripts/recount.py", "--endpoint", self.moto_endpoint],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig` and wait for the process to end; its exit code."""
        self.session.close()
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.process.stdout.close()
            self.process.stderr.close()

    def kill(self) -> int:
        return self.stop(signal.SIGKILL)

    def refused(self, timeout: float = 60) -> tuple[int, str]:
        """The exit code and stderr of a start that must not serve."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the stack started on a store it should refuse") from None
        return code, self.process.stderr.read()


def tree_digest(path: Path) -> dict[str, str]:
    """Every file under `path` with the sha256 of its bytes."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }
