"""Business rules for invitations: adding and importing invitees, tracking, declining and sending.

People are found and merged by lower-cased email: one ``Person`` per address, whatever the source.
Like every service module, these functions flush but never commit; mail goes out through the task queue
only after the caller commits (``after_commit``).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from eventsys.accounts.models import User
from eventsys.common.db import utcnow
from eventsys.common.errors import DomainError
from eventsys.common.locking import lock_event
from eventsys.common.tasks import after_commit
from eventsys.common.tokens import find_by_token, new_token
from eventsys.events.models import Category, Event, EventStatus, Organization, OrganizationKind, Person
from eventsys.extensions import db
from eventsys.invitations.csv_import import LANGUAGES, ParsedFile, ParsedRow
from eventsys.invitations.models import BulkSend, Invitation, InvitationState


class BulkKind(enum.StrEnum):
    INVITATIONS = "invitations"
    REMINDERS = "invitation_reminders"


#: Which invitations each bulk send goes to.
BULK_STATES = {
    BulkKind.INVITATIONS: (InvitationState.NOT_SENT,),
    # "Those who have not answered": the invitation reached them (sent, perhaps opened), no reply yet.
    BulkKind.REMINDERS: (InvitationState.SENT, InvitationState.OPENED),
}

#: A bulk send not finished after this long is assumed dead (its worker stopped) and no longer blocks a new one.
BULK_STALE_AFTER = timedelta(hours=1)


@dataclass
class InviteeData:
    name: str
    email: str
    category: Category
    organization: str | None = None
    title: str | None = None
    language: str = "en"
    skip_moderation: bool = False


# --- People -----------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_person_by_email(email: str) -> Person | None:
    return db.session.scalar(sa.select(Person).where(sa.func.lower(Person.email) == normalize_email(email)))


def find_or_create_organization(name: str) -> Organization:
    """The organization called ``name`` (case-insensitively), created with kind "other" if new."""
    name = " ".join(name.split())
    found = db.session.scalar(sa.select(Organization).where(sa.func.lower(Organization.name) == name.lower()))
    if found is not None:
        return found
    organization = Organization(name=name, kind=OrganizationKind.OTHER)
    db.session.add(organization)
    db.session.flush()
    return organization


def merge_person(email: str, name: str, organization: str | None, title: str | None) -> tuple[Person, bool]:
    """The person with this email, created if new; returns (person, created).

    An existing person keeps their name and details (they may come from a registration or an earlier,
    corrected list); only empty title and organization are filled in.
    """
    person = find_person_by_email(email)
    if person is None:
        person = Person(name=name, email=normalize_email(email), title=title)
        if organization:
            person.organization = find_or_create_organization(organization)
        db.session.add(person)
        db.session.flush()
        return person, True
    if title and not person.title:
        person.title = title
    if organization and person.organization_id is None:
        person.organization = find_or_create_organization(organization)
    return person, False


def invitation_for(event: Event, person: Person) -> Invitation | None:
    return db.session.scalar(
        sa.select(Invitation).where(Invitation.event_id == event.id, Invitation.person_id == person.id)
    )


def _new_invitation(event: Event, person: Person, category: Category, language: str, skip: bool) -> Invitation:
    invitation = Invitation(
        event=event,
        person=person,
        category=category,
        language=language,
        token=new_token(),
        state=InvitationState.NOT_SENT,
        skip_moderation=skip,
    )
    db.session.add(invitation)
    return invitation


def add_invitation(event: Event, data: InviteeData, actor: User | None) -> Invitation:
    """Invite one person by hand (found by email, or created)."""
    try:
        email = validate_email(data.email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise DomainError(_("Enter a valid email address."), code="email_invalid", field="email") from None
    if data.language not in LANGUAGES:
        raise DomainError(_("Choose English, Korean or Spanish."), code="language_invalid", field="language")
    name = " ".join(data.name.split())
    if not name:
        raise DomainError(_("Enter the name."), code="name_missing", field="name")
    lock_event(event.id)
    person, _created = merge_person(email, name, data.organization, data.title)
    if invitation_for(event, person) is not None:
        raise DomainError(
            _("%(name)s is already invited to this event.", name=person.name), code="already_invited", field="email"
        )
    invitation = _new_invitation(event, person, data.category, data.language, data.skip_moderation)
    db.session.flush()
    return invitation


# --- Import -----------------------------------------------------------------------------------------


class RowAction(enum.StrEnum):
    NEW_PERSON = "new_person"
    EXISTING_PERSON = "existing_person"
    INVITATION_EXISTS = "invitation_exists"
    DUPLICATE_IN_FILE = "duplicate_in_file"
    ERROR = "error"


@dataclass
class PlannedRow:
    row: ParsedRow
    action: RowAction
    #: The existing person this row merges into, if any.
    person: Person | None = None
    #: The line of the earlier row with the same email, for duplicates within the file.
    duplicate_of: int | None = None


@dataclass
class ImportPlan:
    parsed: ParsedFile
    rows: list[PlannedRow]
    counts: Counter[RowAction] = field(default_factory=Counter)

    @property
    def has_errors(self) -> bool:
        return self.counts[RowAction.ERROR] > 0

    @property
    def new_invitations(self) -> int:
        return self.counts[RowAction.NEW_PERSON] + self.counts[RowAction.EXISTING_PERSON]


def plan_import(event: Event, parsed: ParsedFile) -> ImportPlan:
    """What importing ``parsed`` into ``event`` would do, row by row. Reads only; writes nothing."""
    emails = {row.email for row in parsed.rows if not row.errors}
    people: dict[str, Person] = {}
    invited: set[int] = set()
    if emails:
        for person in db.session.scalars(sa.select(Person).where(sa.func.lower(Person.email).in_(emails))):
            people[normalize_email(person.email or "")] = person
        invited = set(
            db.session.scalars(
                sa.select(Invitation.person_id).where(
                    Invitation.event_id == event.id, Invitation.person_id.in_([p.id for p in people.values()])
                )
            )
        )
    first_line: dict[str, int] = {}
    planned = []
    for row in parsed.rows:
        if row.errors:
            planned.append(PlannedRow(row, RowAction.ERROR))
            continue
        if row.email in first_line:
            planned.append(PlannedRow(row, RowAction.DUPLICATE_IN_FILE, duplicate_of=first_line[row.email]))
            continue
        first_line[row.email] = row.line
        person = people.get(row.email)
        if person is None:
            planned.append(PlannedRow(row, RowAction.NEW_PERSON))
        elif person.id in invited:
            planned.append(PlannedRow(row, RowAction.INVITATION_EXISTS, person=person))
        else:
            planned.append(PlannedRow(row, RowAction.EXISTING_PERSON, person=person))
    return ImportPlan(parsed=parsed, rows=planned, counts=Counter(p.action for p in planned))


@dataclass
class ImportResult:
    invited: int
    new_people: int
    merged_people: int
    already_invited: int
    duplicates: int


def import_rows(event: Event, parsed: ParsedFile, actor: User | None) -> ImportResult:
    """Import every row of a checked file, or nothing: a single bad row refuses the whole file.

    Duplicate emails (within the file, or of existing people) are merged; people already invited are
    left as they are. The caller commits once, so the import is one transaction.
    """
    if parsed.error_count:
        raise DomainError(
            ngettext(
                "%(num)d row has errors; nothing was imported. Correct the file and upload it again.",
                "%(num)d rows have errors; nothing was imported. Correct the file and upload it again.",
                parsed.error_count,
            ),
            code="rows_invalid",
        )
    lock_event(event.id)  # two imports into one event queue up rather than race for the same people
    plan = plan_import(event, parsed)
    by_line = {planned.row.line: planned for planned in plan.rows}
    for planned in plan.rows:
        row = planned.row
        if planned.action is RowAction.DUPLICATE_IN_FILE:
            # A later row for the same person may complete what the first one left empty.
            first = by_line[planned.duplicate_of or 0].row
            first.organization = first.organization or row.organization
            first.title = first.title or row.title
    for planned in plan.rows:
        row = planned.row
        if planned.action not in (RowAction.NEW_PERSON, RowAction.EXISTING_PERSON):
            continue
        assert row.category is not None
        person, _created = merge_person(row.email, row.name, row.organization, row.title)
        _new_invitation(event, person, row.category, row.language, skip=False)
    db.session.flush()
    return ImportResult(
        invited=plan.new_invitations,
        new_people=plan.counts[RowAction.NEW_PERSON],
        merged_people=plan.counts[RowAction.EXISTING_PERSON],
        already_invited=plan.counts[RowAction.INVITATION_EXISTS],
        duplicates=plan.counts[RowAction.DUPLICATE_IN_FILE],
    )


# --- Lists and counts -------------------------------------------------------------------------------


def list_invitations(
    event: Event,
    *,
    state: InvitationState | None = None,
    category: Category | None = None,
    search: str | None = None,
) -> Sequence[Invitation]:
    """The event's invitations, filtered, by name."""
    query = (
        sa.select(Invitation)
        .join(Person, Person.id == Invitation.person_id)
        .where(Invitation.event_id == event.id)
        .options(sa.orm.contains_eager(Invitation.person).joinedload(Person.organization))
        .order_by(sa.func.lower(Person.name), Invitation.id)
    )
    if state is not None:
        query = query.where(Invitation.state == state)
    if category is not None:
        query = query.where(Invitation.category == category)
    if search:
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                sa.func.lower(Person.name).like(pattern, escape="\\"),
                sa.func.lower(Person.email).like(pattern, escape="\\"),
            )
        )
    return db.session.scalars(query).all()


