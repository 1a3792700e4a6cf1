"""Certificates: templates, issuing (one, or in bulk from speakers, check-ins, online attendance or a CSV list),
revoking, verification, and the PDFs.

Texts are filled by SAFE substitution (``fill_text``): the five placeholders ``{recipient}``,
``{organization}``, ``{event}``, ``{date}`` and ``{citation}`` are replaced by plain text, and everything else
stays exactly as typed. No template engine and no ``str.format`` ever sees an organizer's text, so
``{{ config }}``, ``{{ ''.__class__ }}`` or ``{0.__class__}`` can neither run code nor read settings; saving a
text with any other brace is refused (``check_placeholders``) to catch typos early. The PDF template then
autoescapes the result.

Verification codes are 10 characters of base32 (``A-Z2-7``, 50 bits) from ``secrets``: short enough to type
from paper, too many to guess (the public page says only name, certificate, event and date).
"""

from __future__ import annotations

import io
import re
import secrets
import unicodedata
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from eventsys.accounts.models import Role, User
from eventsys.certificates import render
from eventsys.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateRun,
    CertificateTemplate,
    RunSource,
    RunStatus,
)
from eventsys.common.access import user_has_role
from eventsys.common.db import utcnow
from eventsys.common.errors import DomainError, NotAllowed
from eventsys.common.tasks import after_commit
from eventsys.common.timefmt import utc_to_local
from eventsys.events.models import Event, Organization, Person
from eventsys.extensions import db
from eventsys.registration.models import Mode, Registration, RegistrationStatus

PLACEHOLDERS = ("recipient", "organization", "event", "date", "citation")
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CODE_LENGTH = 10
_CODE_RE = re.compile(r"^[A-Z2-7]{10}$")
MAX_SIGNATURES = 3
#: Largest uploaded signature image or logo (bytes), and largest side in pixels.
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_SIDE = 6000
#: Stored images are re-encoded as PNG no larger than this on their longest side.
STORED_IMAGE_SIDE = 1200


# --- Texts ------------------------------------------------------------------------------------------------


def default_texts(kind: CertificateKind) -> dict[str, str]:
    """A ready-to-use title, intro and body for ``kind`` (in the current language)."""
    texts = {
        CertificateKind.APPRECIATION: (_("Certificate of Appreciation"), _("is presented to"), "{citation}"),
        CertificateKind.ATTENDANCE: (
            _("Certificate of Attendance"),
            _("This is to certify that"),
            _("attended {event} on {date}."),
        ),
        CertificateKind.SPEAKER: (
            _("Certificate of Appreciation"),
            _("is presented to"),
            _("for speaking at {event} on {date}."),
        ),
        CertificateKind.COMPLETION: (
            _("Certificate of Completion"),
            _("This is to certify that"),
            _("has successfully completed {event}. {citation}"),
        ),
    }[kind]
    return {"title": texts[0], "intro": texts[1], "body": texts[2]}


def check_placeholders(text: str, field_name: str) -> None:
    """Refuse a text whose braces are anything but the known placeholders (e.g. ``{{ config }}``, ``{name}``)."""
    rest = _PLACEHOLDER_RE.sub("", text)
    if "{" in rest or "}" in rest:
        raise DomainError(
            _(
                "Only these placeholders can be used: %(placeholders)s. Remove any other braces.",
                placeholders=", ".join("{" + name + "}" for name in PLACEHOLDERS),
            ),
            code="bad_placeholder",
            field=field_name,
        )


def fill_text(text: str, values: dict[str, str]) -> str:
    """``text`` with the five placeholders replaced by plain values; any other text is kept literally."""
    return _PLACEHOLDER_RE.sub(lambda match: str(values.get(match.group(1), "")), text).strip()


# --- Images (signatures, logo) -----------------------------------------------------------------------------


