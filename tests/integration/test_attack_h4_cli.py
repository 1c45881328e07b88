"""Attack pass (Hypothesis) over what issue 14 changed: the new CLI parameters and archives.

open-assessment with any slug, year and --by; restore with hostile archives (any manifest,
rows that do not fit the schema). Expected: exit 0, 1 (clear message) or 2 (usage), never a
traceback, and nothing written unless the command succeeded.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kpi_app.extensions import db
from kpi_app.models import Assessment, AuditEvent
from kpi_app.services import backup

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SLUGS = st.one_of(
    st.sampled_from(["harbour", "HARBOUR", "harbour ", "../harbour", "har\x00bour", "'; --", ""]),
    st.text(max_size=80),
)
YEARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["1999", "2000", "2027", "2028", "0x7e8", "2025.0", " 2025", "", "nan"]),
    st.text(max_size=12),
)
EMAILS = st.one_of(
    st.none(),
    st.sampled_from(["co@example.org", "CO@example.org", "co\x00@example.org"]),
    st.text(max_size=40),
)


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Assessment)) or 0,
        db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
    )


@FUZZ
@given(slug=SLUGS, year=YEARS, by=EMAILS)
def test_open_assessment_with_any_parameters_fails_cleanly_or_opens_one(
    app: Any, runner: Any, make_city: Any, make_user: Any, slug: str, year: str, by: str | None
) -> None:
    from kpi_app.models import City, Role

    if db.session.scalar(select(City).where(City.slug == "harbour")) is None:
        make_city("harbour")
        make_user(Role.COORDINATOR, email="co@example.org")
    before = _counts()
    args = ["open-assessment", slug, "--year", year] + (["--by", by] if by is not None else [])
    result = runner.invoke(args=args)
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    after = _counts()
    if result.exit_code == 0:
        assert after == (before[0] + 1, before[1] + 1)
        assert int(year) >= 2000 and slug == "harbour"
    else:
        assert after == before
        assert "Error" in result.output or "Usage" in result.output


def _archive(path: Path, manifest: Any, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            zipped.writestr(name, data)
    return path


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@FUZZ
@given(
    manifest=st.one_of(
        JSON,
        st.fixed_dictionaries(
            {"format_version": st.just(1)},
            optional={"tables": JSON, "sha256": JSON, "row_counts": JSON},
        ),
    )
)
def test_restore_of_a_hostile_manifest_is_refused_with_a_message(
    app: Any, runner: Any, tmp_path: Path, manifest: Any
) -> None:
    archive = _archive(tmp_path / "hostile.zip", manifest, {})
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    if result.exit_code != 0:
        assert result.exit_code == 1 and "Error" in result.output
    assert _counts() == (0, 0)


ROW = st.dictionaries(
    st.sampled_from(["id", "slug", "name", "iso2", "nope", "country_id", "population"]),
    st.one_of(st.none(), st.integers(-5, 10**12), st.text(max_size=90), st.floats(allow_nan=True)),
    max_size=6,
)


@FUZZ
@given(rows=st.lists(ROW, min_size=1, max_size=3))
def test_restore_of_rows_that_do_not_fit_the_schema_writes_nothing(
    app: Any, runner: Any, tmp_path: Path, rows: list[dict[str, Any]]
) -> None:
    data = ("\n".join(json.dumps(row) for row in rows) + "\n").encode()
    manifest = {
        "format_version": backup.FORMAT_VERSION,
        "tables": ["country"],
        "row_counts": {"country": len(rows)},
        "sha256": {"tables/country.jsonl": hashlib.sha256(data).hexdigest()},
    }
    archive = _archive(tmp_path / "rows.zip", manifest, {"tables/country.jsonl": data})
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    db.session.rollback()
    if result.exit_code != 0:
        assert result.exit_code == 1 and "Error" in result.output
        from kpi_app.models import Country

        assert db.session.scalar(select(func.count()).select_from(Country)) == 0
    else:
        from kpi_app.models import Country

        db.session.execute(Country.__table__.delete())
        db.session.commit()


@FUZZ
@given(
    command=st.sampled_from(
        [
            ["export", "--format", "csv"],
            ["workflow-status"],
            ["screen"],
            ["assign-verifier", "v@example.org"],
        ]
    ),
    slug=SLUGS,
    year=st.integers(min_value=1900, max_value=2100),
)
def test_commands_taking_a_city_slug_fail_cleanly_on_any_slug(
    app: Any, runner: Any, command: list[str], slug: str, year: int
) -> None:
    result = runner.invoke(args=[*command, "--city", slug, "--year", str(year)])
    assert result.exit_code in (1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