@dataclass
class InvitationCounts:
    total: int
    by_state: dict[InvitationState, int]
    by_category: dict[Category, int]


def invitation_counts(event: Event) -> InvitationCounts:
    rows = db.session.execute(
        sa.select(Invitation.state, Invitation.category, sa.func.count())
        .where(Invitation.event_id == event.id)
        .group_by(Invitation.state, Invitation.category)
    ).all()
    by_state = dict.fromkeys(InvitationState, 0)
    by_category = dict.fromkeys(Category, 0)
    for state, category, count in rows:
        by_state[state] += count
        by_category[category] += count
    return InvitationCounts(total=sum(by_state.values()), by_state=by_state, by_category=by_category)


# --- The invitee's link -----------------------------------------------------------------------------


def find_invitation_by_token(token: str) -> Invitation | None:
    return find_by_token(Invitation, Invitation.token, token)


def mark_opened(invitation: Invitation, *, now: datetime | None = None) -> bool:
    """The invitee visited their link. Returns whether anything changed (only the first visit counts)."""
    if invitation.opened_at is not None and invitation.state is not InvitationState.BOUNCED:
        return False
    now = now or utcnow()
    if invitation.opened_at is None:
        invitation.opened_at = now
    if invitation.state in (InvitationState.NOT_SENT, InvitationState.SENT, InvitationState.BOUNCED):
        invitation.state = InvitationState.OPENED
    db.session.flush()
    return True


