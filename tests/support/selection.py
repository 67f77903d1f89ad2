"""Selection helpers: evaluated filings nominated in a cycle, experts seated on a candidate's panel, and
organisations registered with a member who joined by invitation."""

from __future__ import annotations

from chalicelib.usage import running_counters
from chalicelib.usage.counting_rules import filing_key
from tests.conftest import auth
from tests.support import approved_filing

ADMIN = dict(sub="admin", role="national_admin")  # token claims here, not headers as in support.scoring
CYCLE = "2024"  # DEFAULT_NOW 2024-05-15 lies in cycle 2024


def evaluated(client, n=3, total=None, **over):
    """An approved filing with `n` counted evaluations (counters seeded directly)."""
    filing = approved_filing(client, **over)
    numbers = {"evaluations": n, "evaluation_score_sum": total if total is not None else 4 * n}
    if n:
        numbers.update(
            {"evaluations_enterprise": n, "evaluation_score_sum_enterprise": numbers["evaluation_score_sum"]}
        )
    running_counters.seed(*filing_key(filing["id"]), numbers)
    return filing


def declare(client, filing_id, cycle=CYCLE, province="320000"):
    """The filing's province admin declares it for the cycle (参与意愿): the answer, whatever its status."""
    return client.put(
        f"/cycles/{cycle}/declarations/{filing_id}",
        headers=auth(sub=f"admin-{province}", role="province_admin", province=province),
    )


def nominate(client, filing_id, cycle=CYCLE, who=ADMIN, declared=True, province="320000", **extra):
    """Declare the filing (unless told not to) and screen it in as a candidate of the cycle (as a
    national admin unless told otherwise)."""
    if declared:
        declare(client, filing_id, cycle, province)
    return client.post(f"/cycles/{cycle}/candidates", {"filing": filing_id, **extra}, headers=auth(**who))


def assign_expert(client, expert, industries=("5",)):
    """A national admin assigns the expert fields and registers their home province (their token's claim)."""
    answer = client.put(
        f"/experts/{expert['sub']}/fields", {"industries": list(industries)}, headers=auth(**ADMIN)
    )
    assert answer.status == 200, answer.json
    home = client.put(
        f"/experts/{expert['sub']}/home-province", {"province": expert["province"]}, headers=auth(**ADMIN)
    )
    assert home.status == 200, home.json


def name_panel(client, filing_id, experts, cycle=CYCLE, who=ADMIN):
    """Name `experts` (token claims) the candidate's expert panel: the answer, whatever its status."""
    return client.put(
        f"/cycles/{cycle}/candidates/{filing_id}/panel",
        {"experts": [e["sub"] for e in experts]},
        headers=auth(**who),
    )


def cut_library(client, cycle=CYCLE):
    """Cut the candidate library (备选案例库) of the cycle."""
    answer = client.post(f"/cycles/{cycle}/candidate-library", headers=auth(**ADMIN))
    assert answer.status == 200, answer.json
    return answer.json


def shortlisted(client, n=3, **over):
    """An evaluated filing declared, screened in and kept by the library cut."""
    filing = evaluated(client, n=n, **over)
    answer = nominate(client, filing["id"])
    assert answer.status == 201, answer.json
    assert filing["id"] in cut_library(client)["shortlisted"]
    return filing


# ---- organisations ---------------------------------------------------------------------------

MEMBER = dict(sub="ent-user", role="user", side="government")  # the token's side loses to the organisation's
ENTERPRISE = {
    "kind": "demonstration_enterprise",
    "name": "某新能源汽车股份有限公司",
    "industries": ["5", "6"],
}


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
