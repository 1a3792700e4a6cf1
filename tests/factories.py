"""factory_boy factories for the models; rows are flushed into the test's session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory
from werkzeug.security import generate_password_hash

from eventsys.accounts.models import EventRole, Role, User
from eventsys.agenda.models import Room, Session, SessionFormat, SessionKind
from eventsys.certificates.models import CertificateKind, CertificateRun, CertificateTemplate, RunSource, RunStatus
from eventsys.checkin.models import BadgeBatch, BadgeBatchStatus, CheckInList, DoorDevice
from eventsys.common.tokens import new_token
from eventsys.events.models import (
    Category,
    Event,
    EventFormat,
    EventKind,
    EventStatus,
    Organization,
    OrganizationKind,
    Person,
)
from eventsys.extensions import db
from eventsys.invitations.models import Invitation, InvitationState
from eventsys.mou.models import Mou, MouParty, MouSignatory, MouStatus, MouVisibility, SignatoryRole
from eventsys.registration.models import CategoryQuota, Mode, Registration, RegistrationStatus

TEST_PASSWORD = "correct horse battery staple"
_HASH = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000")


class Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class OrganizationFactory(Base):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    kind = OrganizationKind.CITY
    country = "KR"


class PersonFactory(Base):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"Person {n}")
    title = "Delegate"
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    organization = factory.SubFactory(OrganizationFactory)


class EventFactory(Base):
    class Meta:
        model = Event

    name = factory.Sequence(lambda n: f"Event {n}")
    slug = factory.Sequence(lambda n: f"event-{n}")
    kind = EventKind.KICKOFF
    format = EventFormat.HYBRID
    timezone = "Asia/Seoul"
    starts_at = factory.LazyFunction(lambda: datetime.now(UTC).replace(microsecond=0) + timedelta(days=30))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=3))
    venue_name = "Seoul City Hall"
    venue_address = "110 Sejong-daero, Jung-gu, Seoul"
    online_url = "https://meet.example.org/secret-room-42"
    capacity = 50
    status = EventStatus.PUBLISHED


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    name = factory.Sequence(lambda n: f"User {n}")
    password_hash = _HASH
    is_site_admin = False


class EventRoleFactory(Base):
    class Meta:
        model = EventRole

    user = factory.SubFactory(UserFactory)
    event = factory.SubFactory(EventFactory)
    role = Role.ORGANIZER


class InvitationFactory(Base):
    class Meta:
        model = Invitation

    event = factory.SubFactory(EventFactory)
    person = factory.SubFactory(PersonFactory)
    category = Category.MEMBER_CITY
    language = "en"
    token = factory.LazyFunction(new_token)
    state = InvitationState.SENT


class RegistrationFactory(Base):
    """A confirmed in-person registration; pass status/mode/waitlisted_at for other states."""

    class Meta:
        model = Registration

    event = factory.SubFactory(EventFactory)
    person = factory.SubFactory(PersonFactory)
    mode = Mode.IN_PERSON
    status = RegistrationStatus.CONFIRMED
    category = None
    consent_at = factory.LazyFunction(lambda: datetime.now(UTC))
    confirmed_at = factory.LazyFunction(lambda: datetime.now(UTC))
    language = "en"
    manage_token = factory.LazyFunction(new_token)
    join_token = factory.LazyAttribute(lambda o: new_token() if o.mode is Mode.ONLINE else None)


class CategoryQuotaFactory(Base):
    class Meta:
        model = CategoryQuota

    class Params:
        event = factory.SubFactory(EventFactory)

    event_id = factory.SelfAttribute("event.id")
    category = Category.EMBASSY
    seats = 20


class RoomFactory(Base):
    class Meta:
        model = Room

    event = factory.SubFactory(EventFactory)
    name = factory.Sequence(lambda n: f"Room {n}")
    capacity = 40
    position = factory.Sequence(lambda n: n)


class SessionFactory(Base):
    """A public hybrid talk in its event's first hour; pass room=..., starts_at/ends_at=None for unscheduled."""

    class Meta:
        model = Session

    event = factory.SubFactory(EventFactory)
    title = factory.Sequence(lambda n: f"Session {n}")
    kind = SessionKind.TALK
    format = SessionFormat.HYBRID
    starts_at = factory.LazyAttribute(lambda o: o.event.starts_at)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=30) if o.starts_at else None)
    room = None
    is_public = True


