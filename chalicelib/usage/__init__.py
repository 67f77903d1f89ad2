"""Monitoring use: interaction events, their counting order and rules, exactly-once counters, stats, COUNTER reports."""
