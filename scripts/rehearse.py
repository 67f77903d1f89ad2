"""Rehearse a national year against the running local stack, through the real HTTP API.

    make run                                   # or: NAVI_NOW=2024-10-20T09:00:00+08:00 make run
    .venv/bin/python scripts/rehearse.py [URL] [--scale 1.0] [--publish] [--export scores.xlsx]

It files and reviews thousands of results for all 32 units (activity varies by unit),
publishes news, records views (downloads are counted only when files are served), likes, favorites, comments, evaluations from
every user side and application changes, files each unit's annual form when the server's
clock is inside 15–31 October, waits for the counters to settle, starts a scoring run of
the cycle the server is in and prints the ranking. Tokens are HS256, signed with the local
secret (env NAVI_JWT_SECRET, default navi-local-dev-secret): this works on the local stage
only. Start the server with NAVI_NOW inside 15–31 October to rehearse the annual forms;
the run of the (then still open) cycle is provisional and uses the forms of that year.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

# Run as `python scripts/rehearse.py`: the repository root holds local_stack.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from chalicelib.core.config import MAX_EVENTS_PER_REQUEST  # noqa: E402
from chalicelib.core.spreadsheets import XLSX_TYPE  # noqa: E402
from chalicelib.core.vocabulary import REPORT_TYPES, SIDES  # noqa: E402
from local_stack.tokens import LOCAL_JWT_SECRET  # noqa: E402
from local_stack.tokens import token as local_token

FILINGS_PER_UNIT = 100  # at scale 1: ~3,200 filings nationally


class Api:
    """requests with a session per thread, bearer tokens, and loud failures."""

    def __init__(self, url: str, secret: str):
        self.url, self.secret = url.rstrip("/"), secret
        self._local = threading.local()
        self.calls = 0

    def token(self, sub: str, role: str, province: str | None = None, side: str | None = None) -> str:
        """A local-stage token valid for the whole rehearsal (six hours)."""
        return local_token(role, sub=sub, province=province, side=side, ttl=6 * 3600, secret=self.secret)

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        ok: Iterable[int] = (200, 201, 202, 204),
        headers: dict | None = None,
    ) -> requests.Response:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.calls += 1
        answer = session.request(method, self.url + path, json=body, headers=headers, timeout=300)
        if answer.status_code not in ok:
            raise RuntimeError(f"{method} {path} -> {answer.status_code}: {answer.text[:300]}")
        return answer


class Progress:
    """One line per phase: what, how far, the rate and the time left (redrawn in place on a terminal)."""

    def __init__(self, out=sys.stdout, every: float = 2.0):
        self.out, self.every = out, every
        self.live = getattr(out, "isatty", lambda: False)()

    def track(self, phase: str, total: int):
        return _Phase(self, phase, total)


class _Phase:
    def __init__(self, progress: Progress, name: str, total: int):
        self.progress, self.name, self.total = progress, name, total
        self.done, self.started, self.shown = 0, time.monotonic(), 0.0
        self.lock = threading.Lock()

    def step(self, n: int = 1) -> None:
        with self.lock:
            self.done += n
            now = time.monotonic()
            if now - self.shown >= self.progress.every or self.done == self.total:
                self.shown = now
                self._show(now)

    def _show(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else float("inf")
        line = (
            f"  {self.name}: {self.done:,}/{self.total:,} ({100 * self.done / max(self.total, 1):3.0f}%) "
            f"{rate:,.0f}/s, {elapsed:,.0f} s so far, ~{left:,.0f} s left"
        )
        out = self.progress.out
        if self.progress.live:
            print("\r" + line + " " * 8, end="" if self.done < self.total else "\n", file=out, flush=True)
        else:
            print(line, file=out, flush=True)


def parallel(workers: int, fn, items: list, phase: _Phase | None = None) -> list:
    """fn over items on `workers` threads, in order; each finished item advances `phase`."""

    def run(item):
        result = fn(item)
        if phase is not None:
            phase.step()
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, items))


def activity_weights(provinces: list[str], rng: random.Random) -> dict[str, float]:
    """Uneven activity: a few busy units, a long tail (Zipf-like), shuffled so codes do not decide."""
    order = provinces[:]
    rng.shuffle(order)
    return {code: 2.0 / (1 + rank) ** 0.6 for rank, code in enumerate(order)}


def annual_form(rng: random.Random, declared_fiscal: int) -> dict:
    return {
        "mechanisms": {
            "leading_group": rng.random() < 0.8,
            "work_plan": rng.random() < 0.7,
            "coordination_meetings": rng.randint(0, 8),
        },
        "funding": {
            "provincial_funds": round(rng.uniform(50, 2000), 1),
            "other_funds": round(rng.uniform(0, 300), 1),
        },
        "carriers": [
            {"name": f"专利导航服务基地{i + 1}", "type": "navigation_service_base"}
            for i in range(rng.randint(0, 4))
        ],
        "projects": {
            "declared": declared_fiscal + rng.randint(0, 10),
            "fiscal_funded": declared_fiscal,
            "completed": rng.randint(0, declared_fiscal),
        },
        "policies": [{"title": "专利导航工程实施方案", "issued_on": "2024-03-01"}]
        if rng.random() < 0.6
        else [],
        "training": {"sessions": rng.randint(0, 10), "participants": rng.randint(0, 800)},
        "summary": "年度专利导航工作总结" if rng.random() < 0.9 else None,
    }


class Rehearsal:
    """One rehearsal's shared state: the API, the random source, the units and how busy each is."""

    def __init__(self, api: Api, rng: random.Random, workers: int, out, events_per_batch: int):
        self.api, self.rng, self.workers, self.out = api, rng, workers, out
        self.events_per_batch = events_per_batch
        self.started = time.monotonic()
        self.progress = Progress(out)
        api.call("GET", "/health")
        self.provinces = [p["code"] for p in api.call("GET", "/provinces").json()["items"]]
        self.admin = api.token("rehearsal-admin", "national_admin")
        self.weights = activity_weights(self.provinces, rng)

    def say(self, *parts) -> None:
        print(f"[{time.monotonic() - self.started:7.1f}s]", *parts, file=self.out, flush=True)

    def parallel(self, fn, items: list, phase: str) -> list:
        return parallel(self.workers, fn, items, self.progress.track(phase, len(items)))

    def filer(self, code: str) -> str:
        return self.api.token(f"filer-{code}", "filer", code)

    # ---- filings, reviewed

    def file_results(self, scale: float) -> list[dict]:
        """Every unit files in proportion to its activity; application proofs follow their report."""
        plan = []
        for code in self.provinces:
            n = max(1, round(FILINGS_PER_UNIT * scale * self.weights[code]))
            for i in range(n):
                kind = self.rng.choices(
                    ("report", "database", "tool", "application_proof"), (55, 15, 15, 15)
                )[0]
                plan.append((code, i, kind))
        return [f for group in self.parallel(self._file, plan, "filing") for f in group]

    def _file(self, item) -> list[dict]:
        code, i, kind = item
        rng = self.rng
        body = {
            "kind": "report" if kind == "application_proof" else kind,
            "title": f"{code} 专利导航成果 {i}",
            "province": code,
            "unit": f"{code} 知识产权局",
            "industry": str(rng.randint(1, 9)),
            "fiscal_funded": rng.random() < 0.4,
            "summary": "产业专利导航分析",
            "proves": None,
        }
        if body["kind"] == "report":
            body["report_type"] = rng.choice(REPORT_TYPES)
        token = self.filer(code)
        created = self.api.call("POST", "/filings", token, body).json()
        if kind == "application_proof":  # prove the use of the report just filed
            proof = {
                **body,
                "kind": "application_proof",
                "title": f"{body['title']} 应用证明",
                "proves": created["id"],
                "report_type": None,
            }
            return [created, self.api.call("POST", "/filings", token, proof).json()]
        return [created]

    def review(self, filed: list[dict]) -> list[dict]:
        """The national admin approves about nine in ten; returns the approved filings."""

        def review(f):
            decision = "approve" if self.rng.random() < 0.9 else "reject"
            return self.api.call(
                "POST", f"/filings/{f['id']}/review", self.admin, {"decision": decision}
            ).json()

        return [f for f in self.parallel(review, filed, "reviewing") if f["status"] == "approved"]

    def publish_news(self, scale: float) -> None:
        """Each unit files and the national admin approves a few publications."""

        def publication(item):
            code, i = item
            kind = self.rng.choice(("news", "notice", "policy", "navigation_info"))
            created = self.api.call(
                "POST",
                "/publications",
                self.filer(code),
                {"kind": kind, "title": f"{code} 动态 {i}", "province": code, "body": "专利导航工作动态"},
            ).json()
            self.api.call(
                "POST", f"/publications/{created['id']}/review", self.admin, {"decision": "approve"}
            )

        news = [(c, i) for c in self.provinces for i in range(max(1, round(5 * scale * self.weights[c])))]
        self.parallel(publication, news, "publishing")

    # ---- interactions on approved filings, from users of every side

    def record_usage(self, approved: list[dict], scale: float) -> None:
        """Batches of views plus likes, favorites, evaluations and comments from users of every side."""
        users = [(f"user-{i}", SIDES[i % len(SIDES)]) for i in range(max(8, int(400 * scale)))]
        popular = sorted(
            approved, key=lambda f: self.weights[f["province"]] * self.rng.random(), reverse=True
        )

        def usage(user_index: int):
            sub, side = users[user_index % len(users)]
            return self._use(self.api.token(sub, "user", side=side), popular)

        batches = max(16, int(600 * scale))
        statuses = self.parallel(usage, list(range(batches)), "usage batches")
        self.say(f"recorded usage and reactions of {len(users)} users")
        if 202 not in statuses:
            self.say("warning: POST /events is not served by this stack; usage indicators will be 0")

    def _use(self, token: str, popular: list[dict]) -> int:
        """One user's batch of views and reactions; returns the status of POST /events."""
        api, rng = self.api, self.rng
        targets = rng.sample(popular, min(len(popular), self.events_per_batch))
        events = [
            {
                "id": str(uuid.uuid4()),
                "type": "view",
                "filing": f["id"],
                "user_agent": "Mozilla/5.0 (rehearsal)",
            }
            for f in targets
        ]
        answer = api.call("POST", "/events", token, {"events": events}, ok=(202, 404, 405))
        for f in targets[: rng.randint(0, 6)]:
            api.call("PUT", f"/filings/{f['id']}/like", token, ok=(200, 201, 204, 404, 405))
            if rng.random() < 0.4:
                api.call("PUT", f"/filings/{f['id']}/favorite", token, ok=(200, 201, 204, 404, 405))
            if rng.random() < 0.5:
                api.call(
                    "PUT",
                    f"/filings/{f['id']}/evaluation",
                    token,
                    {"score": rng.choices((2, 3, 4, 5), (1, 3, 5, 3))[0], "feedback": "有参考价值"},
                    ok=(200, 201, 404, 405),
                )
            if rng.random() < 0.2:
                api.call(
                    "POST", f"/filings/{f['id']}/comments", token, {"text": "很有帮助"}, ok=(201, 404, 405)
                )
        return answer.status_code

    def change_applications(self, approved: list[dict]) -> None:
        """A fifth of the approved results move to in_progress or applied."""

        def application_change(f):
            self.api.call(
                "PUT",
                f"/filings/{f['id']}/application",
                self.filer(f["province"]),
                {"status": self.rng.choice(("in_progress", "applied"))},
            )

        changed = self.rng.sample(approved, len(approved) // 5)
        self.parallel(application_change, changed, "application changes")

    # ---- annual forms, when the server's clock is in the window

    def file_annual_forms(self, filed: list[dict], year: int) -> None:
        """Each unit's form for `year`; the server refuses them all (409) outside 15–31 October."""
        fiscal = {
            code: sum(1 for f in filed if f["province"] == code and f["fiscal_funded"])
            for code in self.provinces
        }

        def form(code):
            token = self.api.token(f"admin-{code}", "province_admin", code)
            declared = max(0, fiscal[code] + self.rng.randint(-2, 6))
            return self.api.call(
                "PUT",
                f"/provinces/{code}/annual-forms/{year}",
                token,
                annual_form(self.rng, declared),
                ok=(200, 201, 409),
            ).status_code

        if set(self.parallel(form, self.provinces, "annual forms")) == {409}:
            self.say(
                f"annual forms skipped: the server's clock is outside 15–31 October {year} "
                f"(start the stack with NAVI_NOW={year}-10-20T09:00:00+08:00 to rehearse them)"
            )
        else:
            self.say(f"filed the {year} annual forms of {len(self.provinces)} units")

    # ---- scoring, export, recount

    def score(self, cycle: str, publish: bool) -> dict:
        """Start a scoring run of `cycle`, publish it if asked and allowed; returns its scores."""
        api, admin = self.api, self.admin
        run = api.call("POST", f"/cycles/{cycle}/scoring-runs", admin).json()
        self.say(
            f"scoring run {run['run_id']} (scheme v{run['scheme_version']}, "
            f"{'provisional' if run['provisional'] else 'final'})"
        )
        if publish and not run["provisional"]:
            api.call("POST", f"/cycles/{cycle}/scoring-runs/{run['run_id']}/publish", admin)
        scores = api.call("GET", f"/cycles/{cycle}/scores?run_id={run['run_id']}", admin).json()
        self.say(table(scores))
        return scores

    def export(self, cycle: str, run_id: str, path: str) -> None:
        """The run's scores as .xlsx (by the path's suffix) or .csv, written to `path`."""
        fmt = "xlsx" if path.endswith(".xlsx") else "csv"
        accept = {"Accept": XLSX_TYPE} if fmt == "xlsx" else {}
        body = self.api.call(
            "GET", f"/cycles/{cycle}/scores.{fmt}?run_id={run_id}", self.admin, headers=accept
        ).content
        with open(path, "wb") as fh:
            fh.write(body)
        self.say(f"wrote {path}")

    def recount(self, store: str) -> bool:
        """Run scripts/recount.py against `store`; True when the counters matched it."""
        self.say(f"recounting every counter from the stored facts ({store})")
        recount = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("recount.py")), "--endpoint", store],
            capture_output=True,
            text=True,
        )
        print(recount.stdout.rstrip(), file=self.out, flush=True)
        clean = recount.returncode == 0
        self.say("counters == recount" if clean else "counters DRIFTED from the recount")
        return clean


