"""Bytes on the wire for a first visit (empty cache) and a repeat visit, measured in Chromium.

Seeds the demo data into a throwaway SQLite file, serves it on 127.0.0.1 with static-asset
fingerprinting and compression switched on (`kpi_app.web.static_assets.init_app`), and opens
each page in a fresh headless Chromium context (Debian's /usr/bin/chromium via Playwright), as
the demo city editor for the data-entry pages and anonymously for the public ones. The
DevTools protocol reports every response's encoded length (`Network.loadingFinished`), which is
what a slow link really carries: headers included, compressed bodies as compressed. The page
is then reloaded in the same context to show what the cache saves.

    .venv/bin/python bench/transfer_size.py [--budget-kb 300]

Exit status 1 if a data-entry page's first load exceeds the budget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
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
    ]


def kb(size: int) -> str:
    return f"{size / 1024:,.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-kb", type=float, default=300.0)
    budget = parser.parse_args().budget_kb * 1024
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
                if is_entry and first.total > budget:
                    over_budget.append(label)
            browser.close()
    finally:
        site.stop()
    if over_budget:
        print(f"over the {kb(int(budget))} KB budget: {', '.join(over_budget)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
