"""Import confirm after a concurrent edit: refused per value, nothing written (issue 14.2).

Two people in two browsers: one previews a file, the other saves the same value in the
category form, then the first confirms. The confirm must not overwrite the newer value.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Role
from kpi_app.services import values
from tests.factories import login

ICT = "/assessments/{id}/categories/ec-ict-ict"
HOTSPOTS = ("EC: ICT: ICT: 5C", "")
FIELD = "item_ec_ict_ict_5c-"


def save_in_form(client: FlaskClient, assessment_id: int, value: str) -> None:
    """What a person does in the category form: open it, type a value, save."""
    html = client.get(ICT.format(id=assessment_id)).get_data(as_text=True)
    version = re.search(rf'name="{FIELD}version" type="hidden" value="(\d+)"', html)
    original = re.search(rf'name="{FIELD}original" type="hidden" value="(\w+)"', html)
    assert version and original, html[:400]
    response = client.post(
        ICT.format(id=assessment_id),
        data={
            FIELD + "value": value,
            FIELD + "version": version.group(1),
            FIELD + "original": original.group(1),
            FIELD + "source": "Colleague's count",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def preview(client: FlaskClient, assessment_id: int, content: bytes) -> str:
    response = client.post(
        f"/assessments/{assessment_id}/import",
        data={"file": (io.BytesIO(content), "values.csv")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    token = re.search(r'name="token" type="hidden" value="([\w-]+)"', html)
    assert token, html
    return token.group(1)


def stored(assessment: Any, key: tuple[str, str]) -> float | None:
    db.session.expire_all()
    record = values.records_by_key(assessment).get(key)
    return record.value if record is not None else None


def test_confirm_refuses_a_value_changed_since_the_preview_and_writes_nothing(
    app: Flask,
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> None:
    city = make_city("lakeside")
    importer = make_user(Role.CITY_EDITOR, city=city, email="ines@lakeside.example", name="Inès")
    colleague = make_user(Role.CITY_EDITOR, city=city, email="bo@lakeside.example", name="Bo Nyl")
    assessment = make_assessment(city, 2024)
    mine, theirs = app.test_client(), app.test_client()
    login(mine, importer.email)
    login(theirs, colleague.email)
    for value in ("10", "20", "30", "40", "55.55"):  # the value is at version 5
        save_in_form(theirs, assessment.id, value)
    assert values.records_by_key(assessment)[HOTSPOTS].version == 5

    file = b"code,value,source\nEC: ICT: ICT: 5C,77.77,registry\nEC: ICT: ICT: 1C,42,survey\n"
    token = preview(mine, assessment.id, file)
    save_in_form(theirs, assessment.id, "66.66")  # version 6, after the preview

    refused = mine.post(f"/assessments/{assessment.id}/import/confirm", data={"token": token})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "nothing was imported" in html
    conflicts = html.split('id="import-conflicts"', 1)[1].split("</table>", 1)[0]
    assert "EC: ICT: ICT: 5C" in conflicts and "Bo Nyl" in conflicts
    assert "66.66" in conflicts and "77.77" in conflicts
    assert "EC: ICT: ICT: 1C" not in conflicts  # untouched by the colleague: no conflict
    # Nothing written: neither the conflicting value nor the other row of the file.
    assert stored(assessment, HOTSPOTS) == 66.66
    assert stored(assessment, ("EC: ICT: ICT: 1C", "")) is None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == importer.id))
    assert [event.action for event in events] == ["save_conflict"]  # what the file said is kept

    # The page is a fresh preview: the importer saw 66.66 and may now replace it knowingly.
    assert "Import these changes" in html
    done = mine.post(f"/assessments/{assessment.id}/import/confirm", data={"token": token})
    assert done.status_code == 302
    assert stored(assessment, HOTSPOTS) == 77.77
    assert stored(assessment, ("EC: ICT: ICT: 1C", "")) == 42


def test_a_value_first_entered_by_someone_else_after_the_preview_is_a_conflict(
    app: Flask,
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> None:
    city = make_city("lakeside")
    importer = make_user(Role.CITY_EDITOR, city=city)
    colleague = make_user(Role.CITY_EDITOR, city=city, name="Bo Nyl")
    assessment = make_assessment(city, 2024)
    mine, theirs = app.test_client(), app.test_client()
    login(mine, importer.email)
    login(theirs, colleague.email)
    token = preview(mine, assessment.id, b"code,value\nEC: ICT: ICT: 5C,12\n")
    save_in_form(theirs, assessment.id, "9")  # the value did not exist at the preview
    refused = mine.post(f"/assessments/{assessment.id}/import/confirm", data={"token": token})
    assert refused.status_code == 409
    conflicts = refused.get_data(as_text=True).split('id="import-conflicts"', 1)[1]
    assert "Bo Nyl" in conflicts.split("</table>", 1)[0]
    assert stored(assessment, HOTSPOTS) == 9


def test_a_file_equal_to_the_newer_value_is_not_a_conflict(
    app: Flask,
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> None:
    city = make_city("lakeside")
    importer = make_user(Role.CITY_EDITOR, city=city)
    colleague = make_user(Role.CITY_EDITOR, city=city)
    assessment = make_assessment(city, 2024)
    mine, theirs = app.test_client(), app.test_client()
    login(mine, importer.email)
    login(theirs, colleague.email)
    token = preview(mine, assessment.id, b"code,value,source\nEC: ICT: ICT: 5C,12,x\n")
    theirs_html = theirs.get(ICT.format(id=assessment.id))
    assert theirs_html.status_code == 200
    values.save_entries(
        assessment,
        [values.Entry(values.ValueInput("EC: ICT: ICT: 5C", value=12, source="x"), 0)],
        colleague,
    )
    done = mine.post(f"/assessments/{assessment.id}/import/confirm", data={"token": token})
    assert done.status_code == 302  # the same content: nothing lost, nothing to refuse
    assert stored(assessment, HOTSPOTS) == 12
