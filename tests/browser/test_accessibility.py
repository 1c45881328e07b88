"""axe-core over every HTML page of the app, as each role and anonymously, on the demo data.

The GET routes come from `app.url_map`, so a new page is checked as soon as it exists; its URL
parameters are filled from the seeded demo data (`kpi_app.services.seeding.seed_demo()`). A
route whose parameter has no sample here fails the test with a message saying what to add,
rather than being skipped in silence.

Pass criterion: no violation of impact "serious" or "critical" under the WCAG 2.0/2.1/2.2 A and
AA rules plus axe's best practices, no server error, and on every page a title, a language,
one main landmark and one first-level heading. Every run writes the complete axe results (all
impacts) to test-artifacts/axe/<role>.json for review. The module also checks the layout at
320 CSS px and at 200 % zoom, and that `prefers-reduced-motion` switches animations off.

`shared_demo_site` (one seeded live server per run) and `open_context` are reused by
test_keyboard.py and test_languages.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.routing import Rule

from kpi_app.config import PROJECT_ROOT
from kpi_app.extensions import db
from kpi_app.models import Assessment, IndicatorValue, Status, User
from kpi_app.services import permissions, seeding, users, workflow
from kpi_app.web import static_assets
from tests.browser.conftest import LiveServer, build_app

AXE_SOURCE_PATH = PROJECT_ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "axe"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}
ROLES = ("anonymous", "admin", "coordinator", "verifier", "city_editor", "viewer")
DEMO_ACCOUNTS = {
    "admin": "admin@demo.u4ssc.test",
    "coordinator": "coordinator@demo.u4ssc.test",
    "verifier": "verifier@demo.u4ssc.test",
    # Puerto Azul's 2025 assessment was returned to the city, so its forms are editable.
    "city_editor": "editor.puerto-azul@demo.u4ssc.test",
    "viewer": "viewer.norway@demo.u4ssc.test",
}
# Machine-readable endpoints: downloads, the JSON/CSV API, health checks and static files.
NON_HTML_ENDPOINTS = re.compile(
    r"^(static|ops\.healthz|api_(results|catalogue|exchange)\..*|api-docs\..*)$|\.(export|export_\w+|\w*download)$"
)
# Query strings that put a page in its richest state (charts drawn, several cities compared).
RICH_STATES = (
    "/compare?city=nordvik&city=valmorena&city=puerto-azul",
    "/lab/?year=2024&draws=20",  # the methods lab with results for every 2024 city
)
# Demo sensor readings: enough for the sensor import review page to have rows to show.
SENSOR_CSV = (
    "timestamp,station,parameter,value,unit\n"
    + "".join(
        f"2025-01-{day:02d}T12:00:00,centro,pm2.5,{8 + day % 5},µg/m³\n" for day in range(1, 29)
    )
    # Noise and water rows: the review page's evidence blocks (Lden, nitrate limit) too.
    + "".join(f"2025-01-{day:02d}T12:00:00,plaza,LAeq,{60 + day % 4},dB\n" for day in range(1, 29))
    + "".join(f"2025-01-{day:02d}T12:00:00,tap,NO3,{10 + day % 3},mg/l\n" for day in range(1, 29))
)


@dataclass
class DemoSite:
    """A live server on the demo data, with the password of each demo account."""

    server: LiveServer
    app: Flask
    passwords: dict[str, str]
    samples: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def email(self, role: str) -> str:
        return DEMO_ACCOUNTS[role]

    def password(self, role: str) -> str:
        return self.passwords[DEMO_ACCOUNTS[role]]

    def stop(self) -> None:
        self.server.stop()
        with self.app.app_context():
            db.engine.dispose()


def _focus_assessment(user: User | None) -> Assessment:
    """The assessment a role most plausibly works on: editable first, published last."""
    order = [Status.RETURNED, Status.DRAFT, Status.IN_REVIEW, Status.SUBMITTED, Status.VERIFIED]
    candidates = list(db.session.scalars(permissions.visible_assessments(user))) if user else []
    if candidates:
        return min(
            candidates,
            key=lambda a: (order.index(a.status) if a.status in order else len(order), a.id),
        )
    published = db.select(Assessment).where(Assessment.status == Status.PUBLISHED)
    return db.session.scalars(published.order_by(Assessment.id)).first()  # type: ignore[return-value]


def _role_samples(app: Flask, user: User | None, extra: dict[str, object]) -> dict[str, object]:
    from kpi_app.services.catalogue import current_catalogue
    from kpi_app.web.assessments.views import category_slug

    assessment = _focus_assessment(user)
    value = db.session.scalars(
        db.select(IndicatorValue)
        .where(IndicatorValue.assessment_id == assessment.id)
        .order_by(IndicatorValue.id)
    ).first()
    catalogue = current_catalogue()
    return {
        "assessment_id": assessment.id,
        "value_id": value.id if value else 0,
        "category_slug": category_slug(catalogue.categories[0]),
        "code": catalogue.indicators[0].code,
        "city_slug": "nordvik",
        "year": 2024,
        "iso2": "NO",
        "level": "overall",
        "group_id": "overall",
        "ref": "11.2",  # an SDG 11 target page
        **extra,
    }


def _seed_extras(app: Flask) -> dict[str, object]:
    """Data the demo seed leaves out but some pages need: a verifier assignment, a scenario,
    a sensor import. Each goes through the service a user would use."""
    from kpi_app.services import scenarios, sensors

    def account(role: str) -> User:
        found = users.find_user(DEMO_ACCOUNTS[role])
        assert found is not None
        return found

    in_review = db.session.scalars(
        db.select(Assessment).where(Assessment.status == Status.IN_REVIEW)
    ).first()
    assert in_review is not None, "the demo data should have an assessment in review"
    if not permissions.is_assigned(account("verifier"), in_review):
        workflow.assign_verifier(in_review, account("verifier"), actor=account("admin"))
        db.session.commit()
    editor = account("city_editor")
    editable = _focus_assessment(editor)
    # Due dates (issue 15): one due soon, one overdue, so banners and to-do lists show them.
    from datetime import timedelta

    from kpi_app.services import due_dates

    today = due_dates.today_utc()
    due_dates.set_due_dates(
        editable,
        account("admin"),
        entry_due=today + timedelta(days=2),
        verification_due=today + timedelta(days=30),
    )
    due_dates.set_due_dates(
        in_review,
        account("admin"),
        entry_due=today - timedelta(days=20),
        verification_due=today - timedelta(days=1),
    )
    scenario = scenarios.create_scenario(editable, editor, "Accessibility check scenario")
    record = sensors.upload(
        editable,
        editor,
        filename="stations.csv",
        payload=SENSOR_CSV.encode(),
        file_format="csv",
        year=editable.year,
    )
    db.session.commit()
    from kpi_app.services import password_reset

    return {
        "scenario_id": scenario.id,
        "import_id": record.id,
        # a live reset link, so the crawl audits the "choose a new password" form
        "token": password_reset.make_token(account("viewer")),
    }


def start_demo_site(tmp_dir: Path) -> DemoSite:
    app = build_app(f"sqlite:///{tmp_dir / 'demo.sqlite3'}")
    static_assets.init_app(app)
    with app.app_context():
        db.create_all()
        report = seeding.seed_demo()
        passwords = {email: password for email, _role, password in report.credentials}
        extra = _seed_extras(app)
        samples = {
            role: _role_samples(
                app, users.find_user(DEMO_ACCOUNTS[role]) if role in DEMO_ACCOUNTS else None, extra
            )
            for role in ROLES
        }
        db.session.remove()
    server = LiveServer(app)
    server.start()
    return DemoSite(server=server, app=app, passwords=passwords, samples=samples)


_SHARED_SITES: dict[str, DemoSite] = {}


def shared_demo_site(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> DemoSite:
    """One seeded live server for the whole run, shared by the browser modules (seeding takes
    seconds; the pages are only read, bar the forms the keyboard tests save)."""
    if "demo" not in _SHARED_SITES:
        site = start_demo_site(tmp_path_factory.mktemp("demo-site"))
        _SHARED_SITES["demo"] = site
        pytestconfig.add_cleanup(site.stop)
    return _SHARED_SITES["demo"]


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> DemoSite:
    return shared_demo_site(tmp_path_factory, pytestconfig)


def open_context(browser: Any, site: DemoSite, role: str = "anonymous", **options: Any) -> Any:
    """A fresh browser context on the demo site, logged in as `role` unless anonymous."""
    options.setdefault("locale", "en-GB")
    context = browser.new_context(base_url=site.url, **options)
    context.set_default_timeout(15_000)
    if role != "anonymous":
        page = context.new_page()
        page.goto("/auth/login")
        page.get_by_label("E-mail").fill(site.email(role))
        page.get_by_label("Password").fill(site.password(role))
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        assert "/auth/login" not in page.url, f"could not log in as {role}"
        page.close()
    return context


# ----- which pages ---------------------------------------------------------------------------


def _parameter(rule: Rule, name: str, samples: dict[str, object]) -> object:
    # `slug` names a category under /assessments and a city everywhere else.
    if name == "slug":
        return samples["category_slug" if rule.endpoint.startswith("assessments.") else "city_slug"]
    if name not in samples:
        pytest.fail(
            f"{rule.rule} ({rule.endpoint}): no demo sample for URL parameter {name!r}; "
            "add one in tests/browser/test_accessibility.py::_role_samples"
        )
    return samples[name]


def html_page_urls(app: Flask, samples: dict[str, object]) -> list[str]:
    """One URL per GET route that renders HTML, parameters filled from the demo samples."""
    urls: list[str] = []
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or NON_HTML_ENDPOINTS.search(rule.endpoint):
            continue
        values = {name: _parameter(rule, name, samples) for name in rule.arguments}
        urls.append(adapter.build(rule.endpoint, values))
    return sorted(set(urls)) + list(RICH_STATES)


# ----- axe ---------------------------------------------------------------------------------


def axe_version() -> str:
    banner = AXE_SOURCE_PATH.read_text(encoding="utf-8")[:200]
    found = re.search(r"axe v([\d.]+)", banner)
    return found.group(1) if found else "unknown"


def run_axe(page: Any, axe_source: str, *, skip_main: bool = False) -> list[dict[str, Any]]:
    """Inject axe-core and audit the page; return its violations.

    The app's CSP forbids inline scripts, so axe is evaluated through the DevTools protocol
    (page.evaluate), which CSP does not govern. `skip_main` leaves <main> out: used when the
    same main content was already audited (under another role), so only the role's own
    header, menu and footer are new.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    violations: list[dict[str, Any]] = page.evaluate(
        """async ([tags, skipMain]) => {
            const context = skipMain ? {exclude: [['main']]} : document;
            const r = await axe.run(context, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            });
            return r.violations;
        }""",
        [AXE_TAGS, skip_main],
    )
    return violations


