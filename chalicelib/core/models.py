"""PynamoDB models for the three tables.

- facts: what users and units did (filings, publications, events, reactions, comments,
  evaluations, application changes). Its stream drives the counters and the push feed.
- counters: running counters and the stream's dedup markers. No stream: a trigger
  writing here never triggers itself.
- records: everything else that is kept (audit trail, annual forms, scoring schemes and
  runs, adjustments, subscriptions, feeds, excellence selection).

Table names and the endpoint come from Settings via `bind`; the key schemas declared
here are the single source that infra/ deploys and local runs create.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.config import Settings


def _index(name: str, hash_attr: str, range_attr: str) -> type[GlobalSecondaryIndex]:
    """A string-keyed GSI projecting everything; shared by the models of one table."""
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    return type(
        f"{name.title()}Index",
        (GlobalSecondaryIndex,),
        {
            "Meta": meta,
            hash_attr: UnicodeAttribute(hash_key=True),
            range_attr: UnicodeAttribute(range_key=True),
        },
    )


class _Base(Model):
    class Meta:
        table_name = "unbound"
        region = "cn-north-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


# ---- facts -------------------------------------------------------------------------


class FactBase(_Base):
    """Common keys of the facts table; `entity` tells the stream handler what it is."""

    class Meta(_Base.Meta):
        pass

    entity = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)


ByGroup = _index("gsi1", "gsi1pk", "gsi1sk")
ByStatus = _index("gsi2", "gsi2pk", "gsi2sk")
ByAll = _index("gsi3", "gsi3pk", "gsi3sk")


class Filing(FactBase):
    """A filed result (备案): report, thematic database, tool or proof of application."""

    class Meta(FactBase.Meta):
        pass

    by_province = ByGroup()
    by_status = ByStatus()
    by_time = ByAll()

    id = UnicodeAttribute()
    kind = UnicodeAttribute()
    title = UnicodeAttribute()
    province = UnicodeAttribute()
    unit = UnicodeAttribute()
    industry = UnicodeAttribute()
    report_type = UnicodeAttribute(null=True)
    fiscal_funded = BooleanAttribute(default=False)
    summary = UnicodeAttribute(null=True)
    proves = UnicodeAttribute(null=True)
    access_url = UnicodeAttribute(null=True)  # a database's or tool's address
    status = UnicodeAttribute()
    filed_at = UTCDateTimeAttribute()
    cycle = UnicodeAttribute()
    author = UnicodeAttribute()
    reviewed_at = UTCDateTimeAttribute(null=True)
    reviewed_by = UnicodeAttribute(null=True)
    review_note = UnicodeAttribute(null=True)
    first_approved_at = UTCDateTimeAttribute(null=True)
    application_status = UnicodeAttribute(null=True)
    application_reached = NumberAttribute(default=0)  # furthest progression state earned, by index
    attributed_to = UnicodeAttribute(
        null=True
    )  # "<population>#<unit code>" beyond its province (populations.py)
    # Scope (filings.in_scope): China dates "YYYY-MM-DD", the funding (投入) in yuan, and the project's number
    # in its province's list of fiscally funded projects (funded_projects.py).
    completed_on = UnicodeAttribute(null=True)
    project_start = UnicodeAttribute(null=True)
    project_end = UnicodeAttribute(null=True)
    funding_source = UnicodeAttribute(null=True)
    funding_amount = NumberAttribute(null=True)
    funded_project = UnicodeAttribute(null=True)
    revision = NumberAttribute(default=1)  # the version the province submitted last (documents.revise)
    proposed = JSONAttribute(null=True)  # a change to an approved record, waiting for review
    taken_down_at = UTCDateTimeAttribute(
        null=True
    )  # lifecycle.take_down: out of public view, with its reason
    takedown_reason = UnicodeAttribute(null=True)
    excluded_from_scoring = BooleanAttribute(default=False)  # a takedown that also takes it out of the counts
    versions = JSONAttribute(null=True)  # the approved versions, oldest first (lifecycle.approved_versions)
    version = VersionAttribute()


class Publication(FactBase):
    """News, notice, policy document or navigation info published by a unit."""

    class Meta(FactBase.Meta):
        pass

    by_province = ByGroup()
    by_status = ByStatus()
    by_time = ByAll()

    id = UnicodeAttribute()
    kind = UnicodeAttribute()
    title = UnicodeAttribute()
    province = UnicodeAttribute()
    body = UnicodeAttribute()
    status = UnicodeAttribute()
    filed_at = UTCDateTimeAttribute()
    cycle = UnicodeAttribute()
    author = UnicodeAttribute()
    reviewed_at = UTCDateTimeAttribute(null=True)
    reviewed_by = UnicodeAttribute(null=True)
    review_note = UnicodeAttribute(null=True)
    revision = NumberAttribute(default=1)  # the version the province submitted last (documents.revise)
    proposed = JSONAttribute(null=True)  # a change to an approved record, waiting for review
    taken_down_at = UTCDateTimeAttribute(
        null=True
    )  # lifecycle.take_down: out of public view, with its reason
    takedown_reason = UnicodeAttribute(null=True)
    excluded_from_scoring = BooleanAttribute(default=False)  # a takedown that also takes it out of the counts
    versions = JSONAttribute(null=True)  # the approved versions, oldest first (lifecycle.approved_versions)
    version = VersionAttribute()


class ApplicationUpdate(FactBase):
    """One change of how a filed result is applied (成果应用情况变更); never overwritten."""

    class Meta(FactBase.Meta):
        pass

    id = UnicodeAttribute()
    filing = UnicodeAttribute()
    province = UnicodeAttribute()
    status = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    by = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    proof = UnicodeAttribute(null=True)
    earned = BooleanAttribute(default=False)  # decided when stored, so the counters only read this fact


class UsageEvent(FactBase):
    """A view or download request, keyed by (user, event id) so a resend is a duplicate.

    Views come from clients (their event id); downloads are recorded by the platform when it
    serves a file (an id of its own). A counted event holds its place in its chain (same
    type, user and filing or publication), given when
    it was stored and never changed: `seq` (1, 2, ...) and `prev_at`, the time of the chain's
    event before it (absent for the first). Double clicks and uniques are judged from that
    place alone, so no event stored later can precede it (see event_chains.py).
    """

    class Meta(FactBase.Meta):
        pass

    id = UnicodeAttribute()
    type = UnicodeAttribute()
    filing = UnicodeAttribute(null=True)  # exactly one of filing, publication (counting_rules.TARGETS)
    publication = UnicodeAttribute(null=True)
    file = UnicodeAttribute(null=True)  # a download: the attachment the platform served
    user = UnicodeAttribute()  # the pseudonym in the event's cycle (core/pseudonyms.py), never the user id
    at = UTCDateTimeAttribute()
    province = UnicodeAttribute()
    user_agent = UnicodeAttribute(null=True)  # no longer written: `agent_family` and `robot` are what is kept
    agent_family = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL (epoch seconds): event_chains.retention_end
    robot = BooleanAttribute(default=False)
    author = BooleanAttribute(default=False)
    # The service base or institution the filing is attributed to ("<population>#<code>"), copied
    # when stored: attribution is fixed once a filing is approved, so it also counts there.
    attributed_to = UnicodeAttribute(null=True)
    seq = NumberAttribute(null=True)
    prev_at = UTCDateTimeAttribute(null=True)


class ChainHead(FactBase):
    """The last place given in one chain: its `seq` and the time of its latest event.

    Written in the same transaction as the events that take the places after it,
    conditional on the `seq` read before, so two writers can never give one place twice.
    """

    class Meta(FactBase.Meta):
        pass

    seq = NumberAttribute()
    last_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute(null=True)  # TTL, as its events'


class Reaction(FactBase):
    """A user's like or favorite on a filing or a publication: present while `active`."""

    class Meta(FactBase.Meta):
        pass

    by_user = ByAll()  # gsi3: the user's reactions, comments and evaluations (GET/DELETE /me/data)

    kind = UnicodeAttribute()
    filing = UnicodeAttribute(null=True)  # exactly one of filing, publication (counting_rules.TARGETS)
    publication = UnicodeAttribute(null=True)
    user = UnicodeAttribute()  # the pseudonym in the record's cycle (one per user and record), never the id
    account = UnicodeAttribute(null=True)  # the pseudonym in the cycle of `since` (per-account counters)
    province = UnicodeAttribute()
    active = BooleanAttribute()
    since = UTCDateTimeAttribute()
    changed_at = UTCDateTimeAttribute()
    author = BooleanAttribute(default=False)


