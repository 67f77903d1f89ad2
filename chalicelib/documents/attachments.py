"""Files of filings and publications: presigned uploads checked before they count, served downloads.

Upload: the record's own province declares a file (name, purpose, content type, size,
SHA-256) and gets a short-lived presigned PUT to `incoming/<file id>`; the signature covers
the content type, the length and the checksum, so S3 itself refuses other bytes. The
declaration is kept (state `uploading`) but is no attachment: nothing lists or serves it.
Completing reads the object back, checks its size, type and SHA-256 against the
declaration, moves it under `files/` and only then stores the attachment. Bytes of an
upload never completed expire under `incoming/` by the bucket's lifecycle (infra/files.py).

Download: the platform answers 303 to a presigned GET valid for DOWNLOAD_TTL and counts
the download itself (usage/downloads.py): clients no longer report downloads.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, field_validator, model_validator

from chalicelib.core import audit, config, quotas, spreadsheets
from chalicelib.core.auth import Caller, require, require_province
from chalicelib.core.clock import iso
from chalicelib.core.config import Settings
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.messages import Message, noun
from chalicelib.core.models import Attachment, Filing, Publication
from chalicelib.core.paging import DEFAULT_LIMIT, computed_page, scope_of
from chalicelib.core.reference import PROVINCES
from chalicelib.core.schemas import Body, FieldErrors, Text
from chalicelib.core.store import CONDITION_FAILED, TransactWriteError, cancellation_codes, transaction
from chalicelib.core.vocabulary import NATIONAL_OFFICE
from chalicelib.documents import filings, lifecycle, publications
from chalicelib.documents.lifecycle import FILERS

MAX_SIZE = 50 * 1024 * 1024  # 50 MiB: a report or a scan, not a database dump (databases are linked)
UPLOAD_TTL = timedelta(minutes=15)
DOWNLOAD_TTL = timedelta(minutes=5)
EMBEDDED_FILES = DEFAULT_LIMIT  # a single read carries one default page of files; the rest page at .../files
INCOMING_PREFIX = "incoming/"  # unchecked bytes; the bucket expires them (infra/files.py)
STORED_PREFIX = "files/"
CHUNK = 1024 * 1024

PDF, DOC, DOCX = (
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
)
XLS, XLSX = "application/vnd.ms-excel", spreadsheets.XLSX_TYPE
CSV, ZIP, PNG, JPEG = "text/csv", "application/zip", "image/png", "image/jpeg"
# What each purpose may be: the report itself (PDF, Word), a database's or tool's description,
# scans of application proofs, and sample data.
PURPOSE_TYPES: dict[str, tuple[str, ...]] = {
    "report": (PDF, DOC, DOCX),
    "description": (PDF, DOC, DOCX),
    "proof_scan": (PDF, PNG, JPEG),
    "funding_proof": (PDF, PNG, JPEG),  # the funding (投入) a filing or an annual form states
    "data": (CSV, XLS, XLSX, ZIP),
}
PURPOSES = tuple(PURPOSE_TYPES)
CONTENT_TYPES = tuple(dict.fromkeys(t for types in PURPOSE_TYPES.values() for t in types))
OWNERS = {"filing": (Filing, filings.key), "publication": (Publication, publications.key)}
STATES = ("uploading", "stored")
# Who may upload beyond a record's own province's staff (FILERS): national admins, to the national office's own
# notices only (_require_filer).
UPLOADERS = {"publication": publications.PUBLISHERS}
# Statuses whose files may still change: what the public sees was reviewed once approved, and a
# withdrawn record is closed.
FILES_OPEN = ("pending", "rejected")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\"]')


class UploadIn(Body):
    """A file about to be uploaded: what it is and what its bytes will be."""

    name: Text(1, 200) = Field(description="file name shown on download, e.g. 报告.pdf")
    purpose: Literal[PURPOSES]
    content_type: str = Field(description="one of the types the purpose allows")
    size: int = Field(ge=1, le=MAX_SIZE, description=f"bytes, at most {MAX_SIZE}")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the bytes")
    replaces: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "id of a file of the record this one supersedes (e.g. a corrected PDF) from the version it joins on"
        ),
    )

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if _UNSAFE_NAME.search(v):
            raise ValueError(Message("must not contain control characters, slashes, backslashes or quotes"))
        return v

    @model_validator(mode="after")
    def _type_fits_purpose(self) -> UploadIn:
        allowed = PURPOSE_TYPES[self.purpose]
        if self.content_type not in allowed:
            raise FieldErrors(
                [
                    (
                        "content_type",
                        Message(
                            "a %(purpose)s must be one of: %(allowed)s",
                            purpose=self.purpose,
                            allowed=", ".join(allowed),
                        ),
                    )
                ]
            )
        return self


# ---- storage ---------------------------------------------------------------------------


def files_pk(owner: str, owner_id: str) -> str:
    """The partition of one record's files."""
    return f"FILES#{owner}#{owner_id}"


