"""Forms of the agenda pages. They check the shape of input; every rule lives in eventsys.agenda.services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, AnyOf, DataRequired, Email, InputRequired, Length, NumberRange, Optional

from eventsys.agenda.models import SESSION_FORMAT_LABELS, SESSION_KIND_LABELS
from eventsys.common.forms import NoControlCharacters, empty_to_none, strip_filter

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class SessionForm(FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(), Length(max=300), NoControlCharacters()], filters=[strip_filter]
    )
    kind = SelectField(_l("Type"), choices=[SelectChoice(k.value, v) for k, v in SESSION_KIND_LABELS.items()])
    format = SelectField(_l("Format"), choices=[SelectChoice(k.value, v) for k, v in SESSION_FORMAT_LABELS.items()])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=20000), NoControlCharacters()], filters=[empty_to_none]
    )
    starts_at = DateTimeLocalField(
        _l("Starts"),
        format=DATETIME_FORMATS,
        validators=[Optional()],
        description=_l("In the event's time zone. Leave start and end empty to keep the session unscheduled."),
    )
    ends_at = DateTimeLocalField(_l("Ends"), format=DATETIME_FORMATS, validators=[Optional()])
    room_id = SelectField(_l("Room"), choices=[], validate_choice=True)
    plenary = BooleanField(_l("Spans all rooms (opening, break, closing)"))
    is_public = BooleanField(_l("Shown on the public agenda"), default=True)
    stream_url = StringField(
        _l("Stream or video-call link"),
        description=_l("Only registered online attendees reach it, through their personal join link."),
        validators=[Optional(), Length(max=500), URL(require_tld=False, message=_l("Enter a web address."))],
        filters=[empty_to_none],
    )
    speakers = TextAreaField(
        _l("Speakers and moderators, in order"),
        description=_l(
            "One per line: the person's email, then optionally a comma and their role "
            "(speaker, moderator, presenter, signatory or host)."
        ),
        validators=[Optional(), Length(max=5000), NoControlCharacters()],
        filters=[empty_to_none],
    )

    def set_rooms(self, rooms: list) -> None:
        self.room_id.choices = [SelectChoice("", _l("No room"))] + [SelectChoice(str(r.id), r.name) for r in rooms]


class RoomForm(FlaskForm):
    name = StringField(
        _l("Room name"), validators=[DataRequired(), Length(max=120), NoControlCharacters()], filters=[strip_filter]
    )
    capacity = IntegerField(
        _l("Seats"),
        description=_l("Leave empty if unknown."),
        validators=[Optional(), NumberRange(min=0, max=100000)],
    )


class SpeakerForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=200), NoControlCharacters()], filters=[strip_filter]
    )
    email = EmailField(
        _l("Email"),
        description=_l("Used to find the same person across invitations, registrations and sessions."),
        validators=[DataRequired(), Length(max=254), Email()],
        filters=[strip_filter],
    )
    title = StringField(
        _l("Title or position"),
        validators=[Optional(), Length(max=300), NoControlCharacters()],
        filters=[empty_to_none],
    )
    organization = StringField(
        _l("Organization"), validators=[Optional(), Length(max=200), NoControlCharacters()], filters=[empty_to_none]
    )
    bio = TextAreaField(
        _l("Short biography"), validators=[Optional(), Length(max=5000), NoControlCharacters()], filters=[empty_to_none]
    )
    photo = FileField(_l("Photo"), description=_l("JPEG, PNG, WebP or GIF, 5 MB at most. It is resized to 600 pixels."))


class PublishForm(FlaskForm):
    digest = HiddenField(validators=[DataRequired(), Length(min=32, max=32)])


class StarForm(FlaskForm):
    session_id = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    starred = HiddenField(validators=[AnyOf(["1", "0"])])


class FeedForm(FlaskForm):
    scope = RadioField(
        _l("My calendar feed holds"),
        choices=[
            SelectChoice("starred", _l("Only the sessions I starred")),
            SelectChoice("all", _l("The whole agenda")),
        ],
        validators=[InputRequired()],
    )


class RenewFeedForm(FlaskForm):
    confirm = HiddenField(validators=[AnyOf(["renew"])])


class ConfirmDeleteForm(FlaskForm):
    """The button of a confirmation page: deleting a session or a room takes this explicit value."""

    confirm = HiddenField(validators=[AnyOf(["delete"])])
