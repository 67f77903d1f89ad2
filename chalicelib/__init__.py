"""The patent-navigation evaluation domain: filings, interactions, counters, scoring."""
