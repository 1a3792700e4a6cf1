"""The rate limiter's request hooks run only for the views that declare a limit.

The app sets no default and no application-wide limits (``Limiter(default_limits=[])``): only views decorated
with ``limiter.limit(...)`` (the login form) are counted. Flask-Limiter still hooks every request (before: find
the view's limits; after: conditional deductions and the ``X-RateLimit-*`` headers; teardown: its context),
which finds nothing to do for every other view and cost about 0.3 ms a request: a tenth of a door scan.
``hooks_only_where_limited`` wraps those three hooks so that they run for the decorated views alone.

The decorated views are the ones whose qualified name Flask-Limiter marked when their decorator ran
(``Limiter._marked_for_limiting``, private: if a release renames it, the app refuses to start rather than
silently stop limiting, and ``tests/accounts/test_login.py`` proves the login limit still works).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name


def limited_endpoints(app: Flask, limiter: Limiter) -> frozenset[str]:
    """The endpoints of ``app`` whose view carries a ``limiter.limit`` decorator."""
    marked: set[str] = limiter._marked_for_limiting  # raises AttributeError if Flask-Limiter changed
    return frozenset(endpoint for endpoint, view in app.view_functions.items() if get_qualified_name(view) in marked)


def _belongs_to(hook: Callable[..., Any], limiter: Limiter) -> bool:
    if isinstance(hook, functools.partial):  # the after-request hook: partial(Limiter.__inject_headers, limiter)
        return bool(hook.args) and hook.args[0] is limiter
    return getattr(hook, "__self__", None) is limiter  # bound methods: the before and teardown hooks


def hooks_only_where_limited(app: Flask, limiter: Limiter) -> frozenset[str]:
    """Make the limiter's request hooks of ``app`` skip every request to an endpoint without a limit.

    Call it once the blueprints are registered. Returns the limited endpoints.
    """
    limited = limited_endpoints(app, limiter)

    def guarded(hook: Callable[..., Any], passthrough: bool) -> Callable[..., Any]:
        @functools.wraps(hook)
        def run_where_limited(*args: Any) -> Any:
            if request.endpoint in limited:
                return hook(*args)
            return args[0] if passthrough else None

        return run_where_limited

    for registry, passthrough in (
        (app.before_request_funcs, False),
        (app.after_request_funcs, True),  # after-request hooks hand the response on
        (app.teardown_request_funcs, False),
    ):
        hooks = registry.get(None, [])
        found = [i for i, hook in enumerate(hooks) if _belongs_to(hook, limiter)]
        if len(found) != 1:
            raise RuntimeError("Flask-Limiter's request hooks are not where eventsys expects them")
        hooks[found[0]] = guarded(hooks[found[0]], passthrough)
    return limited
