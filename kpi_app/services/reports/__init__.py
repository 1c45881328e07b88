"""What coordinators, Member States and the public look at: dashboard reports, as data.

Each public function builds one report (a plain dataclass of tables, texts and inline SVG
figures) for one page or document, authorising through :mod:`kpi_app.services.permissions`
and reading scores from :mod:`kpi_app.services.scores` (cached). One module per page family:

* :mod:`.names` — band labels, group names and number helpers in the reader's language;
* :mod:`.access` — the data source rule (published or live), cities, page-key facts;
* :mod:`.city` — the city profile (page, downloads, PDFs) and score explanations;
* :mod:`.directory` — the cities map and list;
* :mod:`.compare` — the comparison of chosen cities;
* :mod:`.country` — the Member State view;
* :mod:`.sdg` — the SDG 11 view and its target pages;
* :mod:`.indicators` — the published values of one KPI;
* :mod:`.downloads` — tables as CSV/Excel and the wheel as SVG.

Nothing here renders a template, reads the request or builds a URL: the web layer
(:mod:`kpi_app.web.dashboards`) renders the reports, caches the rendered pages and makes the
PDFs. For cached pages each family offers a *plan* (``plan_profile``, ``plan_directory``,
``plan_comparison``, ``plan_country``, ``plan_sdg``): what the page will show, resolved with a
few small queries and no scoring, whose ``key_parts()`` name everything the page shows (the
score fingerprint of its assessments, what this user may see of them, the names and facts of
the cities shown). ``build_*`` turns a plan into its report.

Data source rule: anonymous users (and anyone without permission on an assessment) see the
latest *published* snapshot only. A user allowed to see an assessment's current values may ask
for ``source="live"``; a city editor whose draft is not yet published sees live data by default.
"""

from kpi_app.services.reports.access import (
    ReportNotFound,
    can_switch_to_live,
    choose_source,
    city_facts,
)
from kpi_app.services.reports.city import (
    CityProfile,
    ProfilePlan,
    ScoreExplanation,
    build_profile,
    city_profile,
    group_table,
    kpi_table,
    plan_profile,
    score_explanation,
    trend_table,
    value_details,
    wheel_svg,
)
from kpi_app.services.reports.compare import (
    Comparison,
    ComparisonPlan,
    build_comparison,
    comparison,
    heatmap_slice,
    plan_comparison,
)
from kpi_app.services.reports.country import (
    CountryPlan,
    CountryView,
    build_country,
    country_view,
    plan_country,
)
from kpi_app.services.reports.directory import (
    CityDirectory,
    CityFilters,
    DirectoryPlan,
    build_directory,
    plan_directory,
    world_topology,
)
from kpi_app.services.reports.downloads import (
    MIMETYPES,
    Download,
    city_download,
    compare_download,
    country_download,
    indicator_download,
    profile_stem,
    sdg_download,
    table_download,
)
from kpi_app.services.reports.indicators import (
    INDICATOR_PAGE_SIZE,
    IndicatorValues,
    indicator_table,
    indicator_values,
    indicator_values_key,
)
from kpi_app.services.reports.names import (
    confidence_label,
    group_names,
    locale,
    not_scored_label,
    translated_band_labels,
)
from kpi_app.services.reports.sdg import (
    NOTE_SDG_LINKS,
    SDG11_TARGETS,
    SDG_PAGE_SIZE,
    SdgPlan,
    SdgView,
    build_sdg,
    plan_sdg,
    sdg_links,
    sdg_view,
)

__all__ = [
    "INDICATOR_PAGE_SIZE",
    "MIMETYPES",
    "NOTE_SDG_LINKS",
    "SDG11_TARGETS",
    "SDG_PAGE_SIZE",
    "CityDirectory",
    "CityFilters",
    "CityProfile",
    "Comparison",
    "ComparisonPlan",
    "CountryPlan",
    "CountryView",
    "DirectoryPlan",
    "Download",
    "IndicatorValues",
    "ProfilePlan",
    "ReportNotFound",
    "ScoreExplanation",
    "SdgPlan",
    "SdgView",
    "build_comparison",
    "build_country",
    "build_directory",
    "build_profile",
    "build_sdg",
    "can_switch_to_live",
    "choose_source",
    "city_download",
    "city_facts",
    "city_profile",
    "compare_download",
    "comparison",
    "confidence_label",
    "country_download",
    "country_view",
    "group_names",
    "group_table",
    "heatmap_slice",
    "indicator_download",
    "indicator_table",
    "indicator_values",
    "indicator_values_key",
    "kpi_table",
    "locale",
    "not_scored_label",
    "plan_comparison",
    "plan_country",
    "plan_directory",
    "plan_profile",
    "plan_sdg",
    "profile_stem",
    "score_explanation",
    "sdg_download",
    "sdg_links",
    "sdg_view",
    "table_download",
    "translated_band_labels",
    "trend_table",
    "value_details",
    "wheel_svg",
    "world_topology",
]
