"""The role matrix of the write routes: who the contract lets call each one, and the routes the
app really serves, so a unit test can check they agree and the integration tests can call them."""

from __future__ import annotations

ROLES = ("national_admin", "province_admin", "filer", "user", "expert")
ANY = set(ROLES)
NATIONAL = {"national_admin"}
FILERS = {"filer", "province_admin"}
# Who the contract (or the route's own summary) lets call each write route. None: not a
# matter of role alone (e.g. a comment's author); covered by its own test.
ALLOWED: dict[tuple[str, str], set[str] | None] = {
    ("POST", "/filings"): FILERS,
    ("POST", "/filings/imports"): FILERS,
    ("POST", "/filings/{filing_id}/review"): NATIONAL,
    ("PUT", "/filings/{filing_id}/application"): FILERS,
    ("POST", "/publications"): FILERS | NATIONAL,
    ("POST", "/publications/{publication_id}/review"): NATIONAL,
    ("POST", "/events"): ANY,
    ("PUT", "/filings/{filing_id}/like"): ANY,
    ("DELETE", "/filings/{filing_id}/like"): ANY,
    ("PUT", "/filings/{filing_id}/favorite"): ANY,
    ("DELETE", "/filings/{filing_id}/favorite"): ANY,
    ("POST", "/filings/{filing_id}/comments"): ANY,
    ("DELETE", "/filings/{filing_id}/comments/{comment_id}"): None,
    ("PUT", "/publications/{publication_id}/like"): ANY,
    ("DELETE", "/publications/{publication_id}/like"): ANY,
    ("PUT", "/publications/{publication_id}/favorite"): ANY,
    ("DELETE", "/publications/{publication_id}/favorite"): ANY,
    ("POST", "/publications/{publication_id}/comments"): ANY,
    ("DELETE", "/publications/{publication_id}/comments/{comment_id}"): None,
    ("POST", "/filings/{filing_id}/takedown"): NATIONAL,
    ("PUT", "/provinces/{code}/funded-projects/{cycle}"): {"province_admin"},
    ("POST", "/provinces/{code}/annual-forms/{year}/reopen"): NATIONAL,
    ("POST", "/provinces/{code}/annual-forms/{year}/files"): FILERS,
    ("POST", "/provinces/{code}/annual-forms/{year}/files/{file_id}/complete"): FILERS,
    ("POST", "/demands"): {"user"},
    ("POST", "/demands/{demand_id}/answer"): {"national_admin", "province_admin"},
    ("POST", "/demands/{demand_id}/close"): {"national_admin", "province_admin"},
    ("POST", "/publications/{publication_id}/takedown"): NATIONAL,
    ("POST", "/filings/{filing_id}/comments/{comment_id}/hide"): {"national_admin", "province_admin"},
    ("POST", "/publications/{publication_id}/comments/{comment_id}/hide"): {
        "national_admin",
        "province_admin",
    },
    ("POST", "/filings/{filing_id}/comments/{comment_id}/unhide"): {"national_admin", "province_admin"},
    ("POST", "/publications/{publication_id}/comments/{comment_id}/unhide"): {
        "national_admin",
        "province_admin",
    },
    ("POST", "/filings/{filing_id}/comments/{comment_id}/reports"): ANY,
    ("POST", "/publications/{publication_id}/comments/{comment_id}/reports"): ANY,
    ("PUT", "/filings/{filing_id}/evaluation"): {"user"},
    ("DELETE", "/me/data"): ANY,
    ("PUT", "/scoring-scheme"): NATIONAL,
    ("PUT", "/provinces/{code}/annual-forms/{year}"): {"province_admin"},
    ("POST", "/cycles/{cycle}/adjustments"): NATIONAL,
    ("POST", "/cycles/{cycle}/excellent-projects"): NATIONAL,
    ("POST", "/cycles/{cycle}/scoring-runs"): NATIONAL,
    ("POST", "/cycles/{cycle}/scoring-runs/{run_id}/publish"): NATIONAL,
    ("PUT", "/me/subscriptions"): {"user", "expert"},
    ("POST", "/me/feed/{filing_id}/read"): None,
    ("PUT", "/excellence-rules"): NATIONAL,
    ("PUT", "/experts/{sub}/fields"): NATIONAL,
    ("PUT", "/experts/{sub}/home-province"): NATIONAL,
    ("POST", "/cycles/{cycle}/candidates"): NATIONAL,
    ("PUT", "/cycles/{cycle}/candidates/{filing_id}/panel"): NATIONAL,
    ("PUT", "/cycles/{cycle}/candidates/{filing_id}/expert-score"): {"expert"},
    ("POST", "/cycles/{cycle}/candidates/{filing_id}/confirm"): NATIONAL,
    ("POST", "/cycles/{cycle}/candidate-library"): NATIONAL,
    ("POST", "/cycles/{cycle}/scoring-runs/{run_id}/provisional-publication"): NATIONAL,
    ("POST", "/cycles/{cycle}/objections"): {"province_admin"},
    ("POST", "/cycles/{cycle}/objections/{objection_id}/answer"): NATIONAL,
    ("POST", "/cycles/{cycle}/scoring-runs/{run_id}/units/{province}/flag-resolutions"): NATIONAL,
    ("POST", "/cycles/{cycle}/excellent-projects/{filing_id}/revoke"): NATIONAL,
    ("POST", "/organisations"): {"national_admin", "province_admin"},
    ("POST", "/organisations/{org_id}/invitations"): {"national_admin", "province_admin"},
    ("DELETE", "/organisations/{org_id}/invitations/{invitation}"): {"national_admin", "province_admin"},
    ("POST", "/invitations/{invitation}/accept"): {"user"},
    ("PUT", "/cycles/{cycle}/declarations/{filing_id}"): {"province_admin"},
    ("DELETE", "/cycles/{cycle}/declarations/{filing_id}"): {"province_admin"},
    ("POST", "/cycles/{cycle}/candidates/{filing_id}/assignments"): NATIONAL,
    ("POST", "/populations/{population}/units"): NATIONAL,
    ("PUT", "/populations/{population}/scoring-scheme"): NATIONAL,
    ("PUT", "/filings/{filing_id}/attribution"): {"national_admin", "province_admin", "filer"},
    ("POST", "/populations/{population}/cycles/{cycle}/scoring-runs"): NATIONAL,
    ("POST", "/populations/{population}/cycles/{cycle}/adjustments"): NATIONAL,
    (
        "POST",
        "/populations/{population}/cycles/{cycle}/scoring-runs/{run_id}/units/{unit}/flag-resolutions",
    ): NATIONAL,
    ("POST", "/populations/{population}/cycles/{cycle}/scoring-runs/{run_id}/publish"): NATIONAL,
    **{
        (method, f"/{owner}s/{{{owner}_id}}{rest}"): FILERS
        for owner in ("filing", "publication")
        for method, rest in (
            ("POST", "/files"),
            ("POST", "/files/{file_id}/complete"),
            ("POST", "/revisions"),
            ("POST", "/withdraw"),
        )
    },
    **{
        ("POST", f"/publications/{{publication_id}}{rest}"): FILERS | NATIONAL
        for rest in ("/files", "/files/{file_id}/complete")
    },
}
# Routes whose national admins act on the national office's own records only (a national publication): the
# matrix tries them on one.
NATIONAL_RECORDS = {
    ("POST", "/publications/{publication_id}/files"),
    ("POST", "/publications/{publication_id}/files/{file_id}/complete"),
}
# Routes whose records belong to a province: a same-role token of another province is 403.
PROVINCE_BOUND = {
    ("POST", "/filings"),
    ("PUT", "/filings/{filing_id}/application"),
    ("POST", "/publications"),
    ("PUT", "/provinces/{code}/annual-forms/{year}"),
    ("PUT", "/provinces/{code}/funded-projects/{cycle}"),
    *(route for route in ALLOWED if route[1].endswith(("/files", "/complete", "/revisions", "/withdraw"))),
}


def write_routes() -> list[tuple[str, str]]:
    """Every (method, path) Chalice serves that changes something."""
    import app

    return sorted(
        (method, path)
        for path, entries in app.app.routes.items()
        for method in entries
        if method in ("POST", "PUT", "PATCH", "DELETE")
    )