FINGERPRINT_REGION = """(mainOnly) => {
    const copy = document.body.cloneNode(true);
    const main = copy.querySelector('main');
    if (mainOnly) {
        if (!main) return '';
        main.querySelectorAll('.chart').forEach(c => c.replaceChildren());
        return main.outerHTML;
    }
    if (main) main.remove();
    copy.querySelectorAll('[aria-current]').forEach(e => e.removeAttribute('aria-current'));
    return copy.outerHTML;
}"""


def region_key(page: Any, *, main_only: bool) -> str:
    """A fingerprint of the page's <main> as the server sent it (drawn charts, whose SVG has
    random ids, emptied), or of everything around it (header, menu, footer). Per-session CSRF
    tokens are blanked out."""
    html = page.evaluate(FINGERPRINT_REGION, main_only)
    html = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', html)
    return hashlib.sha256(html.encode()).hexdigest()


def wait_for_charts(page: Any) -> None:
    """Charts are drawn by static/js/charts.js after load; audit the drawn SVG, not a blank."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('.chart[data-figure]')]
            .every(c => c.getAttribute('data-drawn') === 'true')""",
        timeout=15_000,
    )


@dataclass
class PageAudit:
    url: str
    final_url: str
    status: int
    axe_scope: str  # "page", "outside main" (main seen before) or "none" (both seen before)
    seconds: float
    structure: dict[str, Any]
    violations: list[dict[str, Any]]


