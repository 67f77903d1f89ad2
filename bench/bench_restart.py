"""How long `make run` takes to answer /health again on a national year of data.

    .venv/bin/python bench/bench_restart.py [--facts 125000] [--dir /tmp/navi-restart]

Fills a data directory in a child process (the stack with `data_dir`, 50 approved filings through
the API, then `--facts` usage events with their chain heads and counters written straight into the
embedded store, as bench_pipeline.py preloads them; the rehearsal at scale 1.0 stores ~125,000
facts), stops it as Ctrl-C would, then starts `python -m local_stack` on the directory twice and
times each start until /health answers: the first loads the snapshot and the whole journal and
compacts them, the second loads the snapshot alone.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fill(data_dir: Path, facts: int) -> None:
    """The child: a stack on `data_dir`, filings through the API, `facts` events preloaded, stopped."""
    from bench.bench_pipeline import Api, approved_filings, preload
    from local_stack.stack import quiet_console, start_stack

    quiet_console()
    stack = start_stack(port=0, env_overrides={"NAVI_NOW": None}, data_dir=data_dir)
    filings = approved_filings(Api(stack))
    stack.drain()
    started = time.perf_counter()
    preload(stack, facts, filings, random.Random(7))
    print(f"preloaded {facts:,} facts in {time.perf_counter() - started:.1f} s", flush=True)
    stack.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (this machine is shared: wall time is not the work)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_start(data_dir: Path, port: int) -> tuple[float, float]:
    """Seconds from starting `python -m local_stack` on `data_dir` until /health answers 200, and its CPU time."""
    env = {**os.environ, "NAVI_DATA_DIR": str(data_dir), "PORT": str(port)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the stack exited: {process.stderr.read()[-2000:]}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    return time.perf_counter() - started, cpu_seconds(process.pid)
            except requests.RequestException:
                pass
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--facts", type=int, default=125_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/navi-bench-restart"))
    parser.add_argument("--port", type=int, default=18_600)
    parser.add_argument("--fill-only", action="store_true", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    if args.fill_only:
        fill(args.dir, args.facts)
        return
    shutil.rmtree(args.dir, ignore_errors=True)
    subprocess.run(
        [sys.executable, __file__, "--fill-only", "--facts", str(args.facts), "--dir", str(args.dir)],
        check=True,
    )
    print(f"store: {size_mb(args.dir):.0f} MB ({', '.join(p.name for p in sorted(args.dir.iterdir()))})")
    first, cpu = timed_start(args.dir, args.port)
    print(
        f"start on snapshot + journal (then compacted): /health after {first:.1f} s, {cpu:.1f} s of CPU "
        "(target <= 60 s)"
    )
    print(f"store after compaction: {size_mb(args.dir):.0f} MB")
    second, cpu = timed_start(args.dir, args.port)
    print(
        f"start on the snapshot alone:               /health after {second:.1f} s, {cpu:.1f} s of CPU "
        "(target <= 60 s)"
    )


if __name__ == "__main__":
    main()
