"""The registry of usage metrics: each is declared once here, and everything that names one derives from it.

An event kind (a view, a download) names its counters (`<field>_total`, `<field>_unique`, by COUNTER's
double-click and user-hour rules in counting_rules.py), its COUNTER metric types and its stats field, and
whether clients post it (POST /events) or the platform records it itself. A like, a favourite and a comment
name one counter each, which is also their stats field; evaluations and application updates name theirs.
The counting rules, the request model of POST /events, the stats documents, the COUNTER reports and SUSHI,
the scheme's counter inputs and the recount all read `REGISTRY`, so a new metric is one entry here plus,
for a kind of fact the rules do not know yet, its rule in counting_rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chalicelib.core.vocabulary import SIDES


@dataclass(frozen=True)
class EventMetric:
    """One kind of usage event (its stored `type`), counted total and unique."""

    kind: str
    field: str  # the stats field and the counters' stem: views -> views_total, views_unique
    report_metric: (
        str  # the COUNTER metric types' stem: Item_Investigations -> Total_Item_Investigations, ...
    )
    from_client: bool  # POST /events takes it; else the platform records it when it serves the record
    recorded_by: str = ""  # where the platform records it (what a client sending one is told)

    @property
    def total(self) -> str:
        return f"{self.field}_total"

    @property
    def unique(self) -> str:
        return f"{self.field}_unique"

    @property
    def counters(self) -> tuple[str, str]:
        return self.total, self.unique

    @property
    def report_metrics(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """(COUNTER metric type, counter name) of its total and its unique count."""
        return (f"Total_{self.report_metric}", self.total), (f"Unique_{self.report_metric}", self.unique)


@dataclass(frozen=True)
class Registry:
    """Every usage metric, in the order the stats documents and the reports show them."""

    events: tuple[EventMetric, ...]
    reactions: tuple[tuple[str, str], ...]  # (reaction kind, counter name): held while active
    comments: str  # the counter of comments held on a record (neither deleted nor hidden)
    application_updates: str  # states of the application progression earned with proof
    evaluations: str  # evaluations given, with their score sum (`score_sum`) and both per side
    evaluation_score_sum: str
    publication_prefix: str  # a publication's usage in its province's counters: publication_views_total...

    def event(self, kind: str) -> EventMetric:
        """The metric of an event kind (KeyError for a kind no entry declares)."""
        return {m.kind: m for m in self.events}[kind]

    def reaction(self, kind: str) -> str:
        return dict(self.reactions)[kind]

    @property
    def event_kinds(self) -> tuple[str, ...]:
        return tuple(m.kind for m in self.events)

    @property
    def client_kinds(self) -> tuple[str, ...]:
        return tuple(m.kind for m in self.events if m.from_client)

    @property
    def event_counters(self) -> tuple[str, ...]:
        return tuple(name for m in self.events for name in m.counters)

    @property
    def held(self) -> tuple[str, ...]:
        """The counters of what users hold on filings and publications alike (likes, favourites, comments)."""
        return (*(name for _, name in self.reactions), self.comments)

    def evaluations_of(self, side: str) -> str:
        return f"{self.evaluations}_{side}"

    def evaluation_score_sum_of(self, side: str) -> str:
        return f"{self.evaluation_score_sum}_{side}"

    @property
    def evaluation_counters(self) -> tuple[str, ...]:
        return (
            self.evaluations,
            self.evaluation_score_sum,
            *(self.evaluations_of(s) for s in SIDES),
            *(self.evaluation_score_sum_of(s) for s in SIDES),
        )

    @property
    def usage_counters(self) -> tuple[str, ...]:
        """Every usage counter of a filing, also kept per province × cycle and month (scheme inputs)."""
        return (*self.event_counters, *self.held, self.application_updates, *self.evaluation_counters)

    @property
    def account_activity(self) -> tuple[str, ...]:
        """What counts as an account's activity on a unit (the burst and swarm checks): what it holds and
        the evaluations it gives. Views and downloads are not per account: a reader's clicks are no swarm."""
        return (*self.held, self.evaluations)

    @property
    def publication_usage_counters(self) -> tuple[str, ...]:
        """A province's counters of its publications' usage: events and what users hold on them."""
        return tuple(self.publication_prefix + name for name in (*self.event_counters, *self.held))

    @property
    def report_metrics(self) -> tuple[tuple[str, str], ...]:
        """(COUNTER metric type, counter name) of every event metric, in report order."""
        return tuple(pair for m in self.events for pair in m.report_metrics)


VIEW, DOWNLOAD = "view", "download"

REGISTRY = Registry(
    events=(
        # COUNTER R5.1: a view is an investigation, a download a request (the contract's v2 names).
        EventMetric(VIEW, "views", "Item_Investigations", from_client=True),
        EventMetric(
            DOWNLOAD,
            "downloads",
            "Item_Requests",
            from_client=False,
            recorded_by="GET /filings/{id}/files/{file_id}",
        ),
    ),
    reactions=(("like", "likes"), ("favorite", "favorites")),
    comments="comments",
    application_updates="application_updates",
    evaluations="evaluations",
    evaluation_score_sum="evaluation_score_sum",
    publication_prefix="publication_",
)

# What POST /events takes (its request model and OpenAPI enum), built from the registry when imported.
ClientEventType = Literal[REGISTRY.client_kinds]  # type: ignore[valid-type]
