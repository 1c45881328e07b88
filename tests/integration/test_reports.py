"""PDF reports are generated, opened back and read: city, dimension scores and the wheel."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from kpi_app.services import reports, seeding


@pytest.fixture
def demo(app):
    seeding.seed_demo()
    return app


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def fill_operations(reader: PdfReader, page: int) -> int:
    """Filled shapes drawn on a page, including inside form XObjects (where SVGs go)."""

    def count(stream_data: bytes, resources) -> int:
        total = len(re.findall(rb"\s(?:f|F|B|b)\*?\s", stream_data))  # fill, or fill + stroke
        xobjects = (resources or {}).get("/XObject", {})
        for ref in xobjects.values():
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form":
                total += count(xobject.get_data(), xobject.get("/Resources"))
        return total

    pdf_page = reader.pages[page]
    return count(pdf_page.get_contents().get_data(), pdf_page.get("/Resources"))


def test_city_snapshot_pdf(client, demo):
    response = client.get("/cities/nordvik/2024/download/snapshot.pdf")
    assert response.mimetype == "application/pdf"
    reader, text = pdf_text(response.data)
    assert 2 <= len(reader.pages) <= 6
    assert "City snapshot" in text
    assert "Nordvik" in text
    with client.application.test_request_context("/"):
        profile = reports.city_profile("nordvik", 2024, None)
    for row in profile.dimensions.itertuples():
        assert re.search(rf"{row.name}\s+{row.score:.1f}\s*%", text), row.name
    # The wheel: its legend text (only the SVG writes "– · Not scored"), its group labels with
    # score and band ("78 % · 3", the wheel's format; drawn without textPath so the PDF has
    # them) and its many segments.
    assert "– · Not scored" in text
    for row in profile.dimensions.itertuples():
        assert re.search(
            rf"{row.name}\s+{row.score:.0f} % · {row.band}", text.replace("\n", " ")
        ), row.name
    assert fill_operations(reader, 0) >= profile.kpi_segments
    assert "KPIs not reported" in text and "Next steps" in text


def test_verification_report_in_french(client, demo):
    response = client.get("/cities/valmorena/2024/download/verification-report.pdf?lang=fr")
    reader, text = pdf_text(response.data)
    assert len(reader.pages) > 3
    assert "Valmorena" in text
    assert "KPI values" in text or "Valeurs" in text
    assert reader.metadata is None or "Valmorena" in (reader.metadata.title or "Valmorena")


def test_unpublished_pdf_is_not_served_to_the_public(client, demo):
    assert client.get("/cities/nordvik/2025/download/snapshot.pdf").status_code == 404
