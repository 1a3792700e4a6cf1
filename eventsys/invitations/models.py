"""Invitation and the record of bulk sends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventsys.common.db import enum_column, utcnow
from eventsys.common.enums import LabelledEnum
from eventsys.events.models import Category, Event, Person
from eventsys.extensions import db


class InvitationState(LabelledEnum):
    NOT_SENT = "not_sent", _l("Not sent")
    SENT = "sent", _l("Sent")
    OPENED = "opened", _l("Opened")
    ACCEPTED = "accepted", _l("Accepted")
    DECLINED = "declined", _l("Declined")
    BOUNCED = "bounced", _l("Bounced")


INVITATION_STATE_LABELS = InvitationState.labels()


class Invitation(db.Model):
    """One person invited to one event, with a personal link (``token``)."""

    __tablename__ = "invitation"
    __table_args__ = (sa.UniqueConstraint("event_id", "person_id", name="uq_invitation_event_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    category: Mapped[Category] = mapped_column(enum_column(Category, "invitation_category"))
    #: Language of the emails to this invitee: en, ko or es.
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    #: The secret of the personal link (secrets.token_urlsafe); compared in constant time.
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    state: Mapped[InvitationState] = mapped_column(
        enum_column(InvitationState, "invitation_state"), default=InvitationState.NOT_SENT, index=True
    )
    #: Registrations through this invitation are confirmed without an organizer's approval.
    skip_moderation: Mapped[bool] = mapped_column(default=False)
    send_count: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    #: What the SMTP server said when it refused the last send.
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[Event] = relationship()
    person: Mapped[Person] = relationship()


class BulkSend(db.Model):
    """A bulk mailing (invitations, reminders) running on the task queue, with its progress and failures."""

    __tablename__ = "bulk_send"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    #: What is being sent, e.g. "invitations", "invitation_reminders".
    kind: Mapped[str] = mapped_column(sa.String(40))
    total: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    #: [{"email": ..., "error": ...}] for each address the SMTP server refused.
    failures: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    @property
    def done(self) -> int:
        return self.sent + self.failed
