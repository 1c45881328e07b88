"""The pieces of the app factory: extensions, error pages, template helpers."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from babel import numbers as babel_numbers
from flask import Flask, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    ServiceUnavailable,
    default_exceptions,
)

from kpi_app.config import PROJECT_ROOT
from kpi_app.extensions import babel, csrf, db, limiter, login_manager, migrate
from kpi_app.services.errors import ServiceError

RETRY_AFTER_SECONDS = 5  # what a 503 from the API suggests a client waits


def select_locale() -> str:
    """?lang= wins, then the session choice, then the browser's Accept-Language.

    Outside a request (command line, background work) the default language applies.
    """
    from flask import current_app, has_request_context

    if not has_request_context():
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    languages = list(current_app.config["LANGUAGES"])
    requested = request.args.get("lang")
    if requested is not None and requested in languages:
        session["lang"] = requested
        return requested
    if session.get("lang") in languages:
        return str(session["lang"])
    return request.accept_languages.best_match(languages) or "en"


def register_extensions(app: Flask) -> None:
    from kpi_app.web import security, static_assets

    security.init_app(app)
    static_assets.init_app(app)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    # Before CSRFProtect, which reads the form: routes taking evidence files accept them up
    # to the evidence limit (MAX_CONTENT_LENGTH, 5 MB, would refuse them first).
    app.before_request(_raise_upload_limit)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    from kpi_app.services import notifications, users

    login_manager.user_loader(users.load_session_user)
    # E-mailed notifications link to their page by its full address.
    app.extensions[notifications.LINK_BUILDER] = _external_url


#: Routes that accept an evidence file (the evidence page, a query reply from the city).
LARGE_UPLOAD_ENDPOINTS = frozenset({"assessments.value_evidence", "verification.reply"})


def _raise_upload_limit() -> None:
    from flask import current_app

    if request.method == "POST" and request.endpoint in LARGE_UPLOAD_ENDPOINTS:
        limit = int(current_app.config["KPI_EVIDENCE_MAX_BYTES"]) + 64 * 1024
        request.max_content_length = limit


def _external_url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=True, **values)


def _api_request() -> bool:
    """Under /api/v1 every answer is JSON, whatever failed (the API's own error shape)."""
    from kpi_app.web.api.errors import API_PREFIX

    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def as_http_error(error: ServiceError) -> HTTPException:
    """A service's refusal as the HTTP error of its kind, its message as the description.

    `data["message"]` is what the API's JSON error shows (as flask-smorest's `abort` sets it).
    """
    http_error = default_exceptions[error.status_code](description=str(error))
    http_error.data = {"message": str(error)}  # type: ignore[attr-defined]
    return http_error


def register_errorhandlers(app: Flask) -> None:
    """HTTP errors and the services' errors (`services.errors`) as pages, or JSON under /api."""
    from kpi_app.web.api.errors import error_response

    def render_error(error: HTTPException) -> ResponseReturnValue:
        if _api_request():
            return error_response(error)
        code = error.code or 500
        return render_template("errors/error.html", code=code, error=error), code

    for code in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(code, render_error)

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> ResponseReturnValue:
        """What no view handled itself: 403 denied, 404 not found, 422 invalid, 409 conflict."""
        return render_error(as_http_error(error))

    @app.errorhandler(500)
    def internal_error(error: Exception) -> ResponseReturnValue:
        db.session.rollback()
        if _api_request():
            return error_response(
                InternalServerError("An unexpected error occurred; nothing was saved.")
            )
        return render_template("errors/error.html", code=500, error=None), 500

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: Exception) -> ResponseReturnValue:
        """The database went away: roll back (no partial write) and say so with a 503."""
        app.logger.error("database unavailable: %s", error)
        try:
            db.session.rollback()
        except Exception:  # the connection may be gone entirely; the session is discarded below
            db.session.remove()
        if _api_request():
            unavailable = ServiceUnavailable(
                "The database is temporarily unavailable; nothing was saved. Retry in a moment."
            )
            response = error_response(unavailable)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        return render_template("errors/unavailable.html"), 503