def needs_opened_mark(invitation: Invitation) -> bool:
    return invitation.opened_at is None or invitation.state is InvitationState.BOUNCED


def decline_invitation(invitation: Invitation, *, now: datetime | None = None) -> Invitation:
    """The invitee says no. Someone who already registered cancels through their registration instead."""
    if invitation.state is InvitationState.ACCEPTED:
        raise DomainError(
            _("You have already registered. To cancel, use the link in your confirmation email."),
            code="already_accepted",
        )
    if invitation.state is InvitationState.DECLINED:
        return invitation
    now = now or utcnow()
    invitation.state = InvitationState.DECLINED
    invitation.responded_at = now
    invitation.opened_at = invitation.opened_at or now
    db.session.flush()
    return invitation


# --- Sending ----------------------------------------------------------------------------------------


def _refuse_closed(event: Event) -> None:
    if event.status is EventStatus.CLOSED:
        raise DomainError(_("The event is closed; invitations can no longer be sent."), code="event_closed")


def resend_invitation(invitation: Invitation, actor: User | None) -> None:
    """Send (or send again) one invitation, through the task queue after commit."""
    _refuse_closed(invitation.event)
    if invitation.state is InvitationState.ACCEPTED:
        raise DomainError(_("%(name)s has already accepted.", name=invitation.person.name), code="already_accepted")
    from eventsys.invitations.tasks import send_one_invitation

    after_commit(send_one_invitation, invitation.id, BulkKind.INVITATIONS.value)