def image_folder() -> Path:
    """Where uploaded signature images and logos are kept (never under static/)."""
    folder = Path(
        current_app.config.get("CERTIFICATE_IMAGE_DIR") or Path(current_app.instance_path) / "certificate-images"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def output_folder() -> Path:
    """Where bulk runs' merged PDFs and ZIPs are kept."""
    folder = Path(current_app.config.get("CERTIFICATE_PDF_DIR") or Path(current_app.instance_path) / "certificates")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_image(raw: bytes, field_name: str) -> str:
    """Check an uploaded PNG or JPEG by its content, re-encode it as PNG and store it; returns the file name.

    Refused: anything Pillow does not read as PNG or JPEG (whatever its name says), files over
    ``CERTIFICATE_MAX_IMAGE_BYTES``, and images over ``MAX_IMAGE_SIDE`` pixels (decompression bombs).
    """
    from PIL import Image, UnidentifiedImageError

    limit = int(current_app.config.get("CERTIFICATE_MAX_IMAGE_BYTES") or MAX_IMAGE_BYTES)
    if len(raw) > limit:
        raise DomainError(
            _("The image is too large (at most %(kb)s KB).", kb=limit // 1024), code="image_too_large", field=field_name
        )
    not_an_image = DomainError(_("Upload a PNG or JPEG image."), code="not_an_image", field=field_name)
    if not raw:
        raise not_an_image
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format not in ("PNG", "JPEG"):
                raise not_an_image
            if max(probe.size) > MAX_IMAGE_SIDE:
                raise DomainError(
                    _("The image is too large (at most %(px)s pixels a side).", px=MAX_IMAGE_SIDE),
                    code="image_too_large",
                    field=field_name,
                )
            probe.verify()
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            image = image.convert("RGBA") if image.mode in ("P", "LA", "RGBA", "PA") else image.convert("RGB")
            image.thumbnail((STORED_IMAGE_SIDE, STORED_IMAGE_SIDE))
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=False)
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise not_an_image from error
    name = f"{secrets.token_hex(16)}.png"
    (image_folder() / name).write_bytes(out.getvalue())
    return name


def _image_url(name: str | None) -> str:
    if not name or not re.fullmatch(r"[0-9a-f]{32}\.png", name):
        return ""
    path = image_folder() / name
    return path.as_uri() if path.is_file() else ""


# --- Templates ---------------------------------------------------------------------------------------------


def _require_organizer(actor: User | None, event: Event) -> None:
    if actor is not None and not user_has_role(actor, event, Role.ORGANIZER):
        raise NotAllowed(_("Only organizers can manage certificates."), code="not_allowed")


@dataclass
class SignatureData:
    name: str = ""
    position: str = ""
    #: New image bytes, or None to keep the stored one.
    image: bytes | None = None
    remove_image: bool = False


@dataclass
class TemplateData:
    kind: CertificateKind
    title: str
    intro: str = ""
    body: str = ""
    place: str | None = None
    signatures: list[SignatureData] = field(default_factory=list)
    logo: bytes | None = None
    remove_logo: bool = False
    #: The language the texts are written in (one of the app's LANGUAGES).
    language: str = "en"


def _check_texts(data: TemplateData) -> None:
    if not data.title.strip():
        raise DomainError(_("Give the certificate a title."), code="title_missing", field="title")
    if data.language not in current_app.config["LANGUAGES"]:
        raise DomainError(_("Choose one of the languages offered."), code="language_invalid", field="language")
    for name in ("title", "intro", "body"):
        check_placeholders(getattr(data, name), name)
    if len([s for s in data.signatures if s.name.strip()]) > MAX_SIGNATURES:
        raise DomainError(_("At most three signatures."), code="too_many_signatures")


def create_template(actor: User | None, event: Event, data: TemplateData) -> CertificateTemplate:
    """A new certificate template for ``event``."""
    _require_organizer(actor, event)
    template = CertificateTemplate(event_id=event.id, kind=data.kind, title="", signatures=[])
    _apply(template, data)
    db.session.add(template)
    db.session.flush()
    return template


def update_template(actor: User | None, template: CertificateTemplate, data: TemplateData) -> CertificateTemplate:
    """Change a template's texts, signatures and logo. Issued certificates show the new design from now on."""
    _require_organizer(actor, template.event)
    _apply(template, data)
    db.session.flush()
    return template


def _apply(template: CertificateTemplate, data: TemplateData) -> None:
    _check_texts(data)
    # Check and store images last, after every text check passed (nothing half-written on refusal).
    old = list(template.signatures or [])
    signatures: list[dict[str, Any]] = []
    stored: list[tuple[int, bytes, int]] = []
    for index, block in enumerate(data.signatures[:MAX_SIGNATURES]):
        if not block.name.strip() and block.image is None:
            continue
        previous = old[index] if index < len(old) else {}
        image = None if block.remove_image else previous.get("image")
        signatures.append({"name": block.name.strip(), "position": block.position.strip(), "image": image})
        if block.image is not None:
            stored.append((len(signatures) - 1, block.image, index + 1))
    logo_name = None
    if data.logo is not None:
        logo_name = store_image(data.logo, "logo")
    names = [(i, store_image(raw, f"signature_{number}_image")) for i, raw, number in stored]
    for i, name in names:
        signatures[i]["image"] = name
    template.kind = data.kind
    template.title = data.title.strip()
    template.intro = data.intro.strip()
    template.body = data.body.strip()
    template.place = (data.place or "").strip() or None
    template.language = data.language
    template.signatures = signatures
    if logo_name is not None:
        template.logo = logo_name
    elif data.remove_logo:
        template.logo = None


def templates_of(event: Event) -> list[CertificateTemplate]:
    return list(
        db.session.scalars(
            sa.select(CertificateTemplate)
            .where(CertificateTemplate.event_id == event.id)
            .order_by(CertificateTemplate.id)
        )
    )


# --- Issuing ----------------------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def live_certificate(template: CertificateTemplate, person_id: int) -> Certificate | None:
    return db.session.scalar(
        sa.select(Certificate).where(
            Certificate.template_id == template.id, Certificate.person_id == person_id, Certificate.revoked_at.is_(None)
        )
    )


def issue_certificate(
    actor: User | None,
    template: CertificateTemplate,
    person: Person,
    citation: str | None = None,
    *,
    send_email: bool = False,
    run: CertificateRun | None = None,
    now: datetime | None = None,
) -> Certificate:
    """Issue ``template``'s certificate to ``person`` (with a personal citation). One live per template and person."""
    _require_organizer(actor, template.event)
    citation = (citation or "").strip() or None
    if citation and len(citation) > 1000:
        raise DomainError(_("The citation is too long (at most 1000 characters)."), code="too_long", field="citation")
    if live_certificate(template, person.id) is not None:
        raise DomainError(
            _("%(name)s already holds this certificate.", name=person.name), code="already_issued", field="email"
        )
    for _attempt in range(5):
        certificate = Certificate(
            template_id=template.id,
            person_id=person.id,
            run_id=run.id if run is not None else None,
            recipient_name=person.name,
            organization_name=person.organization.name if person.organization else None,
            citation=citation,
            code=new_code(),
            issued_at=now or utcnow(),
            issued_by_id=actor.id if actor is not None else None,
        )
        try:
            with db.session.begin_nested():
                db.session.add(certificate)
        except IntegrityError:
            if live_certificate(template, person.id) is not None:  # issued meanwhile by someone else
                raise DomainError(
                    _("%(name)s already holds this certificate.", name=person.name), code="already_issued"
                ) from None
            continue  # a code collision (1 in 2^50 per pair): draw another
        if send_email and person.email:
            from eventsys.certificates.tasks import email_certificate

            after_commit(email_certificate, certificate.id)
        return certificate
    raise DomainError(_("Could not issue the certificate. Please try again."), code="code_collision")


def person_for(name: str, email: str, organization: str | None = None) -> Person:
    """The person with ``email``, or a new one named ``name`` (with the organization, made if new)."""
    email = email.strip().lower()
    person = db.session.scalar(sa.select(Person).where(Person.email == email))
    if person is not None:
        return person
    if not name.strip():
        raise DomainError(_("Give the recipient's name."), code="name_missing", field="name")
    org = None
    if organization and organization.strip():
        org = db.session.scalar(sa.select(Organization).where(Organization.name == organization.strip()))
        if org is None:
            from eventsys.events.models import OrganizationKind

            org = Organization(name=organization.strip(), kind=OrganizationKind.OTHER)
            db.session.add(org)
    person = Person(name=name.strip(), email=email, organization=org)
    db.session.add(person)
    db.session.flush()
    return person


def revoke_certificate(
    actor: User | None, certificate: Certificate, reason: str, *, now: datetime | None = None
) -> None:
    """Revoke a certificate; its verification page says so, with the reason."""
    _require_organizer(actor, certificate.template.event)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for revoking."), code="reason_missing", field="reason")
    if len(reason) > 300:
        raise DomainError(_("The reason is too long (at most 300 characters)."), code="too_long", field="reason")
    if certificate.revoked_at is not None:
        raise DomainError(_("This certificate is already revoked."), code="already_revoked")
    certificate.revoked_at = now or utcnow()
    certificate.revoke_reason = reason
    db.session.flush()


# --- Who gets one in bulk ---------------------------------------------------------------------------------


def speakers_of(event: Event) -> list[Person]:
    """Everyone on one of the event's sessions (speakers, moderators ...), by name."""
    from eventsys.agenda.models import Session, SessionSpeaker

    return list(
        db.session.scalars(
            sa.select(Person)
            .where(
                Person.id.in_(
                    sa.select(SessionSpeaker.person_id)
                    .join(Session, Session.id == SessionSpeaker.session_id)
                    .where(Session.event_id == event.id, Session.deleted_at.is_(None))
                )
            )
            .order_by(Person.name)
        )
    )


def _entries(event: Event, list_id: int | None = None) -> sa.Select[Any]:
    """(person id, scanned at) of every entry that counts as attendance: ``in``, not annulled (live or closed)."""
    from eventsys.checkin.models import Badge, CheckIn, CheckInDirection, CheckInList

    query = (
        sa.select(Registration.person_id, CheckIn.scanned_at)
        .join(Badge, Badge.id == CheckIn.badge_id)
        .join(Registration, Registration.id == Badge.registration_id)
        .join(CheckInList, CheckInList.id == CheckIn.list_id)
        .where(
            CheckInList.event_id == event.id,
            Badge.event_id == event.id,
            CheckIn.direction == CheckInDirection.IN,
            CheckIn.annulled_at.is_(None),
        )
    )
    if list_id is not None:
        query = query.where(CheckIn.list_id == list_id)
    return query


def _people(ids: Iterable[int]) -> list[Person]:
    wanted = set(ids)
    if not wanted:
        return []
    return list(db.session.scalars(sa.select(Person).where(Person.id.in_(wanted)).order_by(Person.name)))


def checked_in_on_list(event: Event, list_id: int) -> list[Person]:
    """In-person attendees with a (non-annulled) entry on the event's check-in list ``list_id``."""
    from eventsys.checkin.models import CheckInList

    checkin_list = db.session.get(CheckInList, list_id)
    if checkin_list is None or checkin_list.event_id != event.id:
        raise DomainError(_("Choose one of this event's check-in lists."), code="unknown_list", field="list_id")
    return _people(person_id for person_id, _at in db.session.execute(_entries(event, list_id)))


def days_checked_in(event: Event) -> dict[int, int]:
    """Person id → number of distinct days (in the event's zone) with a non-annulled entry on any list."""
    days: dict[int, set[Any]] = defaultdict(set)
    for person_id, scanned_at in db.session.execute(_entries(event)):
        days[person_id].add(utc_to_local(scanned_at, event.timezone).date())
    return {person_id: len(found) for person_id, found in days.items()}


def checked_in_on_days(event: Event, min_days: int) -> list[Person]:
    """In-person attendees who checked in on at least ``min_days`` distinct event days."""
    if min_days < 1:
        raise DomainError(_("Give a number of days of at least 1."), code="bad_days", field="min_days")
    return _people(person_id for person_id, count in days_checked_in(event).items() if count >= min_days)


def online_attendees(event: Event, *, joined: bool) -> list[Person]:
    """Confirmed online registrants (``joined``: only those whose join link recorded them joining)."""
    query = sa.select(Registration.person_id).where(Registration.event_id == event.id, Registration.mode == Mode.ONLINE)
    if joined:
        query = query.where(Registration.first_joined_at.is_not(None))
    else:
        query = query.where(Registration.status == RegistrationStatus.CONFIRMED)
    return _people(db.session.scalars(query))


@dataclass
class CsvRecipient:
    line: int
    name: str
    email: str
    organization: str | None
    citation: str | None


_CSV_HEADERS = {
    "name": ("name", "fullname", "nombre", "이름", "성명"),
    "email": ("email", "emailaddress", "mail", "correo", "correoelectronico", "correoelectrónico", "이메일"),
    "organization": ("organization", "organisation", "org", "organización", "organizacion", "소속", "기관"),
    "citation": ("citation", "mención", "mencion", "reason", "사유"),
}


def parse_recipient_csv(raw: bytes) -> list[CsvRecipient]:
    """Read a CSV list of recipients (name, email; optional organization, citation) as Excel writes it.

    Encodings and separators are recognised as for invitation lists (``eventsys.invitations.csv_import``).
    Any bad row refuses the whole file, naming the lines.
    """
    import csv

    from email_validator import EmailNotValidError, validate_email

    from eventsys.invitations import csv_import

    if len(raw) > csv_import.MAX_UPLOAD_BYTES:
        raise DomainError(_("The file is too large."), code="too_large", field="file")
    if not raw.strip():
        raise DomainError(_("The file is empty."), code="empty", field="file")
    try:
        text, _encoding = csv_import.decode_upload(raw)
    except csv_import.ImportFileError as error:
        raise DomainError(error.message, code=error.code, field="file") from error
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_import._sniff_delimiter(text))
    try:
        records = [record for record in reader if any(value.strip() for value in record)]
    except csv.Error:
        raise DomainError(_("This file could not be read as CSV."), code="not_csv", field="file") from None
    if len(records) < 2:
        raise DomainError(_("The file has a header but no rows."), code="no_rows", field="file")
    key = csv_import._key
    lookup = {key(alias): column for column, aliases in _CSV_HEADERS.items() for alias in aliases}
    positions = {}
    for index, title in enumerate(records[0]):
        column = lookup.get(key(title))
        if column and column not in positions:
            positions[column] = index
    if "name" not in positions or "email" not in positions:
        raise DomainError(
            _("The first line must name the columns: name, email (and optionally organization, citation)."),
            code="missing_columns",
            field="file",
        )

    def cell(record: list[str], column: str) -> str:
        index = positions.get(column)
        return record[index].strip() if index is not None and index < len(record) else ""

    rows: list[CsvRecipient] = []
    bad: list[str] = []
    for line, record in enumerate(records[1:], start=2):
        name, email = cell(record, "name"), cell(record, "email")
        values = [name, email, cell(record, "organization"), cell(record, "citation")]
        try:
            email = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            bad.append(str(line))
            continue
        if (
            not name
            or len(name) > 200
            or len(values[2]) > 200
            or len(values[3]) > 1000
            or any(unicodedata.category(ch) == "Cc" and ch not in "\t\r\n" for value in values for ch in value)
        ):
            bad.append(str(line))
            continue
        rows.append(CsvRecipient(line, name, email, values[2] or None, values[3] or None))
    if bad:
        raise DomainError(
            _("These lines need a name and a valid email address: %(lines)s.", lines=", ".join(bad[:20])),
            code="bad_rows",
            field="file",
        )
    if len(rows) > csv_import.MAX_ROWS:
        raise DomainError(_("The file has too many rows."), code="too_many_rows", field="file")
    return rows


