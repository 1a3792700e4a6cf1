"""Forms of the registration pages: the public form, self-service and the organizer's settings.

Forms check the shape of input only; capacity, moderation and every other rule live in
``eventsys.registration.services``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Email, InputRequired, Length, NumberRange, Optional

from eventsys.common.forms import NoControlCharacters, empty_to_none, strip_filter
from eventsys.events.models import CATEGORY_LABELS, Category, Event
from eventsys.registration.models import MODE_LABELS, REGISTRATION_STATUS_LABELS, Mode

#: The languages emails can be sent in (catalogs exist for these).
LANGUAGE_CHOICES = [
    SelectChoice("en", "English"),
    SelectChoice("ko", "한국어"),
    SelectChoice("es", "Español"),
]

WHEN_FULL_LABELS = {
    "waitlist": _l("Join the waiting list for an in-person seat"),
    "online": _l("Take an online place now and stay on the waiting list for an in-person seat"),
}


def mode_choices(event: Event) -> list[SelectChoice]:
    """The participation modes the event's format offers."""
    modes = []
    if event.format.has_venue:
        modes.append(Mode.IN_PERSON)
    if event.format.has_online:
        modes.append(Mode.ONLINE)
    return [SelectChoice(mode.value, MODE_LABELS[mode]) for mode in modes]


def when_full_choices(event: Event) -> list[SelectChoice]:
    """What to do when in-person seats are full: wait, or (hybrid events) attend online meanwhile."""
    options = ["waitlist", "online"] if event.format.has_online else ["waitlist"]
    return [SelectChoice(value, WHEN_FULL_LABELS[value]) for value in options]


def _text(label: object, max_length: int, *, required: bool = False, **kwargs: object) -> StringField:
    validators = [DataRequired()] if required else [Optional()]
    return StringField(
        label,
        validators=[*validators, Length(max=max_length), NoControlCharacters()],
        filters=[strip_filter if required else empty_to_none],
        **kwargs,
    )


def _needs(label: object, description: object) -> TextAreaField:
    return TextAreaField(
        label,
        description=description,
        validators=[Optional(), Length(max=1000), NoControlCharacters()],
        filters=[empty_to_none],
    )


class _TokenSignedOnRender(CSRFTokenField):
    """The CSRF field, whose token is signed when the form is rendered, not when it is built.

    WTForms signs a fresh token as it builds the form; a valid POST answered with a redirect never shows it
    (about 5 % of a registration's CPU). Validation is unchanged: it reads the submitted token. Rendering
    signs it as before (Flask-WTF's ``generate_csrf``, once per request, storing the session's raw token if
    it has none yet).
    """

    def process(self, *args: object, **kwargs: object) -> None:
        HiddenField.process(self, *args, **kwargs)  # not CSRFTokenField.process: it signs the token now

    @property  # type: ignore[override]
    def current_token(self) -> str:
        return self.csrf_impl.generate_csrf_token(self)


class _CSRFSignedOnRender(_FlaskFormCSRF):
    field_class = _TokenSignedOnRender


class DetailsForm(FlaskForm):
    """What a registrant may change about themselves (never the email: it identifies the person)."""

    class Meta:
        csrf_class = _CSRFSignedOnRender

    name = _text(_l("Name"), 200, required=True)
    organization = _text(_l("Organization"), 200, description=_l("City, embassy, company or institution."))
    title = _text(_l("Title or position"), 300)
    dietary_needs = _needs(_l("Dietary needs"), _l("For in-person attendees, e.g. vegetarian, halal, allergies."))
    accessibility_needs = _needs(
        _l("Accessibility needs"), _l("For in-person attendees, e.g. wheelchair access, sign language.")
    )
    language = SelectField(
        _l("Language of your emails"),
        choices=LANGUAGE_CHOICES,
        validators=[AnyOf([choice.value for choice in LANGUAGE_CHOICES])],
    )