class Comment(FactBase):
    """A comment on a filing or a publication; deleting sets `deleted_at` so the record stays for audit."""

    class Meta(FactBase.Meta):
        pass

    by_user = ByAll()

    id = UnicodeAttribute()
    filing = UnicodeAttribute(null=True)  # exactly one of filing, publication (counting_rules.TARGETS)
    publication = UnicodeAttribute(null=True)
    user = UnicodeAttribute()  # the pseudonym in the record's cycle, never the id
    account = UnicodeAttribute(null=True)  # the pseudonym in the cycle of `created_at` (per-account counters)
    cycle = UnicodeAttribute(null=True)  # the record's cycle: whose pseudonym `user` is
    author_name = UnicodeAttribute(null=True)  # the public display name (pseudonyms.display_name)
    province = UnicodeAttribute()
    text = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    deleted_at = UTCDateTimeAttribute(null=True)
    deleted_by = UnicodeAttribute(null=True)  # the deleter's pseudonym (its author or a national admin)
    hidden_at = UTCDateTimeAttribute(
        null=True
    )  # a moderator hid it (interactions.hide_comment): not shown, not counted
    hidden_by = UnicodeAttribute(null=True)  # the moderator's pseudonym (the audit entry names them)
    hidden_reason = UnicodeAttribute(null=True)
    reports = NumberAttribute(default=0)  # users who reported it (one report each, kept in the records table)
    author = BooleanAttribute(default=False)


