"""Forms for creating and editing events."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional

from eventsys.common.forms import NoControlCharacters, empty_to_none, strip_filter
from eventsys.common.timefmt import all_timezones
from eventsys.events.models import EVENT_FORMAT_LABELS, EVENT_KIND_LABELS

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def timezone_choices() -> list[SelectChoice]:
    return [
        SelectChoice(name, name.replace("_", " ")) for name in sorted(all_timezones()) if "/" in name or name == "UTC"
    ]


class EventForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=200), NoControlCharacters()], filters=[strip_filter]
    )
    slug = StringField(
        _l("Short name for the address"),
        description=_l("Lower-case letters, digits and hyphens, e.g. wego-2022-kickoff."),
        validators=[DataRequired(), Length(max=80)],
        filters=[strip_filter],
    )
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, v) for k, v in EVENT_KIND_LABELS.items()])
    format = SelectField(_l("Format"), choices=[SelectChoice(k.value, v) for k, v in EVENT_FORMAT_LABELS.items()])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=20000), NoControlCharacters()], filters=[empty_to_none]
    )
    timezone = SelectField(
        _l("Time zone"),
        description=_l("Where the event takes place. Times below are in this zone."),
        default="UTC",
    )
    starts_at = DateTimeLocalField(_l("Starts"), format=DATETIME_FORMATS, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends"), format=DATETIME_FORMATS, validators=[DataRequired()])
    venue_name = StringField(
        _l("Venue"), validators=[Optional(), Length(max=200), NoControlCharacters()], filters=[empty_to_none]
    )
    venue_address = TextAreaField(
        _l("Venue address"), validators=[Optional(), Length(max=1000), NoControlCharacters()], filters=[empty_to_none]
    )
    online_url = StringField(
        _l("Online platform address"),
        description=_l("Only registered online attendees ever see this address."),
        validators=[Optional(), Length(max=500), URL(require_tld=False, message=_l("Enter a web address."))],
        filters=[empty_to_none],
    )
    capacity = IntegerField(
        _l("In-person capacity"),
        description=_l("Leave empty for no limit."),
        validators=[Optional(), NumberRange(min=0, max=1_000_000)],
    )
    registration_opens_at = DateTimeLocalField(
        _l("Registration opens"), format=DATETIME_FORMATS, validators=[Optional()]
    )
    registration_closes_at = DateTimeLocalField(
        _l("Registration closes"),
        format=DATETIME_FORMATS,
        description=_l("Leave empty to accept registrations until the event ends."),
        validators=[Optional()],
    )
    invitation_only = BooleanField(_l("By invitation only"))
    moderation = BooleanField(_l("Registrations wait for an organizer's approval"))
    online_capacity = IntegerField(
        _l("Online places"),
        description=_l("Leave empty for no limit."),
        validators=[Optional(), NumberRange(min=0, max=1_000_000)],
    )
    offer_hours = IntegerField(
        _l("Hours to confirm a seat offered from the waiting list"),
        default=48,
        validators=[Optional(), NumberRange(min=1, max=24 * 60)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()
