"""The demo data: WeGO's 2022 activities kick-off in Seoul and the 6th General Assembly in Mexico City.

Facts come from the kick-off press release (shared/context). Where it is silent (clock times, the
General Assembly's dates, email addresses), the demo uses plainly illustrative values on example domains.
The press release names no ambassadors, so their Person records carry their office as their name.
The kick-off's attendance is replayed through the services at the times it happened (see ``_kickoff_attendance``);
its online participants and the sample event's registrants are fictional and say so in their names.
"""

from __future__ import annotations

import os
import secrets
from datetime import date, datetime, timedelta
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from eventsys.accounts import services as accounts
from eventsys.accounts.models import Role
from eventsys.common.db import utcnow
from eventsys.common.timefmt import local_to_utc, utc_to_local
from eventsys.events.models import (
    Event,
    EventFormat,
    EventKind,
    EventStatus,
    Organization,
    OrganizationKind,
    Person,
)
from eventsys.extensions import db

KICKOFF_SLUG = "wego-2022-kickoff"
GA_SLUG = "wego-6th-general-assembly"
SAMPLE_SLUG = "sample-smart-city-champions-info-session"
CREDENTIALS_FILE = "demo-login.txt"

ORGANIZATIONS: list[tuple[str, OrganizationKind, str]] = [
    ("Seoul Metropolitan Government", OrganizationKind.CITY, "KR"),
    ("Mexico City Government", OrganizationKind.CITY, "MX"),
    ("WeGO Secretariat", OrganizationKind.INTERNATIONAL, "KR"),
    ("Seoul National University Graduate School of Public Administration", OrganizationKind.UNIVERSITY, "KR"),
    ("Kookmin University", OrganizationKind.UNIVERSITY, "KR"),
    ("Korea Overseas Infrastructure & Urban Development Bank (KIND)", OrganizationKind.CORPORATION, "KR"),
    ("Edgelands Institute", OrganizationKind.NGO, "CH"),
]

#: The ten countries whose ambassadors attended the kick-off in person, with ISO codes.
EMBASSIES: list[tuple[str, str]] = [
    ("Algeria", "DZ"),
    ("Azerbaijan", "AZ"),
    ("Dominican Republic", "DO"),
    ("Ecuador", "EC"),
    ("Iran", "IR"),
    ("Mexico", "MX"),
    ("Oman", "OM"),
    ("Peru", "PE"),
    ("United Arab Emirates", "AE"),
    ("Vietnam", "VN"),
]

PEOPLE: list[tuple[str, str, str, str]] = [
    ("Se-hoon Oh", "Mayor of Seoul and President of WeGO", "mayor@seoul.example.org", "Seoul Metropolitan Government"),
    ("Jung Sook Park", "Secretary General of WeGO", "secretary.general@wego.example.org", "WeGO Secretariat"),
    (
        "Siriwan Chaichana",
        "PhD student, Graduate School of Public Administration",
        "siriwan.chaichana@snu.example.org",
        "Seoul National University Graduate School of Public Administration",
    ),
    ("Alizée Rousset", "Press contact", "press@wego.example.org", "WeGO Secretariat"),
]

KICKOFF_DESCRIPTION = (
    "WeGO launches its activities for 2022 with a hybrid event: the youth program WeGO Smart City Champions, "
    "the WeGO Smart Cities Index for benchmarking smart cities, and the WeGO Nexus community platform for "
    "members. The Mayor of Seoul and President of WeGO opens the event; the Secretary General presents the "
    "year's activities. Signing ceremonies with Seoul National University's Graduate School of Public "
    "Administration and with Edgelands Institute."
)

GA_DESCRIPTION = (
    "The 6th General Assembly of WeGO, hosted by Mexico City, WeGO's Vice President City. "
    "The dates in this demo are illustrative."
)


def embassy_name(country: str) -> str:
    return f"Embassy of {country} in the Republic of Korea"