def latest_bulk_send(event: Event) -> BulkSend | None:
    return db.session.scalar(
        sa.select(BulkSend)
        .where(BulkSend.event_id == event.id, BulkSend.kind.in_([k.value for k in BulkKind]))
        .order_by(BulkSend.created_at.desc(), BulkSend.id.desc())
        .limit(1)
    )


def start_bulk_send(event: Event, kind: BulkKind, actor: User | None, *, now: datetime | None = None) -> BulkSend:
    """Start sending every invitation of ``kind`` (not yet sent, or reminders) on the task queue."""
    _refuse_closed(event)
    now = now or utcnow()
    lock_event(event.id)
    running = latest_bulk_send(event)
    if running is not None and running.finished_at is None and now - running.created_at < BULK_STALE_AFTER:
        raise DomainError(_("A bulk send is still running; wait until it has finished."), code="bulk_send_running")
    ids = list(
        db.session.scalars(
            sa.select(Invitation.id)
            .where(Invitation.event_id == event.id, Invitation.state.in_(BULK_STATES[kind]))
            .order_by(Invitation.id)
        )
    )
    if not ids:
        message = (
            _("Every invitation has been sent already.")
            if kind is BulkKind.INVITATIONS
            else _("Nobody is waiting for a reminder: everyone has answered or has not been sent an invitation.")
        )
        raise DomainError(message, code="nothing_to_send")
    bulk = BulkSend(
        event_id=event.id,
        kind=kind.value,
        total=len(ids),
        created_by_id=actor.id if actor else None,
        created_at=now,
        failures=[],
    )
    db.session.add(bulk)
    db.session.flush()
    from eventsys.invitations.tasks import run_bulk_send

    after_commit(run_bulk_send, bulk.id, ids)
    return bulk


def invitation_link(invitation: Invitation) -> str:
    """The personal link, absolute, for emails."""
    return current_app.config["BASE_URL"].rstrip("/") + f"/i/{invitation.token}"


def still_due(invitation: Invitation, kind: BulkKind, since: datetime | None = None) -> bool:
    """Whether ``invitation`` still qualifies for a bulk send of ``kind`` (it may have changed meanwhile)."""
    if invitation.state not in BULK_STATES[kind]:
        return False
    return not (kind is BulkKind.REMINDERS and since and invitation.reminded_at and invitation.reminded_at >= since)


def deliver_invitation(invitation: Invitation, kind: BulkKind, connection=None, *, now=None) -> str | None:  # type: ignore[no-untyped-def]
    """Email one invitation (or reminder) now and record the outcome. Returns the error text, or None if sent.

    A permanent refusal (a 5xx reply) marks the invitation BOUNCED; a transient failure (server down,
    4xx) only records the error, so a later send may succeed. Called by tasks, never inside a request.
    """
    from eventsys.common.mail import MailError, render_mail, send_mail

    now = now or utcnow()
    person = invitation.person
    template = "invitation_reminder" if kind is BulkKind.REMINDERS else "invitation"
    mail = render_mail(
        template,
        invitation.language,
        invitation=invitation,
        event=invitation.event,
        person=person,
        link=invitation_link(invitation),
    )
    try:
        send_mail((person.name, person.email or ""), mail.subject, mail.text, mail.html, connection=connection)
    except MailError as error:
        invitation.last_error = error.message[:2000]
        if error.permanent and invitation.state in (
            InvitationState.NOT_SENT,
            InvitationState.SENT,
            InvitationState.BOUNCED,
        ):
            invitation.state = InvitationState.BOUNCED
        db.session.flush()
        return invitation.last_error
    invitation.send_count += 1
    invitation.last_error = None
    if kind is BulkKind.REMINDERS:
        invitation.reminded_at = now
    else:
        invitation.sent_at = now
    if invitation.state in (InvitationState.NOT_SENT, InvitationState.BOUNCED):
        invitation.state = InvitationState.SENT
    db.session.flush()
    return None


def record_bulk_progress(bulk: BulkSend, invitation: Invitation, error: str | None) -> None:
    if error is None:
        bulk.sent += 1
    else:
        bulk.failed += 1
        # A new list, so SQLAlchemy sees the JSON column change.
        bulk.failures = [*(bulk.failures or []), {"email": invitation.person.email, "error": error}]
    db.session.flush()
