"""The city PDFs state the confidence grade next to the scores, as text (docs/scoring.md §3.5):
the overall score, each dimension and sub-dimension row, and the wheel's dimension segments."""

from __future__ import annotations

import re

from kpi_app.services import reports
from tests.integration.test_reports import demo, pdf_text  # noqa: F401  (demo is a fixture)


def test_snapshot_pdf_states_confidence_next_to_scores(client, demo):  # noqa: F811
    response = client.get("/cities/nordvik/2024/download/snapshot.pdf")
    assert response.mimetype == "application/pdf"
    _, text = pdf_text(response.data)
    flat = re.sub(r"\s+", " ", text)
    with client.application.test_request_context("/"):
        profile = reports.city_profile("nordvik", 2024, None)
    assert profile.overall["confidence"]
    assert f"Confidence: {profile.overall['confidence']}" in flat
    for row in profile.dimensions.itertuples():
        # The table row: name, score, band, coverage, then the grade.
        assert re.search(rf"{re.escape(row.name)} {row.score:.1f} %.*?{row.confidence}", flat)
    # The wheel writes each dimension's grade under its score, in the reader's language: one
    # "Confidence: …" per dimension on top of the overall line.
    assert flat.count("Confidence: ") >= 1 + len(profile.dimensions)
    assert "confidence: " not in flat  # not the chart's untranslated default


def test_verification_pdf_states_the_overall_confidence(client, demo):  # noqa: F811
    response = client.get("/cities/valmorena/2024/download/verification-report.pdf")
    _, text = pdf_text(response.data)
    with client.application.test_request_context("/"):
        profile = reports.city_profile("valmorena", 2024, None)
    assert profile.overall["confidence"]
    assert f"Confidence: {profile.overall['confidence']}" in re.sub(r"\s+", " ", text)