def ambassador_title(country: str) -> str:
    if country == "Ecuador":
        return "Chief of Mission & Chargé d'Affaires of the Embassy of Ecuador"
    return f"Ambassador of {country} to the Republic of Korea"


def ambassador_name(country: str) -> str:
    if country == "Ecuador":
        return "Chief of Mission of Ecuador"
    return f"Ambassador of {country}"


def ambassador_email(country: str) -> str:
    return "ambassador." + country.lower().replace(" ", "-") + "@embassy.example.org"


def _local(text: str, tz: str) -> datetime:
    return local_to_utc(datetime.fromisoformat(text), tz)


def demo_is_loaded() -> bool:
    return db.session.scalar(sa.select(Event.id).where(Event.slug == KICKOFF_SLUG)) is not None


def load_demo(password: str | None = None, *, now: datetime | None = None) -> dict[str, str]:
    """Create the demo organizations, people, events and accounts. Returns the logins (email → password).

    ``now`` is the load time: the sample event is dated from it (tests pass their own)."""
    orgs: dict[str, Organization] = {}
    for name, kind, country in ORGANIZATIONS:
        orgs[name] = Organization(name=name, kind=kind, country=country)
    for country, code in EMBASSIES:
        orgs[embassy_name(country)] = Organization(
            name=embassy_name(country), kind=OrganizationKind.EMBASSY, country=code
        )
    db.session.add_all(orgs.values())

    for name, title, email, org in PEOPLE:
        db.session.add(Person(name=name, title=title, email=email, organization=orgs[org]))
    for country, _code in EMBASSIES:
        db.session.add(
            Person(
                name=ambassador_name(country),
                title=ambassador_title(country),
                email=ambassador_email(country),
                organization=orgs[embassy_name(country)],
            )
        )

    seoul, mexico = "Asia/Seoul", "America/Mexico_City"
    kickoff = Event(
        name="WeGO 2022 Activities Kick-off",
        slug=KICKOFF_SLUG,
        kind=EventKind.KICKOFF,
        format=EventFormat.HYBRID,
        description=KICKOFF_DESCRIPTION,
        timezone=seoul,
        starts_at=_local("2022-02-23T14:00", seoul),
        ends_at=_local("2022-02-23T16:30", seoul),
        venue_name="Seoul",
        venue_address="Seoul, Republic of Korea",
        online_url="https://meet.example.org/wego-2022-kickoff",
        capacity=60,
        registration_opens_at=_local("2022-02-01T09:00", seoul),
        registration_closes_at=_local("2022-02-22T18:00", seoul),
        invitation_only=True,
        status=EventStatus.PUBLISHED,
    )
    assembly = Event(
        name="6th WeGO General Assembly",
        slug=GA_SLUG,
        kind=EventKind.GENERAL_ASSEMBLY,
        format=EventFormat.HYBRID,
        description=GA_DESCRIPTION,
        timezone=mexico,
        starts_at=_local("2023-10-17T09:00", mexico),
        ends_at=_local("2023-10-19T18:00", mexico),
        venue_name="Mexico City",
        venue_address="Mexico City, Mexico",
        online_url="https://meet.example.org/wego-6th-general-assembly",
        capacity=400,
        registration_opens_at=_local("2023-06-01T09:00", mexico),
        registration_closes_at=_local("2023-10-16T18:00", mexico),
        invitation_only=False,
        status=EventStatus.PUBLISHED,
    )
    db.session.add_all([kickoff, assembly])
    db.session.flush()

    password = password or secrets.token_urlsafe(12)
    admin = accounts.create_user("admin@wego.example.org", "Site admin", password, is_site_admin=True)
    organizer = accounts.create_user("organizer@wego.example.org", "WeGO Secretariat organizer", password)
    door = accounts.create_user("door@wego.example.org", "Door staff, Seoul", password)
    for event in (kickoff, assembly):
        accounts.grant_role(None, event, organizer, Role.ORGANIZER)
    accounts.grant_role(None, kickoff, door, Role.DOOR)
    _invite_ambassadors(kickoff)
    _kickoff_agenda(kickoff)
    _record_mous(kickoff, orgs)
    _kickoff_certificates(kickoff)
    complete_demo(now=now)
    return {user.email: password for user in (organizer, door, admin)}