# --- Bulk runs --------------------------------------------------------------------------------------------


def start_run(
    actor: User | None,
    template: CertificateTemplate,
    source: RunSource,
    *,
    list_id: int | None = None,
    min_days: int | None = None,
    csv_rows: Sequence[CsvRecipient] = (),
    send_email: bool = False,
    now: datetime | None = None,
) -> CertificateRun:
    """Issue ``template``'s certificate to everyone ``source`` names who holds no live one yet, then queue the
    merged PDF and the ZIP (``render_run``, on the task queue after commit)."""
    event = template.event
    _require_organizer(actor, event)
    citations: dict[int, str | None] = {}
    if source is RunSource.SPEAKERS:
        people = speakers_of(event)
    elif source is RunSource.CHECKED_IN_LIST:
        if list_id is None:
            raise DomainError(_("Choose one of this event's check-in lists."), code="unknown_list", field="list_id")
        people = checked_in_on_list(event, list_id)
    elif source is RunSource.CHECKED_IN_DAYS:
        people = checked_in_on_days(event, min_days or 0)
    elif source in (RunSource.ONLINE_REGISTERED, RunSource.ONLINE_JOINED):
        people = online_attendees(event, joined=source is RunSource.ONLINE_JOINED)
    else:
        if not csv_rows:
            raise DomainError(_("Upload a CSV list."), code="no_rows", field="file")
        people = []
        for row in csv_rows:
            person = person_for(row.name, row.email, row.organization)
            if person.id not in citations:
                people.append(person)
                citations[person.id] = row.citation
    holders = set(
        db.session.scalars(
            sa.select(Certificate.person_id).where(
                Certificate.template_id == template.id, Certificate.revoked_at.is_(None)
            )
        )
    )
    to_issue = [person for person in people if person.id not in holders]
    if not to_issue:
        raise DomainError(
            ngettext(
                "Nobody to issue to: %(num)d person matches and already holds this certificate.",
                "Nobody to issue to: %(num)d people match, and all of them already hold this certificate.",
                len(people),
            )
            if people
            else _("Nobody matches this choice yet."),
            code="nobody",
        )
    run = CertificateRun(
        event_id=event.id,
        template_id=template.id,
        source=source,
        list_id=list_id if source is RunSource.CHECKED_IN_LIST else None,
        min_days=min_days if source is RunSource.CHECKED_IN_DAYS else None,
        send_email=send_email,
        created_by_id=actor.id if actor is not None else None,
        skipped=len(people) - len(to_issue),
        issued=len(to_issue),
        total=len(to_issue),
    )
    db.session.add(run)
    db.session.flush()
    when = now or utcnow()
    for person in to_issue:
        issue_certificate(None, template, person, citations.get(person.id), send_email=send_email, run=run, now=when)
    from eventsys.certificates.tasks import render_certificate_run

    after_commit(render_certificate_run, run.id)
    return run