def key(owner: str, owner_id: str, file_id: str) -> tuple[str, str]:
    return files_pk(owner, owner_id), file_id


@lru_cache(maxsize=4)
def _s3(endpoint: str | None, region: str) -> Any:
    # boto3 is imported here, not with the module: the app imports UploadIn at cold start.
    import boto3
    from botocore.config import Config

    # Path style for a local endpoint (moto serves every bucket on one host and port).
    style = "path" if endpoint else "virtual"
    return boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )


def s3(settings: Settings) -> Any:
    """The S3 client of the stage (its presigned URLs name the stage's endpoint)."""
    return _s3(settings.s3_endpoint, settings.region)


# The proofs of a province's annual form (年度信息表) for the figures that are scored: owned by
# "<province>-<year>", read by the province's staff and national admins only, never counted.
FORM_OWNER = "annual_form"
FORM_PURPOSES = ("funding_proof", "proof_scan")


@dataclass(frozen=True)
class FormProofs:
    """The owner of an annual form's proof files: writable by its province's staff at any time."""

    id: str
    province: str
    year: str
    status: str = "pending"  # never approved: downloads are not usage and are not counted
    proposed: None = None
    versions: None = None


def form_owner_id(province: str, year: int) -> str:
    return f"{province}-{year}"


def _owner(owner: str, owner_id: str) -> Filing | Publication:
    if owner == FORM_OWNER:
        province, _, year = owner_id.partition("-")
        if province not in PROVINCES or not year.isdigit():
            raise NotFound(Message("No annual form %(owner_id)s", owner_id=owner_id))
        return FormProofs(owner_id, province, year)
    model, owner_key = OWNERS[owner]
    try:
        return model.get(owner_key(owner_id), "A")
    except model.DoesNotExist:
        raise NotFound(Message("No %(owner)s %(owner_id)s", owner=noun(owner), owner_id=owner_id)) from None


def writable(caller: Caller | None, owner: str, owner_id: str) -> Filing | Publication:
    """The record, if the caller's province owns it (404 missing, 403 another province's) and its files may
    change: before approval, or with a revision of the approved record waiting for review (the new files join
    the record only when that revision is approved)."""
    caller = require(caller)
    doc = _owner(owner, owner_id)
    _require_filer(caller, owner, doc)
    _check_open(owner, doc)
    return doc


def _national(owner: str, doc: Any) -> bool:
    """A national publication: the national office's own notice (publications._publish_national)."""
    return owner == "publication" and doc.province == NATIONAL_OFFICE


def _require_filer(caller: Caller, owner: str, doc: Any) -> None:
    """Files change by the record's own province's staff; a national notice's by national admins, its publishers
    (and a national admin touches no province's files)."""
    if _national(owner, doc):
        require(caller, "national_admin")
        return
    require(caller, *FILERS)
    require_province(caller, doc.province)


def _check_open(owner: str, doc: Filing | Publication) -> None:
    if doc.status == "approved":
        if doc.proposed:
            return  # the file joins the waiting revision, and the public sees it only once that is approved
        if _national(owner, doc):
            return  # a national notice was published by its reviewers: its files join it as they land
        # What the public sees was reviewed; a new file would change it without review.
        raise Conflict(
            Message(
                "The %(owner)s is approved; submit a revision (POST %(revisions)s) and add its files while it waits for review",
                owner=noun(owner),
                revisions=f"/{owner}s/{doc.id}/revisions",
            )
        )
    if doc.status not in FILES_OPEN:
        raise Conflict(
            Message(
                "The %(owner)s is %(status)s; files cannot be added to it",
                owner=noun(owner),
                status=doc.status,
            )
        )


def _still_open(model: Any, proposal: str | None, national: bool = False) -> Any:
    """The condition the record meets when a file lands: open before approval, or still waiting for the
    revision the file was declared for, or a national notice still published (a review, withdrawal or
    takedown meanwhile wins)."""
    if national:
        return model.status == "approved"
    if proposal is None:
        return model.status.is_in(*FILES_OPEN)
    return (model.status == "approved") & model.proposed.contains(proposal)


