"""The operator's recount finds drift per counter and repairs it."""

from __future__ import annotations

from chalicelib.core.models import Counter
from chalicelib.usage import running_counters
from scripts import recount
from tests.conftest import auth
from tests.support import approved_filing
from tests.support.usage import events


def test_recount_reports_drift_per_counter_and_repair_sets_it_right(pipeline, capsys):
    client, settle, _ = pipeline
    filing = approved_filing(client)
    client.post("/events", events(filing["id"], n=3), headers=auth(sub="r", role="user"))
    settle()
    assert recount.main([]) == 0
    Counter(f"FILING#{filing['id']}", "STATS").update(actions=[Counter.n["views_total"].add(5)])
    Counter("PROV#110000", "CYCLE#2024", n={"likes": 2}).save()

    assert recount.main([]) == 1
    out = capsys.readouterr().out
    assert f"FILING#{filing['id']} STATS views_total: kept 6, facts say 1 (-5)" in out
    assert "PROV#110000 CYCLE#2024 likes: kept 2, facts say 0 (-2)" in out

    assert recount.main(["--repair"]) == 0
    assert running_counters.drift() == []
