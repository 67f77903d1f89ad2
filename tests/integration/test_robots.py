"""A packaged Lambda classifies COUNTER robots and machines from the files it ships."""

from __future__ import annotations

import subprocess
import sys
import zipfile


def test_a_packaged_lambda_classifies_robots_and_machines_from_its_own_files(packaged, tmp_path):
    result, _, _ = packaged
    root = tmp_path / "lambda"
    with zipfile.ZipFile(result.zip) as archive:
        archive.extractall(root)
    # -S: no site-packages, so counter_robots can only come from the deployment package.
    probe = (
        "from chalicelib.usage import robots; m = robots.counter(); "
        "print(m.size, m.is_robot('Mozilla/5.0 (compatible; SemrushBot/7~bl)'), "
        "m.is_robot('python-requests/2.32'), m.is_robot('Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0'))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    size, semrush, requests_lib, firefox = done.stdout.split()
    assert int(size) >= 350 and (semrush, requests_lib, firefox) == ("True", "True", "False")
