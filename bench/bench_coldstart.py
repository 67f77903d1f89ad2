"""Cold-start cost of the Lambda code: `import app` against `import boto3`, and package size.

    .venv/bin/python bench/bench_coldstart.py [--runs 9] [--package]

Each import runs in a fresh interpreter (as a Lambda cold start does), alternating app and
boto3 so both see the same machine load; the figure is the ratio of the medians (target
<= 2.3), of wall time and of the interpreter's own CPU time (on a shared machine the wall
time also holds the wait for a core; the CPU time does not). When a ratio misses, the
heaviest modules app.py imports eagerly are listed from `python -X importtime`. The zip size
is that of build/package/deployment.zip (`make package`); --package builds it first. The CPU
median is also projected onto Lambda memory sizes (CPU share grows with memory), the figure
the README's sizing of the API rests on.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 2.3
ZIP = ROOT / "build" / "package" / "deployment.zip"
TIMER = (
    "import time; t, c = time.perf_counter(), time.process_time(); import {module}; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)
# Lambda gives a function CPU in proportion to its memory, one full vCPU at 1,769 MB.
FULL_VCPU_MB = 1769
MEMORY_SIZES = (128, 256, 512, 1024, 1769)


def _env() -> dict[str, str]:
    # As in Lambda: a region, no endpoint overrides, the deployed stage's settings not yet read.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NAVI_", "AWS_ENDPOINT_URL"))}
    env.setdefault("AWS_DEFAULT_REGION", "cn-north-1")
    # Any value, "0" included, stops Python writing bytecode: then every run compiled the app's
    # own modules again (~100 ms) while boto3's came precompiled from site-packages.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def import_seconds(module: str) -> tuple[float, float]:
    """(wall, CPU) seconds one fresh interpreter spends importing `module`."""
    done = subprocess.run(
        [sys.executable, "-c", TIMER.format(module=module)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def heaviest_imports(module: str = "app", top: int = 12) -> list[tuple[float, str]]:
    """(cumulative ms, "file: import library") for libraries app.py or chalicelib import eagerly."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match.group(1)) / 1000, len(match.group(2)), match.group(3)))
    found: list[tuple[float, str]] = []
    stack: list[tuple[int, str]] = []
    for ms, depth, name in reversed(rows):  # importtime prints a module after its children
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else None
        stack.append((depth, name))
        ours = parent is not None and (parent == module or parent.startswith("chalicelib"))
        library = not name.startswith("chalicelib") and name.split(".")[0] not in sys.stdlib_module_names
        if ours and library:
            found.append((ms, f"{parent.replace('.', '/')}.py: import {name}"))
    heaviest: dict[str, tuple[float, str]] = {}  # one line per (file, library): its costliest import
    for ms, text in found:
        key = text.split(".")[0] + text.split(": import ")[1].split(".")[0]
        heaviest[key] = max(heaviest.get(key, (0.0, "")), (ms, text))
    return sorted(heaviest.values(), reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--package", action="store_true", help="run infra.package first")
    args = parser.parse_args(argv)

    import_seconds("app")  # warm the bytecode cache so neither side pays compilation
    app_times, boto3_times = [], []
    for _ in range(args.runs):
        app_times.append(import_seconds("app"))
        boto3_times.append(import_seconds("boto3"))
    app_ms, boto3_ms = (statistics.median(t[0] for t in times) * 1000 for times in (app_times, boto3_times))
    app_cpu, boto3_cpu = (statistics.median(t[1] for t in times) * 1000 for times in (app_times, boto3_times))
    ratio, cpu_ratio = app_ms / boto3_ms, app_cpu / boto3_cpu
    print(
        f"import app:   median {app_ms:6.0f} ms wall, {app_cpu:6.0f} ms CPU over {args.runs} fresh interpreters"
    )
    print(f"import boto3: median {boto3_ms:6.0f} ms wall, {boto3_cpu:6.0f} ms CPU")
    print(
        f"ratio app/boto3: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (target <= {TARGET}x) "
        f"{'OK' if max(ratio, cpu_ratio) <= TARGET else 'MISSED'}; load average {os.getloadavg()[0]:.1f}"
    )
    # From the CPU time: the wall time of a loaded machine would project its queue onto Lambda.
    projected = ", ".join(
        f"{mb} MB ~{app_cpu * max(1.0, FULL_VCPU_MB / mb) / 1000:.2f} s" for mb in MEMORY_SIZES
    )
    print(f"cold `import app` on Lambda, scaled by CPU share (memory / {FULL_VCPU_MB} MB): {projected}")
    if max(ratio, cpu_ratio) > TARGET:
        print("heaviest eager imports of app (cumulative ms):")
        for ms, name in heaviest_imports():
            print(f"  {ms:7.1f}  {name}")

    if args.package:
        subprocess.run([sys.executable, "-m", "infra.package"], cwd=ROOT, check=True)
    if ZIP.exists():
        print(f"deployment package: {ZIP.stat().st_size / 1e6:.1f} MB ({ZIP.relative_to(ROOT)})")
    else:
        print("deployment package: not built (run `make package` or pass --package)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
