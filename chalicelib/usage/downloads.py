"""Downloads: the platform hands out a file's short-lived URL and counts the download itself."""

from __future__ import annotations

from datetime import datetime

from chalicelib.core.auth import Caller
from chalicelib.core.config import Settings
from chalicelib.documents import attachments
from chalicelib.usage import interactions
from chalicelib.usage.robots import Robots


def download(
    caller: Caller | None,
    owner: str,
    owner_id: str,
    file_id: str,
    agent: str | None,
    robots: Robots,
    settings: Settings,
    now: datetime,
) -> str:
    """A short-lived URL of the file's bytes; the download is counted here, not by the client."""
    doc, attachment = attachments.downloadable(caller, owner, owner_id, file_id)
    interactions.record_download(caller, owner, doc, file_id, agent, robots, now)
    return attachments.download_url(settings, attachment)