def audit_role(
    browser: Any, site: DemoSite, role: str, axe_source: str, audited_mains: set[str]
) -> list[PageAudit]:
    context = open_context(browser, site, role)
    page = context.new_page()
    audits: list[PageAudit] = []
    seen_final: set[str] = set()
    seen_errors: set[int] = set()
    audited_chrome: set[str] = set()
    try:
        for url in html_page_urls(site.app, site.samples[role]):
            started = time.perf_counter()
            # DOM ready is enough to fingerprint <main>; charts are awaited only when audited.
            response = page.goto(url, wait_until="domcontentloaded")
            assert response is not None, url
            final = page.url.removeprefix(site.url)
            # A redirect (log in first) or an error page is audited once per role, not per URL.
            key = final if final == url else urlsplit(final).path
            if key in seen_final or (response.status >= 400 and response.status in seen_errors):
                continue
            seen_final.add(key)
            if response.status >= 400:
                seen_errors.add(response.status)
            if "text/html" not in (response.headers.get("content-type") or ""):
                continue
            content = region_key(page, main_only=True)
            chrome = region_key(page, main_only=False)
            # Identical markup gives identical axe results: audit each <main> once per run and
            # the header/menu/footer once per role, and only what is new on each page.
            if content not in audited_mains:
                wait_for_charts(page)
                scope, violations = "page", run_axe(page, axe_source)
            elif chrome not in audited_chrome:
                scope, violations = "outside main", run_axe(page, axe_source, skip_main=True)
            else:
                scope, violations = "none", []
            audited_mains.add(content)
            audited_chrome.add(chrome)
            seconds = round(time.perf_counter() - started, 2)
            audits.append(
                PageAudit(
                    url, final, response.status, scope, seconds, page_structure(page), violations
                )
            )
    finally:
        context.close()
    return audits


