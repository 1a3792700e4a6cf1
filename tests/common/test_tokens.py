"""Personal-link and door tokens: the shape check that runs before any query."""

from __future__ import annotations

import pytest

from eventsys.common.tokens import looks_like_token, new_token


def test_new_tokens_have_the_shape() -> None:
    assert all(looks_like_token(new_token()) for _ in range(200))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "short-token",
        "x" * 65,
        "a" * 30 + " " + "b" * 10,  # a space
        "a" * 30 + "\n",  # a trailing newline
        "a" * 30 + "/+=",  # standard base64, not URL-safe
        "서울" * 12,  # letters, but not ASCII
        "é" * 30,
    ],
)
def test_other_strings_do_not(value: str) -> None:
    assert not looks_like_token(value)
