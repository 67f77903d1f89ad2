"""Request bodies of the usage package: usage events, comments and evaluations."""
from __future__ import annotations

import uuid
from typing import Optional

from pydantic import Field, field_validator, model_validator

from chalicelib.core.schemas import Body, FieldErrors, Text
from chalicelib.core.vocabulary import ClientEventType


class EventIn(Body):
    id: str = Field(description="client-generated UUID; a resent id is a duplicate")
    type: ClientEventType = Field(description="views only: the platform counts downloads when it serves a file")
    filing: Optional[Text(1, 64)] = Field(default=None, description="the filing viewed (or name a publication)")
    publication: Optional[Text(1, 64)] = Field(default=None, description="the publication viewed")
    user_agent: Optional[Text(0, 1000)] = None

    @model_validator(mode="before")
    @classmethod
    def _no_client_downloads(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("type") == "download":
            raise FieldErrors([("type", "downloads are counted by the platform when it serves the file "
                                        "(GET /filings/{id}/files/{file_id}); clients do not send them")])
        return data

    @model_validator(mode="after")
    def _one_target(self) -> "EventIn":
        if (self.filing is None) == (self.publication is None):
            raise FieldErrors([("filing", "name exactly one of filing and publication")])
        return self

    @field_validator("id")
    @classmethod
    def _uuid(cls, v: str) -> str:
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise ValueError("must be a UUID") from None


class EventsIn(Body):
    events: list[EventIn] = Field(min_length=1, max_length=100)


class CommentIn(Body):
    text: Text(1, 2000, multiline=True)


class EvaluationIn(Body):
    score: int = Field(ge=1, le=5)
    feedback: Optional[Text(0, 2000, multiline=True)] = None