def complete_demo(now: datetime | None = None) -> list[str]:
    """Add the parts of the demo that later versions brought, where they are missing: the kick-off's attendance
    (registrations, check-ins, joins and attendance certificates) and the upcoming sample event. Running it again
    changes nothing. Returns what was added, in words, for ``flask demo load``."""
    from eventsys.common.tasks import discard_pending
    from eventsys.registration.notifications import send_registration_mail

    now = now or utcnow()
    added = []
    kickoff = db.session.scalar(sa.select(Event).where(Event.slug == KICKOFF_SLUG))
    if kickoff is not None and not _has_registrations(kickoff):
        _kickoff_attendance(kickoff)
        added.append("the kick-off's attendance (registrations, check-ins, online joins, attendance certificates)")
    sample = db.session.scalar(sa.select(Event).where(Event.slug == SAMPLE_SLUG))
    if sample is not None and sample.registration_closes_at is not None and now >= sample.registration_closes_at:
        # The sample is there to try registering: once its registration has closed, a fresh one replaces it.
        db.session.execute(sa.delete(Event).where(Event.id == sample.id))  # its rows go with it (ON DELETE CASCADE)
        db.session.expunge(sample)
        _sample_event(now)
        added.append("a fresh sample event a month ahead (the previous one's registration had closed)")
    elif sample is None:
        _sample_event(now)
        added.append("the upcoming sample event")
    # The services queued confirmation emails for these demo registrations: the people are illustrative (and
    # the kick-off is long past), so nobody is mailed.
    discard_pending(send_registration_mail)
    return added


#: The two agreements signed at the kick-off, as the press release tells them: (title, purpose, parties).
#: It names no signatory and no term, so each party's signatory is an unnamed representative (the record
#: says the organization signed, not who) and no start or end date is set.
KICKOFF_MOUS: list[tuple[str, str, list[str], str]] = [
    (
        "MOU between WeGO and Edgelands Institute",
        "To conclude the kick-off, WeGO signed an MOU with Edgelands Institute, a multi-disciplinary organization "
        "based in Switzerland that uses academic research, data, and art to explore how the digitalization of "
        "urban security is changing the urban social contract.",
        ["WeGO Secretariat", "Edgelands Institute"],
        "MOU signing with Edgelands Institute",
    ),
    (
        "Agreement between SNU GSPA and WeGO on the WeGO Smart City Champions program",
        "Seoul National University's Graduate School of Public Administration became the latest university to "
        "partner with WeGO on the WeGO Smart City Champions program, WeGO's 15-week youth program launched at the "
        "kick-off. The signing ceremony was held offline, at the event.",
        ["Seoul National University Graduate School of Public Administration", "WeGO Secretariat"],
        "Signing ceremony: Seoul National University Graduate School of Public Administration and WeGO",
    ),
]


def _record_mous(kickoff: Event, orgs: dict[str, Organization]) -> None:
    """The kick-off's two MOUs, signed in Seoul on 23 February 2022, public."""
    from eventsys.mou import services as mou
    from eventsys.mou.models import MouVisibility

    db.session.flush()
    from eventsys.agenda.models import Session

    for title, purpose, parties, ceremony in KICKOFF_MOUS:
        session_id = db.session.scalar(
            sa.select(Session.id).where(Session.event_id == kickoff.id, Session.title == ceremony)
        )
        data = mou.MouData(
            title=title,
            summary=purpose,
            place="Seoul",
            signing_date=date(2022, 2, 23),
            visibility=MouVisibility.PUBLIC,
            internal_notes="The press release names neither the signatories nor the agreement's term.",
            session_id=session_id,
        )
        record = mou.create_mou(None, kickoff, data, [orgs[name].id for name in parties])
        for party in record.parties:
            mou.add_signatory(None, record, party.id)  # signed by the organization; the signer is not named
        mou.sign_mou(None, record)


