"""Random secrets for personal links (invitation, manage, join, feed, door device)."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any, TypeVar

import sqlalchemy as sa

from eventsys.extensions import db

T = TypeVar("T")

TOKEN_BYTES = 32  # 43 URL-safe characters


def new_token() -> str:
    """A fresh unguessable token for a personal link."""
    return secrets.token_urlsafe(TOKEN_BYTES)


#: URL-safe base64 (ASCII letters and digits, "-", "_") of a length tokens can have.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,64}")


def looks_like_token(value: str) -> bool:
    """Cheap shape check before touching the database: URL-safe base64 of the expected length."""
    return _TOKEN_SHAPE.fullmatch(value) is not None


def find_by_token(model: type[T], column: Any, token: str) -> T | None:
    """The row whose ``column`` equals ``token``, confirmed with a constant-time comparison."""
    if not looks_like_token(token):
        return None
    row = db.session.scalar(sa.select(model).where(column == token))
    if row is None or not token_matches(getattr(row, column.key), token):
        return None
    return row


def token_matches(stored: str | None, token: str) -> bool:
    """Whether the token a row was found by is really the row's, compared in constant time."""
    return stored is not None and hmac.compare_digest(stored.encode(), token.encode())