def rehearse(
    url: str,
    scale: float = 1.0,
    seed: int = 2024,
    workers: int = 4,
    publish: bool = False,
    export: str | None = None,
    out=sys.stdout,
    events_per_batch: int = MAX_EVENTS_PER_REQUEST,
    store: str | None = None,
) -> dict:
    """Fill the stack, score the current cycle, recount against `store`; returns the scores document."""
    api = Api(url, os.environ.get("NAVI_JWT_SECRET", LOCAL_JWT_SECRET))
    r = Rehearsal(api, random.Random(seed), workers, out, events_per_batch)
    filed = r.file_results(scale)
    server_now = datetime.fromisoformat(filed[0]["filed_at"])
    cycle = filed[0]["cycle"]
    r.say(f"filed {len(filed)} results in cycle {cycle} (server time {server_now.isoformat()})")
    approved = r.review(filed)
    r.say(f"approved {len(approved)}")
    r.publish_news(scale)
    r.record_usage(approved, scale)
    r.change_applications(approved)
    r.file_annual_forms(filed, server_now.year)
    settle(api, cycle, r.provinces, approved, r.say)
    scores = r.score(cycle, publish)
    if export:
        r.export(cycle, scores["run_id"], export)
    r.say(f"{api.calls} API calls in {time.monotonic() - r.started:.1f} s")
    if store:
        scores["recount_clean"] = r.recount(store)
    return scores


