"""Countries and cities."""

from __future__ import annotations

import re

from babel import Locale

from kpi_app.extensions import db
from kpi_app.models import City, Country, User
from kpi_app.services import audit
from kpi_app.services.errors import Invalid

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class CityError(Invalid):
    """A user-facing problem with a city operation."""


def country_name(iso2: str, locale: str = "en") -> str | None:
    """ISO 3166-1 alpha-2 code to a country name in the given language (from CLDR via Babel)."""
    names = Locale.parse(locale).territories
    return names.get(iso2.upper())


def get_or_create_country(iso2: str, region: str | None = None) -> Country:
    iso2 = iso2.strip().upper()
    name = country_name(iso2) if len(iso2) == 2 and iso2.isalpha() else None
    if name is None:
        raise CityError(f"{iso2!r} is not an ISO 3166-1 alpha-2 country code")
    country = db.session.scalar(db.select(Country).where(Country.iso2 == iso2))
    if country is None:
        country = Country(iso2=iso2, name=name, region=region)
        db.session.add(country)
    elif region and not country.region:
        country.region = region
    return country


def create_city(
    slug: str,
    name: str,
    country_iso2: str,
    *,
    population: int | None = None,
    area_km2: float | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    fictional: bool = False,
    region: str | None = None,
    actor: User | None = None,
) -> City:
    if not SLUG_PATTERN.match(slug):
        raise CityError(f"{slug!r} is not a valid slug (lower-case letters, digits and dashes)")
    if db.session.scalar(db.select(City).where(City.slug == slug)) is not None:
        raise CityError(f"a city with slug {slug!r} already exists")
    if population is not None and population < 0:
        raise CityError("population cannot be negative")
    city = City(
        slug=slug,
        name=name,
        country=get_or_create_country(country_iso2, region),
        population=population,
        area_km2=area_km2,
        latitude=latitude,
        longitude=longitude,
        fictional=fictional,
    )
    db.session.add(city)
    db.session.flush()
    audit.record("create", "city", city.id, actor=actor, new={"slug": slug, "name": name})
    db.session.commit()
    return city


def get_city(slug: str) -> City:
    city = db.session.scalar(db.select(City).where(City.slug == slug))
    if city is None:
        raise CityError(f"no city with slug {slug!r}")
    return city


def list_cities() -> list[City]:
    return list(db.session.scalars(db.select(City).order_by(City.name)))
