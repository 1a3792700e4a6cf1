"""Forms of the organizer's check-in pages: lists and door devices. Rules live in ``eventsys.checkin.services``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from eventsys.common.forms import NoControlCharacters, empty_to_none, strip_filter
from eventsys.events.models import CATEGORY_LABELS, Category


class ListForm(FlaskForm):
    """A check-in list for a day, a session or some categories."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=120), NoControlCharacters()],
        filters=[strip_filter],
        description=_l("e.g. MOU signing ceremony"),
    )
    day = SelectField(_l("Day"), choices=[], validate_choice=True, default="")
    session_id = IntegerField(
        _l("Agenda session number"),
        validators=[Optional(), NumberRange(min=1, max=2**31 - 1)],
        filters=[empty_to_none],
        description=_l("Optional: the session this list is for."),
    )
    categories = SelectMultipleField(
        _l("Admitted categories"),
        choices=[SelectChoice(c.value, CATEGORY_LABELS[c]) for c in Category],
        description=_l("Leave all unticked to admit everyone."),
    )
    allows_exit = BooleanField(_l("Also take exit scans (shows who is inside now)"))


class DeviceForm(FlaskForm):
    """A door device: a name and, optionally, the list it works on."""

    name = StringField(
        _l("Door name"),
        validators=[DataRequired(), Length(max=100), NoControlCharacters()],
        filters=[strip_filter],
        description=_l("e.g. North door"),
    )
    list_id = SelectField(
        _l("Check-in list"),
        choices=[],
        validate_choice=True,
        default="",
        description=_l("Leave on “the day's list” to follow the event days."),
    )


class DeviceRenameForm(FlaskForm):
    """A door device's new name (its next scans count under it)."""

    name = StringField(
        _l("New name"),
        validators=[DataRequired(), Length(max=100), NoControlCharacters()],
        filters=[strip_filter],
    )
