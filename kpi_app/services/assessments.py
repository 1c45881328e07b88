"""Creating an assessment (a city's reporting year): one place for its rules and audit."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy.exc import IntegrityError

from kpi_app.extensions import db
from kpi_app.i18n import _
from kpi_app.models import Assessment, City, Status, User
from kpi_app.services import audit
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.errors import Invalid

FIRST_REPORTING_YEAR = 2000  # U4SSC began in 2016; older data is not a reporting year


class AssessmentError(Invalid):
    """A user-facing reason why the assessment cannot be created."""


def create_assessment(city: City, year: int, actor: User | None) -> Assessment:
    """Create the draft assessment of a city for a reporting year (authorisation: caller's)."""
    last_year = date.today().year + 1
    if not FIRST_REPORTING_YEAR <= year <= last_year:
        raise AssessmentError(
            _(
                "Choose a reporting year between %(first)s and %(last)s.",
                first=FIRST_REPORTING_YEAR,
                last=last_year,
            )
        )
    exists = db.session.scalar(
        db.select(Assessment).where(Assessment.city_id == city.id, Assessment.year == year)
    )
    if exists is not None:
        raise AssessmentError(
            _("%(city)s already has an assessment for %(year)s.", city=city.name, year=year)
        )
    assessment = Assessment(
        city_id=city.id,
        year=year,
        status=Status.DRAFT,
        catalogue_version=current_catalogue().version,
        benchmark_set=current_app.config["DEFAULT_BENCHMARK_SET"],
    )
    db.session.add(assessment)
    try:
        db.session.flush()
    except IntegrityError:  # opened at the same moment elsewhere (the unique city and year)
        db.session.rollback()
        raise AssessmentError(
            _("%(city)s already has an assessment for %(year)s.", city=city.name, year=year)
        ) from None
    audit.record(
        "create",
        "assessment",
        assessment.id,
        actor=actor,
        new={"city": city.slug, "year": year, "status": Status.DRAFT.value},
        assessment_id=assessment.id,
    )
    db.session.commit()
    return assessment