def _proposal(doc: Filing | Publication) -> tuple[str | None, int | None]:
    """(proposal id, revision) new files of `doc` belong to: its waiting revision, or none before approval."""
    if doc.status == "approved" and doc.proposed:
        return doc.proposed.get("id"), int(doc.proposed["revision"])
    return None, None


def version_files(attachments: list[Attachment], proposals: list[str | None]) -> list[Attachment]:
    """The files of the version made of `proposals` (None: the files added before approval): each one's files
    join, and a file that replaces another takes its place."""
    joined = set(proposals)
    chosen = [a for a in attachments if a.state == "stored" and a.proposal in joined]
    replaced = {a.replaces for a in chosen if a.replaces}
    return [a for a in chosen if a.id not in replaced]


def _accepted(doc: Filing | Publication) -> list[str | None]:
    """The proposals whose files are part of the record: what was filed first and every approved revision."""
    return [None, *(v.get("proposal") for v in lifecycle.approved_versions(doc) if v.get("proposal"))]


def _visible(caller: Caller | None, owner: str, owner_id: str) -> Filing | Publication:
    if owner == FORM_OWNER:
        proofs = _owner(owner, owner_id)
        if caller is None or not caller.sees_all_of(proofs.province):
            raise NotFound(Message("No annual form %(owner_id)s", owner_id=owner_id))
        return proofs
    module = filings if owner == "filing" else publications
    return module.get(caller, owner_id)


def _stored(owner: str, owner_id: str, file_id: str) -> Attachment:
    try:
        found = Attachment.get(*key(owner, owner_id, file_id), consistent_read=True)
    except Attachment.DoesNotExist:
        found = None
    if found is None or found.state != "stored":
        raise NotFound(
            Message(
                "No file %(file_id)s on %(owner)s %(owner_id)s",
                file_id=file_id,
                owner=noun(owner),
                owner_id=owner_id,
            )
        )
    return found


def _sha256_b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


# ---- uploading -------------------------------------------------------------------------


def start_upload(
    caller: Caller | None, owner: str, owner_id: str, body: UploadIn, settings: Settings, now: datetime
) -> dict[str, Any]:
    """Declare a file and get its presigned PUT (the record's own province before approval; a national notice's
    national admins). Pending uploads hold slots of the publisher: the province, or `national`."""
    doc = writable(caller, owner, owner_id)
    if owner == FORM_OWNER and body.purpose not in FORM_PURPOSES:
        raise Invalid(
            Message("An annual form takes proofs only"),
            errors=[
                {
                    "field": "purpose",
                    "message": Message("one of %(form_purposes)s", form_purposes=", ".join(FORM_PURPOSES)),
                }
            ],
        )
    _check_room(owner, doc.id)
    if body.replaces is not None:
        _check_replaces(owner, doc, body.replaces, _proposal(doc)[0])
    declared = _declaration(caller, owner, doc, body, now)
    _hold_upload_slot(declared, now)
    checksum = _sha256_b64(body.sha256)
    return {
        "file": render(declared),
        "upload": {
            "method": "PUT",
            "url": _presigned_put(settings, declared, checksum),
            "expires_at": iso(now + UPLOAD_TTL),
            "headers": {"Content-Type": body.content_type, "x-amz-checksum-sha256": checksum},
        },
        "links": {"complete": f"{_files_path(owner, doc.id)}/{declared.id}/complete"},
    }


def _too_many_files(owner: str) -> Conflict:
    return Conflict(
        Message(
            "The %(owner)s has %(max_files_per_record)s files, the most a record may have",
            owner=noun(owner),
            max_files_per_record=config.MAX_FILES_PER_RECORD,
        )
    )


def _check_room(owner: str, owner_id: str) -> None:
    """409 when the record already holds as many files as a record may (the count is rechecked on storing)."""
    if quotas.used("files", owner, owner_id) >= config.MAX_FILES_PER_RECORD:
        raise _too_many_files(owner)