def settle(
    api: Api, cycle: str, provinces: list[str], approved: list[dict], say, timeout: float = 60.0
) -> None:
    """Wait until every unit's approved-filing counter matches what was approved and stops moving."""
    expected = {code: sum(1 for f in approved if f["province"] == code) for code in provinces}
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        seen = {}
        for code in provinces:
            answer = api.call("GET", f"/provinces/{code}/activity?cycle={cycle}", ok=(200, 404))
            body = answer.json() if answer.status_code == 200 else {}
            seen[code] = body
        if seen == last and all(_approved(seen[c]) >= expected[c] for c in provinces):
            return
        last = seen
        time.sleep(2.5)
    say("warning: counters had not settled; scoring anyway")


def _approved(activity: dict) -> int:
    for key in ("filings_approved",):
        if key in activity:
            return int(activity[key])
        for value in activity.values():
            if isinstance(value, dict) and key in value:
                return int(value[key])
    return 0


def table(scores: dict) -> str:
    """The ranking as a fixed-width table."""
    areas = list(scores["provinces"][0]["areas"]) if scores["provinces"] else []
    head = (
        f"{'rank':>4}  {'code':6}  {'unit':<12}{'total':>8}"
        + "".join(f"{a[:12]:>14}" for a in areas)
        + f"{'bonus':>7}  flags"
    )
    lines = [
        f"cycle {scores['cycle']}  run {scores['run_id']}  scheme v{scores['scheme_version']}"
        f"{'  (provisional)' if scores['provisional'] else ''}",
        head,
    ]
    for p in scores["provinces"]:
        name = p["name"][:6]
        lines.append(
            f"{p['rank']:>4}  {p['province']:6}  {name}{'　' * (6 - len(name))}{p['total']:>8.2f}"
            + "".join(f"{p['areas'].get(a, 0):>14.2f}" for a in areas)
            + f"{p['bonus']:>7.1f}  {', '.join(f['kind'] for f in p['flags'])}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 ≈ 3,200 filings; tests use 0.02")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--workers", type=int, default=4, help="parallel clients (default 4)")
    parser.add_argument(
        "--events-per-batch",
        type=int,
        default=MAX_EVENTS_PER_REQUEST,
        help=f"views per POST /events (≤{MAX_EVENTS_PER_REQUEST})",
    )
    parser.add_argument("--publish", action="store_true", help="publish the run when the cycle has closed")
    parser.add_argument("--export", help="also write the run as .csv or .xlsx to this path")
    parser.add_argument(
        "--store",
        help="the stack's embedded DynamoDB, to recount against at the end "
        "(default: the API's port + 1 on this machine, as make run serves it; 'none' to skip)",
    )
    args = parser.parse_args(argv)
    scores = rehearse(
        args.url,
        args.scale,
        args.seed,
        args.workers,
        args.publish,
        args.export,
        events_per_batch=max(1, min(MAX_EVENTS_PER_REQUEST, args.events_per_batch)),
        store=_store(args.url, args.store),
    )
    return 0 if scores.get("recount_clean", True) else 1


def _store(url: str, given: str | None) -> str | None:
    """The embedded store next to a local API (make run serves it on the API's port + 1)."""
    if given:
        return None if given == "none" else given
    parts = urlsplit(url)
    if parts.hostname in ("127.0.0.1", "localhost") and parts.port:
        return f"{parts.scheme}://{parts.hostname}:{parts.port + 1}"
    return None


if __name__ == "__main__":
    sys.exit(main())
