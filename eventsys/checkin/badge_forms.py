"""Forms of the badge pages: a bulk print run, and re-issuing a lost badge."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf

from eventsys.checkin.badge_render import LAYOUTS
from eventsys.events.models import CATEGORY_LABELS

LAYOUT_LABELS = {
    "a6": _l("A6, one badge per page"),
    "a4x4": _l("A4 sheets of four A6 badges, with crop marks"),
    "labels": _l("Labels of 85\u00d754 mm, 2\u00d75 on A4"),
}


def layout_choices() -> list[SelectChoice]:
    return [SelectChoice(layout, LAYOUT_LABELS[layout]) for layout in LAYOUTS]


def category_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", _l("Every category")),
        *(SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()),
    ]


class BulkBadgeForm(FlaskForm):
    layout = SelectField(_l("Layout"), choices=layout_choices(), default="a6")
    category = SelectField(_l("Category"), choices=category_choices(), default="")
    only_unprinted = BooleanField(_l("Only badges not printed yet"), default=False)


class ReissueForm(FlaskForm):
    """Re-issuing takes no input but an explicit confirmation (a stray POST re-issues nothing)."""

    confirm = HiddenField(default="yes", validators=[AnyOf(["yes"])])
