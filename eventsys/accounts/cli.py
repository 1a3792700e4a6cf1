"""``flask users ...`` commands."""

from __future__ import annotations

import secrets

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from eventsys.accounts import services
from eventsys.accounts.models import Role
from eventsys.common.errors import DomainError
from eventsys.events.models import Event
from eventsys.extensions import db

users_cli = AppGroup("users", help="Manage user accounts and roles.")


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="Site admin", help="Display name.")
@click.option("--password", help="Password; a random one is generated and printed when omitted.")
def create_admin(email: str, name: str, password: str | None) -> None:
    """Create a site admin account."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        services.create_user(email, name, password, is_site_admin=True)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Site admin {services.normalize_email(email)} created.")
    if generated:
        click.echo(f"Password: {password}")


@users_cli.command("grant")
@click.argument("email")
@click.argument("event_slug")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def grant(email: str, event_slug: str, role: str) -> None:
    """Give the account EMAIL the ROLE (organizer or door) on the event EVENT_SLUG."""
    user = services.get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No account with the email {email}.")
    event = db.session.scalar(sa.select(Event).where(Event.slug == event_slug))
    if event is None:
        raise click.ClickException(f"No event with the short name {event_slug}.")
    try:
        services.grant_role(None, event, user, Role(role))
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"{user.email} is now {role} of {event.slug}.")