def _declaration(
    caller: Caller, owner: str, doc: Filing | Publication, body: UploadIn, now: datetime
) -> Attachment:
    """The declared file, still `uploading`, for the version new files of `doc` join."""
    proposal, revision = _proposal(doc)
    file_id = uuid.uuid4().hex
    return Attachment(
        *key(owner, doc.id, file_id),
        id=file_id,
        owner=owner,
        owner_id=doc.id,
        province=doc.province,
        purpose=body.purpose,
        name=body.name,
        content_type=body.content_type,
        size=body.size,
        sha256=body.sha256,
        object_key=f"{INCOMING_PREFIX}{file_id}",
        state="uploading",
        created_at=now,
        by=caller.sub,
        proposal=proposal,
        revision=revision,
        replaces=body.replaces,
    )


def _hold_upload_slot(declared: Attachment, now: datetime) -> None:
    """Store the declaration with one of its province's pending-upload slots, held until completed or
    expired (409 when every slot is held)."""
    if not quotas.with_slot(
        config.MAX_PENDING_UPLOADS_PER_PROVINCE,
        "uploads",
        (declared.province,),
        declared.id,
        now + UPLOAD_TTL,
        now,
        lambda tx: tx.save(declared, condition=Attachment.pk.does_not_exist()),
    ):
        raise Conflict(
            Message(
                "Province %(province)s has %(max_pending_uploads_per_province)s uploads declared and not completed; complete them or let them expire (%(minutes).0f minutes)",
                province=declared.province,
                max_pending_uploads_per_province=config.MAX_PENDING_UPLOADS_PER_PROVINCE,
                minutes=UPLOAD_TTL.total_seconds() / 60,
            )
        )


def _presigned_put(settings: Settings, declared: Attachment, checksum: str) -> str:
    """The PUT URL S3 honours only for the declared type, length and SHA-256."""
    return s3(settings).generate_presigned_url(
        "put_object",
        ExpiresIn=int(UPLOAD_TTL.total_seconds()),
        Params={
            "Bucket": settings.files_bucket,
            "Key": declared.object_key,
            "ContentType": declared.content_type,
            "ContentLength": declared.size,
            "ChecksumSHA256": checksum,
        },
    )


def _check_replaces(owner: str, doc: Filing | Publication, file_id: str, proposal: str | None) -> None:
    """A replaced file must be one the new file's version would otherwise hold (422 naming `replaces`)."""
    files = version_files(
        list(Attachment.query(f"FILES#{owner}#{doc.id}")),
        [*_accepted(doc), proposal] if proposal else _accepted(doc),
    )
    if file_id not in {a.id for a in files}:
        raise Invalid(
            Message("replaces names no file of the record"),
            errors=[
                {
                    "field": "replaces",
                    "message": Message("not a file of this record's current or proposed version"),
                }
            ],
        )


def complete_upload(
    caller: Caller | None, owner: str, owner_id: str, file_id: str, settings: Settings, now: datetime
) -> dict[str, Any]:
    """Check the uploaded bytes against the declaration and register the attachment (idempotent)."""
    caller = require(caller)
    doc = _owner(owner, owner_id)
    _require_filer(caller, owner, doc)
    declared = _declared(owner, owner_id, doc.id, file_id)
    if declared.state == "stored":
        return render(declared)
    _check_open(owner, doc)
    if _proposal(doc)[0] != declared.proposal:
        raise Conflict(
            Message(
                "The %(owner)s was reviewed since this file was declared; declare it again", owner=noun(owner)
            )
        )
    _check_room(owner, doc.id)  # before copying any bytes
    client, bucket = s3(settings), settings.files_bucket
    stored_key = f"{STORED_PREFIX}{owner}/{doc.id}/{file_id}"
    _move_checked_bytes(client, bucket, declared, stored_key)
    incoming = declared.object_key
    declared.state, declared.stored_at, declared.object_key = "stored", now, stored_key
    _register(caller, owner, doc, declared, now)
    quotas.release("uploads", (doc.province,), file_id)
    client.delete_object(Bucket=bucket, Key=incoming)
    return render(declared)


def _declared(owner: str, owner_id: str, doc_id: str, file_id: str) -> Attachment:
    """The file as declared (404 naming the record as the caller did when there is none)."""
    try:
        return Attachment.get(*key(owner, doc_id, file_id), consistent_read=True)
    except Attachment.DoesNotExist:
        raise NotFound(
            Message(
                "No upload %(file_id)s on %(owner)s %(owner_id)s",
                file_id=file_id,
                owner=noun(owner),
                owner_id=owner_id,
            )
        ) from None


