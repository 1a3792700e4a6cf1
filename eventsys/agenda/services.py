"""The agenda's business rules: rooms, sessions and speakers, conflict warnings, publishing and stars.

Conflicts are data: ``agenda_warnings`` returns a list of ``AgendaWarning`` objects that the builder, its
JSON endpoint and the publish page show; they never block a save. Publishing freezes the draft (the
``Session`` rows) into a numbered ``AgendaVersion`` whose snapshot the public pages and feeds render, with
the list of changes since the previous version; attendees who starred a session that moved are emailed
after the commit.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import selectinload

from eventsys.common.db import utcnow
from eventsys.common.errors import DomainError
from eventsys.common.locking import lock_event
from eventsys.common.tasks import after_commit
from eventsys.common.tokens import find_by_token, new_token
from eventsys.events.models import Event, Organization, OrganizationKind, Person
from eventsys.extensions import db
from eventsys.registration.models import Mode, Registration, RegistrationStatus

from .models import (
    AgendaFeed,
    AgendaVersion,
    FeedScope,
    Room,
    Session,
    SessionFormat,
    SessionKind,
    SessionSpeaker,
    SpeakerRole,
    Star,
)

#: Registrations that may keep a personal agenda.
ACTIVE_STATUSES = (
    RegistrationStatus.PENDING,
    RegistrationStatus.WAITLISTED,
    RegistrationStatus.OFFERED,
    RegistrationStatus.CONFIRMED,
)

#: Grid resolution of the builder; the plain form accepts any minute.
SNAP_MINUTES = 5


# --- rooms ----------------------------------------------------------------------------------------------------


def rooms_of(event: Event) -> list[Room]:
    return list(db.session.scalars(sa.select(Room).where(Room.event_id == event.id).order_by(Room.position, Room.id)))


def create_room(event: Event, name: str, capacity: int | None) -> Room:
    """Add a room as the last column of the grid."""
    name = _check_room(event, name, capacity)
    last = db.session.scalar(sa.select(sa.func.max(Room.position)).where(Room.event_id == event.id))
    room = Room(event_id=event.id, name=name, capacity=capacity, position=(last or 0) + 1)
    db.session.add(room)
    db.session.flush()
    return room


def _check_room(event: Event, name: str, capacity: int | None, room_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the room a name."), code="room_name", field="name")
    if capacity is not None and capacity < 0:
        raise DomainError(_("The capacity cannot be negative."), code="room_capacity", field="capacity")
    query = sa.select(Room.id).where(Room.event_id == event.id, Room.name == name)
    if room_id is not None:
        query = query.where(Room.id != room_id)
    if db.session.scalar(query) is not None:
        raise DomainError(_("This event already has a room with that name."), code="room_exists", field="name")
    return name


def update_room(room: Room, name: str, capacity: int | None) -> Room:
    """Rename a room or change its seats. The public agenda shows the new name from the next publish on."""
    room.name = _check_room(room.event, name, capacity, room.id)
    room.capacity = capacity
    db.session.flush()
    return room


def sessions_in_room(room: Room) -> list[Session]:
    """The draft sessions held in ``room`` (deleted ones waiting for the next publish do not count)."""
    return list(
        db.session.scalars(
            sa.select(Session)
            .where(Session.room_id == room.id, Session.deleted_at.is_(None))
            .order_by(Session.starts_at.is_(None), Session.starts_at, Session.id)
        )
    )


def delete_room(room: Room) -> None:
    """Delete a room no session uses; refused, naming the sessions, while any does.

    The published version keeps the room's name in its snapshot, so the public agenda shows it until the next
    publish.
    """
    lock_event(room.event_id)  # no session moves into the room while it goes
    using = sessions_in_room(room)
    if using:
        titles = ", ".join(f"“{session.title}”" for session in using[:5]) + (" …" if len(using) > 5 else "")
        raise DomainError(
            ngettext(
                "%(num)d session still uses this room: %(titles)s. Move it to another room first.",
                "%(num)d sessions still use this room: %(titles)s. Move them to other rooms first.",
                len(using),
                titles=titles,
            ),
            code="room_in_use",
        )
    # Sessions deleted from the draft (waiting for the next publish) let go of the room: room_id is SET NULL.
    db.session.execute(sa.update(Session).where(Session.room_id == room.id).values(room_id=None))
    db.session.delete(room)
    db.session.flush()


# --- speakers -------------------------------------------------------------------------------------------------


@dataclass
class SpeakerData:
    name: str
    email: str | None
    title: str | None = None
    organization: str | None = None
    bio: str | None = None


def save_speaker(data: SpeakerData, person: Person | None = None) -> Person:
    """Create a speaker, or update ``person``. One Person per email: an existing one is found and updated."""
    name = (data.name or "").strip()
    if not name:
        raise DomainError(_("Give the speaker's name."), code="speaker_name", field="name")
    email = (data.email or "").strip().lower() or None
    if email:
        existing = db.session.scalar(sa.select(Person).where(Person.email == email))
        if existing is not None and person is not None and existing.id != person.id:
            raise DomainError(
                _("Another person already uses this email address."), code="speaker_email_taken", field="email"
            )
        person = person or existing
    if person is None:
        person = Person(name=name)
        db.session.add(person)
    person.name = name
    person.email = email if email else person.email
    person.title = data.title or None
    person.bio = data.bio or None
    person.organization = _organization(data.organization) if data.organization else None
    db.session.flush()
    return person


def _organization(name: str) -> Organization:
    name = name.strip()
    found = db.session.scalar(sa.select(Organization).where(Organization.name == name))
    if found is None:
        found = Organization(name=name, kind=OrganizationKind.OTHER)
        db.session.add(found)
    return found


# Photos: checked by content (Pillow decodes them), limited in size, re-encoded as JPEG (which drops any
# metadata and anything hidden after the image data), resized, and stored under a random name outside
# static/, so an upload can never become a script or overwrite a file.

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_SIZE = 600  # the longest side after resizing, in pixels
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def photo_folder() -> Path:
    folder = Path(current_app.config.get("SPEAKER_PHOTO_DIR") or Path(current_app.instance_path) / "speaker-photos")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_speaker_photo(person: Person, content: bytes) -> str:
    """Validate an uploaded photo, store a resized JPEG copy under a new random name, and set it on ``person``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not content:
        raise DomainError(_("Choose a photo to upload."), code="photo_missing", field="photo")
    if len(content) > PHOTO_MAX_BYTES:
        raise DomainError(_("The photo is too large (5 MB at most)."), code="photo_too_large", field="photo")
    try:
        with Image.open(io.BytesIO(content)) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise DomainError(_("Upload a JPEG, PNG, WebP or GIF image."), code="photo_format", field="photo")
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                raise DomainError(_("The photo has too many pixels."), code="photo_too_large", field="photo")
            probe.verify()
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((PHOTO_SIZE, PHOTO_SIZE))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85, optimize=True)
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise DomainError(_("This file is not an image we can read."), code="photo_invalid", field="photo") from error
    name = f"{secrets.token_hex(16)}.jpg"
    (photo_folder() / name).write_bytes(out.getvalue())
    old = person.photo
    person.photo = name
    db.session.flush()
    if old and is_photo_name(old):
        # The old file goes once the new one is committed; a rollback keeps both (a stray file, never a lost one).
        after_commit(remove_photo_file, old)
    return name


