"""The workflow's terms that the services below it share: its errors and how a value reads.

`services.workflow` moves assessments through their statuses and uses the question threads
(`review_threads`) and the screening; those use these terms too, so they live here, below
all three, and `workflow` re-exports them for its callers.
"""

from __future__ import annotations

from flask_babel import get_locale

from kpi_app.models import IndicatorValue
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.errors import Conflict, PermissionDenied


class WorkflowError(Conflict):
    """A workflow step that is not possible now; the message says why, for the user."""


class WorkflowDenied(WorkflowError, PermissionDenied):
    """The user may not take this step at all (the view answers 403)."""

    status_code = PermissionDenied.status_code


class StaleValue(WorkflowError):
    """The value changed since the form was opened (optimistic locking)."""


def effective_reported(value: IndicatorValue) -> bool:
    """Reported as the city said (a value is present), unless the verifier overrode it."""
    if value.reported_override is not None:
        return value.reported_override
    return bool(value.reported and value.value is not None)


def item_label(value: IndicatorValue) -> str:
    """The value's KPI (and data point) name in the request's language."""
    try:
        item = current_catalogue().item(value.code, value.data_point)
    except KeyError:
        return value.code
    return item.label(str(get_locale() or "en"))
