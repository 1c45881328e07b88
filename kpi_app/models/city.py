"""Countries, cities and the per-year city facts shared by many KPIs (population, GDP...)."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kpi_app.models.base import Base, TimestampMixin


class Country(Base):
    __tablename__ = "country"

    id: Mapped[int] = mapped_column(primary_key=True)
    iso2: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(80))

    cities: Mapped[list[City]] = relationship(back_populates="country")


class City(TimestampMixin, Base):
    __tablename__ = "city"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    country_id: Mapped[int] = mapped_column(ForeignKey("country.id"), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    area_km2: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    fictional: Mapped[bool] = mapped_column(Boolean, default=False)

    country: Mapped[Country] = relationship(back_populates="cities")
    facts: Mapped[list[CityYearFacts]] = relationship(
        back_populates="city", order_by="CityYearFacts.year"
    )

    @property
    def population_class(self) -> str:
        """Size band used for peer groups (OECD-style functional urban area classes)."""
        return population_class(self.population)


class CityYearFacts(TimestampMixin, Base):
    """Denominators entered once per city and year and offered to every KPI that uses them."""

    __tablename__ = "city_year_facts"
    __table_args__ = (UniqueConstraint("city_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    population: Mapped[float | None] = mapped_column(Float)
    households: Mapped[float | None] = mapped_column(Float)
    area_km2: Mapped[float | None] = mapped_column(Float)
    gdp: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))

    city: Mapped[City] = relationship(back_populates="facts")


def population_class(population: int | None) -> str:
    """The size band of a population (see ``City.population_class``)."""
    pop = population or 0
    if pop < 50_000:
        return "small"
    if pop < 200_000:
        return "medium"
    if pop < 1_500_000:
        return "large"
    return "metropolitan"
