"""Composite scores say which band they are in truthfully: a min-max or percentile score is no
percentage of the target, so its band label is a score band ("Score 66–95 of 100"), never a
U4SSC "% of Target" label; the U4SSC rule keeps its labels."""

from __future__ import annotations

from flask.testing import FlaskClient

from kpi_app.scoring.bands import BAND_LABELS, SCORE_BAND_LABELS
from tests.api.conftest import World
from tests.api.test_scores_peers import URL, _second_city


def labels(body: dict) -> set[str]:
    found = set()
    for key in ("items", "categories", "sub_dimensions", "dimensions"):
        found |= {r["band_label"] for r in body.get(key, []) if r.get("band_label")}
    overall = body.get("overall") or {}
    if overall.get("band_label"):
        found.add(overall["band_label"])
    return found


def test_composite_bands_are_labelled_as_score_bands(
    client: FlaskClient, world: World, make_city, make_assessment
) -> None:
    _second_city(make_city, make_assessment)
    for method in ("minmax-arith", "percentile-arith", "distance-arith"):
        body = client.get(URL, query_string={"method": method}).get_json()
        found = labels(body)
        assert found, method
        assert found <= set(SCORE_BAND_LABELS), (method, found)
    rule = labels(client.get(URL).get_json())
    assert rule and rule <= set(BAND_LABELS)
