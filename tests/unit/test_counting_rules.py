"""Pure counting rules for clicks: judged from the event's stored place alone."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.core.clock import parse_instant
from chalicelib.usage import counting_rules

AT = parse_instant("2024-05-15T10:59:50+08:00")


def _event(at=AT, prev_at=None, **extra):
    return {
        "entity": "event",
        "type": "view",
        "filing": "f1",
        "user": "reader",
        "province": "320000",
        "at": at,
        "prev_at": prev_at,
        "seq": 2 if prev_at else 1,
        **extra,
    }


def test_the_first_click_of_a_chain_counts_total_and_unique():
    assert counting_rules.event_values("view", AT, None) == {"views_total": 1, "views_unique": 1}


def test_a_click_within_30_seconds_of_the_one_before_counts_nothing():
    assert counting_rules.event_values("download", AT, AT - timedelta(seconds=30)) == {}


def test_a_click_after_31_seconds_counts_total_but_not_unique_in_the_same_china_hour():
    assert counting_rules.event_values("view", AT, AT - timedelta(seconds=31)) == {"views_total": 1}


def test_a_click_in_the_next_china_hour_is_unique_even_within_30_seconds():
    assert counting_rules.event_values("view", AT + timedelta(seconds=15), AT) == {"views_unique": 1}


def test_robots_and_own_staff_never_count():
    assert counting_rules.event_contribution(_event(robot=True)) == {}
    assert counting_rules.event_contribution(_event(author=True)) == {}


def test_a_counted_click_is_account_activity_on_its_unit_without_minute_buckets():
    deltas = counting_rules.event_contribution(_event())
    assert deltas[counting_rules.account_units_key("reader")] == {
        counting_rules.unit_name("2024", "320000"): 1
    }
    assert not any(k[0].startswith("ACCT#") for k in deltas)  # per-minute items stay bounded


BASE = "service_bases#SB-1"


def test_an_attributed_click_counts_for_its_unit_per_month_and_as_its_readers_activity_there():
    deltas = counting_rules.event_contribution(_event(attributed_to=BASE))
    clicks = {"views_total": 1, "views_unique": 1}
    assert deltas[counting_rules.unit_month_key(BASE, "2024-05")] == clicks
    assert deltas[counting_rules.unit_cycle_key(BASE, "2024")] == clicks
    assert deltas[counting_rules.account_units_key("reader")] == {
        "2024#320000": 1,
        "2024#UNIT#service_bases#SB-1": 1,
    }
    assert not any(k[0].startswith("ACCT#") for k in deltas)


def test_a_click_on_an_unattributed_result_writes_the_counters_it_always_wrote():
    deltas = counting_rules.event_contribution(_event())
    filing_pk = counting_rules.filing_key("f1")[0]
    outside = {
        counting_rules.cycle_key("320000", "2024"),
        counting_rules.province_month_key("320000", "2024-05"),
        counting_rules.account_units_key("reader"),
    }
    assert set(deltas) == {
        counting_rules.filing_key("f1"),
        counting_rules.item_month_key("filing", "f1", AT),
        *outside,
        *(counting_rules.mirror_key(filing_pk, k) for k in outside),
    }


def _comment(**extra):
    return {
        "entity": "comment",
        "id": "c1",
        "filing": "f1",
        "user": "reader",
        "province": "320000",
        "created_at": AT,
        **extra,
    }


def test_hiding_a_comment_takes_back_exactly_what_it_added():
    shown, hidden = _comment(), _comment(hidden_at=AT + timedelta(hours=1))
    assert counting_rules.state_contribution(hidden) == {}
    added = counting_rules.state_change(None, shown)
    taken = counting_rules.state_change(shown, hidden)
    for key, values in added.items():
        assert taken[key] == {name: -value for name, value in values.items()}


def test_a_publication_comment_counts_on_the_publication_and_as_publication_activity_of_its_province():
    deltas = counting_rules.state_contribution({**_comment(filing=None), "publication": "p1"})
    assert deltas[counting_rules.publication_key("p1")] == {"comments": 1}
    assert deltas[counting_rules.cycle_key("320000", "2024")] == {"publication_comments": 1}
    assert (
        counting_rules.filing_key("f1") not in deltas
        and counting_rules.account_units_key("reader") not in deltas
    )


def test_scope_is_judged_on_the_completion_date_against_the_cycles_china_dates():
    from chalicelib.core.cycles import cycle_by_id
    from chalicelib.documents import filings

    cycle = cycle_by_id("2021-2023")
    assert (
        filings.scope_reason("2021-01-01", cycle) is None
        and filings.scope_reason("2023-09-30", cycle) is None
    )
    assert "before" in filings.scope_reason("2020-12-31", cycle)
    assert "after" in filings.scope_reason("2023-10-01", cycle)
    assert filings.scope_reason(None, cycle) is None


def test_an_approved_filing_out_of_scope_adds_only_its_out_of_scope_count():
    image = {
        "entity": "filing",
        "status": "approved",
        "kind": "report",
        "province": "320000",
        "cycle": "2024",
        "filed_at": AT,
        "completed_on": "2022-06-01",
        "funding_amount": 5,
        "fiscal_funded": True,
    }
    assert counting_rules.state_contribution(image) == {
        counting_rules.cycle_key("320000", "2024"): {"filings_approved_out_of_scope": 1}
    }


def test_a_trigger_batch_is_cut_into_transactions_of_at_most_the_dynamodb_limit():
    from chalicelib.usage.running_counters import MAX_TRANSACTION_ITEMS, Delivery, _chunks

    deliveries = [
        Delivery(f"m{i}", {(f"P{i}", f"S{k}"): {"n": 1} for k in range(i % 9)}, ("filing", f"FILING#{i}"))
        for i in range(300)
    ]
    chunks = list(_chunks(deliveries))
    for chunk in chunks:  # a marker each, the distinct counters, a check per record
        writes = {key for d in chunk for key in d.deltas} | {d.record for d in chunk}
        assert len(chunk) + len(writes) <= MAX_TRANSACTION_ITEMS
    assert [d for chunk in chunks for d in chunk] == deliveries
