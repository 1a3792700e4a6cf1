"""Forms of the invitation pages: add one invitee, upload a list, confirm an import, filter the list."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from eventsys.common.forms import NoControlCharacters, empty_to_none, strip_filter
from eventsys.events.models import CATEGORY_LABELS
from eventsys.invitations.models import INVITATION_STATE_LABELS

LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("ko", "한국어"), SelectChoice("es", "Español")]


def category_choices() -> list[SelectChoice]:
    return [SelectChoice(category.value, label) for category, label in CATEGORY_LABELS.items()]


class InvitationForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=200), NoControlCharacters()], filters=[strip_filter]
    )
    email = StringField(
        _l("Email"),
        validators=[DataRequired(), Length(max=254), Email(message=_l("Enter a valid email address."))],
        filters=[strip_filter],
    )
    organization = StringField(
        _l("Organization"), validators=[Optional(), Length(max=200), NoControlCharacters()], filters=[empty_to_none]
    )
    title = StringField(
        _l("Title or position"),
        validators=[Optional(), Length(max=300), NoControlCharacters()],
        filters=[empty_to_none],
    )
    category = SelectField(_l("Category"), choices=category_choices())
    language = SelectField(
        _l("Language of the emails"), choices=LANGUAGE_CHOICES, description=_l("English, Korean or Spanish.")
    )
    skip_moderation = BooleanField(
        _l("Skip moderation"),
        description=_l("A registration through this invitation is confirmed without an organizer's approval."),
    )


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        description=_l(
            "Columns: name, email, organization, title, category, language. UTF-8, Korean (CP949) or "
            "Western (Windows-1252) text; comma or semicolon separated, as Excel saves it. At most 2 MB."
        ),
        validators=[FileRequired(_l("Choose a CSV file."))],
    )


class ConfirmImportForm(FlaskForm):
    #: The uploaded file, compressed and signed (see views._sign_upload).
    payload = HiddenField(validators=[DataRequired()])


class FilterForm(FlaskForm):
    """The list's filters (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("All states"))]
        + [SelectChoice(state.value, label) for state, label in INVITATION_STATE_LABELS.items()],
        validators=[Optional()],
    )
    category = SelectField(
        _l("Category"), choices=[SelectChoice("", _l("All categories")), *category_choices()], validators=[Optional()]
    )
    q = StringField(_l("Name or email"), validators=[Optional(), Length(max=200)], filters=[empty_to_none])