def is_photo_name(name: str) -> bool:
    """Names we generate: 32 hex digits and .jpg. Anything else is never read from disk."""
    stem, dot, ext = name.partition(".")
    return dot == "." and ext == "jpg" and len(stem) == 32 and all(c in "0123456789abcdef" for c in stem)


def remove_photo_file(name: str) -> None:
    if is_photo_name(name):
        (photo_folder() / name).unlink(missing_ok=True)


# --- sessions -------------------------------------------------------------------------------------------------


@dataclass
class SessionData:
    title: str
    kind: SessionKind = SessionKind.TALK
    format: SessionFormat = SessionFormat.HYBRID
    description: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    room_id: int | None = None
    plenary: bool = False
    is_public: bool = True
    stream_url: str | None = None
    #: (person, role) in order; None leaves the speakers as they are.
    speakers: list[tuple[Person, SpeakerRole]] | None = None


def sessions_of(event: Event) -> list[Session]:
    """Every draft session of the event with its speakers and their people, in three queries."""
    return list(
        db.session.scalars(
            sa.select(Session)
            .where(Session.event_id == event.id, Session.deleted_at.is_(None))
            .options(
                selectinload(Session.speakers).selectinload(SessionSpeaker.person).selectinload(Person.organization)
            )
            .order_by(Session.starts_at.is_(None), Session.starts_at, Session.id)
        )
    )


