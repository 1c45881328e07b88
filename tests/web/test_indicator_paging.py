"""The indicator page shows a page of its values, not every city's (issue 20).

At 1,000 cities × 10 years one KPI's page rendered 46,740 table rows and a chart of 4,674
series (32 MB, 25 s). It now shows 50 rows a page (``?page=``, Previous/Next links) and a
chart of the median and quartiles per year: with 3 and with 13 published cities a new page
issues the same statements and shows at most 50 rows.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import numpy as np
import pytest
from sqlalchemy import select, update

from kpi_app.extensions import db
from kpi_app.models import PublishedValue
from kpi_app.services.reports import INDICATOR_PAGE_SIZE
from kpi_app.services.reports import indicators as indicator_reports
from tests.web.test_page_work import counting, grow  # noqa: F401 - the fixture

CODE = "EN: EN: AQ: 1C"  # two data points (pm25, pm10), two published years per city
URL = "/indicators/" + quote(CODE)


def table_rows(html: str) -> list[str]:
    table = html.split('id="indicator-values-table"')[1].split("</table>")[0]
    return re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, flags=re.S)


def pager_links(html: str) -> dict[str, str]:
    """rel → href of the pager under the table (HTML-unescaped)."""
    found = re.findall(r'<a rel="(prev|next)" href="([^"]+)"', html)
    return {rel: href.replace("&amp;", "&") for rel, href in found}


def test_the_page_costs_the_same_at_two_sizes(client, grow):  # noqa: F811 - pytest fixture
    measured = []
    for size in (3, 13):  # 12 values (one page), then 52 (two pages)
        grow(size)
        with counting() as cold:
            first = client.get(URL).get_data(as_text=True)
        with counting() as second_page:  # the summary is cached: only this page's rows
            last = client.get(URL + "?page=2").get_data(as_text=True)
        measured.append((size, cold, second_page, first, last))
    (_, small_cold, small_next, small_first, _), (_, big_cold, big_next, big_first, big_last) = (
        measured
    )
    assert big_cold.statements == small_cold.statements
    assert big_next.statements == small_next.statements < big_cold.statements
    assert big_cold.assessments == small_cold.assessments == 0
    assert len(table_rows(small_first)) == 12 and pager_links(small_first) == {}
    assert len(table_rows(big_first)) == INDICATOR_PAGE_SIZE
    assert len(table_rows(big_last)) == 52 - INDICATOR_PAGE_SIZE
    assert "52 published values from 13 cities" in big_first
    assert "51 to 52 of 52 shown" in big_last


def test_previous_and_next_links_page_through_every_value(client, grow):  # noqa: F811
    made = grow(13)
    html = client.get(URL).get_data(as_text=True)
    seen = table_rows(html)
    links = pager_links(html)
    assert "prev" not in links and "Page 1 of 2" in html
    second = client.get(links["next"]).get_data(as_text=True)  # a plain link, no script
    assert "Page 2 of 2" in second and "next" not in pager_links(second)
    seen += table_rows(second)
    back = client.get(pager_links(second)["prev"]).get_data(as_text=True)
    assert table_rows(back) == table_rows(html)
    assert len(seen) == len(set(seen)) == 13 * 2 * 2  # every (city, year, data point) once
    assert all(sum(slug.title() in row for row in seen) == 4 for slug in made)


@pytest.mark.parametrize(
    ("query", "shown"),
    [("0", 1), ("-3", 1), ("abc", 1), ("2", 2), ("99", 2), (str(2**63), 1), (str(2**31 - 1), 2)],
)
def test_page_numbers_are_bounded(client, grow, query, shown):  # noqa: F811
    grow(13)
    response = client.get(f"{URL}?page={query}")
    assert response.status_code == 200
    assert f"Page {shown} of 2" in response.get_data(as_text=True)


def test_the_chart_quartiles_are_numpys(app, grow):  # noqa: F811
    """The quartiles ranked in SQL equal numpy's (linear interpolation) on varied values."""
    grow(7)
    rows = db.session.scalars(select(PublishedValue).where(PublishedValue.code == CODE)).all()
    for n, row in enumerate(rows):
        db.session.execute(
            update(PublishedValue)
            .where(PublishedValue.id == row.id)
            .values(value=float((n * 37) % 23) + n / 10)
        )
    db.session.commit()
    with app.test_request_context("/?lang=en"):
        quartiles = indicator_reports._summary(CODE).quartiles
        table = indicator_reports.indicator_table(CODE)
    assert len(quartiles) == 2 * 2 * 3  # data points × years × quartiles
    for (point, year), group in table.groupby(["data_point", "year"]):
        expected = np.quantile(group["value"].astype(float), [0.25, 0.5, 0.75])
        got = quartiles[(quartiles["data_point"] == point) & (quartiles["year"] == year)]
        assert got["cities"].tolist() == [7, 7, 7]
        np.testing.assert_allclose(got.sort_values("quantile")["value"], expected)
