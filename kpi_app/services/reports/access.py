"""What a user may see: the data source rule, cities and their assessments, page-key facts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kpi_app.extensions import db
from kpi_app.models import Assessment, City
from kpi_app.services import permissions, scores


class ReportNotFound(LookupError):
    """Nothing this user may see under that address (the view answers 404)."""


def choose_source(user: Any, assessment: Assessment, requested: str | None) -> scores.Source | None:
    """Published unless live is asked for and allowed; live when only live is allowed."""
    live_ok = permissions.can_view_assessment(user, assessment)
    if requested == "live" and live_ok:
        return "live"
    if assessment.published_at is not None:
        return "published"
    return "live" if live_ok else None


def can_switch_to_live(user: Any, assessments: Iterable[Assessment]) -> bool:
    return any(permissions.can_view_assessment(user, a) for a in assessments)


def find_city(slug: str) -> City:
    city = db.session.scalar(
        select(City).options(joinedload(City.country)).where(City.slug == slug)
    )
    if city is None:
        raise ReportNotFound(slug)
    return city


def city_assessments(city: City) -> list[Assessment]:
    return list(
        db.session.scalars(
            select(Assessment).where(Assessment.city_id == city.id).order_by(Assessment.year)
        )
    )


def city_facts(city: City) -> list[Any]:
    """What a page shows of a city itself; part of page keys, so a renamed city re-renders."""
    country = city.country
    return [
        city.id, city.slug, city.name, city.population, city.latitude, city.longitude,
        city.fictional, country.iso2, country.name, country.region,
    ]  # fmt: skip
