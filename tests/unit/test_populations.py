"""Attribution counts are a pure function of the filing image; the usage of an attributed result counts for
its unit per cycle, per month and per account, as a province's does."""

from __future__ import annotations

from chalicelib.core import pseudonyms
from chalicelib.core.clock import parse_instant
from chalicelib.usage import counting_rules

BASE = "service_bases#SB-1"
AT = parse_instant("2024-05-15T10:00:00+08:00")
MINUTE = counting_rules.minute_name(AT)


def test_attribution_counts_are_a_pure_function_of_the_filing_image():
    image = {
        "entity": "filing",
        "status": "approved",
        "province": "320000",
        "cycle": "2024",
        "kind": "tool",
        "filed_at": "2024-01-01T00:00:00.000000+0000",
        "attributed_to": "service_bases#SB-1",
    }
    moved = counting_rules.state_change(image, {**image, "attributed_to": "service_bases#SB-2"})
    assert moved[counting_rules.unit_cycle_key("service_bases#SB-1", "2024")]["filings_approved"] == -1
    assert moved[counting_rules.unit_cycle_key("service_bases#SB-2", "2024")]["filings_approved"] == 1
    assert counting_rules.cycle_key("320000", "2024") not in moved


def test_a_units_counters_share_its_partition_and_its_accounts_name_it_apart_from_any_province():
    unit = counting_rules.unit_pk(BASE)
    assert unit == "UNIT#service_bases#SB-1"
    assert counting_rules.unit_cycle_key(BASE, "2024") == (unit, "CYCLE#2024")
    assert counting_rules.unit_month_key(BASE, "2024-05") == (unit, "MONTH#2024-05")
    assert counting_rules.account_key(unit, "2024", "u") == ("ACCT#UNIT#service_bases#SB-1#2024", "u")
    assert counting_rules.unit_of(counting_rules.unit_name("2024", unit)) == ("2024", unit)
    assert counting_rules.registered_unit(unit) and not counting_rules.registered_unit("320000")


def _evaluation(**extra):
    return {
        "entity": "evaluation",
        "filing": "f1",
        "user": "reader",
        "side": "enterprise",
        "province": "320000",
        "score": 5,
        "updated_at": AT,
        **extra,
    }


def test_an_attributed_evaluation_counts_on_the_units_account_item_with_its_minute():
    deltas = counting_rules.state_contribution(_evaluation(attributed_to=BASE))
    account = pseudonyms.of("reader", "2024")
    given = {"evaluations": 1, "evaluation_score_sum": 5, MINUTE: 1}
    assert deltas[counting_rules.account_key(counting_rules.unit_pk(BASE), "2024", account)] == given
    assert deltas[counting_rules.account_key("320000", "2024", account)] == given
    assert deltas[counting_rules.unit_month_key(BASE, "2024-05")]["evaluation_score_sum"] == 5
    # every counter outside the filing is mirrored under it, so an excluding takedown takes these back too
    filing_pk = counting_rules.filing_key("f1")[0]
    outside = [k for k in deltas if k[0] != filing_pk]
    assert all(counting_rules.mirror_key(filing_pk, k) in deltas for k in outside)