def _decimal(locale: str, number: float) -> str:
    """``flask_babel.format_decimal`` (the locale's default pattern) for the number filter,
    remembered per locale and value: a city page formats ~360 numbers, most of them
    percentages and bands seen on every page (Babel takes ~30 µs each). Numpy scalars,
    which most numbers of a page are (cells of its frames), are remembered as the Python
    number they equal."""
    if isinstance(number, (np.integer, np.floating)):
        number = number.item()
    if type(number) not in (int, float):
        return str(format_decimal(number))
    return _decimal_cached(locale, number, math.copysign(1.0, number))


@functools.lru_cache(maxsize=16384)
def _decimal_cached(locale: str, number: float, sign: float) -> str:
    # ``sign`` keeps -0.0 apart from 0.0 (equal as keys, printed "-0" and "0" by Babel).
    return str(babel_numbers.format_decimal(number, locale=locale))


def city_checkboxes(cities: Iterable[tuple[str, str]], chosen: Iterable[str]) -> Markup:
    """The compare page's city picker: one ticked or unticked box per (slug, name). Built
    in Python: a Jinja loop over 1,000 cities took 6.5 ms of the page, this takes 2.5."""
    ticked = set(chosen)
    return Markup(
        "".join(
            f'<li><input type="checkbox" id="c-city-{slug}" name="city" value="{slug}" '
            f'{"checked" if raw in ticked else ""}><label for="c-city-{slug}">'
            f"{escape(name)}</label></li>\n"
            for raw, name in cities
            for slug in (escape(raw),)
        )
    )


def register_template_helpers(app: Flask) -> None:
    from kpi_app.charts.rows import tuples
    from kpi_app.services.catalogue import current_catalogue
    from kpi_app.web import catalogue_text
    from kpi_app.web.navigation import nav_items

    catalogue_text.init_app(app)

    @app.context_processor
    def inject_globals() -> dict[str, object]:
        locale = str(get_locale() or "en")
        return {
            "nav_items": nav_items,
            "current_locale": locale,
            "text_direction": "rtl" if locale == "ar" else "ltr",
            "languages": app.config["LANGUAGES"],
            "catalogue": current_catalogue(),
        }

    # ``{% for r in frame|rows %}``: the rows of a DataFrame, as ``frame.itertuples()``
    # gives them, without a namedtuple class made per loop (see charts.rows).
    app.add_template_filter(tuples, "rows")
    app.add_template_global(city_checkboxes, "city_checkboxes")

    @app.template_filter("number")
    @pass_context
    def number_filter(context: Any, value: float | None, digits: int = 2) -> str:
        # The page's language as inject_globals put it in the context (get_locale() and
        # gettext look it up through Flask-Babel's context on every call: ~20 µs each).
        locale = context.get("current_locale") or str(get_locale() or "en")
        if value is None or value != value:  # None or NaN
            return _word(locale, "not reported")
        if not math.isfinite(value) or abs(value) >= 1e15:
            # Babel cannot format such magnitudes; no KPI value is ever this large.
            return _word(locale, "out of range")
        return _decimal(locale, round(value, digits))

    @app.template_global("pct")
    @pass_context
    def pct(context: Any, value: float | None) -> Markup:
        """A percentage to one decimal ("66 %"), or "–" when there is none. A global, not
        a macro: a city page prints ~250 of them (a Jinja macro call costs ~15 µs)."""
        if value is None or value != value:
            return Markup("–")
        return Markup("{} %").format(number_filter(context, value, 1))

    @app.template_global("band")
    def band(points: Any, label: str) -> Markup:
        """A band badge: its points and label ("3 · 66–95% of Target"), or the label alone
        on the "none" style when not scored (the text says it, not only the colour)."""
        if points:
            return Markup('<span class="band band-{0}">{0} · {1}</span>').format(points, label)
        return Markup('<span class="band band-none">{}</span>').format(label)

    _words: dict[tuple[str, str], str] = {}

    def _word(locale: str, which: str) -> str:
        """The number filter's two words in the page's language (translated once each)."""
        found = _words.get((locale, which))
        if found is None:
            found = _("not reported") if which == "not reported" else _("out of range")
            _words[(locale, which)] = found
        return found
