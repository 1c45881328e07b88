"""One error hierarchy for the services: what went wrong, not how to show it.

Every exception a service raises for the user derives from `ServiceError` through one of
four kinds, and the web layer maps the kind once (``web/assembly.register_errorhandlers``)
to a status code: an HTML error page, or the API's JSON error under /api/v1.

=================  ======  =====================================================
kind               status  meaning
=================  ======  =====================================================
`PermissionDenied`  403    the user may not do this at all
`NotFound`          404    nothing (visible to this user) answers the request
`Invalid`           422    the input cannot be used; the message says why
`Conflict`          409    not possible in the current state (try again later)
=================  ======  =====================================================

The kinds also derive from the built-in exception they replace (`PermissionError`,
`LookupError`, `ValueError`), so code that catches those keeps working. A view that wants
to answer differently (flash the message and redirect, show the form again) still catches
the service's own class; the central mapping is for what no view handles.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A use case that cannot go ahead; ``str(error)`` is the message for the user."""

    status_code = 400


class PermissionDenied(ServiceError, PermissionError):
    """The user may not take this step (403)."""

    status_code = 403


class NotFound(ServiceError, LookupError):
    """Nothing published or visible to this user answers the request (404)."""

    status_code = 404


class Invalid(ServiceError, ValueError):
    """Input the service cannot use (422); the message says what to change."""

    status_code = 422


class Conflict(ServiceError, ValueError):
    """The step is not possible in the current state of the data (409)."""

    status_code = 409