def create_session(event: Event, data: SessionData) -> Session:
    session = Session(event_id=event.id, title="")
    db.session.add(session)
    _apply(event, session, data)
    return session


def update_session(session: Session, data: SessionData) -> Session:
    _apply(session.event, session, data)
    return session


def _apply(event: Event, session: Session, data: SessionData) -> None:
    title = (data.title or "").strip()
    if not title:
        raise DomainError(_("Give the session a title."), code="session_title", field="title")
    if data.stream_url and not data.stream_url.startswith(("https://", "http://")):
        raise DomainError(_("The stream link must start with https://."), code="stream_url", field="stream_url")
    session.title = title
    session.description = data.description or None
    session.kind = data.kind
    session.format = data.format
    session.plenary = data.plenary
    session.is_public = data.is_public
    session.stream_url = data.stream_url or None
    _set_time_and_room(event, session, data.starts_at, data.ends_at, data.room_id)
    if data.speakers is not None:
        set_speakers(session, data.speakers)
    db.session.flush()


def _set_time_and_room(
    event: Event, session: Session, starts_at: datetime | None, ends_at: datetime | None, room_id: int | None
) -> None:
    if (starts_at is None) != (ends_at is None):
        raise DomainError(
            _("Give both a start and an end, or neither to leave the session unscheduled."),
            code="time_incomplete",
            field="ends_at" if starts_at else "starts_at",
        )
    if starts_at is not None and ends_at is not None:
        if starts_at.tzinfo is None or ends_at.tzinfo is None:
            raise ValueError("session times must be timezone-aware")
        if ends_at <= starts_at:
            raise DomainError(_("The session must end after it starts."), code="ends_before_start", field="ends_at")
        if ends_at - starts_at > timedelta(days=1):
            raise DomainError(_("A session lasts one day at most."), code="too_long", field="ends_at")
    if room_id is not None:
        room = db.session.get(Room, room_id)
        if room is None or room.event_id != event.id:
            raise DomainError(_("Choose one of this event's rooms."), code="unknown_room", field="room_id")
    session.starts_at, session.ends_at, session.room_id = starts_at, ends_at, room_id


def schedule_session(
    session: Session, starts_at: datetime | None, ends_at: datetime | None, room_id: int | None
) -> Session:
    """Move, resize or unschedule a session (the builder's drag and drop, the plain form's time fields)."""
    _set_time_and_room(session.event, session, starts_at, ends_at, room_id)
    db.session.flush()
    return session


def set_speakers(session: Session, speakers: Sequence[tuple[Person, SpeakerRole]]) -> None:
    """Replace the session's speakers and moderators, keeping the given order."""
    seen: set[int] = set()
    for person, _role in speakers:
        if person.id in seen:
            raise DomainError(_("%(name)s is listed twice.", name=person.name), code="speaker_twice", field="speakers")
        seen.add(person.id)
    existing = {link.person_id: link for link in session.speakers}
    links = []
    for position, (person, role) in enumerate(speakers):
        link = existing.get(person.id) or SessionSpeaker(person=person)
        link.role, link.position = role, position
        links.append(link)
    session.speakers = links


@dataclass
class DeletionImpact:
    """What deleting a session touches, for the confirmation page."""

    published: bool
    followers: int
    mou_titles: list[str]


