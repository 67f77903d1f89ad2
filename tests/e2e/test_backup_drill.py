"""The restore drill: seed a running local stack, export it, restore the backup into an empty store,
start a stack on it: a recount agrees and the list and stats routes answer as before."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

from tests.conftest import auth
from tests.support.documents import ADMIN, BROWSER, approve, filed, upload
from tests.support.served import ROOT, Served, tree_digest


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def _seed(api) -> list[str]:
    """Two approved reports (one with a file), a pending one, views, a download, a comment."""
    ids = []
    for n in range(2):
        filing = filed(api)["id"]
        if n == 0:
            assert upload(api, "filing", filing).status == 200
        approve(api, "filing", filing)
        ids.append(filing)
    ids.append(filed(api)["id"])
    reader = {**auth(sub="drill-reader", role="user", side="university"), "User-Agent": BROWSER}
    views = [{"id": str(uuid.uuid4()), "type": "view", "filing": f, "user_agent": BROWSER} for f in ids[:2]]
    assert api.post("/events", {"events": views}, headers=reader).status == 202
    file_id = api.get(f"/filings/{ids[0]}/files", headers=auth(**ADMIN)).json
    file_id = (file_id["items"] if isinstance(file_id, dict) else file_id)[0]["id"]
    assert api.get(f"/filings/{ids[0]}/files/{file_id}", headers=reader, redirects=False).status == 303
    assert api.post(f"/filings/{ids[1]}/comments", {"text": "很有参考价值"}, headers=reader).status == 201
    return ids


def _answers(api, ids: list[str]) -> dict:
    admin = auth(**ADMIN)
    cycle = api.get(f"/filings/{ids[0]}", headers=admin).json["cycle"]
    paths = [
        "/filings",
        "/filings?status=approved",
        f"/activity?cycle={cycle}",
        f"/provinces/320000/activity?cycle={cycle}",
        "/me/notifications",
    ]
    for filing in ids:
        paths += [
            f"/filings/{filing}",
            f"/filings/{filing}/stats",
            f"/filings/{filing}/files",
            f"/filings/{filing}/comments",
            f"/filings/{filing}/history",
        ]
    answers = {}
    for path in paths:
        got = api.get(
            path,
            headers=admin
            if path != "/me/notifications"
            else auth(sub="filer-320000", role="filer", province="320000"),
        )
        answers[path] = (got.status, got.json)
    return answers


def _settled(api, ids: list[str]) -> None:
    deadline = time.monotonic() + 30
    while (
        api.get(f"/filings/{ids[0]}/stats").json["downloads"]["total"] != 1
        or api.get(f"/filings/{ids[1]}/stats").json["comments"] != 1
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1)


def test_export_restore_into_an_empty_store_recounts_clean_and_answers_the_same(tmp_path):
    source, restored, backup, offline = (tmp_path / n for n in ("source", "restored", "backup", "offline"))
    served = Served(source).wait_up()
    try:
        ids = _seed(served.api)
        _settled(served.api, ids)
        before = _answers(served.api, ids)
        exported = _script(
            "scripts/backup.py", "export", "--endpoint", served.moto_endpoint, "--to", str(backup)
        )
        assert exported.returncode == 0, exported.stderr
    finally:
        assert served.stop() == 0
    manifest = json.loads((backup / "MANIFEST.json").read_text())
    assert manifest["tables"]["facts"]["items"] > 0 and len(manifest["files"]) == 1
    # The stopped stack's directory exports the same items (one format for both).
    assert (
        _script("scripts/backup.py", "export", "--data-dir", str(source), "--to", str(offline)).returncode
        == 0
    )
    for table in ("facts", "counters", "records"):
        lines = [
            sorted((backup / f"{table}.json").read_text().splitlines()),
            sorted((offline / f"{table}.json").read_text().splitlines()),
        ]
        assert lines[0] == lines[1], table

    restore = _script("scripts/backup.py", "restore", "--from", str(backup), "--data-dir", str(restored))
    assert restore.returncode == 0, restore.stderr
    again = Served(restored).wait_up()
    try:
        assert _answers(again.api, ids) == before
        recount = _script("scripts/recount.py", "--endpoint", again.moto_endpoint)
        assert recount.returncode == 0 and "drifted: 0" in recount.stdout, recount.stdout + recount.stderr
    finally:
        assert again.stop() == 0


def test_a_restore_refuses_a_store_that_holds_data_and_a_damaged_backup(tmp_path):
    source, backup = tmp_path / "source", tmp_path / "backup"
    served = Served(source).wait_up()
    try:
        filed(served.api)
    finally:
        assert served.stop() == 0
    assert (
        _script("scripts/backup.py", "export", "--data-dir", str(source), "--to", str(backup)).returncode == 0
    )
    before = tree_digest(source)
    into_used = _script("scripts/backup.py", "restore", "--from", str(backup), "--data-dir", str(source))
    assert into_used.returncode == 2 and "not empty" in into_used.stderr
    assert tree_digest(source) == before
    records = backup / "records.json"
    records.write_text(records.read_text().replace('"S":"', '"S":"X', 1))
    damaged = _script(
        "scripts/backup.py", "restore", "--from", str(backup), "--data-dir", str(tmp_path / "new")
    )
    assert damaged.returncode == 2 and "checksum" in damaged.stderr
    assert not (tmp_path / "new").exists()
