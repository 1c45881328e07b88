"""Evidence files per reported value: sniffed, size-limited, content-addressed, audited.

A city editor attaches the documents behind a figure (PDF, Excel workbook, CSV, PNG or JPEG
image). The type is decided by the bytes (magic numbers, the workbook's parts), never by the
file name or the browser's Content-Type; markup (HTML, SVG, XML) is refused outright. The bytes
are stored once under KPI_UPLOAD_DIR, outside the web root, named by their SHA-256. Removing
an attachment marks its row and keeps the file, so nothing is ever lost; both are audited.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Evidence, IndicatorValue, User
from kpi_app.models.base import utcnow
from kpi_app.services import audit, permissions
from kpi_app.services.errors import Invalid, PermissionDenied


@dataclass(frozen=True, slots=True)
class Kind:
    media_type: str
    extensions: tuple[str, ...]


PDF = Kind("application/pdf", (".pdf",))
XLSX = Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
CSV = Kind("text/csv", (".csv",))
PNG = Kind("image/png", (".png",))
JPEG = Kind("image/jpeg", (".jpg", ".jpeg"))
KINDS = (PDF, XLSX, CSV, PNG, JPEG)
ACCEPT = ",".join(ext for kind in KINDS for ext in kind.extensions)

_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|\?xml)", re.I)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class EvidenceRejected(Invalid):
    """A file that may not be attached; the message says why, for the uploader."""


def max_bytes() -> int:
    return int(current_app.config["KPI_EVIDENCE_MAX_BYTES"])


def upload_dir() -> Path:
    return Path(current_app.config["KPI_UPLOAD_DIR"])


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def _is_xlsx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _is_csv(data: bytes) -> bool:
    """Plain UTF-8 text without control characters or markup: a table of values."""
    if b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        return False
    return not text.lstrip().startswith("<")


def sniff(data: bytes) -> Kind:
    """The file's type from its content; anything not on the list is refused."""
    if not data:
        raise EvidenceRejected(_("The file is empty."))
    if _MARKUP.search(data[:4096]) and not data.startswith((b"%PDF-", b"\x89PNG", b"\xff\xd8")):
        raise EvidenceRejected(
            _("Web pages and SVG or XML files cannot be attached; save the page as a PDF.")
        )
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        if _is_xlsx(data):
            return XLSX
        raise EvidenceRejected(
            _("This ZIP file is not an Excel workbook (.xlsx); attach the documents one by one.")
        )
    if _is_csv(data):
        return CSV
    raise EvidenceRejected(
        _("This file is not a PDF, Excel workbook (.xlsx), CSV, PNG or JPEG file.")
    )


