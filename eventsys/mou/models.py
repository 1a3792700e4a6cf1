"""Mou, MouParty, MouSignatory, MouDocument and MouAuditEntry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsys.accounts.models import User
from eventsys.agenda.models import Session as AgendaSession
from eventsys.common.db import enum_column, utcnow
from eventsys.common.enums import LabelledEnum
from eventsys.events.models import Event, Organization, Person
from eventsys.extensions import db


class MouStatus(LabelledEnum):
    DRAFT = "draft", _l("Draft")
    SCHEDULED = "scheduled", _l("Scheduled for signing")
    SIGNED = "signed", _l("Signed")
    EXPIRED = "expired", _l("Expired")
    TERMINATED = "terminated", _l("Terminated")
    RENEWED = "renewed", _l("Renewed")

    @property
    def is_signed(self) -> bool:
        """Signed, or past signing (expired, terminated, renewed): the record of a real signature."""
        return self in SIGNED_STATUSES


SIGNED_STATUSES = frozenset({MouStatus.SIGNED, MouStatus.EXPIRED, MouStatus.TERMINATED, MouStatus.RENEWED})


class MouVisibility(LabelledEnum):
    PUBLIC = "public", _l("Public (listed once signed)")
    INTERNAL = "internal", _l("Internal (organizers only)")


MOU_VISIBILITY_LABELS = MouVisibility.labels()


class SignatoryRole(LabelledEnum):
    SIGNATORY = "signatory", _l("Signatory")
    WITNESS = "witness", _l("Witness")


SIGNATORY_ROLE_LABELS = SignatoryRole.labels()


class Mou(db.Model):
    """A memorandum of understanding between two or more organizations, signed (or to be signed) at an event."""

    __tablename__ = "mou"
    __table_args__ = (
        sa.CheckConstraint("start_date IS NULL OR end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
        # The database's backstop for the service rule: a signed record always has its signing date.
        sa.CheckConstraint(
            "signing_date IS NOT NULL OR status IN ('draft', 'scheduled')", name="signed_has_signing_date"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    #: The agenda session of the signing ceremony, if it is on the agenda.
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_session.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    #: The purpose, in a few sentences.
    summary: Mapped[str | None] = mapped_column(sa.Text)
    place: Mapped[str | None] = mapped_column(sa.String(200))
    signing_date: Mapped[date | None] = mapped_column(sa.Date)
    start_date: Mapped[date | None] = mapped_column(sa.Date)
    #: The end or renewal date; the renewal reminder is sent some weeks before it.
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[MouStatus] = mapped_column(enum_column(MouStatus, "mou_status"), default=MouStatus.DRAFT, index=True)
    visibility: Mapped[MouVisibility] = mapped_column(
        enum_column(MouVisibility, "mou_visibility"), default=MouVisibility.INTERNAL
    )
    #: Seen by the event's organizers only, never on public pages or in the public list.
    internal_notes: Mapped[str | None] = mapped_column(sa.Text)
    #: The end date for which the renewal reminder went out: at most one reminder per MOU and end date.
    renewal_reminded_for: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    session: Mapped[AgendaSession | None] = relationship()
    parties: Mapped[list[MouParty]] = relationship(
        back_populates="mou", cascade="all, delete-orphan", order_by="MouParty.position, MouParty.id"
    )
    documents: Mapped[list[MouDocument]] = relationship(
        back_populates="mou", cascade="all, delete-orphan", order_by="MouDocument.uploaded_at, MouDocument.id"
    )
    audit_entries: Mapped[list[MouAuditEntry]] = relationship(
        back_populates="mou", cascade="all, delete-orphan", order_by="MouAuditEntry.at.desc(), MouAuditEntry.id.desc()"
    )

    @property
    def is_public(self) -> bool:
        """Whether the public may see this record: public, signed (or past signing), at a public event."""
        return self.visibility is MouVisibility.PUBLIC and self.status.is_signed and self.event.is_public

    def __repr__(self) -> str:
        return f"<Mou {self.id} {self.title!r}>"


class MouParty(db.Model):
    """One organization that is party to an MOU."""

    __tablename__ = "mou_party"
    __table_args__ = (sa.UniqueConstraint("mou_id", "organization_id", name="uq_mou_party_mou_organization"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mou_id: Mapped[int] = mapped_column(sa.ForeignKey("mou.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"))
    #: Order of the parties as written in the agreement.
    position: Mapped[int] = mapped_column(default=0)

    mou: Mapped[Mou] = relationship(back_populates="parties")
    organization: Mapped[Organization] = relationship()
    signatories: Mapped[list[MouSignatory]] = relationship(
        back_populates="party", cascade="all, delete-orphan", order_by="MouSignatory.id"
    )

    @property
    def signing_signatories(self) -> list[MouSignatory]:
        return [s for s in self.signatories if s.role is SignatoryRole.SIGNATORY]


class MouSignatory(db.Model):
    """Someone who signed (or witnessed) for one party, with their title at the time of signing.

    ``person`` may be empty for a signatory: the party signed, but the record does not name who signed
    for it (e.g. the source says only that the organizations signed). Witnesses are always named.
    """

    __tablename__ = "mou_signatory"
    __table_args__ = (
        sa.CheckConstraint("role = 'signatory' OR person_id IS NOT NULL", name="witness_is_named"),
        sa.UniqueConstraint("party_id", "person_id", name="uq_mou_signatory_party_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("mou_party.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    #: The title they signed under; Person.title may change later.
    title_at_signing: Mapped[str | None] = mapped_column(sa.String(300))
    role: Mapped[SignatoryRole] = mapped_column(
        enum_column(SignatoryRole, "mou_signatory_role"), default=SignatoryRole.SIGNATORY
    )

    party: Mapped[MouParty] = relationship(back_populates="signatories")
    person: Mapped[Person | None] = relationship()


class MouDocument(db.Model):
    """A signed copy (PDF, or a JPEG/PNG scan), stored outside static/ under a generated name."""

    __tablename__ = "mou_document"
    __table_args__ = (
        sa.CheckConstraint("size > 0", name="size_positive"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mou_id: Mapped[int] = mapped_column(sa.ForeignKey("mou.id", ondelete="CASCADE"), index=True)
    #: Hex SHA-256 of the file's bytes, shown on the record and used by "verify a copy".
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int]
    #: The generated file name under the documents folder; never derived from the upload's name.
    stored_name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    #: The name the file was uploaded under (sanitized), offered again on download.
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    #: Detected from the content: application/pdf, image/jpeg or image/png.
    content_type: Mapped[str] = mapped_column(sa.String(100))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    mou: Mapped[Mou] = relationship(back_populates="documents")
    uploaded_by: Mapped[User | None] = relationship()


class MouAuditEntry(db.Model):
    """One change to an MOU: who, when, what, and the values before and after (JSON)."""

    __tablename__ = "mou_audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    mou_id: Mapped[int] = mapped_column(sa.ForeignKey("mou.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    #: The actor's name when the change was made ("system" for jobs and commands), kept if the account goes.
    actor_name: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What happened, e.g. "created", "updated", "status", "party_added", "signatory_removed", "document_added".
    action: Mapped[str] = mapped_column(sa.String(40))
    #: The reason given for an amendment after signing; None for ordinary changes.
    reason: Mapped[str | None] = mapped_column(sa.Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    mou: Mapped[Mou] = relationship(back_populates="audit_entries")
    actor: Mapped[User | None] = relationship()

    @property
    def is_amendment(self) -> bool:
        return self.reason is not None
