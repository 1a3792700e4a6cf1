"""The demo data: WeGO's 2022 activities kick-off in Seoul and the 6th General Assembly in Mexico City.

Facts come from the kick-off press release (shared/context). Where it is silent (clock times, the
General Assembly's dates, email addresses), the demo uses plainly illustrative values on example domains.
The press release names no ambassadors, so their Person records carry their office as their name.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from eventsys.accounts import services as accounts
from eventsys.accounts.models import Role
from eventsys.common.timefmt import local_to_utc
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


def load_demo(password: str | None = None) -> dict[str, str]:
    """Create the demo organizations, people, events and accounts. Returns the logins (email → password)."""
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
    return {user.email: password for user in (organizer, door, admin)}


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
    from datetime import date

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
    certificate template. Attendance certificates go to the attendees checked in at the door; the demo has no
    registrations yet (the ambassadors' invitations are not sent), so none is issued until there are check-ins."""
    from datetime import timedelta

    from eventsys.certificates import services as certificates
    from eventsys.certificates.models import CertificateKind, RunSource

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
    attendance = certificates.create_template(
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
    if certificates.days_checked_in(kickoff):
        certificates.start_run(None, attendance, RunSource.CHECKED_IN_DAYS, min_days=1)


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
        click.echo("The demo data is already loaded.")
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
    click.echo("Demo data loaded: the WeGO 2022 kick-off and the 6th WeGO General Assembly.")
    _print_logins(logins)
