"""Build published and draft assessments with a few values, for API and interop tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kpi_app.extensions import db
from kpi_app.models import Assessment, City, IndicatorValue, Status
from kpi_app.services import snapshots

# (code, data_point, value, quality, verified): a mix of single and multi-point KPIs,
# a yes/no KPI, and one item left not reported.
SAMPLE_VALUES: list[tuple[str, str, float | None, int | None, bool | None]] = [
    ("EC: ICT: ICT: 1C", "", 95.5, 1, True),
    ("EC: ICT: ICT: 2C", "", 40.0, 3, True),
    ("EN: EN: AQ: 1C", "pm25", 12.25, 2, True),
    ("EN: EN: AQ: 1C", "pm10", 20.0, 6, False),
    ("EC: ICT: ICT: 3C", "", None, None, None),
]


def add_values(
    assessment: Assessment,
    values: list[tuple[str, str, float | None, int | None, bool | None]] = SAMPLE_VALUES,
) -> None:
    for code, point, value, quality, verified in values:
        db.session.add(
            IndicatorValue(
                assessment=assessment,
                code=code,
                data_point=point,
                computed_value=value,
                reported=value is not None,
                quality=quality,
                verified=verified,
                data_year=assessment.year,
                source="Test statistics office",
            )
        )
    db.session.commit()


def publish(assessment: Assessment) -> Assessment:
    assessment.status = Status.PUBLISHED
    snapshots.freeze(assessment, None)
    db.session.commit()
    return assessment


def published_city(
    make_city: Callable[..., City],
    make_assessment: Callable[..., Assessment],
    slug: str = "fjordby",
    year: int = 2024,
    **city_kw: Any,
) -> Assessment:
    city_kw.setdefault("latitude", 60.39)
    city_kw.setdefault("longitude", 5.32)
    city = make_city(slug, **city_kw)
    assessment = make_assessment(city, year=year)
    add_values(assessment)
    return publish(assessment)