#: The citation of the certificate of appreciation, as the kick-off press release words it.
PERU_CITATION = "in recognition for having secured three Peruvian cities as members of WeGO in 2021"


def _kickoff_certificates(kickoff: Event) -> None:
    """The certificate of appreciation handed to the Ambassador of Peru at the kick-off, and the attendance
    certificate template. Attendance certificates are issued from the door's check-ins (``_kickoff_attendance``)."""
    from eventsys.certificates import services as certificates
    from eventsys.certificates.models import CertificateKind

    signatures = [
        certificates.SignatureData("Se-hoon Oh", "Mayor of Seoul and President of WeGO"),
        certificates.SignatureData("Jung Sook Park", "Secretary General of WeGO"),
    ]
    appreciation = certificates.create_template(
        None,
        kickoff,
        certificates.TemplateData(
            kind=CertificateKind.APPRECIATION,
            title="Certificate of Appreciation",
            intro="is presented to",
            body="{citation}",
            signatures=signatures,
        ),
    )
    ambassador = db.session.scalar(sa.select(Person).where(Person.email == ambassador_email("Peru")))
    assert ambassador is not None
    # Handed over in the ceremony at 14:50 in Seoul (see the agenda).
    certificates.issue_certificate(
        None, appreciation, ambassador, PERU_CITATION, now=kickoff.starts_at + timedelta(minutes=50)
    )
    certificates.create_template(
        None,
        kickoff,
        certificates.TemplateData(
            kind=CertificateKind.ATTENDANCE,
            title="Certificate of Attendance",
            intro="This is to certify that",
            body="attended {event} on {date}.",
            signatures=signatures,
        ),
    )


#: Embassies whose invitations go out in Spanish; the others in English.
SPANISH_SPEAKING = {"Dominican Republic", "Ecuador", "Mexico", "Peru"}


def _invite_ambassadors(kickoff: Event) -> None:
    """Invitations (not yet sent) for the ten ambassadors named in the press release, category embassy."""
    from eventsys.events.models import Category
    from eventsys.invitations.services import InviteeData, add_invitation

    for country, _code in EMBASSIES:
        data = InviteeData(
            name=ambassador_name(country),
            email=ambassador_email(country),
            category=Category.EMBASSY,
            organization=embassy_name(country),
            title=ambassador_title(country),
            language="es" if country in SPANISH_SPEAKING else "en",
            skip_moderation=True,
        )
        add_invitation(kickoff, data, None)


