"""Broken catalogue files give one CatalogueError naming file, KPI code and field.

Each test copies the real catalogue, breaks one thing the way an editor might, and checks
the message a maintainer would read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kpi_app.catalogue import CatalogueError, load_catalogue

Edit = Callable[[str, str, str], None]  # the `edit` fixture: file name, old text, new text
Problems = Callable[[Path], list[str]]  # the `problems_of` fixture

FIRST_KPI = 'code: "EC: ICT: ICT: 1C"'


def only(problems: list[str], pattern: str) -> str:
    """The single problem matching ``pattern`` (regex), after checking there is one."""
    matching = [problem for problem in problems if re.search(pattern, problem)]
    assert len(matching) == 1, problems
    return matching[0]


def test_the_unbroken_copy_loads(catalogue_copy: Path) -> None:
    # Guards every other test here: a failure below must come from the edit alone.
    assert len(load_catalogue(catalogue_copy).indicators) == 91


def test_missing_required_field(catalogue_copy: Path, edit: Edit, problems_of: Problems) -> None:
    edit("economy.yaml", "        unit: Percentage\n", "")
    [problem] = problems_of(catalogue_copy)
    assert re.fullmatch(
        r"indicators/economy\.yaml: EC: ICT: ICT: 1C: unit: missing required field \(line \d+\)",
        problem,
    )


def test_unknown_direction(catalogue_copy: Path, edit: Edit, problems_of: Problems) -> None:
    edit("economy.yaml", "direction: higher_better", "direction: upwards")
    [problem] = problems_of(catalogue_copy)
    assert problem.startswith("indicators/economy.yaml: EC: ICT: ICT: 1C: direction: must be one")
    assert "higher_better, lower_better, target_value, other (got 'upwards')" in problem


def test_duplicate_code_within_a_file(
    catalogue_copy: Path, edit: Edit, problems_of: Problems
) -> None:
    edit("economy.yaml", 'code: "EC: ICT: ICT: 2C"', 'code: "EC: ICT: ICT: 1C"')
    problem = only(problems_of(catalogue_copy), "duplicate code")
    assert problem.startswith("indicators/economy.yaml: EC: ICT: ICT: 1C: code: duplicate code")
    assert "also defined in indicators/economy.yaml line" in problem


def test_duplicate_codes_across_files(catalogue_copy: Path, problems_of: Problems) -> None:
    # A second copy of the Economy file listed in the manifest: every code is defined twice.
    (catalogue_copy / "economy_copy.yaml").write_text(
        (catalogue_copy / "economy.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    manifest = catalogue_copy / "catalogue.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("economy.yaml,", "economy.yaml, economy_copy.yaml,"))
    problems = problems_of(catalogue_copy)
    assert any("dimension EC: code: duplicate dimension code" in p for p in problems)
    problem = only(problems, r"^indicators/economy_copy\.yaml: EC: ICT: ICT: 1C: code")
    assert "duplicate code (also defined in indicators/economy.yaml line" in problem
    assert sum("duplicate code" in p for p in problems) == 45


def test_yaml_syntax_error_names_file_line_and_the_offending_text(
    catalogue_copy: Path, edit: Edit, problems_of: Problems
) -> None:
    edit("economy.yaml", FIRST_KPI, "code: EC: ICT: ICT: 1C")  # unquoted: ': ' breaks YAML
    [problem] = problems_of(catalogue_copy)
    assert re.fullmatch(
        r"indicators/economy\.yaml: YAML syntax error at line 16, column \d+: .+: "
        r"'- code: EC: ICT: ICT: 1C'",
        problem,
    )


def test_duplicate_yaml_key_is_a_syntax_problem(
    catalogue_copy: Path, edit: Edit, problems_of: Problems
) -> None:
    edit("economy.yaml", "        tier: core\n", "        tier: core\n        tier: advanced\n")
    [problem] = problems_of(catalogue_copy)
    assert "indicators/economy.yaml: YAML syntax error at line 19" in problem
    assert "found duplicate key 'tier'" in problem and "'tier: advanced'" in problem


def test_code_prefix_must_match_its_place(
    catalogue_copy: Path, edit: Edit, problems_of: Problems
) -> None:
    edit("economy.yaml", FIRST_KPI, 'code: "EC: P: ICT: 1C"')
    [problem] = problems_of(catalogue_copy)
    assert problem.startswith(
        "indicators/economy.yaml: EC: P: ICT: 1C: code: prefix EC: P does not match "
        "sub-dimension EC: ICT"
    )


def test_tier_must_agree_with_the_code_letter(
    catalogue_copy: Path, edit: Edit, problems_of: Problems
) -> None:
    edit("economy.yaml", "tier: core", "tier: advanced")
    [problem] = problems_of(catalogue_copy)
    assert "EC: ICT: ICT: 1C: tier: is 'advanced' but the code ends in 'C' (core)" in problem


def test_unnormalised_code_is_accepted_and_stored_normalised(
    catalogue_copy: Path, edit: Edit
) -> None:
    edit("economy.yaml", FIRST_KPI, 'code: "ec:ict:ict:1c"')
    assert load_catalogue(catalogue_copy).indicators[0].code == "EC: ICT: ICT: 1C"


def test_data_point_problems(catalogue_copy: Path, edit: Edit, problems_of: Problems) -> None:
    edit("environment.yaml", "- id: pm10", "- id: pm25")
    edit("environment.yaml", "plausible: {min: 0, max: 300}", "plausible: {min: 50, max: 3}")
    problems = problems_of(catalogue_copy)
    assert len(problems) == 2
    assert only(problems, "duplicate").startswith(
        "indicators/environment.yaml: EN: EN: AQ: 1C: data_points[pm25].id: duplicate data point id"
    )
    assert only(problems, "min").startswith(
        "indicators/environment.yaml: EN: EN: AQ: 1C: data_points[pm25].plausible: "
        "min (50) is greater than max (3)"
    )


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("value_type: percentage", "value_type: percent", "value_type", "must be one of"),
        ("kind: smart", "kind: clever", "kind", "must be one of smart, sustainable, structural"),
        ("direction: higher_better", "directon: higher_better", "directon", "unknown field"),
        ("multiplier: 100", "multiplier: '100'", "multiplier", "must be a number"),
        ("multiplier: 100", "multiplier: null", "multiplier", "required when a denominator"),
        (
            "{en: Household Internet Access}",
            "{en: Household Internet Access, fe: Accès des ménages}",
            "name.fe",
            "unknown language",
        ),
        ('sdg_refs: ["17.8.1"]', "sdg_refs: 17.8.1", "sdg_refs", "must be a list"),
        ("plausible: {min: 0, max: 100}", "plausible: {min: 0, max: many}", "plausible.max", ""),
    ],
)
def test_field_problems_name_file_code_and_field(
    catalogue_copy: Path,
    edit: Edit,
    problems_of: Problems,
    old: str,
    new: str,
    field: str,
    message: str,
) -> None:
    edit("economy.yaml", old, new)
    prefix = f"indicators/economy.yaml: EC: ICT: ICT: 1C: {field}: "
    problem = only(problems_of(catalogue_copy), "^" + re.escape(prefix))
    assert problem.startswith(prefix + message)


def test_all_problems_across_files_are_reported_together(
    catalogue_copy: Path, edit: Edit, problems_of: Problems
) -> None:
    edit("economy.yaml", "direction: higher_better", "direction: up")
    edit("society_and_culture.yaml", "tier: core", "tier: basic")
    edit("environment.yaml", "        unit: Tonnes CO2e per capita\n", "")
    problems = problems_of(catalogue_copy)
    assert [problem.split(":")[0] for problem in problems] == [
        "indicators/economy.yaml",
        "indicators/environment.yaml",
        "indicators/society_and_culture.yaml",
    ]


def test_manifest_problems(catalogue_copy: Path, problems_of: Problems) -> None:
    manifest = catalogue_copy / "catalogue.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(
        text.replace('version: "2026.1"', "version: 2026.1").replace("economy.yaml", "eco.yaml")
    )
    problems = problems_of(catalogue_copy)
    assert "indicators/catalogue.yaml: version: must be non-empty text, got 2026.1" in problems[0]
    assert any("files: eco.yaml: file not found" in problem for problem in problems)


def test_empty_dimension_file_is_reported(catalogue_copy: Path, problems_of: Problems) -> None:
    (catalogue_copy / "environment.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert problems_of(catalogue_copy) == ["indicators/environment.yaml: file is empty"]


def test_missing_catalogue_folder(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="catalogue file not found"):
        load_catalogue(tmp_path / "nowhere")