def run_path(run: CertificateRun, which: str) -> Path | None:
    name = run.pdf_file if which == "pdf" else run.zip_file
    return output_folder() / name if name else None


def render_run(run: CertificateRun, *, processes: int | None = None) -> None:
    """Render ``run``'s live certificates into a merged PDF and a ZIP under the instance folder, committing progress."""
    run.status = RunStatus.RUNNING
    certificates = list(
        db.session.scalars(
            sa.select(Certificate)
            .where(Certificate.run_id == run.id, Certificate.revoked_at.is_(None))
            .options(sa.orm.selectinload(Certificate.template))
        )
    )
    template = run.template
    language = template.language
    with force_locale(language):
        items = [certificate_item(certificate, template) for certificate in certificates]
        items.sort(key=lambda item: item.recipient.casefold())
        title = f"{template.title} \u2013 {template.event.name}"
    run.total = len(items)
    run.done = 0
    db.session.commit()
    stem = f"certificates-{run.event_id}-{run.id}-{secrets.token_hex(8)}"
    folder = output_folder()
    pdf_part, zip_part = folder / f"{stem}.pdf.part", folder / f"{stem}.zip.part"

    def progress(done: int) -> None:
        run.done = done
        db.session.commit()

    with pdf_part.open("wb") as merged, zip_part.open("wb") as archive:
        render.render_bulk(
            items,
            merged,
            archive,
            image_roots=(str(image_folder()),),
            lang=language,
            title=title,
            processes=processes
            if processes is not None
            else int(current_app.config.get("CERTIFICATE_PROCESSES", render.PROCESSES)),
            progress=progress,
        )
    pdf_part.replace(folder / f"{stem}.pdf")
    zip_part.replace(folder / f"{stem}.zip")
    run.pdf_file, run.zip_file = f"{stem}.pdf", f"{stem}.zip"
    run.done = len(items)
    run.status = RunStatus.DONE
    run.finished_at = utcnow()


