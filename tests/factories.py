"""Builders for tests: cities, users, assessments, values; published or in the workflow.

One module for every test package. The fixtures in tests/conftest.py (`make_city`,
`make_user`, `make_assessment`, `auth`) wrap the first builders; the rest are plain
functions called with the app context the `app` fixture pushes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from kpi_app.extensions import db
from kpi_app.models import Assessment, City, IndicatorValue, Role, Status, User
from kpi_app.services import audit, cities, snapshots, users
from kpi_app.services.catalogue import current_catalogue

PASSWORD = "correct-horse-battery"  # test accounts only


# --- cities, users, assessments ----------------------------------------------------------


def new_city(slug: str, country: str = "NO", **kw: Any) -> City:
    kw.setdefault("population", 100_000)
    return cities.create_city(slug, kw.pop("name", slug.title()), country, **kw)


def new_user(role: Role | str, email: str, city: City | None = None, **kw: Any) -> User:
    user, _ = users.create_user(
        email, Role(role), password=PASSWORD, city_slug=city.slug if city else None, **kw
    )
    return user


def new_assessment(city: City, year: int, benchmark_set: str, **kw: Any) -> Assessment:
    assessment = Assessment(
        city=city,
        year=year,
        catalogue_version=current_catalogue().version,
        benchmark_set=benchmark_set,
        **kw,
    )
    db.session.add(assessment)
    db.session.commit()
    return assessment


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/auth/login", data={"email": email, "password": password}, follow_redirects=True
    )


# --- values as data entry saves them (audited) and the workflow's shortcuts ----------------


def add_value(
    assessment: Assessment,
    code: str,
    value: float | None,
    data_point: str = "",
    actor: User | None = None,
    **fields: Any,
) -> IndicatorValue:
    """A value as data entry would save it: the row plus its audited creation.

    A reported value gets a source and a data-quality level unless the test gives its own
    (pass ``source=None`` / ``quality=None`` to leave them out): submission requires both.
    """
    if value is not None:
        fields.setdefault("source", "Municipal statistics office")
        fields.setdefault("quality", 2)
    row = IndicatorValue(
        assessment=assessment,
        code=code,
        data_point=data_point,
        computed_value=value,
        reported=value is not None,
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "create",
        "indicator_value",
        row.id,
        actor=actor,
        new={"computed_value": value, "reported": value is not None, **fields},
        assessment_id=assessment.id,
    )
    db.session.commit()
    return row


def edit_value(row: IndicatorValue, actor: User | None, **changes: Any) -> None:
    """An audited edit, recording old and new of the fields it changes."""
    old = {name: getattr(row, name) for name in changes}
    for name, new in changes.items():
        setattr(row, name, new)
    audit.record(
        "update",
        "indicator_value",
        row.id,
        actor=actor,
        old=old,
        new=dict(changes),
        assessment_id=row.assessment_id,
    )
    db.session.commit()


def set_status(assessment: Assessment, status: Status) -> None:
    assessment.status = status
    db.session.commit()


def decide_all(assessment: Assessment, verified: bool = True) -> None:
    """Record a verification decision on every reported value directly (no workflow checks):
    for tests that set an assessment's status by hand and then publish it."""
    for row in assessment.values:
        if row.reported and row.value is not None and row.verified is None:
            row.verified = verified
            row.verification_code = "source_checked" if verified else "implausible"
    db.session.commit()


# --- published assessments with a few values (API and interop tests) ----------------------


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


# --- local KPIs published beside the U4SSC values (local interop tests) -------------------


#: (local code, data point, value, reported, verified) of :func:`add_local_kpis`.
LOCAL_SAMPLE = [
    ("WASTE-1", "", 33.0, True, True),
    ("TREES", "north", 1200.0, True, False),
    ("TREES", "south", None, False, None),
]


def add_local_kpis(assessment: Assessment, actor: User, *, waste_value: float = 33.0) -> None:
    """Two local KPIs of the assessment's city (one with data points) and their values,
    with verification decisions; the assessment must be editable (publish it afterwards)."""
    from kpi_app.services import local_kpis
    from kpi_app.services.local_kpis import DefinitionInput, ValueInput

    city = assessment.city
    existing = {kpi.code: kpi for kpi in local_kpis.city_kpis(city, active_only=True)}
    waste = existing.get("WASTE-1") or local_kpis.create_kpi(
        city,
        DefinitionInput(
            code="WASTE-1",
            name={"en": "Household waste recycled", "fr": "Déchets ménagers recyclés"},
            definition={"en": "Share of household waste sent to recycling."},
            unit="%",
            value_type="percentage",
            sdg_refs=["11.6"],
            benchmark_target=60.0,
            benchmark_source="City climate plan 2030",
        ),
        actor,
        ["en", "fr"],
    )
    trees = existing.get("TREES") or local_kpis.create_kpi(
        city,
        DefinitionInput(
            code="TREES",
            name={"en": "Street trees planted"},
            unit="trees",
            data_points=[
                {"id": "north", "label": {"en": "North district"}, "target": 1000.0},
                {"id": "south", "label": {"en": "South district"}, "target": 800.0},
            ],
        ),
        actor,
        ["en"],
    )
    common = {"source": "City parks department", "quality": 3, "data_year": assessment.year - 1}
    local_kpis.save_values(
        assessment,
        [
            ValueInput(kpi_id=waste.id, value=waste_value, **common),
            ValueInput(kpi_id=trees.id, data_point="north", value=1200.0, **common),
            ValueInput(
                kpi_id=trees.id,
                data_point="south",
                reported=False,
                not_reported_reason="Not counted yet",
            ),
        ],
        actor,
    )
    rows = local_kpis.values_of(assessment)
    rows[(waste.id, "")].verified = True
    rows[(waste.id, "")].verification_code = "source_checked"
    rows[(trees.id, "north")].verified = False
    rows[(trees.id, "north")].verification_code = "implausible"
    db.session.commit()
