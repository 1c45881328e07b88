"""Bytes on the wire for a first visit (empty cache) and a repeat visit, measured in Chromium.

Seeds the demo data into a throwaway SQLite file, serves it on 127.0.0.1 with static-asset
fingerprinting and compression switched on (`kpi_app.web.static_assets.init_app`), and opens
each page in a fresh headless Chromium context (Debian's /usr/bin/chromium via Playwright), as
the demo city editor for the data-entry pages and anonymously for the public ones. The
DevTools protocol reports every response's encoded length (`Network.loadingFinished`), which is
what a slow link really carries: headers included, compressed bodies as compressed. The page
is then reloaded in the same context to show what the cache saves.

Then the public pages are loaded again, with an empty cache, under DevTools network throttling
(`Network.emulateNetworkConditions`: 500 kbit/s down, 400 ms latency by default, a slow mobile
link), and the bench reports the time from navigation to the first paint, to the wheel (the
`#wheel svg` element visible: drawn by the server as inline SVG, or by plotly.js in older
versions) and to the load event. Numbers are measured and printed, not asserted.

    .venv/bin/python bench/transfer_size.py [--budget-kb 300] [--kbit 500] [--latency-ms 400]

Exit status 1 if a data-entry page's or the public city profile's first load exceeds the budget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_accessibility import DemoSite, open_context, start_demo_site


@dataclass
class Transfer:
    """Encoded bytes per resource type for one page load."""

    by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_type.values())


def measure_load(page: Any, url: str, *, reload: bool = False) -> Transfer:
    """Load (or reload) `url` and add up the encoded bytes of every response."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    kinds: dict[str, str] = {}
    transfer = Transfer()

    def on_response(event: dict[str, Any]) -> None:
        kinds[event["requestId"]] = event.get("type", "Other")

    def on_finished(event: dict[str, Any]) -> None:
        transfer.by_type[kinds.get(event["requestId"], "Other")] += int(event["encodedDataLength"])
        transfer.requests += 1

    session.on("Network.responseReceived", on_response)
    session.on("Network.loadingFinished", on_finished)
    if reload:
        page.reload(wait_until="networkidle")
    else:
        # Logging in fetched the stylesheet already: empty the cache so this is a true first
        # load (the session cookie stays).
        session.send("Network.clearBrowserCache")
        page.goto(url, wait_until="networkidle")
    session.detach()
    return transfer


def pages(site: DemoSite) -> list[tuple[str, str, bool]]:
    """(label, url, is data entry) for the pages measured, with their role."""
    samples = site.samples["city_editor"]
    assessment = f"/assessments/{samples['assessment_id']}"
    return [
        ("data entry: assessments list", "/assessments/", True),
        ("data entry: assessment overview", assessment, True),
        ("data entry: category form", f"{assessment}/categories/{samples['category_slug']}", True),
        ("data entry: city profile", f"{assessment}/profile", True),
        ("public: home", "/", False),
        ("public: indicator catalogue", "/indicators", False),
        ("dashboard: city profile (charts)", "/cities/nordvik", False),
        ("dashboard: compare", "/compare?city=nordvik&city=valmorena&city=al-nahra", False),
        ("dashboard: city map and list", "/cities", False),
    ]


@dataclass
class SlowLoad:
    """Seconds from navigation under throttling (None when the page has no wheel)."""

    first_paint: float | None
    wheel: float | None
    load: float


def measure_throttled(page: Any, url: str, *, kbit: float, latency_ms: float) -> SlowLoad:
    """Load `url` with an empty cache over an emulated slow link; time paint, wheel and load."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.clearBrowserCache")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": kbit * 1000 / 8,
            "uploadThroughput": kbit * 1000 / 8,
        },
    )
    started = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=120_000)
    wheel: float | None = None
    if "/cities/" in url:
        page.wait_for_selector("#wheel svg", state="visible", timeout=120_000)
        wheel = time.perf_counter() - started
    page.wait_for_load_state("load", timeout=120_000)
    load = time.perf_counter() - started
    paint = page.evaluate(
        """() => {
            const entry = performance.getEntriesByName('first-contentful-paint')[0];
            return entry ? entry.startTime / 1000 : null;
        }"""
    )
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    session.detach()
    return SlowLoad(paint, wheel, load)


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def kb(size: int) -> str:
    return f"{size / 1024:,.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-kb", type=float, default=300.0)
    parser.add_argument("--kbit", type=float, default=500.0, help="throttled download speed")
    parser.add_argument("--latency-ms", type=float, default=400.0, help="throttled latency")
    args = parser.parse_args()
    budget = args.budget_kb * 1024
    site = start_demo_site(Path(tempfile.mkdtemp(prefix="kpi-transfer-")))
    over_budget = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            print("| page | first load (KB) | requests | of which scripts | repeat visit (KB) |")
            print("|---|---|---|---|---|")
            for label, url, is_entry in pages(site):
                role = "city_editor" if is_entry else "anonymous"
                context = open_context(browser, site, role)
                page = context.new_page()
                first = measure_load(page, url)
                again = measure_load(page, url, reload=True)
                context.close()
                print(
                    f"| {label} (`{url}`) | {kb(first.total)} | {first.requests} | "
                    f"{kb(first.by_type.get('Script', 0))} | {kb(again.total)} |"
                )
                if (is_entry or "city profile" in label) and first.total > budget:
                    over_budget.append(label)
            print()
            print(
                f"Throttled to {args.kbit:g} kbit/s with {args.latency_ms:g} ms latency, "
                "empty cache (seconds from navigation):"
            )
            print()
            print("| page | first paint (s) | wheel visible (s) | load event (s) |")
            print("|---|---|---|---|")
            for label, url, is_entry in pages(site):
                if is_entry:
                    continue
                context = open_context(browser, site, "anonymous")
                page = context.new_page()
                slow = measure_throttled(page, url, kbit=args.kbit, latency_ms=args.latency_ms)
                context.close()
                print(
                    f"| {label} (`{url}`) | {seconds(slow.first_paint)} | {seconds(slow.wheel)} "
                    f"| {seconds(slow.load)} |"
                )
            browser.close()
    finally:
        site.stop()
    if over_budget:
        print(f"over the {kb(int(budget))} KB budget: {', '.join(over_budget)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
