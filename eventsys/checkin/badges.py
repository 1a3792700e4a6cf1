"""Badges: signed QR codes, their revocation, and badge PDFs.

Badge code format (version 1)
=============================

A code is 128 characters of RFC 4648 base32, upper case, without padding (alphabet ``A-Z2-7``), so a QR
holds it in alphanumeric mode: version 6 at error correction level M. It decodes to 80 bytes::

    offset  size  field
    0       1     version: 0x01
    1       4     event id, unsigned big-endian
    5       4     badge id (``Badge.id``), unsigned big-endian
    9       7     random nonce (a re-issued badge gets a fresh code)
    16      64    Ed25519 signature (RFC 8032) of bytes 0-15, made with the event's private key

The code carries no personal data: no name, no email, no registration number. Anyone holding the event's
public key (``event_public_key(event)``: 32 raw bytes) can check a code offline, e.g. in a browser with
WebCrypto::

    const raw = base32decode(code);                     // 80 bytes
    const key = await crypto.subtle.importKey("raw", publicKey, {name: "Ed25519"}, false, ["verify"]);
    const ok = await crypto.subtle.verify({name: "Ed25519"}, key, raw.slice(16, 80), raw.slice(0, 16));

A valid signature says the server issued the code; whether it is still live (not revoked) is a lookup of
``Badge.code`` (the server keeps revoked badges, so a revoked code is told apart from a forged one).

Lifecycle
=========

Only a confirmed in-person registration gets a badge (``issue_badge``, ``ensure_badge``). It has at most one
live badge (a partial unique index). Its badges are revoked when it stops being one: cancelled, rejected,
switched to online, back on the waiting list (``revoke_badges_for``, called automatically by a
``before_flush`` listener whenever a registration's status or mode changes, whichever service changed it).
Organizers and door staff re-issue a lost badge (``reissue_badge``): the old code is revoked.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eventsys.accounts.models import Role, User
from eventsys.checkin import badge_render
from eventsys.checkin.models import Badge, BadgeBatch, BadgeBatchStatus, EventKey
from eventsys.common.access import user_has_role
from eventsys.common.db import utcnow
from eventsys.common.errors import DomainError, NotAllowed
from eventsys.common.tasks import after_commit
from eventsys.common.timefmt import utc_to_local
from eventsys.events.models import CATEGORY_LABELS, Category, Event, Person
from eventsys.extensions import db
from eventsys.registration.models import Mode, Registration, RegistrationStatus

CODE_VERSION = 1
_PAYLOAD = struct.Struct(">BII7s")  # version, event id, badge id, nonce: 16 bytes
PAYLOAD_BYTES = _PAYLOAD.size
SIGNATURE_BYTES = 64
CODE_LENGTH = 128  # base32 of 80 bytes, no padding needed
_CODE_RE = re.compile(r"^[A-Z2-7]{128}$")
#: Base32's alphabet as the digits of base 32 in ``int()``: a code decodes in C, not in base64's Python loop.
_BASE32_AS_DIGITS = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghijklmnopqrstuv")

#: Band colours of the categories (the same as in static/css/badge.css), for pages that show them.
CATEGORY_COLOURS = {
    Category.SPEAKER: "#c62828",
    Category.EMBASSY: "#1a237e",
    Category.MEMBER_CITY: "#00796b",
    Category.PARTNER: "#6a1b9a",
    Category.PRESS: "#e65100",
    Category.YOUTH: "#2e7d32",
    Category.STAFF: "#37474f",
}


class InvalidCode(DomainError):
    """Not a badge code we signed: malformed, altered, or signed with another key."""

    def __init__(self) -> None:
        super().__init__(_("This is not a valid badge code."), code="invalid_code")


class NotEligible(DomainError):
    """Only confirmed in-person registrations get badges."""

    def __init__(self) -> None:
        super().__init__(_("Only confirmed in-person registrations have a badge."), code="not_eligible")


@dataclass(frozen=True)
class VerifiedCode:
    """What a correctly signed code says: which event and which badge."""

    event_id: int
    badge_id: int
    nonce: bytes
    code: str

    @property
    def badge_serial(self) -> int:
        return self.badge_id


# --- Keys and codes ------------------------------------------------------------------------------------------


def event_key(event: Event) -> EventKey:
    """The event's signing key, made on first use (two first uses at once: one key wins, both use it)."""
    key = db.session.scalar(sa.select(EventKey).where(EventKey.event_id == event.id))
    if key is not None:
        return key
    private = Ed25519PrivateKey.generate()
    candidate = EventKey(
        event_id=event.id,
        private_key=private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        ),
        public_key=private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
    )
    try:
        with db.session.begin_nested():
            db.session.add(candidate)
    except IntegrityError:
        key = db.session.scalar(sa.select(EventKey).where(EventKey.event_id == event.id))
        assert key is not None
        return key
    return candidate


