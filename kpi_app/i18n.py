"""Translation helpers for code that runs both in a request and outside one (CLI, jobs).

The app's locale selector reads the request, so Flask-Babel cannot translate in a
command-line run; messages there stay in English, the catalogue's source language.
`_` and `_l` are the extraction keywords (``kpi-app translate update``).
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

__all__ = ["_", "_l", "lazy_text", "translate"]


def translate(message: str, **params: Any) -> str:
    """gettext in the user's language during a request; plain English elsewhere (CLI)."""
    if has_request_context():
        return str(gettext(message, **params))
    return message % params if params else message


_ = translate


def lazy_text(lazy: Any, fallback: str) -> str:
    """A lazy translation as text in a request; `fallback` (English) elsewhere."""
    return str(lazy) if has_request_context() else fallback
