"""Business rules for MOU records: what a valid record is, its status machine, amendments after signing,
documents checked by their content, "verify a copy", visibility, and the renewal reminders.

Every change writes an MouAuditEntry. Services flush but never commit; the caller commits once.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, selectinload

from eventsys.accounts.models import EventRole, Role, User
from eventsys.agenda.models import Session as AgendaSession
from eventsys.common.access import user_has_role
from eventsys.common.db import utcnow
from eventsys.common.errors import DomainError
from eventsys.events.models import Event, EventStatus, Organization, Person
from eventsys.extensions import db
from eventsys.mou.models import (
    Mou,
    MouAuditEntry,
    MouDocument,
    MouParty,
    MouSignatory,
    MouStatus,
    MouVisibility,
    SignatoryRole,
)

S = MouStatus

#: The status machine. Draft and scheduled may go back and forth; a record of an agreement that was
#: signed without being scheduled here (signed offline, entered afterwards) may go from draft to signed.
#: Expired, terminated and renewed are final.
TRANSITIONS: dict[MouStatus, frozenset[MouStatus]] = {
    S.DRAFT: frozenset({S.SCHEDULED, S.SIGNED}),
    S.SCHEDULED: frozenset({S.DRAFT, S.SIGNED}),
    S.SIGNED: frozenset({S.EXPIRED, S.TERMINATED, S.RENEWED}),
    S.EXPIRED: frozenset(),
    S.TERMINATED: frozenset(),
    S.RENEWED: frozenset(),
}

#: Fields of a signed record that change only through an amendment with a reason.
SIGNED_FACTS = ("title", "signing_date", "place", "start_date")

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
DEFAULT_RENEWAL_NOTICE_DAYS = 42

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"

#: Content type → the file name extensions that may carry it, and the one a download gets.
EXTENSIONS = {
    "application/pdf": ((".pdf",), ".pdf"),
    "image/png": ((".png",), ".png"),
    "image/jpeg": ((".jpg", ".jpeg", ".jpe"), ".jpg"),
}


@dataclass
class MouData:
    """The editable fields of an MOU."""

    title: str
    summary: str | None = None
    place: str | None = None
    signing_date: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    visibility: MouVisibility = MouVisibility.INTERNAL
    internal_notes: str | None = None
    session_id: int | None = None


# --- reading ----------------------------------------------------------------------------------------------


def _with_parties() -> Any:
    return selectinload(Mou.parties).selectinload(MouParty.signatories).selectinload(MouSignatory.person)


def mous_for_event(event: Event) -> Sequence[Mou]:
    """Every MOU of the event (organizers' view), newest signing first, then drafts."""
    query = (
        sa.select(Mou)
        .where(Mou.event_id == event.id)
        .options(_with_parties(), selectinload(Mou.parties).selectinload(MouParty.organization))
        .order_by(Mou.signing_date.desc().nulls_last(), Mou.id)
    )
    return db.session.scalars(query).all()


def public_mous(event: Event | None = None) -> Sequence[Mou]:
    """The public, signed (or past signing) MOUs of public events, most recent signing first."""
    query = (
        sa.select(Mou)
        .join(Event, Event.id == Mou.event_id)
        .where(
            Mou.visibility == MouVisibility.PUBLIC,
            Mou.status.in_([s for s in MouStatus if s.is_signed]),
            Event.status.in_([EventStatus.PUBLISHED, EventStatus.CLOSED]),
        )
        .options(_with_parties(), selectinload(Mou.parties).selectinload(MouParty.organization))
        .order_by(Mou.signing_date.desc(), Mou.id)
    )
    if event is not None:
        query = query.where(Mou.event_id == event.id)
    return db.session.scalars(query).all()


def public_mou_count(event: Event) -> int:
    """How many of the event's MOUs the public may see."""
    if not event.is_public:
        return 0
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Mou)
            .where(
                Mou.event_id == event.id,
                Mou.visibility == MouVisibility.PUBLIC,
                Mou.status.in_([s for s in MouStatus if s.is_signed]),
            )
        )
        or 0
    )


def get_mou(event: Event, mou_id: int) -> Mou | None:
    """The MOU with ``mou_id`` if it belongs to ``event``."""
    mou = db.session.get(Mou, mou_id)
    if mou is None or mou.event_id != event.id:
        return None
    return mou


