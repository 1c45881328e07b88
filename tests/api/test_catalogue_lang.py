"""`GET /api/v1/indicators?lang=LL`: the catalogue in the reader's language (issue 16)."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_indicators_in_chinese_keep_codes_fields_and_paging(client: FlaskClient) -> None:
    english = client.get("/api/v1/indicators", query_string={"page_size": 5}).get_json()
    response = client.get("/api/v1/indicators", query_string={"page_size": 5, "lang": "zh"})
    assert response.status_code == 200
    chinese = response.get_json()
    assert english["data"][0]["name"] == "Household Internet Access"  # default unchanged
    assert chinese["data"][0]["name"] == "住户互联网接入"
    assert chinese["data"][0]["unit"] == "百分比"
    assert [r["code"] for r in chinese["data"]] == [r["code"] for r in english["data"]]
    assert [list(r) for r in chinese["data"]] == [list(r) for r in english["data"]]
    assert "lang=zh" in chinese["links"]["next"]


def test_an_unknown_language_is_refused_clearly(client: FlaskClient) -> None:
    response = client.get("/api/v1/indicators", query_string={"lang": "xx"})
    assert response.status_code == 422
    assert "lang" in response.get_data(as_text=True)
