"""Eight clients at once on the live local stack: every request acts as its own caller, every
fresh event is kept once, and the settled counters equal the recount and the COUNTER rules.

Clients post batches of views whose chains span requests and stream batches,
resend earlier batches, and comment; a `user` keeps trying to review filings while a
national admin reviews others. The stream trigger runs throughout (no drain until the end).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict
from datetime import timedelta

from chalicelib.core import pseudonyms
from chalicelib.core.clock import china, parse_instant
from chalicelib.core.cycles import cycle_for
from chalicelib.usage import running_counters

CLIENTS = 8
REQUESTS_PER_CLIENT = 12
FILINGS = 6
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def _filings(api, filer, admin, count, approve=True) -> list[str]:
    ids = []
    for n in range(count):
        body = {
            "kind": "report",
            "title": f"并发导航报告 {n}",
            "province": "320000",
            "unit": "江苏省知识产权局",
            "industry": "5",
            "report_type": "industry_planning",
        }
        created = api.post("/filings", body, token=filer)
        assert created.status == 201, created.text
        ids.append(created.json["id"])
        if approve:
            assert api.post(f"/filings/{ids[-1]}/review", {"decision": "approve"}, token=admin).status == 200
    return ids


def test_eight_concurrent_clients_are_counted_exactly_and_never_act_as_each_other(api):
    run = uuid.uuid4().hex[:6]
    filer = api.token(role="filer", province="320000", sub=f"filer-{run}")
    admin = api.token(role="national_admin", sub=f"admin-{run}")
    filings = _filings(api, filer, admin, FILINGS)
    to_review = _filings(api, filer, admin, 6, approve=False)
    targets_of_intruder = _filings(api, filer, admin, 3, approve=False)

    problems: list[str] = []
    sent: dict[str, list[list[dict]]] = defaultdict(list)  # user -> requests, in the order sent
    said: list[str] = []

    def client(n: int) -> None:
        user = f"reader-{run}-{n}"
        token = api.token(role="user", side="enterprise", sub=user)
        rng = random.Random(n)
        for r in range(REQUESTS_PER_CLIENT):
            if r and rng.random() < 0.2:
                batch = rng.choice(sent[user])
                answer = api.post("/events", {"events": batch}, token=token)
                if answer.status != 202 or answer.json != {
                    "accepted": 0,
                    "duplicates": len(batch),
                    "ignored": 0,
                }:
                    problems.append(f"{user} resend: {answer.status} {answer.text}")
                continue
            batch = [
                {
                    "id": str(uuid.uuid4()),
                    "type": "view",
                    "filing": rng.choice(filings),
                    "user_agent": BROWSER,
                }
                for _ in range(rng.randint(20, 60))
            ]
            sent[user].append(batch)
            answer = api.post("/events", {"events": batch}, token=token)
            if answer.status != 202 or answer.json != {"accepted": len(batch), "duplicates": 0, "ignored": 0}:
                problems.append(f"{user} batch {r}: {answer.status} {answer.text}")
            if r % 4 == 0:
                text = f"{user} says {r}"
                said.append(text)
                made = api.post(f"/filings/{filings[0]}/comments", {"text": text}, token=token)
                # The author's own answer says `mine`; only national admins see the (pseudonymous) user.
                if made.status != 201 or made.json.get("mine") is not True or made.json["text"] != text:
                    problems.append(f"{user} comment: {made.status} {made.text}")

    def intruder() -> None:
        token = api.token(role="user", side="government", sub=f"intruder-{run}")
        for r in range(40):
            answer = api.post(
                f"/filings/{targets_of_intruder[r % 3]}/review", {"decision": "approve"}, token=token
            )
            if answer.status != 403:
                problems.append(f"intruder review answered {answer.status}")

    def reviewer() -> None:
        for filing_id in to_review:
            answer = api.post(f"/filings/{filing_id}/review", {"decision": "approve"}, token=admin)
            if answer.status != 200:
                problems.append(f"admin review answered {answer.status} {answer.text}")

    def reporting(work, *args) -> None:
        # A thread that dies on an exception must fail the test, not leave it passing on less work.
        try:
            work(*args)
        except Exception as error:  # noqa: BLE001  (any failure is the finding)
            problems.append(f"{work.__name__}{args}: {error!r}")

    threads = [threading.Thread(target=reporting, args=(client, n)) for n in range(CLIENTS)]
    threads += [
        threading.Thread(target=reporting, args=(intruder,)),
        threading.Thread(target=reporting, args=(reviewer,)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "clients did not finish"
    assert problems == []

    public = api.token(role="user", side="enterprise", sub=f"reader-{run}-0")
    for filing_id in targets_of_intruder:
        assert api.get(f"/filings/{filing_id}", token=filer).json["status"] == "pending"
    for filing_id in to_review:
        history = api.get(f"/filings/{filing_id}/history", token=admin).json["items"]
        assert [e["actor"] for e in history if e["action"].startswith("review")] == [f"admin-{run}"]
    # National admins see the facts' pseudonym of who wrote each comment; the public a display name only.
    assert all(
        "user" not in c for c in api.get(f"/filings/{filings[0]}/comments", token=public).json["items"]
    )
    comments = api.get(f"/filings/{filings[0]}/comments", token=admin).json["items"]
    secret = api.stack.services.settings.pseudonym_secret
    filing_cycle = api.get(f"/filings/{filings[0]}", token=admin).json["cycle"]
    authors = {
        pseudonyms.keyed(secret, f"reader-{run}-{n}", filing_cycle): f"reader-{run}-{n}"
        for n in range(CLIENTS)
    }
    mine = [c for c in comments if c["user"] in authors]
    assert sorted(c["text"] for c in mine) == sorted(said)  # each stored once, none lost
    assert all(c["text"].startswith(authors[c["user"]] + " ") for c in mine)  # under its own author

    api.drain()
    facts = list(running_counters.facts())
    # Events keep their author's pseudonym in the cycle of their instant (core/pseudonyms.py), never the id.
    stored = {(f["user"], f["id"]): f for f in facts if f.get("entity") == "event"}
    services = api.stack.services
    cycle = cycle_for(services.clock.now()).id
    sent = {
        pseudonyms.keyed(services.settings.pseudonym_secret, user, cycle): requests
        for user, requests in sent.items()
    }
    for user, requests in sent.items():
        for batch in requests:
            assert all((user, e["id"]) in stored for e in batch), "an accepted event is missing"
    assert running_counters.drift(running_counters.recount(facts)) == []
    assert running_counters.order_problems(facts) == []

    expected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for user, requests in sent.items():
        chains: dict[tuple, list] = defaultdict(list)
        for batch in requests:  # the order this client sent, each request's events in request order
            for e in batch:
                chains[(e["filing"], e["type"])].append(parse_instant(str(stored[(user, e["id"])]["at"])))
        for (filing_id, kind), times in chains.items():
            plural = "views" if kind == "view" else "downloads"
            prev = None
            for at in times:
                if prev is None or at - prev > timedelta(seconds=30):
                    expected[filing_id][f"{plural}_total"] += 1
                if prev is None or china(prev).strftime("%Y%m%d%H") != china(at).strftime("%Y%m%d%H"):
                    expected[filing_id][f"{plural}_unique"] += 1
                prev = at
    for filing_id in filings:
        stats = api.get(f"/filings/{filing_id}/stats").json
        seen = {f"{k}_{m}": stats[k][m] for k in ("views", "downloads") for m in ("total", "unique")}
        assert seen == {k: expected[filing_id].get(k, 0) for k in seen}, filing_id