class RegistrationForm(DetailsForm):
    """The public registration form (and the invitation path, where the email comes from the invitation)."""

    email = EmailField(
        _l("Email"),
        description=_l("Your confirmation and your personal link to manage the registration go here."),
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
        filters=[strip_filter],
    )
    mode = RadioField(
        _l("How will you take part?"), validators=[DataRequired(message=_l("Choose how you will take part."))]
    )
    when_full = RadioField(_l("In-person seats are full. What would you like?"), default="waitlist")
    consent = BooleanField(
        _l("I agree to the privacy notice: my details are used to organize this event."),
        validators=[DataRequired(message=_l("Please agree to the privacy notice to register."))],
    )

    def __init__(self, event: Event, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.mode.choices = mode_choices(event)
        if len(self.mode.choices) == 1 and not self.mode.data:
            self.mode.data = self.mode.choices[0].value
        self.when_full.choices = when_full_choices(event)
        if self.when_full.data not in [choice.value for choice in self.when_full.choices]:
            self.when_full.data = "waitlist"


SWITCH_WHEN_FULL_LABELS = {
    "online": _l("Keep my online place while I wait for an in-person seat"),
    "waitlist": _l("Give up my online place and join the waiting list"),
}

#: What the manage page can ask for: a mode, or (from the waiting list) an online place meanwhile.
SWITCH_CHOICES = ("in_person", "online", "online_meanwhile")


class SwitchModeForm(FlaskForm):
    """Switch between in person and online from the manage page (only online registrants see ``when_full``)."""

    mode = HiddenField(validators=[AnyOf(SWITCH_CHOICES)])
    when_full = RadioField(
        _l("If no in-person seat is free"),
        choices=[SelectChoice(value, label) for value, label in SWITCH_WHEN_FULL_LABELS.items()],
        default="online",
    )


class CancelForm(FlaskForm):
    """The confirmation step before a registration is cancelled."""

    confirm = HiddenField(default="yes", validators=[AnyOf(["yes"])])


class OfferForm(FlaskForm):
    """Accept or decline a seat offered from the waiting list."""

    decision = HiddenField(validators=[AnyOf(["confirm", "decline"])])


class OrganizerActionForm(FlaskForm):
    """Approve, reject or cancel one registration."""

    action = HiddenField(validators=[AnyOf(["approve", "reject", "cancel"])])


class FilterForm(FlaskForm):
    """Search and filters of the organizer's list (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), description=_l("Name, email or organization"), filters=[strip_filter])
    mode = SelectField(_l("Mode"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        anything = SelectChoice("", _l("All"))
        self.mode.choices = [anything, *(SelectChoice(k.value, v) for k, v in MODE_LABELS.items())]
        self.status.choices = [anything, *(SelectChoice(k.value, v) for k, v in REGISTRATION_STATUS_LABELS.items())]
        self.category.choices = [
            anything,
            SelectChoice("none", _l("No category")),
            *(SelectChoice(k.value, v) for k, v in CATEGORY_LABELS.items()),
        ]


def _seats(label: object, description: object | None = None) -> IntegerField:
    return IntegerField(label, description=description, validators=[Optional(), NumberRange(min=0, max=1_000_000)])


class SettingsForm(FlaskForm):
    """Capacity, online places, moderation, offer deadline and the seats kept per category."""

    capacity = _seats(
        _l("In-person capacity"), _l("Leave empty for no limit. Raising it offers seats to the waiting list.")
    )
    online_capacity = _seats(_l("Online places"), _l("Leave empty for no limit."))
    moderation = BooleanField(_l("Registrations wait for an organizer's approval"))
    offer_hours = IntegerField(
        _l("Hours to confirm an offered seat"),
        validators=[InputRequired(), NumberRange(min=1, max=24 * 60)],
        default=48,
    )


def quota_field_name(category: Category) -> str:
    return f"quota_{category.value}"


for _category in Category:
    setattr(
        SettingsForm,
        quota_field_name(_category),
        _seats(_l("Seats kept for %(category)s", category=CATEGORY_LABELS[_category])),
    )
