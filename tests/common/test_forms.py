"""commit_or_refuse: a view's service call commits, or its refusal is rolled back and shown on the form."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from wtforms import StringField

from eventsys.common.errors import DomainError
from eventsys.common.forms import ActionForm, commit_or_refuse
from eventsys.events.models import Organization, OrganizationKind
from eventsys.extensions import db


class NameForm(ActionForm):
    name = StringField()


def _names() -> list[str]:
    db.session.commit()  # whatever is still pending in the session would be kept now
    return list(db.session.scalars(sa.select(Organization.name).order_by(Organization.name)))


def test_a_service_that_succeeds_is_committed(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        form = NameForm(meta={"csrf": False})
        with commit_or_refuse(form) as outcome:
            db.session.add(Organization(name="Seoul Metropolitan Government", kind=OrganizationKind.CITY))
        assert outcome.ok
        assert _names() == ["Seoul Metropolitan Government"]
        assert not form.errors and not form.form_errors


def test_a_refusal_is_rolled_back_and_shown_next_to_its_field_or_above_the_form(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        form = NameForm(meta={"csrf": False})
        with commit_or_refuse(form) as outcome:
            db.session.add(Organization(name="Half-written", kind=OrganizationKind.CITY))
            db.session.flush()
            raise DomainError("That name is taken.", code="taken", field="name")
        assert not outcome.ok
        assert form.name.errors == ["That name is taken."]
        with commit_or_refuse(form) as outcome:
            raise DomainError("The event is closed.", code="closed")
        assert not outcome.ok
        assert form.form_errors == ["The event is closed."]
        assert _names() == []


def test_other_errors_are_not_swallowed(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        form = NameForm(meta={"csrf": False})
        with pytest.raises(ZeroDivisionError), commit_or_refuse(form):
            _ = 1 / 0
