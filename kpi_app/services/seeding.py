"""Load the fictional demo data in seeds/ (idempotent: upsert by natural keys)."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from flask import current_app

from kpi_app.config import DEFAULT_SQLITE_NAME, INSTANCE_DIR, PROJECT_ROOT
from kpi_app.extensions import db
from kpi_app.models import (
    Assessment,
    City,
    CityYearFacts,
    IndicatorValue,
    Role,
    Status,
)
from kpi_app.models.base import utcnow
from kpi_app.services import cities, snapshots, users
from kpi_app.services.catalogue import current_catalogue

SEEDS_DIR = PROJECT_ROOT / "seeds"
NOT_REPORTED = {"", "not reported", "nr", "n/a", "na"}


@dataclass
class SeedReport:
    cities: int = 0
    assessments: int = 0
    values: int = 0
    credentials: list[tuple[str, str, str]] = field(default_factory=list)
    credentials_file: Path | None = None  # where they were written (one file per database)

    def summary(self) -> str:
        return (
            f"Demo data loaded: {self.cities} cities, {self.assessments} assessments, "
            f"{self.values} indicator values (new or updated)."
        )


def seed_demo(seeds_dir: Path = SEEDS_DIR) -> SeedReport:
    config = yaml.safe_load((seeds_dir / "cities.yaml").read_text(encoding="utf-8"))
    report = SeedReport()
    for entry in config["cities"]:
        city = _upsert_city(entry)
        report.cities += 1
        values = _read_values(seeds_dir / "values" / f"{entry['slug']}.csv")
        for year, status in sorted(entry["years"].items()):
            _upsert_facts(city, int(year), entry)
            assessment = _upsert_assessment(city, int(year), Status(status))
            report.assessments += 1
            report.values += _upsert_values(assessment, values.get(int(year), []))
            if assessment.status is Status.PUBLISHED and snapshots.latest(assessment.id) is None:
                db.session.flush()
                db.session.refresh(assessment)
                snapshots.freeze(assessment, actor=None)
    db.session.commit()
    for entry in config.get("users", []):
        if users.find_user(entry["email"]) is None:
            password = secrets.token_urlsafe(12)
            users.create_user(
                entry["email"],
                Role(entry["role"]),
                password=password,
                name=entry.get("name", ""),
                city_slug=entry.get("city"),
                country_iso2=entry.get("country"),
            )
            report.credentials.append((entry["email"], entry["role"], password))
    _assign_demo_verifier(config.get("verifier_assignments", {}))
    _remember_credentials(report)
    return report


def _assign_demo_verifier(assignments: dict[str, list[str]]) -> None:
    """Give each demo verifier the assessments awaiting or past verification (idempotent)."""
    for email, statuses in assignments.items():
        verifier = users.find_user(email)
        if verifier is None:
            continue
        wanted = [Status(s) for s in statuses]
        for assessment in db.session.scalars(
            db.select(Assessment).where(Assessment.status.in_(wanted))
        ):
            if verifier not in assessment.verifiers:
                assessment.verifiers.append(verifier)
    db.session.commit()


def _upsert_city(entry: dict[str, Any]) -> City:
    existing = db.session.scalar(db.select(City).where(City.slug == entry["slug"]))
    if existing is not None:
        return existing
    return cities.create_city(
        entry["slug"],
        entry["name"],
        entry["country"],
        population=entry.get("population"),
        area_km2=entry.get("area_km2"),
        latitude=entry.get("latitude"),
        longitude=entry.get("longitude"),
        fictional=True,
        region=entry.get("region"),
    )


def _upsert_facts(city: City, year: int, entry: dict[str, Any]) -> None:
    facts = db.session.scalar(
        db.select(CityYearFacts).where(CityYearFacts.city_id == city.id, CityYearFacts.year == year)
    )
    if facts is None:
        facts = CityYearFacts(city_id=city.id, year=year)
        db.session.add(facts)
    growth = 1.008 ** (year - 2023)  # fictional population growth
    facts.population = round(entry["population"] * growth)
    facts.households = round(entry["households"] * growth)
    facts.area_km2 = entry["area_km2"]
    facts.gdp = round(entry["gdp_per_capita"] * entry["population"] * growth)
    facts.currency = entry["currency"]


def _upsert_assessment(city: City, year: int, status: Status) -> Assessment:
    assessment = db.session.scalar(
        db.select(Assessment).where(Assessment.city_id == city.id, Assessment.year == year)
    )
    if assessment is None:
        assessment = Assessment(
            city_id=city.id,
            year=year,
            status=status,
            catalogue_version=current_catalogue().version,
            benchmark_set=current_app.config["DEFAULT_BENCHMARK_SET"],
        )
        db.session.add(assessment)
        if status is not Status.DRAFT:
            assessment.submitted_at = utcnow()
        db.session.flush()
    return assessment


def _read_values(path: Path) -> dict[int, list[dict[str, str]]]:
    by_year: dict[int, list[dict[str, str]]] = {}
    if not path.exists():
        return by_year
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_year.setdefault(int(row["year"]), []).append(row)
    return by_year


def _upsert_values(assessment: Assessment, rows: list[dict[str, str]]) -> int:
    existing = {
        (v.code, v.data_point): v
        for v in db.session.scalars(
            db.select(IndicatorValue).where(IndicatorValue.assessment_id == assessment.id)
        )
    }
    verified = assessment.status in (Status.VERIFIED, Status.PUBLISHED)
    changed = 0
    for row in rows:
        key = (row["code"], row.get("data_point") or "")
        if key in existing:
            continue
        reported = row["value"].strip().lower() not in NOT_REPORTED
        value = IndicatorValue(
            assessment_id=assessment.id,
            code=key[0],
            data_point=key[1],
            computed_value=float(row["value"]) if reported else None,
            reported=reported,
            not_reported_reason=None if reported else (row.get("comment") or "not reported"),
            source=row.get("source") or None,
            quality=int(row["quality"]) if row.get("quality") else None,
            data_year=assessment.year,
            verified=True if verified and reported else None,
        )
        db.session.add(value)
        changed += 1
    return changed


def credentials_path() -> Path:
    """Where the demo passwords of *this* database are kept: one file per database.

    The default SQLite database of `make run` keeps `instance/demo-credentials.txt`; any other
    database gets `demo-credentials-<name>-<hash>.txt`, the name being the database's (file)
    name and the hash that of its URL without password, so two databases never share a file.
    """
    directory = Path(current_app.config.get("DEMO_CREDENTIALS_DIR") or current_app.instance_path)
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database).resolve()
        if database == (INSTANCE_DIR / DEFAULT_SQLITE_NAME).resolve():
            return directory / "demo-credentials.txt"
        name, identity = database.stem, f"sqlite:{database}"
    else:
        name = url.database or url.get_backend_name()
        identity = url.set(password=None).render_as_string(hide_password=True)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40] or "db"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:8]
    return directory / f"demo-credentials-{slug}-{digest}.txt"


def _remember_credentials(report: SeedReport) -> None:
    if not report.credentials:
        return
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    new_file = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        if new_file:
            url = db.engine.url.render_as_string(hide_password=True)
            handle.write(f"# demo accounts of {url} (role, e-mail, password)\n")
        for email, role, password in report.credentials:
            handle.write(f"{role}\t{email}\t{password}\n")
    report.credentials_file = path