#: The kick-off agenda (version 1, published). The titles, people and order follow the press release; the clock
#: times are illustrative, within the event's 14:00 to 16:30 in Seoul.
KICKOFF_AGENDA: list[tuple[str, str, str, str, list[tuple[str, str]], str | None]] = [
    # (start, end, title, kind, [(email, role)], description)
    (
        "14:00",
        "14:10",
        "Opening remarks",
        "keynote",
        [("mayor@seoul.example.org", "speaker")],
        "The Mayor of Seoul and President of WeGO opens the event and welcomes WeGO's new initiatives for 2022.",
    ),
    (
        "14:10",
        "14:30",
        "WeGO's role after the pandemic and its activities for 2022",
        "presentation",
        [("secretary.general@wego.example.org", "speaker")],
        "The Secretary General of WeGO on digital ethics, citizens' rights and people-centered smart cities.",
    ),
    (
        "14:30",
        "14:40",
        "Remarks by the Ambassador of Mexico",
        "talk",
        [(ambassador_email("Mexico"), "speaker")],
        "On behalf of Mexico City, WeGO's Vice President City and host of the 6th General Assembly (2023).",
    ),
    (
        "14:40",
        "14:50",
        "Special remarks by the Chief of Mission of Ecuador",
        "talk",
        [(ambassador_email("Ecuador"), "speaker")],
        "Following close cooperation with WeGO, notably the official visit of Ecuador's Vice-minister of Foreign "
        "Affairs last year.",
    ),
    (
        "14:50",
        "15:00",
        "Certificate of appreciation to the Ambassador of Peru",
        "ceremony",
        [(ambassador_email("Peru"), "speaker")],
        "In recognition of having secured three Peruvian cities as members of WeGO in 2021.",
    ),
    (
        "15:00",
        "15:20",
        "Launch of the WeGO Smart City Champions",
        "presentation",
        [("siriwan.chaichana@snu.example.org", "speaker")],
        "WeGO's flagship program for 2022: 15 weeks of lectures and capacity-building workshops for people under "
        "35. Key partners and a youth participant say a few words, including Seoul National University and "
        "Kookmin University.",
    ),
    (
        "15:20",
        "15:30",
        "Signing ceremony: Seoul National University Graduate School of Public Administration and WeGO",
        "ceremony",
        [],
        "The school becomes the latest university to partner with WeGO on the program.",
    ),
    (
        "15:30",
        "15:45",
        "WeGO Smart Cities Index and WeGO Nexus",
        "presentation",
        [],
        "An index for cities to assess their development stage and benchmark, and a community platform for "
        "WeGO members to communicate and find partners.",
    ),
    (
        "15:45",
        "15:55",
        "Plan for a WeGO Advisory Board",
        "presentation",
        [],
        "Leading experts from ministries, academia, corporations and international organizations, to promote "
        "smart cities through public-private-people partnerships (PPPP).",
    ),
    (
        "15:55",
        "16:10",
        "Closing showcase of WeGO's partners",
        "presentation",
        [],
        "WeGO's partners and their activities.",
    ),
    (
        "16:10",
        "16:20",
        "KIND brownfield project presentation",
        "presentation",
        [],
        "Korea Overseas Infrastructure & Urban Development Bank (KIND) presents its brownfield project.",
    ),
    (
        "16:20",
        "16:30",
        "MOU signing with Edgelands Institute",
        "ceremony",
        [],
        "Edgelands Institute, based in Switzerland, explores how the digitalization of urban security is changing "
        "the urban social contract.",
    ),
]


def _kickoff_agenda(kickoff: Event) -> None:
    """The kick-off's agenda in one room, hybrid except the signing ceremony (held offline); published as version 1."""
    from eventsys.agenda import services as agenda
    from eventsys.agenda.models import SessionFormat, SessionKind, SpeakerRole

    room = agenda.create_room(kickoff, "Main hall", kickoff.capacity)
    for start, end, title, kind, speakers, description in KICKOFF_AGENDA:
        people = [
            (db.session.scalar(sa.select(Person).where(Person.email == email)), SpeakerRole(role))
            for email, role in speakers
        ]
        agenda.create_session(
            kickoff,
            agenda.SessionData(
                title=title,
                kind=SessionKind(kind),
                format=SessionFormat.IN_PERSON if title.startswith("Signing ceremony") else SessionFormat.HYBRID,
                description=description,
                starts_at=_local(f"2022-02-23T{start}", kickoff.timezone),
                ends_at=_local(f"2022-02-23T{end}", kickoff.timezone),
                room_id=room.id,
                speakers=[(person, role) for person, role in people if person is not None],
            ),
        )
    agenda.publish_agenda(kickoff, None, agenda.draft_digest(kickoff))


# --- The kick-off's attendance ----------------------------------------------------------------------------------

#: The ten ambassadors' answers and arrivals, in Seoul time: (country, accepted the invitation on, checked in at
#: on 23 February 2022). The press release says only that they were present in person; the days and clock times
#: are illustrative (the three speakers come first, before the 14:00 start).
KICKOFF_ARRIVALS: list[tuple[str, str, str]] = [
    ("Mexico", "2022-02-07T10:20", "13:25"),
    ("Ecuador", "2022-02-08T15:05", "13:28"),
    ("Peru", "2022-02-07T16:40", "13:31"),
    ("Algeria", "2022-02-10T09:45", "13:36"),
    ("Azerbaijan", "2022-02-11T11:10", "13:39"),
    ("Dominican Republic", "2022-02-09T14:30", "13:41"),
    ("Iran", "2022-02-14T10:05", "13:44"),
    ("Oman", "2022-02-15T13:50", "13:47"),
    ("United Arab Emirates", "2022-02-16T09:15", "13:50"),
    ("Vietnam", "2022-02-17T17:25", "13:53"),
]

