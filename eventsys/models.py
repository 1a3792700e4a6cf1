"""Imports every domain's models, so the metadata (and Alembic) sees all tables."""

from eventsys.accounts.models import EventRole, User
from eventsys.agenda.models import AgendaFeed, AgendaVersion, Room, Session, SessionSpeaker, Star
from eventsys.certificates.models import Certificate, CertificateRun, CertificateTemplate
from eventsys.checkin.models import Badge, BadgeBatch, CheckIn, CheckInConflict, CheckInList, DoorDevice, EventKey
from eventsys.events.models import Event, Organization, Person
from eventsys.invitations.models import BulkSend, Invitation
from eventsys.mou.models import Mou, MouAuditEntry, MouDocument, MouParty, MouSignatory
from eventsys.registration.models import CategoryQuota, Registration

__all__ = [
    "AgendaFeed",
    "AgendaVersion",
    "Badge",
    "BadgeBatch",
    "BulkSend",
    "CategoryQuota",
    "Certificate",
    "CertificateRun",
    "CertificateTemplate",
    "CheckIn",
    "CheckInConflict",
    "CheckInList",
    "DoorDevice",
    "Event",
    "EventKey",
    "EventRole",
    "Invitation",
    "Mou",
    "MouAuditEntry",
    "MouDocument",
    "MouParty",
    "MouSignatory",
    "Organization",
    "Person",
    "Registration",
    "Room",
    "Session",
    "SessionSpeaker",
    "Star",
    "User",
]