def _move_checked_bytes(client: Any, bucket: str, declared: Attachment, stored_key: str) -> None:
    """Copy the uploaded object to `stored_key` once its bytes match the declaration; a mismatch deletes
    it, so the declaration may be uploaded again (422 naming each difference)."""
    problems = _check_object(client, bucket, declared)
    if problems:
        client.delete_object(Bucket=bucket, Key=declared.object_key)
        raise Invalid(
            Message("The uploaded file is not the one declared"),
            errors=[{"field": field, "message": message} for field, message in problems],
        )
    client.copy_object(
        Bucket=bucket,
        Key=stored_key,
        CopySource={"Bucket": bucket, "Key": declared.object_key},
        ContentType=declared.content_type,
        MetadataDirective="REPLACE",
    )


def _register(
    caller: Caller, owner: str, doc: Filing | Publication, declared: Attachment, now: datetime
) -> None:
    """Store the attachment, counted against the record's files and audited, in one transaction, while the
    record still takes files (409 when a review, withdrawal, takedown or another completion won)."""
    checked = owner in OWNERS  # an annual form's proofs have no record whose status could move
    try:
        with transaction() as tx:
            tx.save(declared, condition=Attachment.state == "uploading")
            if checked:
                model, owner_key = OWNERS[owner]
                tx.condition_check(
                    model,
                    owner_key(doc.id),
                    "A",
                    condition=_still_open(model, declared.proposal, _national(owner, doc)),
                )
            quotas.count(tx, config.MAX_FILES_PER_RECORD, "files", owner, doc.id)
            tx.save(
                audit.entry(
                    owner,
                    doc.id,
                    "file_added",
                    caller,
                    now,
                    {
                        "file": declared.id,
                        "name": declared.name,
                        "purpose": declared.purpose,
                        "size": int(declared.size),
                        "sha256": declared.sha256,
                    },
                )
            )
    except TransactWriteError as error:
        if checked and cancellation_codes(error)[1:2] == [CONDITION_FAILED]:
            raise Conflict(
                Message(
                    "The %(owner)s was reviewed, withdrawn or taken down meanwhile; files cannot be added to it",
                    owner=noun(owner),
                )
            ) from None
        if quotas.refused(error, 2 if checked else 1):  # the tally follows the attachment and the check
            raise _too_many_files(owner) from None
        raise Conflict(Message("The upload was completed meanwhile; read the record's files")) from None