def save_report(role: str, audits: list[PageAudit]) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{role}.json"
    payload = {
        "axe_version": axe_version(),
        "tags": AXE_TAGS,
        "role": role,
        "pages": [audit.__dict__ for audit in audits],
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def page_structure(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => ({
                title: document.title,
                mains: document.querySelectorAll('main, [role=main]').length,
                h1: document.querySelectorAll('h1').length,
                lang: document.documentElement.lang,
                charts: [...document.querySelectorAll('.chart[data-figure]')].map(chart => {
                    const figure = chart.closest('figure');
                    const caption = figure && figure.querySelector('figcaption');
                    return {id: chart.id, summary: caption ? caption.innerText.trim() : ''};
                }),
                tables: document.querySelectorAll('main table').length,
                uncaptioned: [...document.querySelectorAll('main table')]
                    .filter(t => !t.caption && !t.getAttribute('aria-label')
                                 && !t.getAttribute('aria-labelledby'))
                    .map(t => t.id || t.className || 'table'),
                unscoped: [...document.querySelectorAll('main th:not([scope])')]
                    .filter(th => !th.id).length,
            })"""
        )
    )


def structure_problems(audit: PageAudit) -> list[str]:
    """Page title (WCAG 2.4.2), language (3.1.1), one main landmark and one top heading;
    chart text alternatives and named data tables with scoped headers (1.1.1, 1.3.1)."""
    found = audit.structure
    problems = []
    if not found["title"].strip() or found["title"].startswith("·"):
        problems.append("empty or generic <title>")
    if not found["lang"]:
        problems.append("no lang on <html>")
    if found["mains"] != 1:
        problems.append(f"{found['mains']} main landmarks")
    if found["h1"] != 1:
        problems.append(f"{found['h1']} <h1> headings")
    # Every chart has a text summary, and a page with charts gives the figures in a table.
    problems += [
        f"chart #{c['id']} has no text summary" for c in found["charts"] if not c["summary"]
    ]
    if found["charts"] and not found["tables"]:
        problems.append("charts without any data table")
    problems += [f"table {name!r} has no caption" for name in found["uncaptioned"]]
    if found["unscoped"]:
        problems.append(f"{found['unscoped']} <th> without scope")
    return [f"{audit.final_url}: {problem}" for problem in problems]


def blocking_violations(audits: list[PageAudit]) -> list[str]:
    lines = []
    for audit in audits:
        if audit.status < 500:  # a crash page is reported below, not picked apart
            lines.extend(structure_problems(audit))
        if audit.status >= 500:
            lines.append(f"{audit.final_url} answered {audit.status}: a server error, not a page")
        for violation in audit.violations:
            if violation.get("impact") in BLOCKING_IMPACTS:
                targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
                lines.append(
                    f"{audit.final_url} [{violation['impact']}] {violation['id']}: "
                    f"{violation['help']} → {targets}"
                )
    return lines


@pytest.fixture(scope="module")
def axe_source() -> str:
    return AXE_SOURCE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def audited_mains() -> set[str]:
    """Fingerprints of <main> contents already audited in this module, across roles."""
    return set()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_has_no_serious_axe_violation(
    browser: Any, demo_site: DemoSite, axe_source: str, audited_mains: set[str], role: str
) -> None:
    audits = audit_role(browser, demo_site, role, axe_source, audited_mains)
    report = save_report(role, audits)
    assert audits, f"no HTML page was audited for {role}"
    problems = blocking_violations(audits)
    assert not problems, f"{len(problems)} blocking problem(s) ({report}):\n" + (
        "\n".join(problems)
    )


# ----- layout, zoom, motion, titles ----------------------------------------------------------

# Pages that span the app's layouts: public text, a long form, a data-entry form, dashboards.
LAYOUT_PAGES = {
    "anonymous": ["/", "/auth/login", "/indicators", "/cities/nordvik", "/accessibility"],
    "city_editor": ["/assessments/", "{assessment}", "{category}", "/compare?city=nordvik"],
}
# Elements that may be wider than the screen: they scroll inside their own frame.
OWN_SCROLL_REGIONS = ".table-scroll, .chart, .chart-wide, .js-plotly-plot"


def layout_urls(site: DemoSite, role: str) -> list[str]:
    samples = site.samples[role]
    assessment = f"/assessments/{samples['assessment_id']}"
    return [
        url.format(
            assessment=assessment,
            category=f"{assessment}/categories/{samples['category_slug']}",
        )
        for url in LAYOUT_PAGES[role]
    ]


def sideways_overflow(page: Any) -> list[str]:
    """Elements sticking out past the right edge (left in RTL), outside own-scroll regions."""
    return list(
        page.evaluate(
            """(regions) => {
                const width = document.documentElement.clientWidth;
                if (document.documentElement.scrollWidth <= width + 1) return [];
                // Only the reading direction's far edge scrolls; elements parked off-screen on
                // the near side on purpose (the skip link until focused) are not overflow.
                const rtl = getComputedStyle(document.documentElement).direction === 'rtl';
                const out = [];
                for (const el of document.body.querySelectorAll('*')) {
                    // Inside a scroll region only absolutely placed elements can escape it.
                    const inside = el.parentElement && el.parentElement.closest(regions);
                    if (inside && !['absolute', 'fixed'].includes(getComputedStyle(el).position))
                        continue;
                    const r = el.getBoundingClientRect();
                    if (r.width && (rtl ? r.left < -1 : r.right > width + 1)) {
                        out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                                 (el.className && typeof el.className === 'string'
                                    ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
                    }
                }
                return out.length ? out.slice(0, 8) : ['document wider than the screen'];
            }""",
            OWN_SCROLL_REGIONS,
        )
    )


@pytest.mark.parametrize(
    ("width", "scale"),
    [(320, 1), (640, 2)],
    ids=["320-css-px", "200-percent-zoom"],
)
def test_pages_reflow_without_sideways_scrolling(
    browser: Any, demo_site: DemoSite, width: int, scale: int
) -> None:
    """WCAG 1.4.10: at 320 CSS px (and at 200 % zoom of a 1280 px window, which is 640 CSS px)
    the page body never scrolls sideways; only tables and charts scroll in their own frame."""
    problems = []
    for role in LAYOUT_PAGES:
        context = open_context(
            browser,
            demo_site,
            role,
            viewport={"width": width, "height": 800},
            device_scale_factor=scale,
        )
        page = context.new_page()
        try:
            for url in layout_urls(demo_site, role):
                page.goto(url)
                overflow = sideways_overflow(page)
                if overflow:
                    problems.append(f"{url} ({role}, {width}px): {overflow}")
        finally:
            context.close()
    assert not problems, "page body scrolls sideways:\n" + "\n".join(problems)


def test_reduced_motion_switches_transitions_and_animations_off(
    browser: Any, demo_site: DemoSite
) -> None:
    context = open_context(browser, demo_site, reduced_motion="reduce")
    page = context.new_page()
    try:
        page.goto("/cities/nordvik")
        assert page.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")
        moving = page.evaluate(
            """() => [...document.querySelectorAll('*')].filter(el => {
                const s = getComputedStyle(el);
                const seconds = v => v.split(',').some(d => parseFloat(d) > 0);
                return seconds(s.transitionDuration) || s.animationName !== 'none';
            }).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''))"""
        )
    finally:
        context.close()
    assert moving == [], f"still animated under prefers-reduced-motion: {moving[:10]}"