def runs_of(event: Event, limit: int = 10) -> list[CertificateRun]:
    return list(
        db.session.scalars(
            sa.select(CertificateRun)
            .where(CertificateRun.event_id == event.id)
            .order_by(CertificateRun.id.desc())
            .limit(limit)
        )
    )


# --- PDFs -------------------------------------------------------------------------------------------------


def base_url() -> str:
    return str(current_app.config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")


def verify_url(code: str) -> str:
    return f"{base_url()}/verify/{code}"


def event_date_text(event: Event) -> str:
    """The event's dates in its own zone, e.g. "23 February 2022" (current locale)."""
    starts = utc_to_local(event.starts_at, event.timezone).date()
    ends = utc_to_local(event.ends_at, event.timezone).date()
    if starts == ends:
        return format_date(starts, "long")
    return f"{format_date(starts, 'long')} \u2013 {format_date(ends, 'long')}"


def language_for(event: Event, person_id: int | None) -> str:
    """The language of a person's certificate email: their registration's for the event if we have it, else English."""
    if person_id is not None:
        language = db.session.scalar(
            sa.select(Registration.language).where(
                Registration.event_id == event.id, Registration.person_id == person_id
            )
        )
        if language in current_app.config.get("LANGUAGES", {}):
            return language
    return "en"


def _file_stem(name: str, code: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-")[:40]
    return f"{slug}-{code}" if slug else code


def certificate_item(
    certificate: Certificate, template: CertificateTemplate | None = None, *, code: str | None = None
) -> render.CertificateItem:
    """What is printed on ``certificate`` (in the current locale)."""
    template = template or certificate.template
    return template_item(
        template,
        recipient=certificate.recipient_name,
        organization=certificate.organization_name or "",
        citation=certificate.citation or "",
        code=code or certificate.code,
    )


def template_item(
    template: CertificateTemplate,
    *,
    recipient: str,
    organization: str,
    citation: str,
    code: str,
    texts: dict[str, str] | None = None,
) -> render.CertificateItem:
    event = template.event
    date_text = event_date_text(event)
    values = {
        "recipient": recipient,
        "organization": organization,
        "event": event.name,
        "date": date_text,
        "citation": citation,
    }
    texts = texts or {"title": template.title, "intro": template.intro, "body": template.body}
    place = template.place or (event.venue_name if event.format.has_venue else "") or ""
    return render.CertificateItem(
        kind=template.kind.value,
        title=fill_text(texts["title"], values),
        intro=fill_text(texts["intro"], values),
        recipient=recipient,
        organization=organization,
        body=fill_text(texts["body"], values),
        event_name=event.name,
        date_text=date_text,
        place=place,
        code=code,
        verify_url=verify_url(code),
        verify_label=_("Scan to verify this certificate"),
        code_label=_("Certificate code"),
        signatures=tuple(
            render.SignatureBlock(
                name=block.get("name") or "",
                position=block.get("position") or "",
                image_url=_image_url(block.get("image")),
            )
            for block in (template.signatures or [])[:MAX_SIGNATURES]
        ),
        logo_url=_image_url(template.logo),
        file_stem=_file_stem(recipient, code),
    )


def certificate_pdf(certificate: Certificate) -> bytes:
    """One certificate as a PDF, all of it in its template's language (as in the merged PDF and the ZIP)."""
    template = certificate.template
    language = template.language
    with force_locale(language):
        item = certificate_item(certificate, template)
    return render.render_certificates([item], image_roots=(str(image_folder()),), lang=language, title=item.title)


def preview_pdf(template: CertificateTemplate, texts: dict[str, str] | None = None) -> bytes:
    """A sample certificate of ``template`` (or of unsaved ``texts``, checked first); nothing is stored."""
    if texts is not None:
        for name in ("title", "intro", "body"):
            check_placeholders(texts.get(name, ""), name)
    with force_locale(template.language):
        item = template_item(
            template,
            recipient=_("Recipient Name"),
            organization=_("Organization"),
            citation=_("in recognition of an outstanding contribution"),
            code="PREVIEW234",
            texts=texts,
        )
    return render.render_certificates(
        [item], image_roots=(str(image_folder()),), lang=template.language, title=item.title
    )


# --- Verification and the recipient's page ---------------------------------------------------------------


def find_certificate(code: str) -> Certificate | None:
    """The certificate (live or revoked) with verification code ``code``; None for anything else."""
    if not isinstance(code, str):
        return None
    text = code.strip().upper()
    if not _CODE_RE.match(text):
        return None
    return db.session.scalar(sa.select(Certificate).where(Certificate.code == text))


def certificates_for(registration: Registration) -> list[Certificate]:
    """The live certificates the registration's person holds from its event, newest first."""
    return list(
        db.session.scalars(
            sa.select(Certificate)
            .join(CertificateTemplate, CertificateTemplate.id == Certificate.template_id)
            .where(
                CertificateTemplate.event_id == registration.event_id,
                Certificate.person_id == registration.person_id,
                Certificate.revoked_at.is_(None),
            )
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def has_certificates(registration: Registration) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Certificate)
            .join(CertificateTemplate, CertificateTemplate.id == Certificate.template_id)
            .where(
                CertificateTemplate.event_id == registration.event_id,
                Certificate.person_id == registration.person_id,
                Certificate.revoked_at.is_(None),
            )
        )
    )


def linkedin_url(certificate: Certificate) -> str:
    """LinkedIn's documented "Add to profile" link for a certification, filled with this certificate."""
    template = certificate.template
    issued = utc_to_local(certificate.issued_at, template.event.timezone)
    query = urllib.parse.urlencode(
        {
            "startTask": "CERTIFICATION_NAME",
            "name": f"{template.title} \u2013 {template.event.name}",
            "organizationName": organizer_name(template.event),
            "issueYear": issued.year,
            "issueMonth": issued.month,
            "certUrl": verify_url(certificate.code),
            "certId": certificate.code,
        },
        quote_via=urllib.parse.quote,
    )
    return f"https://www.linkedin.com/profile/add?{query}"


def organizer_name(event: Event) -> str:
    """Who issues the certificates (the CERTIFICATE_ISSUER setting, else the event's name)."""
    return str(current_app.config.get("CERTIFICATE_ISSUER") or event.name)
