"""The city PDFs: the snapshot (a few pages) and the longer verification report.

The same :class:`~kpi_app.services.reports.CityProfile` as the city page, rendered into
HTML and then PDF with WeasyPrint, charts included as static SVG from the pure builder, in
the language of the current request. A city with local KPIs gets a "Local KPIs" section
after the U4SSC sections, with their own wheel (docs/local-kpis.md).
"""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for

from kpi_app.services import local_kpi_reports, report_evidence, reports

#: The PDFs of a city profile, by download name.
PDF_TEMPLATES = {
    "snapshot": "dashboards/pdf/snapshot.html",
    "verification-report": "dashboards/pdf/verification.html",
}


def render_pdf(profile: reports.CityProfile, kind: str, **extra: Any) -> bytes:
    """The city snapshot (a few pages) or the longer verification report, as PDF bytes."""
    from weasyprint import HTML

    # The city's local KPIs, apart from the U4SSC sections (same assessment and source).
    local = local_kpi_reports.profile_block(
        profile.city, profile.year, profile.source, reports.locale()
    )
    html = render_template(
        PDF_TEMPLATES[kind],
        profile=profile,
        wheel=reports.wheel_svg(profile),
        local=local,
        local_wheel=local_kpi_reports.wheel_svg(local) if local is not None else "",
        band_labels=reports.translated_band_labels(),
        lang=reports.locale(),
        **extra,
    )
    # Only our own static files may be fetched while rendering: no network access.
    return bytes(
        HTML(
            string=html,
            base_url=url_for("static", filename="", _external=True),
            url_fetcher=_no_fetch,
        ).write_pdf()
    )


def _no_fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
    raise ValueError(f"PDF rendering fetches nothing from outside ({url})")


def city_download(
    slug: str, year: int, name: str, fmt: str, user: Any, requested_source: str | None
) -> reports.Download:
    """A city profile table (CSV/Excel), its wheel (SVG) or one of its PDFs."""
    if fmt != "pdf" or name not in PDF_TEMPLATES:
        return reports.city_download(slug, year, name, fmt, user, requested_source)
    profile = reports.city_profile(slug, year, user, requested_source)
    filename = f"{reports.profile_stem(profile)}-{name}.pdf"
    extra = report_evidence.report_context(name, profile, user)  # evidence files (issue 15)
    return reports.Download(filename, reports.MIMETYPES["pdf"], render_pdf(profile, name, **extra))
