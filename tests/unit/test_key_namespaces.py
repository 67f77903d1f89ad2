"""Keys built from caller-chosen values (subs, ids) never meet another namespace: each caller part
stays one component of its key (core/keys.py escapes the separator), so a key decodes back to its
namespace and its parts, and no key starts with another namespace's fixed prefix."""

from __future__ import annotations

from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core import keys
from chalicelib.core.reference import PROVINCES
from chalicelib.core.vocabulary import ROLES
from chalicelib.documents import notifications
from chalicelib.selection import excellence, home_provinces, organisations, subscriptions, workflow
from chalicelib.usage import counting_rules, event_chains

# Text that tries hard: separators, the escape, other namespaces' words, and anything at all.
HOSTILE = st.lists(
    st.sampled_from(["#", "%", "%23", "%25", "ROLE", "province_admin", "320000", "a"]) | st.characters(),
    max_size=8,
).map("".join)
ID = st.text("abcdef0123456789-", min_size=1, max_size=12)  # ids the platform mints or the path format admits


def flat(key) -> tuple[str, ...]:
    """A key (a pk, or a (pk, sk) pair) as its components, the sort key after a marker component."""
    pk, sk = (key, None) if isinstance(key, str) else key
    return tuple(pk.split("#")) + (("|",) + tuple(sk.split("#")) if sk is not None else ())


# namespace -> (strategy of its arguments, key function, what the key's components must decode to)
NAMESPACES = {
    "note": (st.tuples(HOSTILE), notifications.pk, lambda u: ("NOTE", u)),
    "role_note": (
        st.tuples(st.sampled_from(ROLES), st.sampled_from(sorted(PROVINCES))),
        notifications.role_pk,
        lambda r, p: ("NOTE", "ROLE", r, p),
    ),
    "account": (st.tuples(HOSTILE), counting_rules.account_units_key, lambda u: ("ACCOUNT", u, "|", "UNITS")),
    "event": (st.tuples(HOSTILE, HOSTILE), event_chains.event_key, lambda u, e: ("EVENT", u, e, "|", "A")),
    "chain": (
        st.tuples(HOSTILE, st.sampled_from(["view", "download"]), HOSTILE),
        lambda t, k, u: event_chains.chain_key("filing", t, k, u),
        lambda t, k, u: ("CHAIN", t, k, u, "|", "HEAD"),
    ),
    "subscriptions": (st.tuples(HOSTILE), subscriptions.doc_key, lambda u: ("USER", u, "|", "SUBSCRIPTIONS")),
    "feed": (st.tuples(HOSTILE), subscriptions.feed_pk, lambda u: ("FEED", u)),
    "assignment": (
        st.tuples(st.just("2024"), ID, HOSTILE),
        workflow.assignment_key,
        lambda c, f, e: ("ASSIGN", c, "|", f, e),
    ),
    "member": (st.tuples(HOSTILE), organisations.member_key, lambda s: ("MEMBER", s, "|", "ORG")),
    "home": (st.tuples(HOSTILE), home_provinces.key, lambda s: ("EVALUATOR", s, "|", "HOME")),
    "expert_score": (
        st.tuples(st.just("2024"), ID, HOSTILE),
        excellence.score_key,
        lambda c, f, e: ("EXPERTSCORE", c, "|", f, e),
    ),
    "expert_fields": (st.tuples(HOSTILE), excellence.fields_key, lambda e: ("EXPERT", e, "|", "FIELDS")),
}
ANY_KEY = st.sampled_from(sorted(NAMESPACES)).flatmap(
    lambda ns: NAMESPACES[ns][0].map(lambda args: (ns, args))
)


def build(ns: str, args: tuple):
    return NAMESPACES[ns][1](*args)


@settings(max_examples=200, deadline=None)
@given(ANY_KEY)
def test_every_caller_part_stays_one_component_of_its_key(drawn):
    ns, args = drawn
    components = flat(build(ns, args))
    assert tuple(unquote(c) for c in components) == NAMESPACES[ns][2](*args)


@settings(max_examples=200, deadline=None)
@given(ANY_KEY, ANY_KEY)
def test_two_different_inputs_never_share_a_key(a, b):
    if a != b:
        assert build(*a) != build(*b)


# The fixed leading part of each namespace's partition key, before any caller-chosen component.
PREFIXES = {
    "note": "NOTE#",
    "role_note": "NOTE#ROLE#",
    "account": "ACCOUNT#",
    "event": "EVENT#",
    "chain": "CHAIN#",
    "subscriptions": "USER#",
    "feed": "FEED#",
    "assignment": "ASSIGN#",
    "member": "MEMBER#",
    "home": "EVALUATOR#",
    "expert_score": "EXPERTSCORE#",
    "expert_fields": "EXPERT#",
}


@settings(max_examples=150, deadline=None)
@given(ANY_KEY)
def test_no_key_starts_with_another_namespaces_fixed_prefix(drawn):
    ns, args = drawn
    key = build(ns, args)
    pk = key if isinstance(key, str) else key[0]
    for other, prefix in PREFIXES.items():
        if other != ns and len(prefix) > len(PREFIXES[ns]):
            assert not pk.startswith(prefix), (ns, args, other)


def test_a_sub_spelling_the_role_audience_keys_its_own_notes():
    assert notifications.pk("ROLE#province_admin#320000") != notifications.role_pk("province_admin", "320000")
    assert notifications.pk("ROLE#province_admin#320000") == "NOTE#ROLE%23province_admin%23320000"


def test_ordinary_subs_and_ids_keep_their_stored_key_format():
    assert keys.part("3f2a9c1e-0b7d-4a2e-9a51-0c1d2e3f4a5b") == "3f2a9c1e-0b7d-4a2e-9a51-0c1d2e3f4a5b"
    assert notifications.pk("filer-320000") == "NOTE#filer-320000"