#: Most participants joined online. These few are fictional (the press release names none): (name, email,
#: organization, category, registered on, join times on 23 February, Seoul). An empty list: registered, never joined.
KICKOFF_ONLINE: list[tuple[str, str, str, str, str, list[str]]] = [
    (
        "Online participant 1 (fictional)",
        "online.participant1@demo.example.org",
        "Example Member City",
        "member_city",
        "2022-02-09T10:00",
        ["13:57", "15:02"],
    ),
    (
        "Online participant 2 (fictional)",
        "online.participant2@demo.example.org",
        "Example Smart Tech Company",
        "partner",
        "2022-02-11T16:30",
        ["13:59"],
    ),
    (
        "Online participant 3 (fictional)",
        "online.participant3@demo.example.org",
        "Example University",
        "youth",
        "2022-02-15T08:45",
        ["14:01"],
    ),
    (
        "Online participant 4 (fictional)",
        "online.participant4@demo.example.org",
        "Example International Institute",
        "partner",
        "2022-02-18T12:10",
        ["14:12", "15:40"],
    ),
    (
        "Online participant 5 (fictional)",
        "online.participant5@demo.example.org",
        "Example Member City",
        "member_city",
        "2022-02-21T09:30",
        [],
    ),
]

#: The door of the kick-off's day list, and when its badges were printed (the afternoon before, Seoul).
KICKOFF_DOOR = "Main entrance"
KICKOFF_BADGES_PRINTED = "2022-02-22T16:00"
#: The attendance certificates were issued from the check-ins the morning after (Seoul).
KICKOFF_ATTENDANCE_ISSUED = "2022-02-24T10:00"


def _has_registrations(event: Event) -> bool:
    from eventsys.registration.models import Registration

    return db.session.scalar(sa.select(Registration.id).where(Registration.event_id == event.id).limit(1)) is not None


def _demo_user(email: str):  # type: ignore[no-untyped-def]
    from eventsys.accounts.models import User

    return db.session.scalar(sa.select(User).where(User.email == email))


