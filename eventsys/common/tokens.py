"""Random secrets for personal links (invitation, manage, join, feed, door device)."""

from __future__ import annotations

import hmac
import secrets
from typing import Any, TypeVar

import sqlalchemy as sa

from eventsys.extensions import db

T = TypeVar("T")

TOKEN_BYTES = 32  # 43 URL-safe characters


def new_token() -> str:
    """A fresh unguessable token for a personal link."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def looks_like_token(value: str) -> bool:
    """Cheap shape check before touching the database: URL-safe base64 of the expected length."""
    return 20 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


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
