"""The live computed-value preview carries its label in the page's language."""

from __future__ import annotations

import pytest

from kpi_app.models import Role
from tests.factories import login


@pytest.mark.parametrize(
    ("lang", "label"),
    [("en", "Computed value:"), ("es", "Valor calculado:"), ("ru", "Рассчитанное значение:")],
)
def test_preview_label_is_translated(client, make_city, make_user, make_assessment, lang, label):
    city = make_city("previewtown")
    editor = make_user(Role.CITY_EDITOR, city=city)
    assessment = make_assessment(city, 2024)
    login(client, editor.email)
    page = client.get(f"/assessments/{assessment.id}/categories/ec-ict-ict?lang={lang}")
    assert page.status_code == 200
    assert f'data-label="{label}"' in page.get_data(as_text=True)
