"""Selection helpers: evaluated filings nominated in a cycle, and organisations registered with a
member who joined by invitation."""
from __future__ import annotations

from chalicelib.usage import counters
from chalicelib.usage.counting import filing_key
from tests.conftest import auth
from tests.support import approved_filing

ADMIN = dict(sub="admin", role="national_admin")  # token claims here, not headers as in support.scoring
CYCLE = "2024"  # DEFAULT_NOW 2024-05-15 lies in cycle 2024


def evaluated(client, n=3, total=None, **over):
    """An approved filing with `n` counted evaluations (counters seeded directly)."""
    filing = approved_filing(client, **over)
    numbers = {"evaluations": n, "evaluation_score_sum": total if total is not None else 4 * n}
    if n:
        numbers.update({"evaluations_enterprise": n, "evaluation_score_sum_enterprise": numbers["evaluation_score_sum"]})
    counters.seed(*filing_key(filing["id"]), numbers)
    return filing


def nominate(client, filing_id, cycle=CYCLE, who=ADMIN, **extra):
    """Nominate the filing as a candidate of the cycle (as a national admin unless told otherwise)."""
    return client.post(f"/cycles/{cycle}/candidates", {"filing": filing_id, **extra}, headers=auth(**who))


# ---- organisations ---------------------------------------------------------------------------

MEMBER = dict(sub="ent-user", role="user", side="government")  # the token's side loses to the organisation's
ENTERPRISE = {"kind": "demonstration_enterprise", "name": "某新能源汽车股份有限公司", "industries": ["5", "6"]}


def register(client, body=ENTERPRISE, who=ADMIN):
    """Register an organisation (the answer, whatever its status)."""
    return client.post("/organisations", body, headers=auth(**who))


def invitation(client, org_id, who=ADMIN, **body):
    """A fresh invitation to the organisation."""
    answer = client.post(f"/organisations/{org_id}/invitations", body, headers=auth(**who))
    assert answer.status == 201, answer.json
    return answer.json


def joined(client, body=ENTERPRISE, user=MEMBER):
    """Register an organisation and have `user` accept an invitation: (organisation, membership)."""
    org = register(client, body).json
    code = invitation(client, org["id"])["code"]
    answer = client.post(f"/invitations/{code}/accept", headers=auth(**user))
    assert answer.status == 200, answer.json
    return org, answer.json
