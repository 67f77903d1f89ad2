"""Attribution counts are a pure function of the filing image."""

from __future__ import annotations

from chalicelib.usage import counting_rules


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
