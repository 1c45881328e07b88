"""Benchmark sets: the indicative default set, and the checks on broken set files."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kpi_app.catalogue import (
    BenchmarkSet,
    Catalogue,
    CatalogueError,
    Direction,
    load_benchmark_set,
    load_benchmark_sets,
    load_catalogue,
)

Edit = Callable[[str, str, str], None]  # the `edit` fixture: file name, old text, new text
SET_FILE = "benchmarks/indicative-2026.yaml"


@pytest.fixture(scope="module")
def indicative(catalogue: Catalogue) -> BenchmarkSet:
    return load_benchmark_sets(catalogue)["indicative-2026"]


def set_problems(folder: Path) -> list[str]:
    """Problems raised when loading the benchmark sets of a catalogue copy."""
    with pytest.raises(CatalogueError) as caught:
        load_benchmark_sets(load_catalogue(folder))
    return caught.value.problems


def test_default_folder_holds_the_indicative_set(catalogue: Catalogue) -> None:
    sets = load_benchmark_sets(catalogue)
    assert list(sets) == ["indicative-2026"]
    indicative = sets["indicative-2026"]
    assert indicative.version == "2026.1"
    assert "not the official U4SSC" in indicative.description.replace("NOT", "not")
    assert indicative.label("fr").startswith("Valeurs de référence indicatives")


def test_indicative_set_covers_every_item(catalogue: Catalogue, indicative: BenchmarkSet) -> None:
    keys = [entry.key for entry in indicative.benchmarks]
    assert sorted(keys) == sorted(item.key for item in catalogue.items())
    for entry in indicative.benchmarks:
        if entry.target is None:
            assert entry.rationale, entry.key  # a deliberate gap says why
        else:
            assert entry.source and entry.rationale, entry.key  # provenance for every value


def test_every_scored_item_with_a_target_has_a_direction(
    catalogue: Catalogue, indicative: BenchmarkSet
) -> None:
    for entry in indicative.benchmarks:
        item = catalogue.item(entry.code, entry.data_point)
        if entry.target is not None:
            assert entry.direction_for(item) is not Direction.OTHER, entry.key


@pytest.mark.parametrize(
    ("code", "data_point", "target"),
    [
        ("EC: ICT: ICT: 1C", "", 100),  # universal access
        ("EN: EN: AQ: 1C", "pm25", 5),  # WHO 2021 annual guidelines
        ("EN: EN: AQ: 1C", "pm10", 15),
        ("EN: EN: AQ: 1C", "no2", 10),
        ("EN: EN: AQ: 1C", "so2", 40),  # 24-hour guideline
        ("EN: EN: AQ: 1C", "o3", 60),  # peak season
        ("EC: I: T: 5A", "", 1.5),  # Travel Time Index
        ("SC: SH: SI: 1C", "", 1.0),  # gender income ratio
        ("EC: I: UP: 2A", "resilient", 1),  # planning principle = yes
        ("SC: SH: SA: 3A", "", 1),  # resilience plan = yes
        ("EC: P: EM: 1C", "", 5),  # unemployment, level to get down to
        ("EC: I: WS: 3C", "", 10),  # water loss
        ("EC: ICT: ICT: 5C", "", None),  # Wi-Fi: U4SSC reports N/A
        ("EC: ICT: PS: 2A", "", None),  # e-government: N/A
        ("SC: EH: C: 2A", "", None),  # cultural infrastructure: N/A
    ],
)
def test_reference_targets(
    indicative: BenchmarkSet, code: str, data_point: str, target: float | None
) -> None:
    assert indicative.target(code, data_point) == target


def test_so2_entry_says_it_uses_the_24_hour_guideline(indicative: BenchmarkSet) -> None:
    entry = indicative.benchmark("EN: EN: AQ: 1C", "so2")
    assert entry is not None and entry.source is not None and "24-hour" in entry.source


def test_directions_behind_the_reference_targets(catalogue: Catalogue) -> None:
    assert catalogue.indicator("EC: I: T: 5A").direction is Direction.LOWER_BETTER
    assert catalogue.indicator("SC: SH: SI: 1C").direction is Direction.TARGET_VALUE


def test_lookup_accepts_any_spelling_and_unknown_items_have_no_target(
    indicative: BenchmarkSet,
) -> None:
    assert indicative.target("en:en:aq:1c", "pm25") == 5
    assert indicative.target("EN: EN: AQ: 1C") is None  # the KPI itself has no single target
    assert indicative.benchmark("EN: EN: AQ: 1C", "pm1") is None


def test_to_frame(indicative: BenchmarkSet) -> None:
    frame = indicative.to_frame()
    assert list(frame.columns) == [
        "code",
        "data_point",
        "target",
        "direction",
        "source",
        "rationale",
    ]
    assert len(frame) == len(indicative.benchmarks)
    pm25 = frame[(frame.code == "EN: EN: AQ: 1C") & (frame.data_point == "pm25")]
    assert pm25["target"].tolist() == [5.0]


# ----- broken set files ----------------------------------------------------------------------


def test_unbroken_copy_loads(catalogue_copy: Path) -> None:
    assert "indicative-2026" in load_benchmark_sets(load_catalogue(catalogue_copy))


def test_non_numeric_target(catalogue_copy: Path, edit: Edit) -> None:
    edit(SET_FILE, "target: 5\n", "target: '5'\n")
    [problem] = set_problems(catalogue_copy)
    assert re.fullmatch(
        r"benchmarks/indicative-2026\.yaml: EC: P: EM: 1C: target: must be a number, got '5'"
        r" \(line \d+\)",
        problem,
    )


def test_unknown_code_and_data_point(catalogue_copy: Path, edit: Edit) -> None:
    edit(SET_FILE, 'code: "EC: ICT: ICT: 1C"', 'code: "EC: ICT: ICT: 9C"')
    edit(SET_FILE, "data_point: pm25", "data_point: pm1")
    problems = set_problems(catalogue_copy)
    assert any(
        p.startswith("benchmarks/indicative-2026.yaml: EC: ICT: ICT: 9C: code: unknown KPI code")
        for p in problems
    )
    assert any(
        p.startswith("benchmarks/indicative-2026.yaml: EN: EN: AQ: 1C [pm1]: data_point:")
        and "pm25, pm10, no2, so2, o3" in p
        for p in problems
    )
    # Renaming them also left the real items without an entry.
    missing = [p for p in problems if "no benchmark entry" in p]
    assert [p.split(": target")[0] for p in missing] == [
        "benchmarks/indicative-2026.yaml: EC: ICT: ICT: 1C",
        "benchmarks/indicative-2026.yaml: EN: EN: AQ: 1C [pm25]",
    ]


def test_structure_only_check_without_a_catalogue(catalogue_copy: Path, edit: Edit) -> None:
    edit(SET_FILE, 'code: "EC: ICT: ICT: 1C"', 'code: "EC: ICT: ICT: 9C"')
    path = catalogue_copy / SET_FILE
    assert load_benchmark_set(path).target("EC: ICT: ICT: 9C") == 100  # no catalogue, no check
    with pytest.raises(CatalogueError, match="EC: ICT: ICT: 9C: code: unknown KPI code"):
        load_benchmark_set(path, load_catalogue(catalogue_copy))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  target: 100\n", "", "EC: ICT: ICT: 1C: target: missing required field"),
        ("  source: SDG 17.8 universal access\n", "", "EC: ICT: ICT: 1C: source: required"),
        (
            "  rationale: U4SSC publishes no benchmark for this KPI (reported as N/A)\n",
            "",
            "EC: ICT: ICT: 5C: rationale: required when target is null",
        ),
        ("  target: 100\n", "  target: 100\n  direction: sideways\n", "direction: must be one of"),
        ("  target: 100\n", "  target: 100\n  weight: 2\n", "EC: ICT: ICT: 1C: weight: unknown"),
        ("data_point: resilient\n  target: 1", "data_point: resilient\n  target: 2", "1 (yes)"),
        ("  target: 1.0\n", "  target: 0\n", "must be non-zero for a two-sided"),
        ("data_point: para_transport\n  target: null", "data_point: para_transport\n  target: 9",
         "EC: I: T: 4A [para_transport]: direction: the item is not scored"),
    ],
)  # fmt: skip
def test_entry_problems(
    catalogue_copy: Path, edit: Edit, old: str, new: str, expected: str
) -> None:
    edit(SET_FILE, old, new)
    problems = set_problems(catalogue_copy)
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith("benchmarks/indicative-2026.yaml: ") for problem in problems)


def test_duplicate_entry(catalogue_copy: Path, edit: Edit) -> None:
    edit(SET_FILE, "data_point: pm10", "data_point: pm25")
    problems = set_problems(catalogue_copy)
    assert any("EN: EN: AQ: 1C [pm25]: code: duplicate benchmark entry" in p for p in problems)
    assert any("EN: EN: AQ: 1C [pm10]: target: no benchmark entry" in p for p in problems)


def test_duplicate_set_ids(catalogue_copy: Path) -> None:
    original = catalogue_copy / SET_FILE
    (catalogue_copy / "benchmarks" / "copy.yaml").write_text(original.read_text(encoding="utf-8"))
    [problem] = set_problems(catalogue_copy)
    assert problem == (
        "benchmarks/indicative-2026.yaml: id: duplicate set id 'indicative-2026' "
        "(also benchmarks/copy.yaml)"
    )


def test_bad_yaml_in_a_set(catalogue_copy: Path, edit: Edit) -> None:
    edit(SET_FILE, 'code: "EC: ICT: ICT: 1C"', "code: EC: ICT: ICT: 1C")
    [problem] = set_problems(catalogue_copy)
    assert problem.startswith("benchmarks/indicative-2026.yaml: YAML syntax error at line")
    assert problem.endswith("'- code: EC: ICT: ICT: 1C'")


def test_explicit_missing_folder_is_an_error(catalogue: Catalogue, tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="benchmark folder not found"):
        load_benchmark_sets(catalogue, tmp_path / "none")
