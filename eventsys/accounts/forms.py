"""Login, user and team forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from eventsys.accounts.models import ROLE_LABELS
from eventsys.common.forms import NoControlCharacters, strip_filter


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Length(max=254), NoControlCharacters()], filters=[strip_filter]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class UserForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=200), NoControlCharacters()], filters=[strip_filter]
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
        filters=[strip_filter],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(),
            Length(min=10, message=_l("Use at least %(n)d characters for the password.", n=10)),
            Length(max=1000),
        ],
    )
    is_site_admin = BooleanField(_l("Site admin"))


class GrantRoleForm(FlaskForm):
    email = EmailField(
        _l("Email of an existing account"),
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
        filters=[strip_filter],
    )
    role = SelectField(_l("Role"), choices=[SelectChoice(k.value, v) for k, v in ROLE_LABELS.items()])
