"""Attack pass (Hypothesis) over the import confirm form: forged tokens, racing values."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_app.extensions import db
from kpi_app.models import Role
from kpi_app.services import values
from kpi_app.services.numbers import format_number
from tests.factories import login

FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HOTSPOTS = ("EC: ICT: ICT: 5C", "")
TOKENS = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["../../etc/passwd", "..%2F..%2Fx", "a" * 10, "a" * 65, "\x00" * 12]),
    st.from_regex(r"[A-Za-z0-9_-]{10,64}", fullmatch=True),
)


def _world(make_city: Any, make_user: Any, make_assessment: Any) -> dict[str, Any]:
    city = make_city("lakeside")
    return {
        "assessment": make_assessment(city, 2024),
        "importer": make_user(Role.CITY_EDITOR, city=city, name="Ines"),
        "colleague": make_user(Role.CITY_EDITOR, city=city, name="Bo Nyl"),
    }


@FUZZ
@given(token=TOKENS)
def test_forged_confirm_tokens_never_write_or_crash(
    app: Any, make_city: Any, make_user: Any, make_assessment: Any, token: str
) -> None:
    if not hasattr(app, "_h4_world"):
        app._h4_world = _world(make_city, make_user, make_assessment)
        app._h4_client = app.test_client()
        login(app._h4_client, app._h4_world["importer"].email)
    world, client = app._h4_world, app._h4_client
    a = world["assessment"]
    response = client.post(f"/assessments/{a.id}/import/confirm", data={"token": token})
    assert response.status_code == 302 and response.location.endswith(f"/{a.id}/import")
    db.session.expire_all()
    assert values.records_by_key(a) == {}


AMOUNTS = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False)


@FUZZ
@given(file_value=AMOUNTS, their_value=AMOUNTS)
def test_a_value_saved_between_preview_and_confirm_is_never_overwritten_unseen(
    app: Any,
    make_city: Any,
    make_user: Any,
    make_assessment: Any,
    file_value: Decimal,
    their_value: Decimal,
) -> None:
    if not hasattr(app, "_h4_race"):
        app._h4_race = _world(make_city, make_user, make_assessment)
        app._h4_race_client = app.test_client()
        login(app._h4_race_client, app._h4_race["importer"].email)
    world, client = app._h4_race, app._h4_race_client
    a = world["assessment"]
    db.session.expire_all()
    record = values.records_by_key(a).get(HOTSPOTS)
    before = record.value if record is not None else None
    content = f"code,value\nEC: ICT: ICT: 5C,{file_value}\n".encode()
    preview = client.post(
        f"/assessments/{a.id}/import",
        data={"file": (io.BytesIO(content), "v.csv")},
        content_type="multipart/form-data",
    )
    html = preview.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([\w-]+)"', html)
    if before is not None and float(file_value) == before:
        assert token is None  # nothing to import
        return
    assert preview.status_code == 200 and token, html[:1500]
    version = values.records_by_key(a)[HOTSPOTS].version if record is not None else 0
    saved = values.save_entries(
        a,
        [values.Entry(values.ValueInput(*HOTSPOTS, value=float(their_value)), version)],
        world["colleague"],
    )
    assert not saved.conflicts
    response = client.post(f"/assessments/{a.id}/import/confirm", data={"token": token.group(1)})
    db.session.expire_all()
    stored = values.records_by_key(a)[HOTSPOTS].value
    moved = before is None or float(their_value) != before
    if not moved or float(their_value) == float(file_value):
        assert response.status_code == 302  # nothing changed under the user, or same content
        assert stored == float(file_value)
    else:
        assert response.status_code == 409
        assert stored == float(their_value)
        table = response.get_data(as_text=True).split('id="import-conflicts"', 1)[1]
        row = table.split("</table>", 1)[0]
        assert format_number(float(their_value)) in row and format_number(float(file_value)) in row
        assert "Bo Nyl" in row
