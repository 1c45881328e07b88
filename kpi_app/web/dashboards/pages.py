"""The dashboard pages, rendered from the reports and cached whole.

:mod:`kpi_app.services.reports` builds each page's data; this module renders it and keeps
the rendered main content in :mod:`kpi_app.services.cache` under a key made of everything
it shows — the report plan's ``key_parts()`` (the score fingerprint of the assessments on
it, which changes with any edit or publication; what this user may see of them; the names
and facts of the cities shown) plus :func:`rendering_context` (the request's language and
script root, and a digest of the dashboard templates). A repeated view then costs the few
small queries that build the key; an edit, a publication, a renamed city or a new
permission asks for a different key, so a page is never stale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _

from kpi_app.catalogue import Catalogue
from kpi_app.services import reports
from kpi_app.services.cache import files_digest, get_cache, page_key
from kpi_app.services.catalogue import current_catalogue

#: Scripts of the dashboards. Charts are inline SVG drawn by the reports, so no page needs
#: plotly.js; charts.js only enhances forms (auto-submitting filters, the compare page's
#: city search).
DASHBOARD_SCRIPTS: tuple[str, ...] = ("js/charts.js",)
#: Template folders whose content is part of every page key (a changed template re-renders).
PAGE_TEMPLATE_DIRS: tuple[str, ...] = ("dashboards", "_macros")


@dataclass(frozen=True)
class Page:
    """A dashboard page as cached: its title, rendered main content and the scripts it needs."""

    title: str
    body: str
    scripts: tuple[str, ...] = ()


def cached_page(kind: str, parts: Mapping[str, Any], render: Callable[[], Page]) -> Page:
    """The page of that kind for these key parts, rendered only when no cached copy exists.

    ``parts`` must name everything the page shows besides what :func:`rendering_context`
    adds (see the module docstring); ``render`` builds the page when the key is new.
    """
    key = page_key(kind, {**parts, "rendering": rendering_context()})
    return get_cache().get_or_compute(key, render)


def rendering_context() -> dict[str, Any]:
    """What a rendered body depends on beyond its data: language, URL root, templates."""
    templates = Path(current_app.root_path) / (current_app.template_folder or "templates")
    return {
        "locale": reports.locale(),
        "root": request.script_root,
        "templates": files_digest([templates / folder for folder in PAGE_TEMPLATE_DIRS]),
    }


def render_body(template: str, **context: Any) -> str:
    """Render a page body template (no layout) with the translated band legend."""
    return render_template(template, band_labels=reports.translated_band_labels(), **context)


_catalogue_links: dict[tuple[str, str, str], dict[str, str]] = {}


def catalogue_links(catalogue: Catalogue) -> dict[str, str]:
    """URL of every KPI's catalogue page, built once per catalogue version and URL root."""
    key = (request.script_root, request.host, catalogue.version)
    links = _catalogue_links.get(key)
    if links is None:
        links = {
            kpi.code: url_for("public.catalogue_indicator", code=kpi.code)
            for kpi in catalogue.indicators
        }
        _catalogue_links.clear()  # one configuration per process; keep memory flat
        _catalogue_links[key] = links
    return links


def with_links(profile: reports.CityProfile) -> reports.CityProfile:
    """The profile with the catalogue page of each KPI (its table links the codes)."""
    profile.links = catalogue_links(current_catalogue())
    return profile


def city_page(
    slug: str,
    year: int | None,
    user: Any,
    requested_source: str | None = None,
    benchmark_set: str | None = None,
) -> Page:
    """The city page (cached; see the module docstring)."""
    plan = reports.plan_profile(slug, year, user, requested_source, benchmark_set)

    def render() -> Page:
        profile = with_links(reports.build_profile(plan))
        body = render_body("dashboards/city.html", profile=profile)
        return Page(f"{profile.city.name} {profile.year}", body)

    return cached_page("city", plan.key_parts(), render)


def directory_page(user: Any, filters: reports.CityFilters) -> Page:
    """The cities map and list (cached; see the module docstring)."""
    plan = reports.plan_directory(user, filters)

    def render() -> Page:
        directory = reports.build_directory(plan)
        scripts = DASHBOARD_SCRIPTS  # the filters submit on change; the map is inline SVG
        return Page(str(_("Cities")), render_body("dashboards/cities.html", directory=directory),
                    scripts)  # fmt: skip

    return cached_page("cities", plan.key_parts(), render)


def compare_page(
    slugs: Sequence[str], year: int | None, user: Any, heatmap_page: int = 1, ranks: bool = False
) -> Page:
    """The comparison page (cached; see the module docstring), with the rank intervals when
    ``ranks`` asks for them."""
    plan = reports.plan_comparison(slugs, year, user, heatmap_page, ranks)

    def render() -> Page:
        view = reports.build_comparison(plan)
        body = render_body("dashboards/compare.html", view=view)
        return Page(str(_("Compare cities")), body, DASHBOARD_SCRIPTS)  # the city filter box

    return cached_page("compare", plan.key_parts(), render)


def country_page(iso2: str, user: Any) -> Page:
    """The Member State page (cached; see the module docstring)."""
    plan = reports.plan_country(iso2, user)

    def render() -> Page:
        view = reports.build_country(plan)
        return Page(plan.country.name, render_body("dashboards/country.html", view=view))

    return cached_page("country", plan.key_parts(), render)


def sdg_page(user: Any) -> Page:
    """The SDG 11 page (cached; see the module docstring)."""
    plan = reports.plan_sdg(user)

    def render() -> Page:
        body = render_body("dashboards/sdg.html", view=reports.build_sdg(plan))
        return Page(str(_("SDG 11")), body)

    return cached_page("sdg", plan.key_parts(), render)


def sdg_target_page(ref: str, user: Any, page: int = 1) -> Page:
    """One SDG 11 target's page (or another goal's): its linked KPIs, each city's latest
    published value and progress class, 50 rows a page (``page``). Unknown targets raise
    ReportNotFound."""
    plan = reports.plan_sdg(user, ref)
    page = max(1, page)

    def render() -> Page:
        view = reports.build_sdg(plan)
        section = view.section(ref)
        if section["kind"] == "target":
            title = str(_("Target %(id)s", id=ref))
        else:
            title = str(_("SDG %(n)d", n=int(ref)))
        shown = view.page_of(section["rows"], page)
        body = render_body("dashboards/sdg_target.html", view=view, section=section, shown=shown)
        return Page(title, body)

    return cached_page("sdg-target", {**plan.key_parts(), "page": page}, render)