class CheckInListFactory(Base):
    """A check-in list for any day; pass day=, categories=, allows_exit= as needed."""

    class Meta:
        model = CheckInList

    class Params:
        event = factory.SubFactory(EventFactory)

    event_id = factory.SelfAttribute("event.id")
    name = factory.Sequence(lambda n: f"List {n}")


class DoorDeviceFactory(Base):
    class Meta:
        model = DoorDevice

    class Params:
        event = factory.SubFactory(EventFactory)

    event_id = factory.SelfAttribute("event.id")
    name = factory.Sequence(lambda n: f"Door {n}")
    token = factory.LazyFunction(new_token)


class BadgeBatchFactory(Base):
    """A finished bulk badge PDF (its file is the test's to write, under ``badges.batch_folder()``)."""

    class Meta:
        model = BadgeBatch

    class Params:
        event = factory.SubFactory(EventFactory)

    event_id = factory.SelfAttribute("event.id")
    layout = "a6"
    status = BadgeBatchStatus.DONE
    total = 1
    done = 1
    file_name = "badges.pdf"
    finished_at = factory.LazyFunction(lambda: datetime.now(UTC))


def organizer_of(event: Event) -> User:
    return EventRoleFactory(event=event, role=Role.ORGANIZER).user


def door_staff_of(event: Event) -> User:
    return EventRoleFactory(event=event, role=Role.DOOR).user


class MouFactory(Base):
    """A draft, internal MOU; see ``signed_mou`` for a complete signed one."""

    class Meta:
        model = Mou

    event = factory.SubFactory(EventFactory)
    title = factory.Sequence(lambda n: f"Memorandum of understanding {n}")
    summary = "Cooperation on smart city capacity building."
    place = "Seoul"
    status = MouStatus.DRAFT
    visibility = MouVisibility.INTERNAL


class MouPartyFactory(Base):
    class Meta:
        model = MouParty

    mou = factory.SubFactory(MouFactory)
    organization = factory.SubFactory(OrganizationFactory)
    position = factory.Sequence(lambda n: n)


class MouSignatoryFactory(Base):
    class Meta:
        model = MouSignatory

    party = factory.SubFactory(MouPartyFactory)
    person = factory.SubFactory(PersonFactory)
    title_at_signing = "Secretary General"
    role = SignatoryRole.SIGNATORY


def signed_mou(event: Event, visibility: MouVisibility = MouVisibility.PUBLIC, **kwargs: object) -> Mou:
    """A signed MOU of ``event`` between two organizations, each with one named signatory."""
    kwargs.setdefault("signing_date", datetime.now(UTC).date() - timedelta(days=10))
    mou = MouFactory(event=event, status=MouStatus.SIGNED, visibility=visibility, **kwargs)
    for _ in range(2):
        MouSignatoryFactory(party=MouPartyFactory(mou=mou))
    db.session.refresh(mou)
    return mou


class CertificateTemplateFactory(Base):
    """A certificate of appreciation with two signatures (no images) and the citation as its text."""

    class Meta:
        model = CertificateTemplate

    class Params:
        event = factory.SubFactory(EventFactory)

    event_id = factory.SelfAttribute("event.id")
    kind = CertificateKind.APPRECIATION
    title = "Certificate of Appreciation"
    intro = "is presented to"
    body = "{citation}"
    signatures = factory.LazyFunction(
        lambda: [
            {"name": "Oh Se-hoon", "position": "Mayor of Seoul and President of WeGO", "image": None},
            {"name": "Park Jung-sook", "position": "Secretary General of WeGO", "image": None},
        ]
    )


class CertificateRunFactory(Base):
    """A finished bulk run (its files are the test's to write, under ``services.output_folder()``)."""

    class Meta:
        model = CertificateRun

    class Params:
        template = factory.SubFactory(CertificateTemplateFactory)

    event_id = factory.SelfAttribute("template.event_id")
    template_id = factory.SelfAttribute("template.id")
    source = RunSource.SPEAKERS
    status = RunStatus.DONE
    total = 1
    done = 1
    issued = 1
    pdf_file = "run.pdf"
    zip_file = "run.zip"
    finished_at = factory.LazyFunction(lambda: datetime.now(UTC))
