"""Forms for MOU records: the details, parties, signatories, status changes, documents and verification."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from eventsys.common.forms import NoControlCharacters, empty_to_none, strip_filter
from eventsys.mou.models import MOU_VISIBILITY_LABELS, SIGNATORY_ROLE_LABELS


def _reason_field() -> TextAreaField:
    return TextAreaField(
        _l("Reason for the amendment"),
        description=_l("Required once the MOU is signed: it goes into the history."),
        validators=[Optional(), Length(max=2000), NoControlCharacters()],
        filters=[empty_to_none],
    )


class MouForm(FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(), Length(max=300), NoControlCharacters()], filters=[strip_filter]
    )
    summary = TextAreaField(
        _l("Purpose"),
        description=_l("What the parties agree to do, in a few sentences."),
        validators=[Optional(), Length(max=10000), NoControlCharacters()],
        filters=[empty_to_none],
    )
    organizations = SelectMultipleField(
        _l("Parties"), description=_l("Two or more organizations."), coerce=int, validate_choice=True
    )
    place = StringField(
        _l("Place of signing"), validators=[Optional(), Length(max=200), NoControlCharacters()], filters=[empty_to_none]
    )
    signing_date = DateField(_l("Signing date"), validators=[Optional()])
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(
        _l("End or renewal date"),
        description=_l("The organizers are reminded some weeks before it."),
        validators=[Optional()],
    )
    session_id = SelectField(_l("Signing-ceremony session"), validators=[Optional()], validate_choice=True)
    visibility = SelectField(
        _l("Visibility"), choices=[SelectChoice(k.value, v) for k, v in MOU_VISIBILITY_LABELS.items()]
    )
    internal_notes = TextAreaField(
        _l("Internal notes"),
        description=_l("Only the event's organizers see these."),
        validators=[Optional(), Length(max=10000), NoControlCharacters()],
        filters=[empty_to_none],
    )
    reason = _reason_field()


class PageForm(FlaskForm):
    """One of several small forms on the MOU page, each with its own field prefix (unique element ids).

    Its CSRF token is the page's ``csrf_token`` field, which CSRFProtect checks on every POST before the
    view runs; the prefixed copy WTForms would add is switched off.
    """

    class Meta:
        csrf = False


class StatusForm(PageForm):
    status = SelectField(_l("New status"), validators=[DataRequired()])


class PartyForm(PageForm):
    organization_id = SelectField(_l("Organization"), coerce=int, validators=[DataRequired()])
    reason = _reason_field()


class RemoveForm(PageForm):
    reason = _reason_field()


class SignatoryForm(PageForm):
    party_id = SelectField(_l("Signs for"), coerce=int, validators=[DataRequired()])
    person_id = SelectField(
        _l("Person"),
        description=_l("Someone already known, or leave empty and type a new name below."),
        validators=[Optional()],
    )
    new_person_name = StringField(
        _l("New person's name"),
        description=_l("Leave both empty for a signatory the record does not name."),
        validators=[Optional(), Length(max=200), NoControlCharacters()],
        filters=[empty_to_none],
    )
    title_at_signing = StringField(
        _l("Title at signing"),
        description=_l("e.g. Secretary General. Kept even if the person's title changes later."),
        validators=[Optional(), Length(max=300), NoControlCharacters()],
        filters=[empty_to_none],
    )
    role = SelectField(_l("Role"), choices=[SelectChoice(k.value, v) for k, v in SIGNATORY_ROLE_LABELS.items()])
    reason = _reason_field()


class DocumentForm(PageForm):
    file = FileField(
        _l("Signed document"),
        description=_l("A PDF, or a JPEG or PNG scan."),
        validators=[FileRequired(_l("Choose a file."))],
    )


class VerifyForm(FlaskForm):
    file = FileField(_l("Your copy"), validators=[FileRequired(_l("Choose a file."))])