def clean_filename(name: str) -> str:
    """The file's own name without folders or control characters, at most 255 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    normal = unicodedata.normalize("NFC", base)
    base = "".join(c for c in normal if unicodedata.category(c)[0] != "C")
    base = base.strip().strip(".") or "evidence"
    return base[-255:]


def check(filename: str, data: bytes) -> tuple[str, Kind]:
    """Validate one upload: size, type by content, a name whose extension agrees."""
    limit = max_bytes()
    if len(data) > limit:
        raise EvidenceRejected(
            _("The file is larger than the limit of %(limit)s.", limit=_human(limit))
        )
    kind = sniff(data)
    name = clean_filename(filename)
    extension = os.path.splitext(name)[1].lower()
    if extension not in kind.extensions:
        raise EvidenceRejected(
            _(
                "The file's content is %(type)s, but its name ends in “%(ext)s”: rename it to "
                "end in %(expected)s.",
                type=kind.media_type,
                ext=extension or _("(nothing)"),
                expected=" / ".join(kind.extensions),
            )
        )
    return name, kind


def path_for(sha256: str) -> Path:
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 digest: {sha256!r}")
    return upload_dir() / sha256[:2] / sha256


def store_bytes(data: bytes) -> str:
    """Write the bytes under their SHA-256 (once; the same content is stored once)."""
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(digest)
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return digest


def read_bytes(sha256: str) -> bytes:
    return path_for(sha256).read_bytes()


def _audit_fields(item: Evidence) -> dict[str, object]:
    return {
        "value_id": item.value_id,
        "code": item.value.code,
        "data_point": item.value.data_point,
        "filename": item.filename,
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
    }


def attach(value: IndicatorValue, actor: User, filename: str, data: bytes) -> Evidence:
    """Attach a file to a value (the city's editors, while the assessment is editable)."""
    if not permissions.can_edit_values(actor, value.assessment):
        raise PermissionDenied(_("You may not add evidence to this value now."))
    item = add_checked(value, actor, check(filename, data), data)
    db.session.commit()
    return item


def add_checked(
    value: IndicatorValue,
    actor: User,
    checked: tuple[str, Kind],
    data: bytes,
    *,
    query_message_id: int | None = None,
) -> Evidence:
    """Store bytes that passed `check` and add their row and audit event (the caller has
    authorised the upload and commits; a query reply uses this inside its own transaction)."""
    name, kind = checked
    digest = store_bytes(data)
    item = Evidence(
        value=value,
        filename=name,
        media_type=kind.media_type,
        size=len(data),
        sha256=digest,
        uploaded_by_id=actor.id,
        uploaded_at=utcnow(),
        query_message_id=query_message_id,
    )
    db.session.add(item)
    db.session.flush()
    fields = _audit_fields(item)
    if query_message_id is not None:
        fields["query_message_id"] = query_message_id
    audit.record(
        "evidence_added",
        "evidence",
        item.id,
        actor=actor,
        new=fields,
        assessment_id=value.assessment_id,
    )
    return item


def remove(item: Evidence, actor: User) -> None:
    """Take an attachment off its value: the row is marked, the file is kept."""
    if not permissions.can_edit_values(actor, item.value.assessment):
        raise PermissionDenied(_("You may not remove evidence from this value now."))
    if item.deleted_at is not None:
        return
    item.deleted_at = utcnow()
    item.deleted_by_id = actor.id
    audit.record(
        "evidence_removed",
        "evidence",
        item.id,
        actor=actor,
        old=_audit_fields(item),
        assessment_id=item.value.assessment_id,
    )
    db.session.commit()


def get(evidence_id: int) -> Evidence | None:
    return db.session.get(Evidence, evidence_id)


def for_value(value: IndicatorValue) -> list[Evidence]:
    """The value's current attachments, oldest first."""
    return list(
        db.session.scalars(
            select(Evidence)
            .where(Evidence.value_id == value.id, Evidence.deleted_at.is_(None))
            .order_by(Evidence.id)
        )
    )


def for_assessment(assessment_id: int) -> dict[int, list[Evidence]]:
    """Current attachments of every value of an assessment, keyed by value id."""
    rows = db.session.scalars(
        select(Evidence)
        .join(IndicatorValue, Evidence.value_id == IndicatorValue.id)
        .where(IndicatorValue.assessment_id == assessment_id, Evidence.deleted_at.is_(None))
        .order_by(Evidence.id)
    )
    grouped: dict[int, list[Evidence]] = {}
    for row in rows:
        grouped.setdefault(row.value_id, []).append(row)
    return grouped


def for_messages(message_ids: list[int]) -> dict[int, list[Evidence]]:
    """Files brought by query replies, keyed by message id (removed ones included)."""
    if not message_ids:
        return {}
    grouped: dict[int, list[Evidence]] = {}
    for row in db.session.scalars(
        select(Evidence).where(Evidence.query_message_id.in_(message_ids)).order_by(Evidence.id)
    ):
        if row.query_message_id is not None:
            grouped.setdefault(row.query_message_id, []).append(row)
    return grouped


def all_digests() -> list[str]:
    """Every stored file's digest, removed attachments included (for backups)."""
    return sorted(set(db.session.scalars(select(Evidence.sha256))))


def human_size(size: int) -> str:
    return _human(size)