def event_public_key(event: Event) -> bytes:
    """The 32 raw bytes of the event's Ed25519 public key (what an offline scanner verifies with)."""
    return event_key(event).public_key


def sign_code(private_key: bytes, event_id: int, badge_id: int, nonce: bytes | None = None) -> str:
    """A badge code (see the module docstring) signed with ``private_key`` (32 raw bytes)."""
    payload = _PAYLOAD.pack(CODE_VERSION, event_id, badge_id, nonce if nonce is not None else os.urandom(7))
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(payload)
    return base64.b32encode(payload + signature).decode("ascii")


def parse_code(code: str) -> tuple[VerifiedCode, bytes, bytes]:
    """Split a code into its claims, payload and signature, without checking the signature."""
    if not isinstance(code, str):
        raise InvalidCode()
    text = code.strip().upper()
    if not _CODE_RE.match(text):
        raise InvalidCode()
    # 128 base32 characters are exactly 640 bits: 80 bytes, no padding (what base64.b32decode returns).
    raw = int(text.translate(_BASE32_AS_DIGITS), 32).to_bytes(CODE_LENGTH * 5 // 8, "big")
    payload, signature = raw[:PAYLOAD_BYTES], raw[PAYLOAD_BYTES:]
    version, event_id, badge_id, nonce = _PAYLOAD.unpack(payload)
    if version != CODE_VERSION:
        raise InvalidCode()
    return VerifiedCode(event_id=event_id, badge_id=badge_id, nonce=nonce, code=text), payload, signature


def verify_with_key(code: str, public_key: bytes) -> VerifiedCode:
    """``code``'s claims if its signature is valid under ``public_key``; else InvalidCode."""
    claims, payload, signature = parse_code(code)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, payload)
    except (InvalidSignature, ValueError) as error:
        raise InvalidCode() from error
    return claims


def verify_code(code: str) -> VerifiedCode:
    """Check ``code`` against the key of the event it names. Raises InvalidCode for a forged or altered code.

    A valid code may still be revoked, or belong to another event than the door's: the caller looks the
    badge up (``Badge.code``/``badge_id``) and compares ``event_id``.
    """
    claims, _payload, _signature = parse_code(code)
    public_key = db.session.scalar(sa.select(EventKey.public_key).where(EventKey.event_id == claims.event_id))
    if public_key is None:
        raise InvalidCode()
    return verify_with_key(claims.code, public_key)


def find_badge(code: str) -> Badge | None:
    """The badge a correctly signed code belongs to (live or revoked), or None for an invalid code."""
    try:
        claims = verify_code(code)
    except InvalidCode:
        return None
    badge = db.session.get(Badge, claims.badge_id)
    if badge is None or badge.code != claims.code:
        return None
    return badge


# --- Issue, re-issue, revoke -------------------------------------------------------------------------------


def eligible(registration: Registration) -> bool:
    """Whether ``registration`` may have a live badge: confirmed and in person."""
    return registration.status is RegistrationStatus.CONFIRMED and registration.mode is Mode.IN_PERSON


def live_badge(registration: Registration) -> Badge | None:
    return db.session.scalar(
        sa.select(Badge).where(Badge.registration_id == registration.id, Badge.revoked_at.is_(None))
    )