def _is_published(session: Session) -> bool:
    latest = latest_version(session.event_id)
    return latest is not None and any(e["id"] == session.id for e in latest.snapshot.get("sessions", []))


def deletion_impact(session: Session) -> DeletionImpact:
    from eventsys.mou.models import Mou

    followers = db.session.scalar(sa.select(sa.func.count()).select_from(Star).where(Star.session_id == session.id))
    mous = db.session.scalars(sa.select(Mou.title).where(Mou.session_id == session.id).order_by(Mou.id))
    return DeletionImpact(published=_is_published(session), followers=followers or 0, mou_titles=list(mous))


def delete_session(session: Session) -> bool:
    """Delete a session from the draft. Answers True when it is gone at once, False when it waits for publishing.

    A session on the latest published version stays on the public agenda, the feeds and attendees' personal
    agendas until the next publish: it only leaves the draft now (``deleted_at``), keeping its stars so the
    next publish tells followers it was removed, then retires it (see ``_retire``: its row stays as a tombstone
    so its id, and so its calendar UID, is never reused). A session only older versions showed is retired at
    once; one never published goes at once with its speakers and stars. An MOU whose signing ceremony it was
    keeps its record and no longer names a session.
    """
    lock_event(session.event_id)  # not while the same draft is being published
    on_latest, ever = _publication_of(session)
    if on_latest:
        session.deleted_at = utcnow()
        db.session.flush()
        return False
    if ever:
        session.deleted_at = utcnow()
        _retire([session.id])
        return True
    db.session.delete(session)
    db.session.flush()
    return True


def _publication_of(session: Session) -> tuple[bool, bool]:
    """Whether the session is on the latest published version, and whether any version showed it (one read)."""
    snapshots = db.session.scalars(
        sa.select(AgendaVersion.snapshot)
        .where(AgendaVersion.event_id == session.event_id)
        .order_by(AgendaVersion.number.desc())
    ).all()
    showed = [any(entry["id"] == session.id for entry in snapshot.get("sessions", [])) for snapshot in snapshots]
    return bool(showed) and showed[0], any(showed)


def is_retired(session: Session) -> bool:
    """Deleted, and no longer on the published agenda: only its row is left (see ``_retire``)."""
    return session.deleted_at is not None and not _is_published(session)


def _retire(session_ids: list[int]) -> None:
    """Take deleted sessions off everything (speakers, stars, MOUs) but keep their rows as tombstones.

    A published session's id is part of its iCalendar UID and of the versions' snapshots. SQLite (without
    AUTOINCREMENT) hands the highest deleted id to the next new row, so a new session would take over the old
    one's UID in attendees' calendars and look like the old session "changed" in "what changed since version
    N". Keeping the row keeps its id taken, on every database.
    """
    from eventsys.mou.models import Mou

    if not session_ids:
        return
    db.session.execute(sa.delete(Star).where(Star.session_id.in_(session_ids)))
    db.session.execute(sa.delete(SessionSpeaker).where(SessionSpeaker.session_id.in_(session_ids)))
    db.session.execute(sa.update(Mou).where(Mou.session_id.in_(session_ids)).values(session_id=None))
    db.session.execute(
        sa.update(Session).where(Session.id.in_(session_ids)).values(stream_url=None, room_id=None, is_public=False)
    )
    db.session.flush()
    db.session.expire_all()


def _purge_deleted(event: Event) -> int:
    """Retire the sessions deleted from the draft (after publishing a version without them)."""
    gone = list(
        db.session.scalars(
            sa.select(Session.id).where(
                Session.event_id == event.id, Session.deleted_at.is_not(None), Session.is_public.is_(True)
            )
        )
    )
    _retire(gone)
    return len(gone)


# --- conflict warnings ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaWarning:
    """A conflict in the draft: shown on the builder's warnings panel and next to the sessions concerned."""

    code: str  # room_overlap | speaker_overlap | outside_event | over_capacity
    message: str
    session_ids: tuple[int, ...]
    room_id: int | None = None
    person_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "session_ids": list(self.session_ids),
            "room_id": self.room_id,
            "person_id": self.person_id,
        }