def _check_object(client: Any, bucket: str, declared: Attachment) -> list[tuple[str, str]]:
    """Where the uploaded object differs from its declaration (409 when nothing was uploaded)."""
    from botocore.exceptions import ClientError

    try:
        got = client.get_object(Bucket=bucket, Key=declared.object_key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise Conflict(
                Message("Nothing was uploaded for this file yet: PUT it to the upload URL first")
            ) from None
        raise
    problems = []
    if got.get("ContentType") != declared.content_type:
        problems.append(
            (
                "content_type",
                Message(
                    "uploaded as %(uploaded)s, declared %(content_type)s",
                    uploaded=got.get("ContentType"),
                    content_type=declared.content_type,
                ),
            )
        )
    digest, size = hashlib.sha256(), 0
    for chunk in got["Body"].iter_chunks(CHUNK):
        size += len(chunk)
        if size > declared.size:
            break  # longer than declared: no need to read the rest
        digest.update(chunk)
    got["Body"].close()
    if size != declared.size:
        problems.append(
            (
                "size",
                Message(
                    "uploaded more than %(size)s bytes, declared %(declared)s",
                    size=size,
                    declared=int(declared.size),
                )
                if size > declared.size
                else Message(
                    "uploaded %(size)s bytes, declared %(declared)s", size=size, declared=int(declared.size)
                ),
            )
        )
    elif digest.hexdigest() != declared.sha256:
        problems.append(("sha256", Message("the uploaded bytes have another SHA-256")))
    return problems


# ---- listing and downloading -----------------------------------------------------------


def listing(owner: str, doc: Filing | Publication) -> list[Attachment]:
    """The files of the record's current version (declarations not completed are not files; a waiting
    revision's files are listed under its versions)."""
    return version_files(list(Attachment.query(files_pk(owner, doc.id))), _accepted(doc))


def _page(
    owner: str, doc: Filing | Publication, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    # Computed, not a Query page: which files make the current version depends on every revision's
    # files, and a record holds at most config.MAX_FILES_PER_RECORD of them.
    page = computed_page(
        listing(owner, doc),
        limit,
        cursor,
        scope_of("FILES", owner=owner, id=doc.id),
        secret,
        order=lambda a: (iso(a.created_at), a.id),
    )
    return page.to_dict(render)


def with_files(
    owner: str, doc: Filing | Publication, rendered: dict[str, Any], secret: str
) -> dict[str, Any]:
    """A rendered record with the first page of its files (lists leave them out); `files_next_cursor`
    continues at GET .../files."""
    page = _page(owner, doc, EMBEDDED_FILES, None, secret)
    return {**rendered, "files": page["items"], "files_next_cursor": page["next_cursor"]}


def files_of(
    caller: Caller | None, owner: str, owner_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """One page of the files of a record the caller may see."""
    doc = _visible(caller, owner, owner_id)
    return _page(owner, doc, limit, cursor, secret)


def versions(
    caller: Caller | None, owner: str, owner_id: str, limit: int, cursor: str | None, secret: str
) -> dict[str, Any]:
    """The record's approved versions, oldest first, each with its files (old versions stay downloadable and
    count to the record); its province and national admins also see a revision waiting for review."""
    doc = _visible(caller, owner, owner_id)
    attachments = list(Attachment.query(files_pk(owner, doc.id)))
    approved = lifecycle.approved_versions(doc)
    items, joined = [], [None]
    for number, version in enumerate(approved):
        if version.get("proposal"):
            joined.append(version["proposal"])
        items.append(
            {
                "revision": version["revision"],
                "approved_at": version.get("approved_at"),
                "current": number == len(approved) - 1,
                "files": [render(a) for a in version_files(attachments, joined)],
            }
        )
    proposal, revision = _proposal(doc)
    if doc.proposed and caller is not None and caller.sees_all_of(doc.province):
        items.append(
            {
                "revision": revision,
                "pending": True,
                "submitted_at": doc.proposed.get("submitted_at"),
                "files": [render(a) for a in version_files(attachments, [*joined, proposal])],
            }
        )
    # Computed over the record's own versions list and its files (at most config.MAX_FILES_PER_RECORD).
    page = computed_page(
        items,
        limit,
        cursor,
        scope_of("VERSIONS", owner=owner, id=doc.id),
        secret,
        order=lambda v: (int(v["revision"]),),
    )
    return page.to_dict(lambda v: v)


def downloadable(caller: Caller | None, owner: str, owner_id: str, file_id: str) -> tuple[Any, Attachment]:
    """The record and the stored file the caller may download (usage/downloads.py counts it)."""
    caller = require(caller)
    doc = _visible(caller, owner, owner_id)  # the public cannot see a pending record, nor its files
    attachment = _stored(owner, doc.id, file_id)
    if attachment.proposal not in _accepted(doc) and not (
        attachment.proposal == _proposal(doc)[0] and caller.sees_all_of(doc.province)
    ):
        raise NotFound(
            Message(
                "No file %(file_id)s on %(owner)s %(owner_id)s",
                file_id=file_id,
                owner=noun(owner),
                owner_id=owner_id,
            )
        )  # a revision's file before its approval
    return doc, attachment


def download_url(settings: Settings, attachment: Attachment) -> str:
    """A short-lived URL of the file's bytes, named for the browser as it was uploaded."""
    return s3(settings).generate_presigned_url(
        "get_object",
        ExpiresIn=int(DOWNLOAD_TTL.total_seconds()),
        Params={
            "Bucket": settings.files_bucket,
            "Key": attachment.object_key,
            "ResponseContentType": attachment.content_type,
            "ResponseContentDisposition": content_disposition(attachment.name),
        },
    )


def content_disposition(name: str) -> str:
    """RFC 6266 attachment header: an ASCII fallback and the UTF-8 name (Chinese names survive)."""
    fallback = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _files_path(owner: str, owner_id: str) -> str:
    if owner == FORM_OWNER:
        province, _, year = owner_id.partition("-")
        return f"/provinces/{province}/annual-forms/{year}/files"
    return f"/{owner}s/{owner_id}/files"


def render(attachment: Attachment) -> dict[str, Any]:
    base = f"{_files_path(attachment.owner, attachment.owner_id)}/{attachment.id}"
    return {
        "id": attachment.id,
        "purpose": attachment.purpose,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": int(attachment.size),
        "sha256": attachment.sha256,
        "state": attachment.state,
        "created_at": iso(attachment.created_at),
        "revision": int(attachment.revision) if attachment.revision is not None else None,
        "replaces": attachment.replaces,
        "stored_at": iso(attachment.stored_at) if attachment.stored_at else None,
        "links": {"download": base} if attachment.state == "stored" else {},
    }
