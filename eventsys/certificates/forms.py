"""Forms of the certificate pages: a template, issuing one, a bulk run, revoking."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Email, Length, NumberRange, Optional

from eventsys.certificates.models import CertificateKind, RunSource
from eventsys.common.forms import NoControlCharacters, strip_filter

PLACEHOLDER_HELP = _l("Placeholders: {recipient}, {organization}, {event}, {date}, {citation}.")
IMAGE_HELP = _l("PNG or JPEG, at most 2 MB.")


def _text(label: object, limit: int, *, required: bool = False, description: object = "") -> StringField:
    validators = [DataRequired() if required else Optional(), Length(max=limit), NoControlCharacters()]
    return StringField(label, validators=validators, filters=[strip_filter], description=description)


class TemplateForm(FlaskForm):
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(kind.value, label) for kind, label in CertificateKind.labels().items()]
    )
    #: Choices are the app's languages (set by the view).
    language = SelectField(
        _l("Language of the texts"),
        description=_l("The date and the fixed labels, such as the verification line, are printed in it too."),
    )
    title = _text(_l("Title"), 120, required=True, description=PLACEHOLDER_HELP)
    intro = _text(_l("Line above the name"), 300, description=_l("E.g. “is presented to”."))
    body = TextAreaField(
        _l("Text under the name"),
        validators=[Optional(), Length(max=2000), NoControlCharacters()],
        filters=[strip_filter],
        description=PLACEHOLDER_HELP,
    )
    place = _text(_l("Place"), 200, description=_l("Printed beside the date; the event's venue if empty."))
    signature_1_name = _text(_l("Name"), 120)
    signature_1_position = _text(_l("Position"), 200)
    signature_1_image = FileField(_l("Signature image"), description=IMAGE_HELP)
    signature_1_remove_image = BooleanField(_l("Remove the signature image"))
    signature_2_name = _text(_l("Name"), 120)
    signature_2_position = _text(_l("Position"), 200)
    signature_2_image = FileField(_l("Signature image"), description=IMAGE_HELP)
    signature_2_remove_image = BooleanField(_l("Remove the signature image"))
    signature_3_name = _text(_l("Name"), 120)
    signature_3_position = _text(_l("Position"), 200)
    signature_3_image = FileField(_l("Signature image"), description=IMAGE_HELP)
    signature_3_remove_image = BooleanField(_l("Remove the signature image"))
    logo = FileField(_l("Organizer's logo"), description=IMAGE_HELP)
    remove_logo = BooleanField(_l("Remove the logo"))


class PreviewForm(FlaskForm):
    """The editor's unsaved texts, for a preview PDF (nothing is stored)."""

    title = _text(_l("Title"), 120, required=True)
    intro = _text(_l("Line above the name"), 300)
    body = TextAreaField(
        _l("Text under the name"),
        validators=[Optional(), Length(max=2000), NoControlCharacters()],
        filters=[strip_filter],
    )


class IssueForm(FlaskForm):
    name = _text(_l("Recipient's name"), 200, description=_l("Needed only for someone not yet known by this email."))
    email = StringField(
        _l("Recipient's email"), validators=[DataRequired(), Length(max=254), Email()], filters=[strip_filter]
    )
    organization = _text(_l("Organization"), 200)
    citation = TextAreaField(
        _l("Citation"),
        validators=[Optional(), Length(max=1000), NoControlCharacters()],
        filters=[strip_filter],
        description=_l("E.g. “in recognition for having secured three Peruvian cities as members of WeGO in 2021”."),
    )
    send_email = BooleanField(_l("Email the certificate to the recipient"))


class RunForm(FlaskForm):
    source = SelectField(
        _l("Who receives it"),
        choices=[SelectChoice(source.value, label) for source, label in RunSource.labels().items()],
    )
    list_id = SelectField(_l("Check-in list"), choices=[SelectChoice("", "—")], validate_choice=False)
    min_days = IntegerField(_l("At least this many days"), validators=[Optional(), NumberRange(min=1, max=366)])
    file = FileField(_l("CSV list"), description=_l("Columns: name, email; optional: organization, citation."))
    send_email = BooleanField(_l("Email each certificate to its recipient"))


class RevokeForm(FlaskForm):
    reason = _text(_l("Reason"), 300, required=True)
    #: An explicit confirmation: a stray POST revokes nothing.
    confirm = HiddenField(validators=[AnyOf(["revoke"])], default="revoke")