def _overlap(a: Session, b: Session) -> bool:
    assert a.starts_at and a.ends_at and b.starts_at and b.ends_at
    return a.starts_at < b.ends_at and b.starts_at < a.ends_at


def expected_in_person(event: Event) -> dict[int, int]:
    """Per session: how many confirmed in-person attendees starred it (the audience we expect in the room)."""
    rows = db.session.execute(
        sa.select(Star.session_id, sa.func.count())
        .join(Registration, Registration.id == Star.registration_id)
        .where(
            Registration.event_id == event.id,
            Registration.mode == Mode.IN_PERSON,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
        .group_by(Star.session_id)
    )
    return {session_id: count for session_id, count in rows}


def agenda_warnings(
    event: Event,
    sessions: Iterable[Session] | None = None,
    rooms: Iterable[Room] | None = None,
    audience: dict[int, int] | None = None,
) -> list[AgendaWarning]:
    """Every conflict in the draft agenda: room overlaps, double-booked speakers, sessions outside the event's
    dates, rooms over capacity for the expected in-person audience."""
    sessions = list(sessions if sessions is not None else sessions_of(event))
    rooms_by_id = {room.id: room for room in (rooms if rooms is not None else rooms_of(event))}
    audience = audience if audience is not None else expected_in_person(event)
    scheduled = sorted((s for s in sessions if s.is_scheduled), key=lambda s: (s.starts_at, s.id))
    warnings: list[AgendaWarning] = []

    # Sweep in start order: each session is compared only with those still running when it starts.
    running: list[Session] = []
    for session in scheduled:
        running = [other for other in running if other.ends_at > session.starts_at]  # type: ignore[operator]
        for other in running:
            same_room = session.room_id is not None and session.room_id == other.room_id
            if same_room or session.plenary or other.plenary:
                if same_room:
                    room_name = rooms_by_id[session.room_id].name if session.room_id in rooms_by_id else ""
                    message = _(
                        "“%(a)s” and “%(b)s” overlap in %(room)s.", a=other.title, b=session.title, room=room_name
                    )
                else:
                    message = _(
                        "“%(a)s” and “%(b)s” overlap, and one of them spans all rooms.", a=other.title, b=session.title
                    )
                warnings.append(AgendaWarning("room_overlap", message, (other.id, session.id), room_id=session.room_id))
            shared = {link.person_id for link in session.speakers} & {link.person_id for link in other.speakers}
            for person_id in sorted(shared):
                name = next(link.person.name for link in session.speakers if link.person_id == person_id)
                warnings.append(
                    AgendaWarning(
                        "speaker_overlap",
                        _(
                            "%(name)s is in two sessions at once: “%(a)s” and “%(b)s”.",
                            name=name,
                            a=other.title,
                            b=session.title,
                        ),
                        (other.id, session.id),
                        person_id=person_id,
                    )
                )
        running.append(session)

    for session in scheduled:
        if session.starts_at < event.starts_at or session.ends_at > event.ends_at:  # type: ignore[operator]
            warnings.append(
                AgendaWarning(
                    "outside_event",
                    _("“%(title)s” is outside the event's dates.", title=session.title),
                    (session.id,),
                )
            )
        expected = audience.get(session.id, 0)
        capacity = _capacity(session, rooms_by_id)
        if expected and capacity is not None and expected > capacity and session.format.has_venue:
            warnings.append(
                AgendaWarning(
                    "over_capacity",
                    _(
                        "“%(title)s”: %(expected)d in-person attendees expect to come, the room seats %(capacity)d.",
                        title=session.title,
                        expected=expected,
                        capacity=capacity,
                    ),
                    (session.id,),
                    room_id=session.room_id,
                )
            )
    return warnings


def _capacity(session: Session, rooms_by_id: dict[int, Room]) -> int | None:
    if session.plenary:
        capacities = [room.capacity for room in rooms_by_id.values()]
        return sum(capacities) if capacities and None not in capacities else None  # type: ignore[arg-type]
    room = rooms_by_id.get(session.room_id) if session.room_id is not None else None
    return room.capacity if room is not None else None


# --- publishing -----------------------------------------------------------------------------------------------

#: The fields whose change counts as a change of the session (SEQUENCE goes up, the change list shows it).
_COMPARED = ("title", "description", "kind", "format", "starts_at", "ends_at", "room_id", "plenary", "speakers")


def build_snapshot(event: Event, sessions: Iterable[Session], rooms: Iterable[Room]) -> dict[str, Any]:
    """The public agenda as data: rooms, public scheduled sessions, and the people on them.

    Stream URLs are left out on purpose: the public pages and feeds are built from this.
    """
    people: dict[str, dict[str, Any]] = {}
    entries = []
    for session in sessions:
        if not (session.is_public and session.is_scheduled):
            continue
        speakers = []
        for link in session.speakers:
            person = link.person
            speakers.append({"person_id": person.id, "role": link.role.value})
            people[str(person.id)] = {
                "name": person.name,
                "title": person.title,
                "organization": person.organization.name if person.organization else None,
                "bio": person.bio,
                "photo": person.photo,
            }
        entries.append(
            {
                "id": session.id,
                "title": session.title,
                "description": session.description,
                "kind": session.kind.value,
                "format": session.format.value,
                "starts_at": session.starts_at.isoformat(),  # type: ignore[union-attr]
                "ends_at": session.ends_at.isoformat(),  # type: ignore[union-attr]
                "room_id": session.room_id,
                "plenary": session.plenary,
                "sequence": session.sequence,
                "speakers": speakers,
            }
        )
    entries.sort(key=lambda e: (e["starts_at"], e["id"]))
    return {
        "rooms": [{"id": r.id, "name": r.name, "capacity": r.capacity} for r in rooms],
        "sessions": entries,
        "people": people,
    }


def draft_digest(event: Event, sessions: Iterable[Session] | None = None, rooms: Iterable[Room] | None = None) -> str:
    """A fingerprint of what publishing would publish now: the publish form carries it, so an organizer
    publishes exactly the draft they reviewed (a change meanwhile asks them to look again)."""
    snapshot = build_snapshot(
        event, sessions if sessions is not None else sessions_of(event), rooms if rooms is not None else rooms_of(event)
    )
    for entry in snapshot["sessions"]:
        entry.pop("sequence")
    payload = json.dumps(snapshot, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(payload).hexdigest()[:32]


def latest_version(event_id: int) -> AgendaVersion | None:
    return db.session.scalar(
        sa.select(AgendaVersion)
        .where(AgendaVersion.event_id == event_id)
        .order_by(AgendaVersion.number.desc())
        .limit(1)
    )


def version_numbered(event_id: int, number: int) -> AgendaVersion | None:
    return db.session.scalar(
        sa.select(AgendaVersion).where(AgendaVersion.event_id == event_id, AgendaVersion.number == number)
    )


def _comparable(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry.get(key) for key in _COMPARED}


def diff_snapshots(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from ``old`` to ``new``, session by session: added, removed, moved, changed.

    ``moved`` (a new time or room) is what attendees who starred the session are told about.
    """
    before = {e["id"]: e for e in (old or {}).get("sessions", [])}
    after = {e["id"]: e for e in new.get("sessions", [])}
    changes: list[dict[str, Any]] = []
    for session_id, entry in after.items():
        previous = before.get(session_id)
        if previous is None:
            changes.append({"kind": "added", "session_id": session_id, "title": entry["title"]})
            continue
        if _comparable(previous) == _comparable(entry):
            continue
        moved = any(previous.get(k) != entry.get(k) for k in ("starts_at", "ends_at", "room_id", "plenary"))
        changes.append(
            {
                "kind": "moved" if moved else "changed",
                "session_id": session_id,
                "title": entry["title"],
                "old_title": previous["title"],
                "old_starts_at": previous["starts_at"],
                "old_ends_at": previous["ends_at"],
                "old_room_id": previous["room_id"],
            }
        )
    for session_id, entry in before.items():
        if session_id not in after:
            changes.append({"kind": "removed", "session_id": session_id, "title": entry["title"]})
    order = {"moved": 0, "changed": 1, "added": 2, "removed": 3}
    changes.sort(key=lambda c: (order[c["kind"]], c["title"]))
    return changes


def publish_agenda(event: Event, actor: Any, expected_digest: str) -> AgendaVersion:
    """Publish the draft as the next numbered version; email attendees whose starred sessions moved."""
    lock_event(event.id)  # two organizers publishing at once get versions n and n+1, never two n
    sessions = sessions_of(event)
    rooms = rooms_of(event)
    if not secrets.compare_digest(draft_digest(event, sessions, rooms), expected_digest or ""):
        raise DomainError(
            _("The draft changed since you opened this page. Please review it again before publishing."),
            code="draft_changed",
        )
    previous = latest_version(event.id)
    old_snapshot = previous.snapshot if previous is not None else None
    old_entries = {e["id"]: e for e in (old_snapshot or {}).get("sessions", [])}
    snapshot = build_snapshot(event, sessions, rooms)
    # A session that changed since the last version gets a higher SEQUENCE, so calendars replace their copy.
    by_id = {session.id: session for session in sessions}
    for entry in snapshot["sessions"]:
        before = old_entries.get(entry["id"])
        if before is not None and _comparable(before) != _comparable(entry):
            session = by_id[entry["id"]]
            session.sequence = max(session.sequence, before.get("sequence", 0)) + 1
            entry["sequence"] = session.sequence
    changes = diff_snapshots(old_snapshot, snapshot)
    version = AgendaVersion(
        event_id=event.id,
        number=(previous.number if previous else 0) + 1,
        published_at=utcnow(),
        published_by_id=getattr(actor, "id", None),
        snapshot=snapshot,
        changes=changes,
    )
    db.session.add(version)
    db.session.flush()
    moved = [c["session_id"] for c in changes if c["kind"] in ("moved", "removed")]
    if moved:
        _notify_followers(event, moved, version)
    _purge_deleted(event)  # after the followers of removed sessions were found
    return version


def _notify_followers(event: Event, session_ids: list[int], version: AgendaVersion) -> None:
    from eventsys.agenda import notifications

    rows = db.session.execute(
        sa.select(Star.registration_id, Star.session_id)
        .join(Registration, Registration.id == Star.registration_id)
        .where(Star.session_id.in_(session_ids), Registration.status.in_(ACTIVE_STATUSES))
        .order_by(Star.registration_id, Star.session_id)
    )
    followed: dict[int, list[int]] = defaultdict(list)
    for registration_id, session_id in rows:
        followed[registration_id].append(session_id)
    for registration_id, ids in followed.items():
        after_commit(notifications.send_sessions_moved_mail, registration_id, version.id, ids)


# --- the published agenda, as the public sees it --------------------------------------------------------------


@dataclass
class PublishedSession:
    id: int
    title: str
    description: str | None
    kind: SessionKind
    format: SessionFormat
    starts_at: datetime
    ends_at: datetime
    room: dict[str, Any] | None
    plenary: bool
    sequence: int
    speakers: list[tuple[dict[str, Any], SpeakerRole]]


@dataclass
class PublishedAgenda:
    """A version's snapshot turned back into objects for templates and feeds."""

    version: AgendaVersion
    rooms: list[dict[str, Any]]
    sessions: list[PublishedSession]
    people: dict[int, dict[str, Any]] = field(default_factory=dict)

    def session(self, session_id: int) -> PublishedSession | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    def sessions_of_person(self, person_id: int) -> list[tuple[PublishedSession, SpeakerRole]]:
        return [
            (session, role)
            for session in self.sessions
            for person, role in session.speakers
            if person["id"] == person_id
        ]


def published_agenda(version: AgendaVersion) -> PublishedAgenda:
    snapshot = version.snapshot
    rooms = snapshot.get("rooms", [])
    rooms_by_id = {room["id"]: room for room in rooms}
    people = {int(pid): {"id": int(pid), **data} for pid, data in snapshot.get("people", {}).items()}
    sessions = [
        PublishedSession(
            id=e["id"],
            title=e["title"],
            description=e.get("description"),
            kind=SessionKind(e["kind"]),
            format=SessionFormat(e["format"]),
            starts_at=datetime.fromisoformat(e["starts_at"]),
            ends_at=datetime.fromisoformat(e["ends_at"]),
            room=rooms_by_id.get(e["room_id"]),
            plenary=e["plenary"],
            sequence=e["sequence"],
            speakers=[(people[s["person_id"]], SpeakerRole(s["role"])) for s in e["speakers"]],
        )
        for e in snapshot.get("sessions", [])
    ]
    return PublishedAgenda(version=version, rooms=rooms, sessions=sessions, people=people)


def draft_agenda(event: Event) -> PublishedAgenda:
    """What publishing now would publish (public scheduled sessions), as an unsaved version numbered 0.

    For the organizer's preview of the printed programme; nothing is written.
    """
    snapshot = build_snapshot(event, sessions_of(event), rooms_of(event))
    version = AgendaVersion(event_id=event.id, number=0, published_at=utcnow(), snapshot=snapshot, changes=[])
    return published_agenda(version)


# --- stars and personal feeds ---------------------------------------------------------------------------------


def _check_may_follow(registration: Registration) -> None:
    if registration.status not in ACTIVE_STATUSES:
        raise DomainError(
            _("Your registration is no longer active, so you cannot keep a personal agenda."), code="not_active"
        )


def starred_session_ids(registration: Registration) -> set[int]:
    return set(db.session.scalars(sa.select(Star.session_id).where(Star.registration_id == registration.id)))


def star_session(registration: Registration, session_id: int, starred: bool) -> None:
    """Add a published session to the attendee's personal agenda, or take it out."""
    _check_may_follow(registration)
    existing = db.session.scalar(
        sa.select(Star).where(Star.registration_id == registration.id, Star.session_id == session_id)
    )
    if not starred:
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
        return
    if existing is not None:
        return
    version = latest_version(registration.event_id)
    if version is None or not any(e["id"] == session_id for e in version.snapshot.get("sessions", [])):
        raise DomainError(_("This session is not on the published agenda."), code="unknown_session")
    db.session.add(Star(registration_id=registration.id, session_id=session_id))
    db.session.flush()


def feed_of(registration: Registration) -> AgendaFeed | None:
    return db.session.scalar(sa.select(AgendaFeed).where(AgendaFeed.registration_id == registration.id))


def set_feed(registration: Registration, scope: FeedScope) -> AgendaFeed:
    """Create the attendee's private calendar feed, or change what it holds (keeping its address)."""
    _check_may_follow(registration)
    feed = feed_of(registration)
    if feed is None:
        feed = AgendaFeed(registration_id=registration.id, token=new_token(), scope=scope)
        db.session.add(feed)
    feed.scope = scope
    db.session.flush()
    return feed


def renew_feed(registration: Registration) -> AgendaFeed:
    """Give the feed a new secret address: the old one stops working at once (a leaked link is revoked)."""
    feed = feed_of(registration)
    if feed is None:
        raise DomainError(_("You have no calendar feed yet."), code="no_feed")
    feed.token = new_token()
    db.session.flush()
    return feed


def find_feed(token: str) -> AgendaFeed | None:
    """The feed with this secret token, with its registration, for an active registration only."""
    feed = find_by_token(AgendaFeed, AgendaFeed.token, token)
    if feed is None or feed.registration.status not in ACTIVE_STATUSES:
        return None
    return feed


def may_join_online(registration: Registration) -> bool:
    """Whether the private feed carries join links: confirmed online attendees (or online while waiting)."""
    return (registration.mode is Mode.ONLINE and registration.status is RegistrationStatus.CONFIRMED) or (
        registration.status is RegistrationStatus.OFFERED and registration.online_meanwhile
    )
