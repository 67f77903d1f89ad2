"""`make run` keeps what it acknowledged: a real `python -m local_stack` process on a data directory,
stopped by SIGTERM or kill -9 and started again, serves the same filing, file and counters, and
counts new events on top. A store it cannot load whole is refused and left byte for byte."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import auth
from tests.support.documents import ADMIN, BROWSER, PDF, approve, filed, upload
from tests.support.served import Served, tree_digest


def _view(api, filing_id: str, who: str) -> None:
    body = {"events": [{"id": str(uuid.uuid4()), "type": "view", "filing": filing_id, "user_agent": BROWSER}]}
    answer = api.post("/events", body, headers=auth(sub=who, role="user", side="enterprise"))
    assert answer.status == 202, answer.json


def _settled(api, filing_id: str, views: int, downloads: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stats = api.get(f"/filings/{filing_id}/stats").json
        if stats["views"]["total"] == views and stats["downloads"]["total"] == downloads:
            return stats
        assert time.monotonic() < deadline, stats
        time.sleep(0.2)


def _file_id(api, filing_id: str) -> str:
    files = api.get(f"/filings/{filing_id}/files", headers=auth(**ADMIN)).json
    return (files["items"] if isinstance(files, dict) else files)[0]["id"]


def _download(api, filing_id: str, who: str) -> bytes:
    """One counted download by `who`: the file's bytes, through the 303."""
    got = api.get(
        f"/filings/{filing_id}/files/{_file_id(api, filing_id)}",
        headers={**auth(sub=who, role="user", side="enterprise"), "User-Agent": BROWSER},
        redirects=False,
    )
    assert got.status == 303, got.json
    return requests.get(got.headers["Location"], timeout=10).content


def _answers(api, filing_id: str) -> dict:
    """What a restart must not change: the filing, its files, its counters, the province's, its audit."""
    admin = auth(**ADMIN)
    one = api.get(f"/filings/{filing_id}", headers=admin)
    assert one.status == 200, one.json
    return {
        "filing": one.json,
        "files": api.get(f"/filings/{filing_id}/files", headers=admin).json,
        "stats": api.get(f"/filings/{filing_id}/stats").json,
        "activity": api.get(f"/provinces/320000/activity?cycle={one.json['cycle']}", headers=admin).json,
        "history": api.get(f"/filings/{filing_id}/history", headers=admin).json,
    }


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


def test_a_restart_after_sigterm_or_kill_9_serves_what_was_acknowledged_and_counts_on_top(data_dir):
    first = Served(data_dir).wait_up()
    try:
        filing = filed(first.api)["id"]
        assert upload(first.api, "filing", filing).status == 200
        approve(first.api, "filing", filing)
        for n in range(3):
            _view(first.api, filing, f"reader-{n}")
        assert _download(first.api, filing, "reader-0") == PDF
        _settled(first.api, filing, views=3, downloads=1)
        before = _answers(first.api, filing)
    finally:
        assert first.stop() == 0

    second = Served(data_dir).wait_up()
    try:
        assert _answers(second.api, filing) == before
        _view(second.api, filing, "reader-new")
        assert _download(second.api, filing, "reader-new") == PDF
        _settled(second.api, filing, views=4, downloads=2)
        counted = _answers(second.api, filing)
        time.sleep(2)  # quiet: everything acknowledged is older than the journal's bound
    finally:
        second.kill()

    third = Served(data_dir).wait_up()
    try:
        assert _answers(third.api, filing) == counted
        _view(third.api, filing, "reader-newer")
        _settled(third.api, filing, views=5, downloads=2)
    finally:
        assert third.stop() == 0


def _a_store(data_dir: Path, starts: int = 1) -> None:
    """A store holding a filing; a second start moves it from the journal into a snapshot."""
    for _ in range(starts):
        served = Served(data_dir).wait_up()
        try:
            filed(served.api)
            time.sleep(1)  # the triggers pass the filing's records: nothing is left to replay
        finally:
            assert served.stop() == 0


@pytest.mark.parametrize("where", ["snapshot", "journal"])
def test_a_damaged_store_is_refused_and_left_byte_for_byte(data_dir, where):
    _a_store(data_dir, starts=2 if where == "snapshot" else 1)
    damaged = (
        next(p for p in next(data_dir.glob("snapshot-*")).glob("records.json"))
        if where == "snapshot"
        else next(data_dir.glob("journal-*.json"))
    )
    text = damaged.read_bytes()
    assert b'"S":"' in text
    damaged.write_bytes(text.replace(b'"S":"', b'"S":"X', 1))
    before = tree_digest(data_dir)
    code, stderr = Served(data_dir).refused()
    assert code != 0 and "damaged" in stderr and str(data_dir) in stderr, stderr
    assert tree_digest(data_dir) == before


def test_a_store_of_another_version_is_refused_and_left_byte_for_byte(data_dir):
    _a_store(data_dir)
    stamp = json.loads((data_dir / "FORMAT.json").read_text())
    (data_dir / "FORMAT.json").write_text(json.dumps({**stamp, "version": stamp["version"] + 1}))
    before = tree_digest(data_dir)
    code, stderr = Served(data_dir).refused()
    assert code != 0 and "another version" in stderr, stderr
    assert tree_digest(data_dir) == before


def test_a_journal_cut_inside_its_last_group_loses_only_that_group(data_dir):
    _a_store(data_dir)
    journal = next(data_dir.glob("journal-*.json"))
    # The shape a kill -9 leaves: an unfinished group, cut inside a line, after the last commit.
    with open(journal, "ab") as f:
        f.write(b'{"Metadata":{"Table":"records"},"Keys":{"pk":{"S":"x"}},"NewIm')
    served = Served(data_dir).wait_up()
    try:
        assert served.api.get("/filings", headers=auth(**ADMIN)).json["items"]
    finally:
        assert served.stop() == 0


def test_a_start_with_nothing_to_fold_in_journals_on_top_of_its_snapshot(data_dir):
    _a_store(data_dir)
    generations = []
    for writes in (False, True, False):
        served = Served(data_dir).wait_up()
        try:
            generations.append((data_dir / "CURRENT").read_text())
            count = len(served.api.get("/filings?limit=200", headers=auth(**ADMIN)).json["items"])
            if writes:
                filed(served.api)
        finally:
            assert served.stop() == 0
    # The first start folds the journal in; the second finds nothing to fold and keeps the snapshot.
    assert generations[1] == generations[0] != generations[2]
    assert count == 2


def test_after_a_kill_9_in_the_middle_of_writes_the_counters_equal_the_recount_of_what_survived(data_dir):
    # Without the replay of stream records the triggers had not applied, the recount finds drift.
    import threading

    served = Served(data_dir).wait_up()
    filing = filed(served.api)["id"]
    approve(served.api, "filing", filing)
    stop = threading.Event()

    def readers() -> None:
        n = 0
        while not stop.is_set():
            try:
                _view(served.api, filing, f"busy-{n % 7}")
            except Exception:
                return  # the process was killed under us
            n += 1

    writer = threading.Thread(target=readers)
    writer.start()
    time.sleep(3)  # the trigger is applying records while the kill lands
    served.kill()
    stop.set()
    writer.join()

    again = Served(data_dir).wait_up()
    try:
        time.sleep(3)  # replayed stream records are applied
        recount = again.recount()
        assert recount.returncode == 0 and "drifted: 0" in recount.stdout, recount.stdout + recount.stderr
        views = again.api.get(f"/filings/{filing}/stats").json["views"]["total"]
        assert views > 0
    finally:
        assert again.stop() == 0