class Evaluation(FactBase):
    """One user's online evaluation of a filing; a second PUT replaces it.

    One with feedback is indexed on by_province (feedback.py) so the filing's province reads it.
    """

    class Meta(FactBase.Meta):
        pass

    by_province = ByGroup()
    by_user = ByAll()
    industry = UnicodeAttribute(null=True)

    filing = UnicodeAttribute()
    user = UnicodeAttribute()  # the pseudonym in the filing's cycle (one evaluation per user), never the id
    account = UnicodeAttribute(null=True)  # the pseudonym in the cycle of `updated_at` (per-account counters)
    side = UnicodeAttribute()
    province = UnicodeAttribute()
    score = NumberAttribute()
    feedback = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    author = BooleanAttribute(default=False)
    attributed_to = UnicodeAttribute(null=True)  # as on UsageEvent: its unit counts it too


# ---- counters ----------------------------------------------------------------------


class Counter(_Base):
    """A bag of running numbers under one key (per filing, province×month, province×cycle).

    Numbers live in the `n` map so a single UpdateItem can ADD any subset of them.
    """

    class Meta(_Base.Meta):
        pass

    n = MapAttribute(default=dict)
    expires_at = NumberAttribute(null=True)


# ---- records -----------------------------------------------------------------------


class RecordBase(_Base):
    class Meta(_Base.Meta):
        pass

    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)


RecordsByGroup = _index("gsi1", "gsi1pk", "gsi1sk")


class AuditEntry(RecordBase):
    """Who changed what and when; written in the same transaction as the change."""

    class Meta(RecordBase.Meta):
        pass

    entity = UnicodeAttribute()
    entity_id = UnicodeAttribute()
    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    role = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    data = JSONAttribute(null=True)


class Attachment(RecordBase):
    """A file of a filing or publication, registered once its upload was checked (attachments.py)."""

    class Meta(RecordBase.Meta):
        pass

    id = UnicodeAttribute()
    owner = UnicodeAttribute()  # "filing" | "publication"
    owner_id = UnicodeAttribute()
    province = UnicodeAttribute()
    purpose = UnicodeAttribute()
    name = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    sha256 = UnicodeAttribute()
    object_key = UnicodeAttribute()
    state = UnicodeAttribute()  # "uploading" until checked, then "stored"
    created_at = UTCDateTimeAttribute()
    stored_at = UTCDateTimeAttribute(null=True)
    by = UnicodeAttribute()
    proposal = UnicodeAttribute(
        null=True
    )  # added with this proposed revision of an approved record (else: before approval)
    revision = NumberAttribute(null=True)  # that proposal's revision number
    replaces = UnicodeAttribute(null=True)  # the file of the record it supersedes from its version on


class Quota(RecordBase):
    """A bound's bookkeeping (core/quotas.py): a tally, or one slot held until released or expired."""

    class Meta(RecordBase.Meta):
        pass

    used = NumberAttribute(null=True)  # a tally: how many were created
    holder = UnicodeAttribute(null=True)  # a slot: what holds it
    expires_at = UTCDateTimeAttribute(null=True)  # a slot: free again from this instant


class Record(RecordBase):
    """A document kept in the records table: `kind` names it, `data` holds it."""

    class Meta(RecordBase.Meta):
        pass

    by_group = RecordsByGroup()

    kind = UnicodeAttribute()
    data = JSONAttribute()
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()


FACT_MODELS = (Filing, Publication, ApplicationUpdate, UsageEvent, ChainHead, Reaction, Comment, Evaluation)
RECORD_MODELS = (AuditEntry, Attachment, Quota, Record)
TABLES = {
    "facts": (FactBase, (ByGroup, ByStatus, ByAll)),
    "counters": (Counter, ()),
    "records": (RecordBase, (RecordsByGroup,)),
}


def table_name(settings: Settings, table: str) -> str:
    return {
        "facts": settings.facts_table,
        "counters": settings.counters_table,
        "records": settings.records_table,
    }[table]


def bind(settings: Settings) -> None:
    """Point every model at the stage's tables and endpoint (drops cached connections)."""
    groups = {
        "facts": (FactBase, *FACT_MODELS),
        "counters": (Counter,),
        "records": (RecordBase, *RECORD_MODELS),
    }
    for table, models in groups.items():
        for model in models:
            model.Meta.table_name = table_name(settings, table)
            model.Meta.host = settings.dynamodb_endpoint
            model.Meta.region = settings.region
            model._connection = None
            for index in model._indexes.values() if hasattr(model, "_indexes") else ():
                index._connection = None
