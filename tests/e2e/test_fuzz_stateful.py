"""The stateful fuzz phase: a hypothesis state machine drives the live local stack through what
users do in sequence (file → declare and upload files → review → views and downloads → stats), with
drawn titles, users and orders. Whatever the sequence: no answer is a 5xx, errors are problems,
a record's usage counters never go down, and once the stream settles every counter equals the
recount from the stored facts. Steps are bounded so the phase takes well under a minute."""

from __future__ import annotations

import hashlib
import uuid

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chalicelib.usage import running_counters
from tests.support import report_body

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
USAGE = ("views", "downloads")
# Titles a user may type: plain, formula-looking, mixed scripts, the longest allowed.
TITLES = st.sampled_from(
    ["新能源汽车产业专利导航", "=1+1", "+SUM(A1)", "@cmd", "-2", "Robotics 机器人", "导" * 200]
)
PDF = b"%PDF-1.7\n" + b"stateful fuzz " * 64


def _broken(answer, where: str) -> str | None:
    if answer.status >= 500:
        return f"{where}: {answer.status} {answer.text[:300]}"
    if answer.status >= 400 and answer.headers.get("Content-Type") != "application/problem+json":
        return f"{where}: {answer.status} not a problem: {answer.text[:200]}"
    return None


class UsersOverTime(RuleBasedStateMachine):
    """One run: a province's filer, a national admin and a few readers acting in a drawn order."""

    api = None  # set by the test before the machine runs

    pending = Bundle("pending")
    approved = Bundle("approved")

    def __init__(self):
        super().__init__()
        run = uuid.uuid4().hex[:8]
        self.run = run
        self.filer = self.api.token("filer", province="320000", sub=f"sf-filer-{run}")
        self.admin = self.api.token("national_admin", sub=f"sf-admin-{run}")
        self.readers = [
            self.api.token("user", side="enterprise", sub=f"sf-reader-{run}-{i}") for i in range(3)
        ]
        self.files: dict[str, list[str]] = {}
        self.seen: dict[str, dict[str, int]] = {}  # filing -> the highest usage numbers read so far
        self.failures: list[str] = []
        self.waiting = 0  # filings filed and not reviewed yet

    def _call(self, method: str, path: str, body=None, token=None, **kw):
        answer = self.api.call(method, path, body, token=token, **kw)
        broken = _broken(answer, f"{method} {path}")
        if broken:
            self.failures.append(broken)
        assert broken is None, broken
        return answer

    @initialize(target=approved, title=TITLES)
    def an_approved_filing_with_a_file(self, title):
        filing = self._file(title)
        self.attach(filing, "报告.pdf")
        self._review(filing, True)
        return filing

    @precondition(lambda self: self.waiting < 2)  # else most steps would only file
    @rule(target=pending, title=TITLES)
    def file(self, title):
        return self._file(title)

    def _file(self, title):
        answer = self._call("POST", "/filings", report_body(title=title), token=self.filer)
        assert answer.status == 201, answer.json
        self.files[answer.json["id"]] = []
        self.waiting += 1
        return answer.json["id"]

    @rule(filing=pending, name=st.sampled_from(["报告.pdf", "=1+1.pdf", "附件 (1).pdf"]))
    def attach(self, filing, name):
        if len(self.files[filing]) >= 2:
            return
        declared = self._call(
            "POST",
            f"/filings/{filing}/files",
            {
                "name": name,
                "purpose": "report",
                "content_type": "application/pdf",
                "size": len(PDF),
                "sha256": hashlib.sha256(PDF).hexdigest(),
            },
            token=self.filer,
        )
        if declared.status != 201:  # e.g. a per-record bound on files: a clear 4xx, never a 5xx
            return
        upload = declared.json["upload"]
        assert requests.put(upload["url"], data=PDF, headers=upload["headers"], timeout=30).status_code == 200
        done = self._call("POST", declared.json["links"]["complete"], token=self.filer)
        assert done.status == 200, done.json
        self.files[filing].append(done.json["id"])

    @rule(target=approved, filing=consumes(pending), approve=st.booleans())
    def review(self, filing, approve):
        self._review(filing, approve)
        return filing if approve else multiple()

    def _review(self, filing, approve):
        answer = self._call(
            "POST",
            f"/filings/{filing}/review",
            {"decision": "approve" if approve else "reject"},
            token=self.admin,
        )
        assert answer.status == 200, answer.json
        self.waiting -= 1

    @rule(filing=approved, reader=st.integers(0, 2), views=st.integers(1, 5))
    def view(self, filing, reader, views):
        batch = [
            {"id": str(uuid.uuid4()), "type": "view", "filing": filing, "user_agent": BROWSER}
            for _ in range(views)
        ]
        answer = self._call("POST", "/events", {"events": batch}, token=self.readers[reader])
        assert answer.status == 202 and answer.json["accepted"] == views, answer.json

    @rule(filing=approved, reader=st.integers(0, 2))
    def download(self, filing, reader):
        if not self.files.get(filing):
            return
        answer = self._call(
            "GET",
            f"/filings/{filing}/files/{self.files[filing][0]}",
            token=self.readers[reader],
            headers={"User-Agent": BROWSER},
            redirects=False,
        )
        assert answer.status == 303, answer.text

    @rule(filing=approved)
    def read_stats(self, filing):
        answer = self._call("GET", f"/filings/{filing}/stats")
        assert answer.status == 200, answer.json
        now = {f"{kind}.{part}": answer.json[kind][part] for kind in USAGE for part in ("total", "unique")}
        before = self.seen.get(filing, {})
        went_down = {k: (before[k], v) for k, v in now.items() if v < before.get(k, 0)}
        assert not went_down, f"stats of {filing} went down: {went_down}"
        self.seen[filing] = now

    @rule(filing=approved, page=st.integers(1, 3))
    def read_lists(self, filing, page):
        for path in (
            f"/filings/{filing}/files?limit={page}",
            f"/filings/{filing}/comments?limit={page}",
            f"/filings/{filing}/history?limit={page}",
        ):
            answer = self._call("GET", path, token=self.admin)
            assert answer.status == 200 and len(answer.json["items"]) <= page, answer.json

    @invariant()
    def nothing_broke(self):
        assert self.failures == []


def test_any_sequence_of_filing_files_review_views_and_stats_keeps_counters_exact(api):
    UsersOverTime.api = api
    run_state_machine_as_test(
        UsersOverTime,
        settings=settings(
            max_examples=5,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    api.drain()
    facts = list(running_counters.facts())
    assert running_counters.drift(running_counters.recount(facts)) == []
    assert running_counters.order_problems(facts) == []