def _kickoff_attendance(kickoff: Event) -> None:
    """Replay the kick-off through the services, at the times it happened: the ten ambassadors accept their
    invitations and register in person, a few fictional participants register online and follow their join link,
    the ambassadors are checked in at the door on the day list, and the attendance certificates are issued in one
    bulk run from that list's check-ins.

    Registration closed on 22 February 2022, so each step runs with the services' ``now`` set to its moment in
    2022: the same rules apply (registration window, invitation, capacity, badge, check-in day), as they did then.
    """
    from eventsys.certificates import services as certificates
    from eventsys.certificates.models import CertificateKind, CertificateTemplate, RunSource
    from eventsys.checkin import badges
    from eventsys.checkin import services as checkin
    from eventsys.events.models import Category
    from eventsys.invitations import services as invitations
    from eventsys.invitations.models import Invitation
    from eventsys.registration import services as registration
    from eventsys.registration.models import Mode

    tz = kickoff.timezone
    day = kickoff.starts_at.astimezone(kickoff.tz).date().isoformat()
    in_person = []
    for country, replied, arrived in KICKOFF_ARRIVALS:
        person = db.session.scalar(sa.select(Person).where(Person.email == ambassador_email(country)))
        invitation = db.session.scalar(
            sa.select(Invitation).where(Invitation.event_id == kickoff.id, Invitation.person_id == person.id)
        )
        if invitation is None:
            continue
        when = _local(replied, tz)
        invitations.mark_opened(invitation, now=when - timedelta(minutes=3))
        data = registration.RegistrantData(
            name=person.name,
            email=person.email or "",
            organization=person.organization.name if person.organization else None,
            title=person.title,
            mode=Mode.IN_PERSON,
            consent=True,
            language=invitation.language,
        )
        registered = registration.register_attendee(kickoff, data, invitation=invitation, when_full="refuse", now=when)
        in_person.append((registered, _local(f"{day}T{arrived}", tz)))

    for name, email, organization, category, registered_on, joins in KICKOFF_ONLINE:
        invitation = invitations.add_invitation(
            kickoff,
            invitations.InviteeData(
                name=name,
                email=email,
                category=Category(category),
                organization=organization,
                skip_moderation=True,
            ),
            None,
        )
        when = _local(registered_on, tz)
        invitations.mark_opened(invitation, now=when - timedelta(minutes=5))
        data = registration.RegistrantData(
            name=name, email=email, organization=organization, mode=Mode.ONLINE, consent=True
        )
        online = registration.register_attendee(kickoff, data, invitation=invitation, now=when)
        for joined in joins:
            registration.record_join(online, now=_local(f"{day}T{joined}", tz))

    checkin.ensure_default_lists(kickoff)
    day_list = checkin.default_list_for(kickoff, kickoff.starts_at)
    assert day_list is not None
    door_user = _demo_user("door@wego.example.org")
    printed = _local(KICKOFF_BADGES_PRINTED, tz)
    for registered, arrived in in_person:
        badge = badges.issue_badge(registered, now=printed)
        result = checkin.redeem_badge(
            kickoff, badge.code, day_list, door=KICKOFF_DOOR, scanned_at=arrived, actor=door_user, now=arrived
        )
        if result.result != "ok":
            raise RuntimeError(f"demo check-in of {registered.person.name} refused: {result.result}")

    attendance = db.session.scalar(
        sa.select(CertificateTemplate).where(
            CertificateTemplate.event_id == kickoff.id, CertificateTemplate.kind == CertificateKind.ATTENDANCE
        )
    )
    if attendance is not None and in_person:
        certificates.start_run(
            _demo_user("organizer@wego.example.org"),
            attendance,
            RunSource.CHECKED_IN_LIST,
            list_id=day_list.id,
            now=_local(KICKOFF_ATTENDANCE_ISSUED, tz),
        )


# --- An upcoming sample event, to try registration on ----------------------------------------------------------

SAMPLE_NAME = "[Sample] WeGO Smart City Champions info session"
SAMPLE_DESCRIPTION = (
    "A sample event of this demo, to try registering: it takes place a month after the demo was loaded, and its "
    "registrants are fictional. The WeGO Smart City Champions program, open to anyone under 35, builds the "
    "capacity of young people in the fields of urban development, sustainability and smart cities: 15 weeks of "
    "lectures on key smart city topics, then capacity-building workshops. This info session presents the program "
    "and answers questions."
)
#: The sample's start, in Seoul, this many days after the day the demo was loaded.
SAMPLE_DAYS_AHEAD = 30
SAMPLE_CAPACITY = 12
#: Fictional registrants already in: in person (leaving a few of the 12 seats), then online.
SAMPLE_IN_PERSON = 9
SAMPLE_ONLINE = 3
#: (start, end, title, kind, description), Seoul time on the sample's day.
SAMPLE_AGENDA: list[tuple[str, str, str, str, str]] = [
    ("15:00", "15:15", "Welcome", "talk", "What WeGO is, and why a program for young people."),
    (
        "15:15",
        "15:45",
        "The program: lecture series and capacity-building workshops",
        "presentation",
        "How the 15 weeks run: a lecture series on key smart city topics, then capacity-building workshops.",
    ),
    ("15:45", "16:15", "Questions and answers", "panel", "Ask anything about the program."),
    ("16:15", "16:30", "How to take part", "talk", "Who may apply (anyone under 35), and how."),
]