def may_see(user: Any, mou: Mou) -> bool:
    """Public records are for everyone; the rest (drafts, internal ones) for the event's organizers only."""
    return mou.is_public or user_has_role(user, mou.event, Role.ORGANIZER)


def allowed_transitions(mou: Mou) -> list[MouStatus]:
    """The statuses ``mou`` may move to next, in the machine's order (for the buttons)."""
    return [status for status in MouStatus if status in TRANSITIONS[mou.status]]


# --- the audit trail --------------------------------------------------------------------------------------


def _actor_name(actor: User | None) -> str:
    return actor.name if actor is not None else "system"


def _audit(
    mou: Mou,
    actor: User | None,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> MouAuditEntry:
    entry = MouAuditEntry(
        mou=mou,
        actor_id=actor.id if actor is not None else None,
        actor_name=_actor_name(actor),
        at=utcnow(),
        action=action,
        reason=reason,
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a field's value."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, MouStatus | MouVisibility | SignatoryRole):
        return value.value
    return value


def _signatory_facts(signatory: MouSignatory) -> dict[str, Any]:
    return {
        "party": signatory.party.organization.name,
        "person": signatory.person.name if signatory.person else None,
        "title_at_signing": signatory.title_at_signing,
        "role": signatory.role.value,
    }


# --- create and edit --------------------------------------------------------------------------------------


def _validate(event: Event, data: MouData) -> None:
    if not data.title or not data.title.strip():
        raise DomainError(_("Give the MOU a title."), code="title_missing", field="title")
    if data.start_date and data.end_date and data.end_date < data.start_date:
        raise DomainError(_("The end date cannot be before the start date."), code="dates_order", field="end_date")
    if data.session_id is not None and not _session_belongs_to(event, data.session_id):
        raise DomainError(_("Choose a session of this event's agenda."), code="session_invalid", field="session_id")


def _session_belongs_to(event: Event, session_id: int) -> bool:
    """Whether ``session_id`` is a session of ``event``'s agenda."""
    session = db.session.get(AgendaSession, session_id)
    return session is not None and session.event_id == event.id


def _require_reason(mou: Mou, reason: str | None, what: str) -> str | None:
    """After signing, ``what`` changes only through an amendment with a reason; returns the reason."""
    reason = (reason or "").strip() or None
    if mou.status.is_signed and reason is None:
        raise DomainError(
            _("This MOU is signed: %(what)s change only through an amendment. Give the reason.", what=what),
            code="amendment_required",
            field="reason",
        )
    return reason if mou.status.is_signed else None


def create_mou(actor: User | None, event: Event, data: MouData, organization_ids: Iterable[int]) -> Mou:
    """Record a draft MOU of ``event`` between two or more organizations."""
    _validate(event, data)
    ids = list(dict.fromkeys(organization_ids))
    organizations = {o.id: o for o in db.session.scalars(sa.select(Organization).where(Organization.id.in_(ids)))}
    if len(ids) < 2 or len(organizations) != len(ids):
        raise DomainError(
            _("Choose at least two organizations as parties."), code="parties_missing", field="organizations"
        )
    mou = Mou(event=event, status=MouStatus.DRAFT)
    for name in MouData.__dataclass_fields__:
        setattr(mou, name, getattr(data, name))
    for position, org_id in enumerate(ids):
        mou.parties.append(MouParty(organization=organizations[org_id], position=position))
    db.session.add(mou)
    db.session.flush()
    _audit(
        mou,
        actor,
        "created",
        after={**{f.name: _plain(getattr(data, f.name)) for f in fields(MouData)}, "parties": _party_names(mou)},
    )
    db.session.flush()
    return mou


def _party_names(mou: Mou) -> list[str]:
    return [party.organization.name for party in mou.parties]


def update_mou(actor: User | None, mou: Mou, data: MouData, reason: str | None = None) -> Mou:
    """Change an MOU's details. After signing, a change to its signed facts needs a reason (an amendment)."""
    _validate(mou.event, data)
    changed = [f.name for f in fields(MouData) if getattr(mou, f.name) != getattr(data, f.name)]
    if not changed:
        return mou
    amendment = None
    if mou.status.is_signed:
        if any(name in SIGNED_FACTS for name in changed):
            amendment = _require_reason(mou, reason, _("its title, signing date, place and start date"))
        if data.signing_date is None:
            raise DomainError(
                _("A signed MOU keeps its signing date."), code="signing_date_missing", field="signing_date"
            )
    before = {name: _plain(getattr(mou, name)) for name in changed}
    for name in changed:
        setattr(mou, name, getattr(data, name))
    after = {name: _plain(getattr(mou, name)) for name in changed}
    _audit(mou, actor, "amended" if amendment else "updated", before, after, amendment)
    db.session.flush()
    return mou


# --- parties and signatories ------------------------------------------------------------------------------


def add_party(actor: User | None, mou: Mou, organization_id: int, reason: str | None = None) -> MouParty:
    """Add an organization as a party (after signing: an amendment with a reason).

    A party added by an amendment has no signatory yet; the MOU page says so until one is added.
    """
    amendment = _require_reason(mou, reason, _("parties and signatories"))
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise DomainError(_("Choose an organization."), code="organization_missing", field="organization_id")
    if any(party.organization_id == organization_id for party in mou.parties):
        raise DomainError(_("This organization is already a party."), code="party_exists", field="organization_id")
    party = MouParty(organization=organization, position=max((p.position for p in mou.parties), default=-1) + 1)
    mou.parties.append(party)
    _audit(mou, actor, "party_added", None, {"party": organization.name}, amendment)
    db.session.flush()
    return party


def remove_party(actor: User | None, mou: Mou, party_id: int, reason: str | None = None) -> None:
    """Remove a party and its signatories (after signing: an amendment with a reason)."""
    party = _party(mou, party_id)
    amendment = _require_reason(mou, reason, _("parties and signatories"))
    if len(mou.parties) <= 2:
        raise DomainError(_("An MOU has at least two parties."), code="too_few_parties")
    before = {"party": party.organization.name, "signatories": [_signatory_facts(s) for s in party.signatories]}
    mou.parties.remove(party)
    _audit(mou, actor, "party_removed", before, None, amendment)
    db.session.flush()


def _party(mou: Mou, party_id: int) -> MouParty:
    party = next((p for p in mou.parties if p.id == party_id), None)
    if party is None:
        raise DomainError(_("Choose one of this MOU's parties."), code="party_missing", field="party_id")
    return party


def add_signatory(
    actor: User | None,
    mou: Mou,
    party_id: int,
    *,
    person_id: int | None = None,
    new_person_name: str | None = None,
    title_at_signing: str | None = None,
    role: SignatoryRole = SignatoryRole.SIGNATORY,
    reason: str | None = None,
) -> MouSignatory:
    """Add who signs (or witnesses) for a party: a known person, a new person by name, or, for a signatory
    only, nobody named (the party signed, but the record does not say who signed for it)."""
    party = _party(mou, party_id)
    amendment = _require_reason(mou, reason, _("parties and signatories"))
    person: Person | None = None
    new_person_name = (new_person_name or "").strip() or None
    if person_id is not None and new_person_name:
        raise DomainError(
            _("Choose a person or type a new name, not both."), code="person_ambiguous", field="new_person_name"
        )
    if person_id is not None:
        person = db.session.get(Person, person_id)
        if person is None:
            raise DomainError(_("Choose a person."), code="person_missing", field="person_id")
    elif new_person_name:
        person = Person(name=new_person_name, title=title_at_signing, organization_id=party.organization_id)
        db.session.add(person)
    if person is None and role is SignatoryRole.WITNESS:
        raise DomainError(_("Name the witness."), code="witness_unnamed", field="person_id")
    if person is not None and any(s.person_id == person.id and person.id is not None for s in party.signatories):
        raise DomainError(
            _("This person is already listed for this party."), code="signatory_exists", field="person_id"
        )
    title = (title_at_signing or "").strip() or (person.title if person else None)
    signatory = MouSignatory(person=person, title_at_signing=title, role=role)
    party.signatories.append(signatory)
    db.session.flush()
    _audit(mou, actor, "signatory_added", None, _signatory_facts(signatory), amendment)
    db.session.flush()
    return signatory


def remove_signatory(actor: User | None, mou: Mou, signatory_id: int, reason: str | None = None) -> None:
    """Remove a signatory or witness (after signing: an amendment, and each party keeps a signatory)."""
    signatory = next((s for p in mou.parties for s in p.signatories if s.id == signatory_id), None)
    if signatory is None:
        raise DomainError(_("Choose one of this MOU's signatories."), code="signatory_missing")
    amendment = _require_reason(mou, reason, _("parties and signatories"))
    party = signatory.party
    if mou.status.is_signed and signatory.role is SignatoryRole.SIGNATORY and len(party.signing_signatories) <= 1:
        raise DomainError(
            _("A signed MOU keeps at least one signatory for each party. Add the correct one first."),
            code="last_signatory",
        )
    before = _signatory_facts(signatory)
    party.signatories.remove(signatory)
    _audit(mou, actor, "signatory_removed", before, None, amendment)
    db.session.flush()


# --- status -----------------------------------------------------------------------------------------------


def signing_problems(mou: Mou) -> list[str]:
    """What keeps ``mou`` from being marked signed (empty when nothing does)."""
    problems = []
    if mou.signing_date is None:
        problems.append(_("Give the signing date."))
    elif mou.signing_date > _today(mou.event):
        problems.append(_("The signing date is in the future."))
    if len(mou.parties) < 2:
        problems.append(_("An MOU has at least two parties."))
    for party in mou.parties:
        if not party.signing_signatories:
            problems.append(_("Add a signatory for %(party)s.", party=party.organization.name))
    return problems


def _today(event: Event) -> date:
    return utcnow().astimezone(event.tz).date()


def change_status(actor: User | None, mou: Mou, new_status: MouStatus) -> Mou:
    """Move ``mou`` along the status machine; marking it signed needs a signing date and a signatory per party."""
    if new_status not in TRANSITIONS[mou.status]:
        raise DomainError(
            _(
                "An MOU that is %(current)s cannot become %(new)s.",
                current=mou.status.label.lower(),
                new=new_status.label.lower(),
            ),
            code="invalid_transition",
            field="status",
        )
    if new_status is MouStatus.SIGNED:
        problems = signing_problems(mou)
        if problems:
            raise DomainError(
                _("This MOU cannot be marked signed yet: %(problems)s", problems=" ".join(problems)),
                code="not_ready_to_sign",
                field="status",
            )
    before = mou.status
    mou.status = new_status
    _audit(mou, actor, "status", {"status": before.value}, {"status": new_status.value})
    db.session.flush()
    return mou


def sign_mou(actor: User | None, mou: Mou) -> Mou:
    """Mark ``mou`` signed (see change_status)."""
    return change_status(actor, mou, MouStatus.SIGNED)


# --- documents --------------------------------------------------------------------------------------------


def max_upload_bytes() -> int:
    return int(current_app.config.get("MOU_MAX_UPLOAD_BYTES") or DEFAULT_MAX_UPLOAD_BYTES)


def too_large_message(limit: int | None = None) -> str:
    limit = limit or max_upload_bytes()
    return _(
        "This file is larger than %(limit)s MB, the most a document may be. Nothing was stored.",
        limit=f"{limit / (1024 * 1024):g}",
    )


def documents_folder() -> Path:
    """Where MOU documents live: MOU_DOCUMENTS_DIR, else mou-documents/ in the instance folder (never static/)."""
    configured = current_app.config.get("MOU_DOCUMENTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "mou-documents"


def document_path(document: MouDocument) -> Path:
    return documents_folder() / document.stored_name


def _read_limited(stream: IO[bytes], limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise DomainError(too_large_message(limit), code="too_large", field="file")
    return data


def detect_content_type(data: bytes) -> str | None:
    """The file's type from its content: a PDF that parses, or a PNG/JPEG that Pillow verifies; else None."""
    if data.startswith(PDF_MAGIC):
        return "application/pdf" if _pdf_parses(data) else None
    if data.startswith(PNG_MAGIC):
        return "image/png" if _image_verifies(data, "PNG") else None
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg" if _image_verifies(data, "JPEG") else None
    return None


def _pdf_parses(data: bytes) -> bool:
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                reader.decrypt("")
            return len(reader.pages) >= 1
    except Exception:  # any parse failure means: not a PDF we accept
        return False


def _image_verifies(data: bytes, expected_format: str) -> bool:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != expected_format:
                    return False
                image.verify()
        return True
    except Exception:  # truncated, corrupt, or a decompression bomb
        return False


_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+")


def clean_filename(name: str | None, content_type: str) -> str:
    """A safe display name: no folders, no control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE_NAME.sub("_", name).strip(" ._") or "document"
    stem, ext = os.path.splitext(name)
    if ext.lower() not in EXTENSIONS[content_type][0]:
        ext = EXTENSIONS[content_type][1]
    return stem[:190] + ext.lower()


def attach_document(
    actor: User | None, mou: Mou, filename: str | None, stream: IO[bytes], *, limit: int | None = None
) -> MouDocument:
    """Store a signed copy after checking its content; record its SHA-256. Nothing is stored on refusal.

    The file goes to the documents folder under a random name. If the transaction rolls back, the file
    is removed again, so the folder never holds a file the database does not know.
    """
    limit = limit or max_upload_bytes()
    data = _read_limited(stream, limit)
    if not data:
        raise DomainError(_("The file is empty."), code="empty_file", field="file")
    content_type = detect_content_type(data)
    if content_type is None:
        raise DomainError(
            _("Only PDF documents and JPEG or PNG scans are accepted, and this file is none of them."),
            code="file_type",
            field="file",
        )
    ext = os.path.splitext(filename or "")[1].lower()
    if ext and ext not in EXTENSIONS[content_type][0]:
        raise DomainError(
            _(
                "The file is named %(ext)s, but its content is %(kind)s. Upload the real document.",
                ext=ext,
                kind={"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}[content_type],
            ),
            code="file_type_mismatch",
            field="file",
        )
    folder = documents_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_urlsafe(24) + EXTENSIONS[content_type][1]
    path = folder / stored_name
    temporary = folder / f".{stored_name}.part"
    with open(temporary, "xb") as out:
        out.write(data)
    os.replace(temporary, path)
    _remove_on_rollback(path)
    document = MouDocument(
        mou=mou,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        stored_name=stored_name,
        original_filename=clean_filename(filename, content_type),
        content_type=content_type,
        uploaded_at=utcnow(),
        uploaded_by_id=actor.id if actor is not None else None,
    )
    db.session.add(document)
    db.session.flush()
    _audit(
        mou,
        actor,
        "document_added",
        None,
        {"file": document.original_filename, "sha256": document.sha256, "size": document.size},
    )
    db.session.flush()
    return document


_WRITTEN_FILES = "eventsys_mou_written_files"


def _remove_on_rollback(path: Path) -> None:
    session = db.session()
    session.info.setdefault(_WRITTEN_FILES, []).append(path)


@sa_event.listens_for(Session, "after_commit")
def _keep_written_files(session: Session) -> None:
    if session.get_nested_transaction() is None:  # the outermost transaction committed: the files stay
        session.info.pop(_WRITTEN_FILES, None)


@sa_event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction: Any) -> None:
    """Rolled back, or closed without commit: remove the files written in that transaction."""
    if transaction.parent is None:
        for path in session.info.pop(_WRITTEN_FILES, []):
            Path(path).unlink(missing_ok=True)


@dataclass(frozen=True)
class Verification:
    """The result of checking a copy: its SHA-256, and the recorded document it matches (or None)."""

    sha256: str
    match: MouDocument | None

    @property
    def matches(self) -> bool:
        return self.match is not None


def verify_copy(mou: Mou, stream: IO[bytes]) -> Verification:
    """Whether the uploaded file is byte for byte one of ``mou``'s recorded signed documents. Stores nothing."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    sha256 = digest.hexdigest()
    match = next((d for d in mou.documents if d.sha256 == sha256), None)
    return Verification(sha256=sha256, match=match)


# --- renewal reminders ------------------------------------------------------------------------------------


def renewal_notice_days() -> int:
    return int(current_app.config.get("MOU_RENEWAL_NOTICE_DAYS") or DEFAULT_RENEWAL_NOTICE_DAYS)


def due_for_renewal_reminder(today: date, notice_days: int) -> Sequence[int]:
    """Ids of signed MOUs ending within ``notice_days`` of ``today`` whose reminder for that end date is not sent."""
    return db.session.scalars(
        sa.select(Mou.id)
        .where(
            Mou.status == MouStatus.SIGNED,
            Mou.end_date.is_not(None),
            Mou.end_date >= today,
            Mou.end_date <= today + timedelta(days=notice_days),
            sa.or_(Mou.renewal_reminded_for.is_(None), Mou.renewal_reminded_for != Mou.end_date),
        )
        .order_by(Mou.id)
    ).all()


def organizers_of(event: Event) -> Sequence[User]:
    """The event's organizers with active accounts: whom renewal reminders go to."""
    return db.session.scalars(
        sa.select(User)
        .join(EventRole, EventRole.user_id == User.id)
        .where(EventRole.event_id == event.id, EventRole.role == Role.ORGANIZER, User.active.is_(True))
        .order_by(User.id)
    ).all()
