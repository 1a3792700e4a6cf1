"""Certificate templates, issued certificates and bulk certificate runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsys.common.db import enum_column, utcnow
from eventsys.common.enums import LabelledEnum
from eventsys.events.models import Event, Person
from eventsys.extensions import db


class CertificateKind(LabelledEnum):
    APPRECIATION = "appreciation", _l("Certificate of appreciation")
    ATTENDANCE = "attendance", _l("Certificate of attendance")
    SPEAKER = "speaker", _l("Speaker certificate")
    COMPLETION = "completion", _l("Certificate of completion")


class CertificateTemplate(db.Model):
    """What an event's certificates of one kind say and who signs them; the design is built in."""

    __tablename__ = "certificate_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CertificateKind] = mapped_column(enum_column(CertificateKind, "certificate_kind"))
    #: The big heading, e.g. "Certificate of Appreciation".
    title: Mapped[str] = mapped_column(sa.String(120))
    #: The line above the recipient's name, e.g. "is presented to". Placeholders allowed.
    intro: Mapped[str] = mapped_column(sa.String(300), default="")
    #: The text under the name. Placeholders: {recipient} {organization} {event} {date} {citation}.
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: Place printed beside the date (defaults to the event's venue).
    place: Mapped[str | None] = mapped_column(sa.String(200))
    #: Up to three signature blocks: [{"name": ..., "position": ..., "image": stored file name or None}].
    signatures: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    #: Stored file name of the organizer's logo (a PNG we re-encoded), under the instance folder.
    logo: Mapped[str | None] = mapped_column(sa.String(100))
    #: The language the texts above are written in. The fixed labels and the date are printed in it too, so
    #: every copy of a certificate (single, merged, ZIP, email) reads in one language.
    language: Mapped[str] = mapped_column(sa.String(8), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()


class Certificate(db.Model):
    """One certificate issued to a person. Revoked certificates are kept: their code answers "revoked"."""

    __tablename__ = "certificate"
    __table_args__ = (
        sa.Index(
            "uq_certificate_live_template_person",
            "template_id",
            "person_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("certificate_template.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    #: The bulk run that issued it, if any.
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificate_run.id", ondelete="SET NULL"), index=True)
    #: The name and organization as printed (kept as issued, even if the person's record changes later).
    recipient_name: Mapped[str] = mapped_column(sa.String(200))
    organization_name: Mapped[str | None] = mapped_column(sa.String(200))
    #: The personal citation, e.g. "in recognition for having secured three Peruvian cities ...".
    citation: Mapped[str | None] = mapped_column(sa.Text)
    #: Public verification code: 10 characters of base32 (A-Z, 2-7) from ``secrets``, 50 bits.
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(sa.String(300))
    emailed_at: Mapped[datetime | None]

    template: Mapped[CertificateTemplate] = relationship()
    person: Mapped[Person] = relationship()

    @property
    def live(self) -> bool:
        return self.revoked_at is None


class RunSource(LabelledEnum):
    SPEAKERS = "speakers", _l("All speakers of the event")
    CHECKED_IN_LIST = "checked_in_list", _l("In-person attendees who checked in on a chosen list")
    CHECKED_IN_DAYS = "checked_in_days", _l("In-person attendees who checked in on at least N days")
    ONLINE_REGISTERED = "online_registered", _l("Online attendees who registered")
    ONLINE_JOINED = "online_joined", _l("Online attendees who joined")
    CSV = "csv", _l("A CSV list")


class RunStatus(LabelledEnum):
    QUEUED = "queued", _l("Queued")
    RUNNING = "running", _l("Rendering")
    DONE = "done", _l("Ready")
    FAILED = "failed", _l("Failed")


class CertificateRun(db.Model):
    """A bulk issue: certificates made at once, then rendered on the task queue into a merged PDF and a ZIP."""

    __tablename__ = "certificate_run"
    __table_args__ = (sa.CheckConstraint("min_days IS NULL OR min_days >= 1", name="min_days_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("certificate_template.id", ondelete="CASCADE"))
    source: Mapped[RunSource] = mapped_column(enum_column(RunSource, "certificate_run_source"))
    #: For CHECKED_IN_LIST: the check-in list (no foreign key: the check-in tables are another branch).
    list_id: Mapped[int | None]
    #: For CHECKED_IN_DAYS: the least number of distinct event days with a check-in.
    min_days: Mapped[int | None]
    send_email: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    status: Mapped[RunStatus] = mapped_column(
        enum_column(RunStatus, "certificate_run_status"), default=RunStatus.QUEUED
    )
    #: Certificates issued by this run, and people skipped because they already held a live one.
    issued: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    #: File names under <instance>/certificates/ once done.
    pdf_file: Mapped[str | None] = mapped_column(sa.String(100))
    zip_file: Mapped[str | None] = mapped_column(sa.String(100))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    template: Mapped[CertificateTemplate] = relationship()
