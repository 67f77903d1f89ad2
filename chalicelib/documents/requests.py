"""Request bodies of the documents package: filings, publications, their review and application."""
from __future__ import annotations

from typing import Annotated, Optional

from pydantic import Field, StringConstraints, model_validator

from chalicelib.core.schemas import Body, FieldErrors, IndustryCode, ProvinceCode, Text
from chalicelib.core.vocabulary import (ACCESSIBLE_KINDS, ApplicationState, FilingKind, PublicationKind, ReportType,
                                        ReviewDecision)


class FilingIn(Body):
    kind: FilingKind
    title: Text(1, 200)
    province: ProvinceCode = Field(description="6-digit province code from /provinces")
    unit: Text(1, 100)
    industry: IndustryCode = Field(description="industry code from /industries")
    report_type: Optional[ReportType] = None
    fiscal_funded: bool = False
    summary: Optional[Text(0, 2000, multiline=True)] = None
    proves: Optional[str] = Field(default=None, description="for application_proof: the id of the filing it proves")
    access_url: Optional[Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://[^\s]+$")]] = Field(
        default=None, description="for a database or tool: where it is used (http or https URL)")

    @model_validator(mode="after")
    def _kind_rules(self) -> "FilingIn":
        problems = []
        if self.kind != "report" and self.report_type is not None:
            problems.append(("report_type", "only reports have a report_type"))
        if self.kind == "application_proof" and not self.proves:
            problems.append(("proves", "an application_proof names the filing it proves"))
        if self.kind != "application_proof" and self.proves is not None:
            problems.append(("proves", "only an application_proof proves another filing"))
        if self.access_url is not None and self.kind not in ACCESSIBLE_KINDS:
            problems.append(("access_url", "only a database or a tool has an access URL"))
        if problems:
            raise FieldErrors(problems)
        return self


class PublicationIn(Body):
    kind: PublicationKind
    title: Text(1, 200)
    province: ProvinceCode
    body: Text(1, 20000, multiline=True)


class ReviewIn(Body):
    decision: ReviewDecision
    note: Optional[Text(0, 2000, multiline=True)] = None


class ApplicationChangeIn(Body):
    status: ApplicationState
    note: Optional[Text(0, 2000, multiline=True)] = None
    proof: Optional[Text(1, 64)] = Field(
        default=None, description="id of an approved application_proof filing of the same province that "
                                  "proves this result; a change earns points only with its proof attached")
