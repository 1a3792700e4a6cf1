"""Imports every domain's models, so the metadata (and Alembic) sees all tables."""

from eventsys.accounts.models import EventRole, User
from eventsys.events.models import Event, Organization, Person
from eventsys.invitations.models import BulkSend, Invitation
from eventsys.registration.models import CategoryQuota, Registration

__all__ = [
    "BulkSend",
    "CategoryQuota",
    "Event",
    "EventRole",
    "Invitation",
    "Organization",
    "Person",
    "Registration",
    "User",
]
