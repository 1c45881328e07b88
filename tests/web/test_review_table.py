"""Honest verification (issue 13 item 3) and the review table (issue 15) through the web client.

Every value on one page, filterable; per-row decision and question as plain forms; bulk
verification of the values the screening did not flag; "Mark verified" refused while a
reported value has no decision; submission refused (and explained by category) while a
reported value lacks a source or a quality level; the verified share on the public page,
its PDF and the API record.
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader

from kpi_app.extensions import db
from kpi_app.models import AuditEvent, Role, Status, ValueQuery
from kpi_app.services import workflow
from tests.factories import add_value, login, set_status

INTERNET = "EC: ICT: ICT: 1C"
BROADBAND = "EC: ICT: ICT: 2C"  # above Internet access: flagged by the screening
UNEMPLOYMENT = "EC: P: EM: 1C"
YOUTH = "EC: P: EM: 2C"


@pytest.fixture
def world(make_city, make_user, make_assessment):
    city = make_city("alpha")
    assessment = make_assessment(city)
    editor = make_user(Role.CITY_EDITOR, city)
    verifier = make_user(Role.VERIFIER)
    coordinator = make_user(Role.COORDINATOR)
    workflow.assign_verifier(assessment, verifier, coordinator)
    rows = {
        code: add_value(assessment, code, number, actor=editor, unit="%")
        for code, number in (
            (INTERNET, 70.0),
            (BROADBAND, 85.0),
            (UNEMPLOYMENT, 5.0),
            (YOUTH, 12.0),
        )
    }
    return {
        "a": assessment,
        "rows": rows,
        "editor": editor,
        "verifier": verifier,
        "coordinator": coordinator,
    }


def text(response):
    return response.get_data(as_text=True)


def review_url(world, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/verification/assessments/{world['a'].id}" + (f"?{query}" if query else "")


@pytest.fixture
def verifier(app, world):
    set_status(world["a"], Status.IN_REVIEW)
    client = app.test_client()
    login(client, world["verifier"].email)
    return client


def test_mark_verified_is_refused_until_every_value_is_decided(verifier, world):
    response = verifier.post(f"/verification/assessments/{world['a'].id}/verify")
    page = text(verifier.get(response.headers["Location"]))
    assert "4 of 4 reported values have no verification decision yet" in page
    assert world["a"].status is Status.IN_REVIEW
    assert "0 of 4 reported values verified" in page
    assert "Decide on every reported value first (4 left)." in page


def test_bulk_verify_the_unflagged_values_shown_then_the_flagged_one_by_row(verifier, world):
    rows = world["rows"]
    page = text(verifier.get(review_url(world, flagged="no")))
    assert "Verify the 3 values shown without screening flags" in page
    assert f'id="row-{rows[BROADBAND].id}"' not in page  # filtered out: it is flagged
    shown = re.search(r'name="shown" value="([^"]*)"', page).group(1)
    response = verifier.post(
        f"/verification/assessments/{world['a'].id}/bulk-verify",
        data={"code": "consistent", "scope": "shown", "shown": shown, "flagged": "no"},
    )
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"flagged": ["no"]}
    for code in (INTERNET, UNEMPLOYMENT, YOUTH):
        db.session.refresh(rows[code])
        assert rows[code].verified is True and rows[code].verification_code == "consistent"
    assert rows[BROADBAND].verified is None
    bulk_events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.reason == workflow.BULK_REASON)
    ).all()
    assert sorted(e.entity_id for e in bulk_events) == sorted(
        rows[c].id for c in (INTERNET, UNEMPLOYMENT, YOUTH)
    )

    # The flagged value, one row form: "not verified" needs a note, then it saves.
    page = text(verifier.get(review_url(world)))
    assert (
        f'href="/verification/assessments/{world["a"].id}#row-{rows[BROADBAND].id}" '
        'id="next-flagged"' in page
    )
    filtered = text(verifier.get(review_url(world, category="EC: P: EM")))
    assert (
        f'href="/verification/assessments/{world["a"].id}?flagged=yes#row-{rows[BROADBAND].id}"'
        in filtered
    )
    value = rows[BROADBAND]
    url = f"/verification/values/{value.id}/decision"
    no_note = verifier.post(
        url, data={f"d{value.id}-version": value.version, f"d{value.id}-code": "implausible"}
    )
    assert "Say in a note what the city should fix." in text(
        verifier.get(no_note.headers["Location"])
    )
    assert value.verified is None
    saved = verifier.post(
        url,
        data={
            f"d{value.id}-version": value.version,
            f"d{value.id}-code": "implausible",
            f"d{value.id}-note": "Business lines counted",
        },
    )
    assert saved.headers["Location"].endswith(f"#row-{value.id}")
    db.session.refresh(value)
    assert value.verified is False and value.verification_note == "Business lines counted"

    done = verifier.post(f"/verification/assessments/{world['a'].id}/verify")
    assert done.status_code == 302 and world["a"].status is Status.VERIFIED


def test_selected_values_bulk_verify_skips_flagged_ones(verifier, world):
    rows = world["rows"]
    select = [f"{rows[c].id}:{rows[c].version}" for c in (INTERNET, BROADBAND)]
    response = verifier.post(
        f"/verification/assessments/{world['a'].id}/bulk-verify",
        data={"code": "source_checked", "scope": "selected", "select": select},
        follow_redirects=True,
    )
    page = text(response)
    assert "1 values verified." in page
    assert "1 selected values were left for one-by-one review: 1 flagged" in page
    assert rows[INTERNET].verified is True and rows[BROADBAND].verified is None
    refused = verifier.post(
        f"/verification/assessments/{world['a'].id}/bulk-verify",
        data={"code": "", "scope": "selected", "select": select},
        follow_redirects=True,
    )
    assert "Choose the reason for the values you verify together." in text(refused)


def test_row_decision_moves_to_the_next_flagged_value(verifier, world):
    rows = world["rows"]
    extra = add_value(world["a"], "SC: EH: ED: 2C", 130.0, actor=world["editor"])  # enrolment > 100
    value = rows[INTERNET]
    response = verifier.post(
        f"/verification/values/{value.id}/decision",
        data={f"d{value.id}-version": value.version, f"d{value.id}-code": "source_checked"},
    )
    assert response.headers["Location"].endswith(f"#row-{rows[BROADBAND].id}")
    value = rows[BROADBAND]
    response = verifier.post(
        f"/verification/values/{value.id}/decision",
        data={f"d{value.id}-version": value.version, f"d{value.id}-code": "recalculated"},
    )
    assert response.headers["Location"].endswith(f"#row-{extra.id}")


def test_filters_by_category_decision_and_open_queries(verifier, world):
    rows = world["rows"]
    page = text(verifier.get(review_url(world, category="EC: P: EM")))
    assert (
        f'id="row-{rows[UNEMPLOYMENT].id}"' in page and f'id="row-{rows[INTERNET].id}"' not in page
    )
    assert "2 of 4 shown" in page
    # A question asked from a row comes back to the same filtered table.
    value = rows[UNEMPLOYMENT]
    asked = verifier.post(
        f"/verification/values/{value.id}/queries",
        data={"return_to": "review", "category": "EC: P: EM", f"q{value.id}-body": "Which survey?"},
    )
    location = urlsplit(asked.headers["Location"])
    assert (
        parse_qs(location.query) == {"category": ["EC: P: EM"]}
        and location.fragment == f"row-{value.id}"
    )
    assert db.session.scalar(db.select(ValueQuery)).value_id == value.id
    page = text(verifier.get(review_url(world, queries="1")))
    assert f'id="row-{value.id}"' in page and f'id="row-{rows[YOUTH].id}"' not in page
    rows[YOUTH].verified, rows[YOUTH].verification_code = True, "consistent"
    db.session.commit()
    page = text(verifier.get(review_url(world, undecided="1")))
    assert f'id="row-{rows[YOUTH].id}"' not in page and f'id="row-{rows[INTERNET].id}"' in page


def test_review_table_shows_target_band_quality_and_source(verifier, world):
    from kpi_app.services import scores

    result = scores.score_assessments([world["a"]], source="live")
    items = result.entity_rows("items", "alpha", 2024)
    item = items[items["code"].astype(str) == INTERNET].iloc[0]
    page = text(verifier.get(review_url(world)))
    assert "<caption>Values reported by Alpha for 2024</caption>" in page
    row = re.search(rf'<tr id="row-{world["rows"][INTERNET].id}".*?</tr>', page, re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[2:5] == ["70", "%", f"{round(float(item['target']), 2):g}"]
    assert cells[5] == f"{round(float(item['percent_of_target']), 2):g}"
    assert "Target" in cells[6]  # the band label, such as "66-95% of Target"
    assert cells[7] == "2"  # data-quality level
    assert "Municipal statistics office" in cells[8]


def test_submission_lists_missing_source_and_quality_by_category(app, world):
    add_value(
        world["a"], "EN: EN: AQ: 1C", 9.0, data_point="pm25", source=None, actor=world["editor"]
    )
    add_value(world["a"], "SC: EH: ED: 2C", 98.0, quality=None, actor=world["editor"])
    editor = app.test_client()
    login(editor, world["editor"].email)
    response = editor.post(f"/verification/assessments/{world['a'].id}/submit")
    assert response.headers["Location"].endswith(f"/assessments/{world['a'].id}#submission-check")
    assert world["a"].status is Status.DRAFT
    page = text(editor.get(response.headers["Location"]))
    assert "2 reported values lack a source or a data-quality level" in page
    assert "Before you submit: 2 reported values need a source and a data-quality level" in page
    assert f'href="/assessments/{world["a"].id}/categories/en-en-aq#item_en_en_aq_1c_pm25"' in page

    def missing(anchor):
        return re.search(rf'#{anchor}">[^<]*</a>:\s*([^<]*?)\s*</li>', page).group(1)

    assert missing("item_en_en_aq_1c_pm25") == "no source"
    assert missing("item_sc_eh_ed_2c") == "no data-quality level"
    assert f'href="/assessments/{world["a"].id}/categories/sc-eh-ed#item_sc_eh_ed_2c"' in page
    form = text(editor.get(f"/assessments/{world['a'].id}/categories/en-en-aq"))
    assert 'id="item_en_en_aq_1c_pm25"' in form  # the link lands on the item


def test_submit_says_who_reviews_or_that_a_coordinator_must_assign(
    app, world, make_city, make_user, make_assessment
):
    editor = app.test_client()
    login(editor, world["editor"].email)
    response = editor.post(
        f"/verification/assessments/{world['a'].id}/submit", follow_redirects=True
    )
    page = text(response)
    reviewer = world["verifier"].name or world["verifier"].email
    assert f"Submitted for verification. {reviewer} will review it." in page
    assert "has been given it to review" not in page

    city = make_city("beta")
    lonely = make_assessment(city)
    add_value(lonely, INTERNET, 50.0)
    other = app.test_client()
    login(other, make_user(Role.CITY_EDITOR, city).email)
    page = text(other.post(f"/verification/assessments/{lonely.id}/submit", follow_redirects=True))
    assert "No verifier is assigned yet" in page and "will review it" not in page


def test_public_page_pdf_and_api_state_the_verified_share(app, client, world):
    rows, verifier = world["rows"], world["verifier"]
    set_status(world["a"], Status.IN_REVIEW)
    for code in (INTERNET, UNEMPLOYMENT, YOUTH):
        workflow.set_value_verification(
            rows[code],
            verifier,
            verified=True,
            code="source_checked",
            note=None,
            expected_version=rows[code].version,
        )
    workflow.set_value_verification(
        rows[BROADBAND],
        verifier,
        verified=False,
        code="implausible",
        note="too high",
        expected_version=rows[BROADBAND].version,
    )
    workflow.transition(world["a"], "verify", verifier)
    workflow.transition(world["a"], "publish", world["coordinator"])

    page = text(client.get("/cities/alpha/2024"))
    assert "Showing the published results." in page
    assert "3 of 4 reported values verified." in page
    assert "published, verified results" not in page
    pdf = client.get("/cities/alpha/2024/download/snapshot.pdf")
    pdf_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "3 of 4 reported values verified." in " ".join(pdf_text.split())
    record = client.get("/api/v1/cities/alpha/assessments/2024").get_json()
    assert record["reported_verified"] == 3 and record["reported"] == 4
    assert record["verified_share"] == "3 of 4 reported values verified"


def test_changed_since_last_review_filter(app, world):
    from kpi_app.services import values

    rows = world["rows"]
    set_status(world["a"], Status.IN_REVIEW)
    for code in (INTERNET, UNEMPLOYMENT):
        workflow.set_value_verification(
            rows[code],
            world["verifier"],
            verified=True,
            code="source_checked",
            note=None,
            expected_version=rows[code].version,
        )
    set_status(world["a"], Status.RETURNED)
    values.save_entries(
        world["a"],
        [values.Entry(values.ValueInput(code=INTERNET, value=72.0, source="survey", quality=2))],
        world["editor"],
    )
    set_status(world["a"], Status.IN_REVIEW)
    client = app.test_client()
    login(client, world["verifier"].email)
    page = text(client.get(review_url(world, changed="1")))
    assert f'id="row-{rows[INTERNET].id}"' in page
    assert f'id="row-{rows[UNEMPLOYMENT].id}"' not in page  # decided, not changed
    assert f'id="row-{rows[BROADBAND].id}"' not in page  # never decided
    assert "changed since the last review" in page
