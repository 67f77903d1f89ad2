"""Monitoring use: interaction events, their counting order and rules, exactly-once counters, stats
and COUNTER usage reports."""
