"""Form helpers shared by the domains."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import ValidationError

from eventsys.common.errors import DomainError


class ActionForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state (publish, close, log out)."""


def strip_filter(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def empty_to_none(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


#: The control characters below U+0020 other than tab, line feed and carriage return.
_CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class NoControlCharacters:
    """Refuse control characters (other than tab and newlines) that no person types."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __call__(self, form: FlaskForm, field: Field) -> None:
        data = field.data
        if isinstance(data, str) and _CONTROL_CHARACTER.search(data):
            raise ValidationError(self.message or _l("This text contains characters that are not allowed."))


def attach_domain_error(form: FlaskForm, error: DomainError) -> None:
    """Show a service's refusal next to the field it concerns, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


@dataclass
class Outcome:
    """What ``commit_or_refuse`` made of the service call in its block."""

    ok: bool = False


@contextmanager
def commit_or_refuse(form: FlaskForm) -> Iterator[Outcome]:
    """Call a service for a submitted form in this block: if it succeeds, commit (``outcome.ok``); if it refuses
    (a ``DomainError``), roll back and show the refusal on the form (``attach_domain_error``). Other errors
    propagate, as does a failing commit.

        with commit_or_refuse(form) as outcome:
            template = services.create_template(...)
        if outcome.ok:
            flash(...)
            return redirect(...)
    """
    from eventsys.extensions import db

    outcome = Outcome()
    try:
        yield outcome
    except DomainError as error:
        db.session.rollback()
        attach_domain_error(form, error)
        return
    db.session.commit()
    outcome.ok = True
