"""The organizer's registration list: the filtered query behind the page, and its CSV export.

The CSV is what Excel opens correctly: UTF-8 with a byte-order mark, comma-separated, CRLF line ends.
Registrants type the cells, so every cell that a spreadsheet would read as a formula (starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with a single quote and opens as text
(``eventsys.common.csv.neutralize``, shared with the other exports).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Response
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager

from eventsys.common.csv import neutralize
from eventsys.common.timefmt import utc_to_local
from eventsys.events.models import Category, Event, Organization, Person
from eventsys.extensions import db
from eventsys.registration.models import Mode, Registration, RegistrationStatus


def filtered_registrations(event: Event, filters: Any) -> Sequence[Registration]:
    """The event's registrations matching the search and filters, with person and organization loaded.

    One query whatever the number of rows: the page and the export must not issue a query per row.
    ``filters`` has ``q``, ``mode``, ``status`` and ``category`` fields (see FilterForm); invalid values
    are ignored.
    """
    query = (
        sa.select(Registration)
        .join(Registration.person)
        .outerjoin(Person.organization)
        .options(contains_eager(Registration.person).contains_eager(Person.organization))
        .where(Registration.event_id == event.id)
        .order_by(Registration.created_at, Registration.id)
    )
    text = (filters.q.data or "").strip()
    if text:
        query = query.where(
            sa.or_(
                Person.name.icontains(text, autoescape=True),
                Person.email.icontains(text, autoescape=True),
                Organization.name.icontains(text, autoescape=True),
            )
        )
    if filters.mode.data in {mode.value for mode in Mode}:
        query = query.where(Registration.mode == Mode(filters.mode.data))
    if filters.status.data in {status.value for status in RegistrationStatus}:
        query = query.where(Registration.status == RegistrationStatus(filters.status.data))
    if filters.category.data == "none":
        query = query.where(Registration.category.is_(None))
    elif filters.category.data in {category.value for category in Category}:
        query = query.where(Registration.category == Category(filters.category.data))
    return db.session.scalars(query).unique().all()


def _local(value: datetime | None, tz_name: str) -> str:
    return utc_to_local(value, tz_name).strftime("%Y-%m-%d %H:%M") if value else ""


def rows(event: Event, registrations: Iterable[Registration]) -> Iterable[list[str]]:
    """The header and one row per registration, every cell neutralized; times in the event's zone."""
    zone = event.timezone
    yield [
        neutralize(cell)
        for cell in (
            _("Name"),
            _("Email"),
            _("Organization"),
            _("Title"),
            _("Mode"),
            _("Status"),
            _("Category"),
            _("Dietary needs"),
            _("Accessibility needs"),
            _("Language"),
            _("Registered (%(zone)s)", zone=zone),
            _("Confirmed (%(zone)s)", zone=zone),
            _("Seat offer expires (%(zone)s)", zone=zone),
            _("First joined online (%(zone)s)", zone=zone),
            _("Last joined online (%(zone)s)", zone=zone),
        )
    ]
    for registration in registrations:
        person = registration.person
        yield [
            neutralize(cell)
            for cell in (
                person.name,
                person.email,
                person.organization.name if person.organization else "",
                person.title,
                registration.mode.label,
                registration.status.label,
                registration.category.label if registration.category else "",
                registration.dietary_needs,
                registration.accessibility_needs,
                registration.language,
                _local(registration.created_at, zone),
                _local(registration.confirmed_at, zone),
                _local(registration.offer_expires_at, zone),
                _local(registration.first_joined_at, zone),
                _local(registration.last_joined_at, zone),
            )
        ]


def to_csv(event: Event, registrations: Iterable[Registration]) -> bytes:
    """The CSV file as bytes: UTF-8 with BOM, comma-separated, CRLF line ends, every field quoted as needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel")
    writer.writerows(rows(event, registrations))
    return buffer.getvalue().encode("utf-8-sig")


def csv_response(event: Event, registrations: Iterable[Registration]) -> Response:
    """The CSV as a download named after the event."""
    response = Response(to_csv(event, registrations), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="registrations-{event.slug}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