def issue_badge(registration: Registration, *, now: datetime | None = None) -> Badge:
    """A new live badge for a confirmed in-person registration (its live badge if another call made one)."""
    if not eligible(registration):
        raise NotEligible()
    key = event_key(registration.event)
    badge = Badge(
        event_id=registration.event_id,
        registration_id=registration.id,
        # The code signs the badge id, known after the INSERT: a unique placeholder until then.
        code="PENDING-" + secrets.token_hex(16),
        issued_at=now or utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(badge)
            db.session.flush()
            badge.code = sign_code(key.private_key, registration.event_id, badge.id)
            db.session.flush()
    except IntegrityError:  # another transaction issued one meanwhile (one live badge per registration)
        existing = live_badge(registration)
        if existing is None:
            raise
        return existing
    return badge


def ensure_badge(registration: Registration) -> Badge:
    """The registration's live badge, issued now if it has none. NotEligible unless confirmed in person."""
    if not eligible(registration):
        raise NotEligible()
    return live_badge(registration) or issue_badge(registration)


def _revoke(badge: Badge, reason: str, now: datetime) -> None:
    badge.revoked_at = now
    badge.revoke_reason = reason[:200]


def revoke_badges_for(registration: Registration, reason: str, *, now: datetime | None = None) -> int:
    """Revoke the registration's live badges (normally one); returns how many."""
    when = now or utcnow()
    with db.session.no_autoflush:
        badges = db.session.scalars(
            sa.select(Badge).where(Badge.registration_id == registration.id, Badge.revoked_at.is_(None))
        ).all()
    for badge in badges:
        _revoke(badge, reason, when)
    return len(badges)


def reissue_badge(
    badge_or_registration: Badge | Registration,
    actor: User | None = None,
    reason: str = "reissued",
    *,
    now: datetime | None = None,
) -> Badge:
    """Replace a (lost) badge: the old code is revoked and answers "revoked" at the door.

    ``actor`` must be an organizer or door staff of the event (None: the system, e.g. a CLI command).
    """
    if isinstance(badge_or_registration, Badge):
        registration = badge_or_registration.registration
    else:
        registration = badge_or_registration
    if actor is not None and not user_has_role(actor, registration.event, Role.DOOR):
        raise NotAllowed(_("Only organizers and door staff can re-issue badges."), code="not_allowed")
    if not eligible(registration):
        raise NotEligible()
    when = now or utcnow()
    revoke_badges_for(registration, reason, now=when)
    db.session.flush()  # the old badge is no longer live before the new one is inserted
    return issue_badge(registration, now=when)


def _revoke_reason(registration: Registration) -> str:
    if registration.status is RegistrationStatus.CANCELLED:
        return "cancelled"
    if registration.mode is Mode.ONLINE:
        return "online"
    return str(registration.status.value)


@sa.event.listens_for(Session, "before_flush")
def _revoke_when_no_longer_eligible(session: Session, _context: Any, _instances: Any) -> None:
    """Whichever service cancels a registration or switches it to online, its badge is revoked with it."""
    changed = []
    for obj in session.dirty:
        if not isinstance(obj, Registration) or eligible(obj):
            continue
        state = sa.inspect(obj)
        if state.attrs.status.history.has_changes() or state.attrs.mode.history.has_changes():
            changed.append(obj)
    if not changed:
        return
    now = utcnow()
    with session.no_autoflush:
        badges = session.scalars(
            sa.select(Badge).where(
                Badge.registration_id.in_([registration.id for registration in changed]), Badge.revoked_at.is_(None)
            )
        ).all()
    reasons = {registration.id: _revoke_reason(registration) for registration in changed}
    for badge in badges:
        _revoke(badge, reasons[badge.registration_id], now)


# --- PDFs --------------------------------------------------------------------------------------------------


def event_dates(event: Event) -> str:
    """The event's dates in its own zone, e.g. "3 Mar 2022" or "3 Mar 2022 - 4 Mar 2022"."""
    starts = utc_to_local(event.starts_at, event.timezone).date()
    ends = utc_to_local(event.ends_at, event.timezone).date()
    if starts == ends:
        return format_date(starts, "medium")
    return f"{format_date(starts, 'medium')} \u2013 {format_date(ends, 'medium')}"


def sheet_item(
    badge: Badge, person: Person, registration: Registration, event: Event, dates: str
) -> badge_render.BadgeSheetItem:
    """What is printed on ``badge`` (translated in the current locale)."""
    category = registration.category
    return badge_render.BadgeSheetItem(
        name=person.name,
        organization=person.organization.name if person.organization else "",
        title=person.title or "",
        category_key=category.value if category else "participant",
        category_label=category.label if category else _("Participant"),
        event_name=event.name,
        event_dates=dates,
        code=badge.code,
        qr_alt=_("Badge code"),
    )


def badge_pdf(badge: Badge, layout: str = "a6") -> bytes:
    """One badge as a PDF (the attendee's download, or printing at the door), in the registrant's language."""
    registration = badge.registration
    with force_locale(registration.language or "en"):
        item = sheet_item(badge, registration.person, registration, registration.event, event_dates(registration.event))
        title = _("Badge")
    return badge_render.render_badges([item], layout, lang=registration.language or "en", title=title)


def badges_to_print(event: Event, *, category: Category | None = None, only_unprinted: bool = False) -> list[Badge]:
    """The live badges of every confirmed in-person registration (issuing the missing ones), by name."""
    query = sa.select(Registration).where(
        Registration.event_id == event.id,
        Registration.status == RegistrationStatus.CONFIRMED,
        Registration.mode == Mode.IN_PERSON,
    )
    if category is not None:
        query = query.where(Registration.category == category)
    registrations = db.session.scalars(query).all()
    live = {
        badge.registration_id: badge
        for badge in db.session.scalars(sa.select(Badge).where(Badge.event_id == event.id, Badge.revoked_at.is_(None)))
    }
    badges = [live.get(registration.id) or issue_badge(registration) for registration in registrations]
    if only_unprinted:
        badges = [badge for badge in badges if badge.printed_at is None]
    return badges


# --- Bulk PDFs on the task queue ----------------------------------------------------------------------------


def layout_labels() -> dict[str, str]:
    """The layouts organizers can choose, with their (translated) names."""
    from eventsys.checkin.badge_forms import LAYOUT_LABELS

    return {layout: str(label) for layout, label in LAYOUT_LABELS.items()}


def batch_folder() -> Path:
    """Where bulk PDFs are kept: ``BADGE_PDF_DIR``, by default instance/badges/ (never under static/)."""
    folder = Path(current_app.config.get("BADGE_PDF_DIR") or Path(current_app.instance_path) / "badges")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def batch_path(batch: BadgeBatch) -> Path | None:
    if batch.file_name is None:
        return None
    return batch_folder() / batch.file_name


def start_batch(
    event: Event,
    actor: User,
    *,
    layout: str = "a6",
    category: Category | None = None,
    only_unprinted: bool = False,
    language: str = "en",
) -> BadgeBatch:
    """Queue a bulk badge PDF for organizers; the worker renders it (``run_badge_batch``) after commit."""
    if not user_has_role(actor, event, Role.ORGANIZER):
        raise NotAllowed(_("Only organizers can print badges in bulk."), code="not_allowed")
    if layout not in badge_render.LAYOUTS:
        raise DomainError(_("Choose a layout."), code="invalid_layout", field="layout")
    batch = BadgeBatch(
        event_id=event.id,
        layout=layout,
        category=category,
        only_unprinted=only_unprinted,
        language=language,
        created_by_id=actor.id,
    )
    db.session.add(batch)
    db.session.flush()
    from eventsys.checkin.badge_tasks import run_badge_batch

    after_commit(run_badge_batch, batch.id)
    return batch


def render_batch(batch: BadgeBatch, *, processes: int | None = None) -> None:
    """Render ``batch`` into a file under the instance folder, committing its progress as chunks finish.

    Badges missing for confirmed in-person registrations are issued first; every badge printed gets
    ``printed_at``, so "only those not printed yet" later prints the late registrants.
    """
    workers = processes if processes is not None else current_app.config.get("BADGE_PROCESSES", badge_render.PROCESSES)
    if workers > 1:
        badge_render.start_workers()  # the render processes' start overlaps loading the badges below
    event = db.session.get(Event, batch.event_id)
    assert event is not None
    batch.status = BadgeBatchStatus.RUNNING
    badges = badges_to_print(event, category=batch.category, only_unprinted=batch.only_unprinted)
    registrations = {
        registration.id: registration
        for registration in db.session.scalars(
            sa.select(Registration)
            .where(Registration.id.in_([badge.registration_id for badge in badges]))
            .options(sa.orm.selectinload(Registration.person).selectinload(Person.organization))
        )
    }
    language = batch.language or "en"
    with force_locale(language):
        dates = event_dates(event)
        items = []
        for badge in badges:
            registration = registrations[badge.registration_id]
            items.append(sheet_item(badge, registration.person, registration, event, dates))
        items.sort(key=lambda item: item.name.casefold())
        title = _("Badges") + f" \u2013 {event.name}"
    batch.total = len(items)
    db.session.commit()

    file_name = f"badges-{event.id}-{batch.id}-{secrets.token_hex(8)}.pdf"
    path = batch_folder() / file_name
    partial = path.with_suffix(".part")

    def progress(done: int) -> None:
        batch.done = done
        db.session.commit()

    with partial.open("wb") as out:
        badge_render.render_bulk(
            items,
            batch.layout,
            out,
            lang=language,
            title=title,
            processes=workers,
            progress=progress,
        )
    partial.replace(path)
    now = utcnow()
    ids = [badge.id for badge in badges]
    for start in range(0, len(ids), 500):
        db.session.execute(sa.update(Badge).where(Badge.id.in_(ids[start : start + 500])).values(printed_at=now))
    batch.file_name = file_name
    batch.done = len(items)
    batch.status = BadgeBatchStatus.DONE
    batch.finished_at = now


def category_choices() -> Sequence[tuple[str, str]]:
    return [(category.value, str(CATEGORY_LABELS[category])) for category in Category]


__all__ = [
    "CATEGORY_COLOURS",
    "InvalidCode",
    "NotEligible",
    "VerifiedCode",
    "badge_pdf",
    "ensure_badge",
    "event_public_key",
    "issue_badge",
    "reissue_badge",
    "revoke_badges_for",
    "verify_code",
]