def sample_start(now: datetime) -> datetime:
    """When the sample event starts for a demo loaded at ``now``: 15:00 in Seoul, SAMPLE_DAYS_AHEAD days later."""
    seoul = "Asia/Seoul"
    load_day = utc_to_local(now, seoul).date()
    return _local(f"{load_day + timedelta(days=SAMPLE_DAYS_AHEAD)}T15:00", seoul)


def _sample_event(now: datetime) -> Event:
    """A clearly labelled, public, hybrid sample event a month after ``now``, open for registration, with a few
    in-person seats left and a small published agenda."""
    from eventsys.agenda import services as agenda
    from eventsys.agenda.models import SessionFormat, SessionKind
    from eventsys.registration import services as registration
    from eventsys.registration.models import Mode

    seoul = "Asia/Seoul"
    starts_at = sample_start(now)
    day = utc_to_local(starts_at, seoul).date()
    event = Event(
        name=SAMPLE_NAME,
        slug=SAMPLE_SLUG,
        kind=EventKind.OTHER,
        format=EventFormat.HYBRID,
        description=SAMPLE_DESCRIPTION,
        timezone=seoul,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=90),
        venue_name="Seoul (sample venue)",
        venue_address="Seoul, Republic of Korea",
        online_url="https://meet.example.org/sample-info-session",
        capacity=SAMPLE_CAPACITY,
        registration_opens_at=now - timedelta(minutes=1),
        registration_closes_at=_local(f"{day - timedelta(days=1)}T18:00", seoul),
        invitation_only=False,
        status=EventStatus.PUBLISHED,
    )
    db.session.add(event)
    db.session.flush()
    organizer = _demo_user("organizer@wego.example.org")
    if organizer is not None:
        accounts.grant_role(None, event, organizer, Role.ORGANIZER)

    for number in range(1, SAMPLE_IN_PERSON + SAMPLE_ONLINE + 1):
        mode = Mode.IN_PERSON if number <= SAMPLE_IN_PERSON else Mode.ONLINE
        data = registration.RegistrantData(
            name=f"Sample registrant {number} (fictional)",
            email=f"sample.registrant{number}@demo.example.org",
            organization="Example University",
            mode=mode,
            consent=True,
        )
        registration.register_attendee(event, data, when_full="refuse", now=now)

    room = agenda.create_room(event, "Seminar room", SAMPLE_CAPACITY)
    for start, end, title, kind, description in SAMPLE_AGENDA:
        agenda.create_session(
            event,
            agenda.SessionData(
                title=title,
                kind=SessionKind(kind),
                format=SessionFormat.HYBRID,
                description=description,
                starts_at=_local(f"{day}T{start}", seoul),
                ends_at=_local(f"{day}T{end}", seoul),
                room_id=room.id,
            ),
        )
    agenda.publish_agenda(event, None, agenda.draft_digest(event))
    return event


def _credentials_path() -> Path:
    return Path(current_app.instance_path) / CREDENTIALS_FILE


def _print_logins(logins: dict[str, str]) -> None:
    click.echo("Demo logins (all with the same password):")
    for email in logins:
        click.echo(f"  {email}")
    click.echo(f"  password: {next(iter(logins.values()))}")


demo_cli = AppGroup("demo", help="The WeGO demo data.")


@demo_cli.command("load")
def load_command() -> None:
    """Load the demo data once; later runs print the logins again."""
    path = _credentials_path()
    if demo_is_loaded():
        added = complete_demo()
        db.session.commit()
        click.echo("The demo data is already loaded.")
        for part in added:
            click.echo(f"Added to it: {part}.")
        if path.exists():
            _print_logins(dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line))
        else:
            click.echo(f"The demo logins are not saved in {path} (it was removed, or the data was loaded elsewhere).")
        return
    logins = load_demo()
    db.session.commit()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{email} {pw}\n" for email, pw in logins.items()))
    os.chmod(path, 0o600)
    click.echo(
        "Demo data loaded: the WeGO 2022 kick-off and the 6th WeGO General Assembly, and an upcoming sample event "
        "open for registration."
    )
    _print_logins(logins)
