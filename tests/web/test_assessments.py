"""The data-entry pages through the test client: permissions, forms, validation, import."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Role, Status
from kpi_app.services import data_io, values
from kpi_app.services.values import Entry, ValueInput
from tests.factories import login

ICT = "/assessments/{id}/categories/ec-ict-ict"
P = "item_ec_ict_ict_1c-"  # Household Internet Access (a share)
DIRECT = "item_ec_ict_ict_5c-"  # Public Wi-Fi hotspots (a count)


@pytest.fixture
def setting(
    make_city: Callable[..., Any],
    make_user: Callable[..., Any],
    make_assessment: Callable[..., Any],
) -> dict[str, Any]:
    city = make_city("lakeside")
    other = make_city("hillton")
    return {
        "city": city,
        "editor": make_user(Role.CITY_EDITOR, city=city, email="editor@lakeside.example"),
        "stranger": make_user(Role.CITY_EDITOR, city=other, email="editor@hillton.example"),
        "verifier": make_user(Role.VERIFIER, email="verifier@example.org"),
        "coordinator": make_user(Role.COORDINATOR, email="coord@example.org"),
        "assessment": make_assessment(city, 2024),
    }


def page_of(client: FlaskClient, setting: dict[str, Any], who: str = "editor") -> FlaskClient:
    login(client, setting[who].email)
    return client


def test_anonymous_users_are_sent_to_log_in(client: FlaskClient, setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    for url in (
        "/assessments/",
        f"/assessments/{a.id}",
        ICT.format(id=a.id),
        f"/assessments/{a.id}/export.csv",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.location


def test_other_cities_and_unassigned_verifiers_get_403(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    a = setting["assessment"]
    values.save_entries(a, [Entry(ValueInput("EC: ICT: ICT: 5C", value=4321))], setting["editor"])
    page_of(client, setting, "stranger")
    for url in (
        f"/assessments/{a.id}",
        ICT.format(id=a.id),
        f"/assessments/{a.id}/export.csv",
        f"/assessments/{a.id}/export.xlsx",
        f"/assessments/{a.id}/import",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"4321" not in response.data
    assert b"lakeside" not in client.get("/assessments/").data.lower()
    response = client.post(ICT.format(id=a.id), data={DIRECT + "value": "1"})
    assert response.status_code == 403


def test_coordinator_reads_but_cannot_edit(client: FlaskClient, setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    page_of(client, setting, "coordinator")
    response = client.get(ICT.format(id=a.id))
    assert response.status_code == 200 and b"not change them" in response.data
    assert client.post(ICT.format(id=a.id), data={DIRECT + "value": "1"}).status_code == 403


def test_index_lists_visible_assessments_and_opens_a_year(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    page_of(client, setting)
    index = client.get("/assessments/")
    assert b"Lakeside" in index.data and b"Open a new reporting year" in index.data
    response = client.post("/assessments/open", data={"city": setting["city"].id, "year": "2025"})
    assert response.status_code == 302
    again = client.post("/assessments/open", data={"city": setting["city"].id, "year": "2025"})
    assert again.status_code == 400 and b"already has an assessment" in again.data
    stranger_city = client.post(
        "/assessments/open", data={"city": setting["stranger"].city_id, "year": "2026"}
    )
    assert stranger_city.status_code == 400  # not a choice offered to this editor


def test_assessment_page_shows_completeness_and_links(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    html = client.get(f"/assessments/{a.id}").get_data(as_text=True)
    assert "0 of 112 reported" in html
    assert ICT.format(id=a.id) in html
    assert (
        "Submit for verification" not in html or "verification" in html
    )  # only when the endpoint exists
    client.post(
        ICT.format(id=a.id),
        data={P + "numerator": "50", P + "denominator": "200", P + "version": "0"},
    )
    assert "1 of 112 reported" in client.get(f"/assessments/{a.id}").get_data(as_text=True)


def test_saving_a_category_computes_and_explains_numbers(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    response = client.post(
        ICT.format(id=a.id),
        data={
            P + "numerator": "95\u00a0424",
            P + "denominator": "1.000.000",
            P + "version": "0",
            P + "quality": "2",
            P + "source": "Census",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "was read as 95424" in html and "was read as 1000000" in html
    assert "9.542" in html  # the computed value is shown after saving
    stored = values.records_by_key(a)[("EC: ICT: ICT: 1C", "")]
    assert stored.computed_value == pytest.approx(9.5424) and stored.quality == 2
    audit = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.entity_type == "indicator_value")
    ).all()
    assert len(audit) == 1 and audit[0].actor_id == setting["editor"].id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({P + "numerator": "abc", P + "denominator": "10"}, "is not a number"),
        ({P + "numerator": "20", P + "denominator": "10"}, "cannot be larger than the denominator"),
        ({P + "numerator": "-2", P + "denominator": "10"}, "cannot be negative"),
        ({P + "numerator": "2"}, "Enter both"),
        (
            {P + "numerator": "2", P + "denominator": "10", P + "value": "30"},
            "give a reason for the override",
        ),
        ({P + "not_reported": "y"}, "Say why"),
        ({DIRECT + "value": "-4"}, "cannot be negative"),
        ({P + "numerator": "2", P + "denominator": "10", P + "data_year": "20x4"}, "Enter a year"),
    ],
)
def test_invalid_input_is_kept_and_explained(
    client: FlaskClient, setting: dict[str, Any], data: dict[str, str], message: str
) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    response = client.post(ICT.format(id=a.id), data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html and "There is a problem" in html
    for typed in data.values():
        if typed != "y":
            assert f'value="{typed}"' in html  # the user's input is still there
    assert values.records_by_key(a) == {}


def test_out_of_range_needs_a_comment(client: FlaskClient, setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    rate = "item_ec_ict_ict_3c-"
    data = {rate + "numerator": "9000000", rate + "denominator": "1000"}
    first = client.post(ICT.format(id=a.id), data=data)
    assert first.status_code == 400 and b"outside the usual range" in first.data
    second = client.post(
        ICT.format(id=a.id), data=data | {rate + "comment": "counts SIMs of commuters"}
    )
    assert second.status_code == 302
    assert values.records_by_key(a)[("EC: ICT: ICT: 3C", "")].comment == "counts SIMs of commuters"


def test_yes_no_kpis_are_radios(client: FlaskClient, setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    url = f"/assessments/{a.id}/categories/sc-sh-sa"
    html = client.get(url).get_data(as_text=True)
    assert 'type="radio"' in html and 'name="item_sc_sh_sa_3a-value"' in html
    assert client.post(url, data={"item_sc_sh_sa_3a-value": "yes"}).status_code == 302
    assert values.records_by_key(a)[("SC: SH: SA: 3A", "")].value == 1.0


def test_concurrent_edit_shows_both_values(
    client: FlaskClient, setting: dict[str, Any], make_user: Callable[..., Any]
) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    client.post(ICT.format(id=a.id), data={DIRECT + "value": "10", DIRECT + "version": "0"})
    html = client.get(ICT.format(id=a.id)).get_data(as_text=True)
    version = re.search(r'name="item_ec_ict_ict_5c-version" type="hidden" value="(\d+)"', html)
    original = re.search(r'name="item_ec_ict_ict_5c-original" type="hidden" value="(\w+)"', html)
    assert version and original
    colleague = make_user(Role.CITY_EDITOR, city=setting["city"], name="Colleague")
    values.save_entries(
        a, [Entry(ValueInput("EC: ICT: ICT: 5C", value=11), int(version.group(1)))], colleague
    )
    mine = {
        DIRECT + "value": "12",
        DIRECT + "version": version.group(1),
        DIRECT + "original": original.group(1),
    }
    response = client.post(ICT.format(id=a.id), data=mine)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert (
        "Changed by someone else" in html
        and "<strong>12</strong>" in html
        and "<strong>11</strong>" in html
    )
    assert values.records_by_key(a)[("EC: ICT: ICT: 5C", "")].computed_value == 11
    # Saving the re-rendered form again keeps mine, deliberately.
    again = dict(mine)
    again[DIRECT + "version"] = re.search(
        r'name="item_ec_ict_ict_5c-version" type="hidden" value="(\d+)"', html
    ).group(1)  # type: ignore[union-attr]
    again[DIRECT + "original"] = re.search(
        r'name="item_ec_ict_ict_5c-original" type="hidden" value="(\w+)"', html
    ).group(1)  # type: ignore[union-attr]
    assert client.post(ICT.format(id=a.id), data=again).status_code == 302
    assert values.records_by_key(a)[("EC: ICT: ICT: 5C", "")].computed_value == 12


def test_locked_assessment_forms_are_read_only(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    a = setting["assessment"]
    a.status = Status.SUBMITTED
    db.session.commit()
    page_of(client, setting)
    assert client.get(ICT.format(id=a.id)).status_code == 200
    response = client.post(ICT.format(id=a.id), data={DIRECT + "value": "1"})
    assert response.status_code == 403 and b"draft or returned" in response.data
    assert client.get(f"/assessments/{a.id}/import").status_code == 403


def test_city_profile_form(client: FlaskClient, setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    bad = client.post(
        f"/assessments/{a.id}/profile", data={"population": "-5", "currency": "ZZZ", "gdp": "1"}
    )
    assert bad.status_code == 400 and b"more than zero" in bad.data and b"ISO 4217" in bad.data
    ok = client.post(
        f"/assessments/{a.id}/profile",
        data={
            "population": "95 424",
            "households": "40 000",
            "currency": "nok",
            "gdp": "1.234.567",
        },
    )
    assert ok.status_code == 302
    html = client.get(ICT.format(id=a.id)).get_data(as_text=True)
    assert "Use the figure from the city profile" in html and "95424" in html.replace(
        ",", ""
    ).replace("\u00a0", "")
    rate = "item_ec_ict_ict_3c-"
    # Untouched items arrive with the box ticked and the script-filled denominator: no error.
    untouched = {P + "use_fact": "y", P + "denominator": "40000"}
    saved = client.post(
        ICT.format(id=a.id), data={rate + "numerator": "95424", rate + "use_fact": "y"} | untouched
    )
    assert saved.status_code == 302
    stored = values.records_by_key(a)[("EC: ICT: ICT: 3C", "")]
    assert stored.denominator == 95424 and stored.computed_value == pytest.approx(100_000)


def test_downloads(client: FlaskClient, setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    xlsx = client.get(f"/assessments/{a.id}/export.xlsx")
    assert (
        xlsx.status_code == 200
        and xlsx.data.startswith(b"PK")
        and "attachment" in xlsx.headers["Content-Disposition"]
    )
    assert (
        client.get(f"/assessments/{a.id}/export.csv")
        .data.decode("utf-8-sig")
        .startswith("code,data_point")
    )
    assert client.get(f"/assessments/{a.id}/export.pdf").status_code == 404


def test_upload_preview_then_confirm(client: FlaskClient, setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    content = b"code,value,source\nEC: ICT: ICT: 5C,42,registry\nEC: ICT: ICT:2C,55,survey\n"
    preview = client.post(
        f"/assessments/{a.id}/import",
        data={"file": (io.BytesIO(content), "values.csv")},
        content_type="multipart/form-data",
    )
    html = preview.get_data(as_text=True)
    assert (
        preview.status_code == 200 and "What will change" in html and "Import these changes" in html
    )
    assert values.records_by_key(a) == {}  # nothing written before confirming
    token = re.search(r'name="token" type="hidden" value="([\w-]+)"', html)
    assert token
    done = client.post(f"/assessments/{a.id}/import/confirm", data={"token": token.group(1)})
    assert done.status_code == 302
    assert values.records_by_key(a)[("EC: ICT: ICT: 5C", "")].computed_value == 42
    replay = client.post(f"/assessments/{a.id}/import/confirm", data={"token": token.group(1)})
    assert replay.status_code == 302 and "import" in replay.location


def test_broken_upload_reports_rows_and_columns(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    content = (
        b"code,value,unit\nEC: ICT: ICT: 5C,12,\nEC: XX: ICT: 5C,1,\n"
        b"EC: ICT: ICT: 1C,lots,\nEC: ICT: ICT: 1C,5,kg\n"
    )
    response = client.post(
        f"/assessments/{a.id}/import",
        data={"file": (io.BytesIO(content), "broken.csv")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing was saved" in html
    assert re.search(r"<td class=\"num\">3</td>\s*<td>code</td>", html)
    assert re.search(r"<td class=\"num\">4</td>\s*<td>value</td>", html)
    assert re.search(r"<td class=\"num\">5</td>\s*<td>unit</td>", html)
    assert "Import these changes" not in html and values.records_by_key(a) == {}


def test_fake_workbook_upload_is_refused(client: FlaskClient, setting: dict[str, Any]) -> None:
    a = setting["assessment"]
    page_of(client, setting)
    response = client.post(
        f"/assessments/{a.id}/import",
        data={"file": (io.BytesIO(b"<html>not excel</html>"), "values.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and b"not an Excel workbook" in response.data


FIELD_TEXT = st.one_of(
    st.text(max_size=25),
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "1e400",
            "-1",
            "9" * 30,
            "1,5",
            "95\u00a0424",
            "",
            " ",
            "0",
            "<script>",
            "٣٤",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
)
FORM = st.dictionaries(
    st.sampled_from(
        [
            P + "numerator",
            P + "denominator",
            P + "value",
            P + "override_reason",
            P + "data_year",
            P + "quality",
            P + "source_url",
            P + "not_reported",
            P + "version",
            P + "use_fact",
            DIRECT + "value",
            DIRECT + "comment",
            "item_ec_ict_ict_4c_3g-value",
        ]
    ),
    FIELD_TEXT.map(lambda text: text.replace("\x00", "")),
    max_size=6,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=FORM)
def test_random_form_input_never_crashes_or_half_saves(
    client: FlaskClient, setting: dict[str, Any], data: dict[str, str]
) -> None:
    a = setting["assessment"]
    if not getattr(client, "_logged_in", False):
        page_of(client, setting)
        client._logged_in = True  # type: ignore[attr-defined]
    before = data_io.export_rows(a)
    response = client.post(ICT.format(id=a.id), data=data)
    assert response.status_code in (302, 400, 409)
    if response.status_code == 400:
        assert b"There is a problem" in response.data
        assert data_io.export_rows(a) == before  # a rejected form writes nothing
