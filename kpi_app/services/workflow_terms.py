"""The workflow's terms that the services below it share: its errors and how a value reads.

`services.workflow` moves assessments through their statuses and uses the question threads
(`review_threads`) and the screening; those use these terms too, so they live here, below
all three, and `workflow` re-exports them for its callers.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale

from kpi_app.i18n import _l
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


#: A verifier's reasons: code -> (whether it supports "verified", label). Shared by the
#: U4SSC values (value_verification) and the local KPIs (local_kpis).
VERIFICATION_CODES: dict[str, tuple[bool, Any]] = {
    "source_checked": (True, _l("Source checked: the value matches the cited source")),
    "recalculated": (True, _l("Recalculated from numerator and denominator")),
    "consistent": (True, _l("Consistent with previous years and peer cities")),
    "implausible": (False, _l("Implausible value")),
    "source_missing": (False, _l("Source missing or not traceable")),
    "methodology_mismatch": (False, _l("Method differs from the KPI definition")),
    "denominator_mismatch": (False, _l("Denominator differs from the city's facts")),
}
