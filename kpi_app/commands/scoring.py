"""`kpi-app score`: print one assessment's scores as JSON or CSV (calls the scores service)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click
from flask.cli import with_appcontext

from kpi_app.commands.core import fail

CSV_COLUMNS = (
    "level",
    "id",
    "data_point",
    "value",
    "target",
    "percent_of_target",
    "score",
    "band",
    "band_label",
    "points",
    "max_points",
    "coverage",
)


def score_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Items then groups (category → overall) as flat rows sharing one header."""
    rows: list[dict[str, Any]] = [
        {
            "level": "item",
            "id": item["code"],
            "data_point": item["data_point"],
            "value": item["value"],
            "target": item["target"],
            "percent_of_target": item["percent_of_target"],
            "band": item["band"],
            "band_label": item["band_label"],
            "points": item["points"],
        }
        for item in payload["items"]
    ]
    for level, singular in (
        ("categories", "category"),
        ("sub_dimensions", "sub_dimension"),
        ("dimensions", "dimension"),
    ):
        rows.extend({"level": singular, **group} for group in payload[level])
    rows.append({"level": "overall", **payload["overall"]})
    return rows


def to_csv(payload: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(CSV_COLUMNS), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in score_rows(payload):
        writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in CSV_COLUMNS})
    return out.getvalue()


@click.command("score")
@click.option("--city", "city_slug", required=True, help="the city's slug")
@click.option("--year", type=int, required=True)
@click.option("--method", default="u4ssc", show_default=True, help="u4ssc or a preset name")
@click.option(
    "--source", type=click.Choice(["live", "published"]), default="live", show_default=True
)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option(
    "--peers",
    default=None,
    help="relative methods: comma-separated city slugs of the peer group (published "
    "assessments of the same year); default: every published assessment of the year",
)
@click.option(
    "--benchmark-set",
    "benchmark_set",
    default=None,
    help="score against this set as an analysis (not the published result)",
)
@with_appcontext
def score(
    city_slug: str,
    year: int,
    method: str,
    source: str,
    fmt: str,
    peers: str | None,
    benchmark_set: str | None,
) -> None:
    """Score one city's assessment and print the result."""
    from kpi_app.services import scores

    peer_slugs = None if peers is None else [slug for slug in peers.split(",") if slug.strip()]
    try:
        result = scores.score_city_year(
            city_slug,
            year,
            method=method,
            source=source,  # type: ignore[arg-type]
            peers=peer_slugs,
            benchmark_set=benchmark_set,
        )
    except scores.ScoresError as error:
        fail(str(error))
        return
    payload = result.to_dict(city_slug, year) | scores.result_label(source, benchmark_set)
    if fmt == "json":
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        click.echo(to_csv(payload), nl=False)


@click.command("lab")
@click.option("--year", type=int, default=None, help="year of the published assessments")
@click.option("--country", default=None, help="only cities of this country (ISO2)")
@click.option("--city", "cities", multiple=True, help="a city's slug (repeat); default: all")
@click.option("--method", default=None, help="a composite preset (normalisation + aggregation)")
@click.option("--normalisation", default=None, help="normaliser name (overrides --method)")
@click.option("--aggregation", default=None, help="arithmetic or geometric (overrides --method)")
@click.option("--min-coverage", default=None, help="minimum coverage of a group, 0 to 1")
@click.option("--benchmark-set", default=None, help="score against this set (an analysis)")
@click.option("--draws", default=None, help="Monte Carlo draws (1 to 1000, default 100)")
@click.option("--region", "regions", multiple=True, help="UN M49 region of the country (repeat)")
@click.option("--size", "sizes", multiple=True, help="small, medium, large or metropolitan")
@click.option(
    "--level-aggregation",
    "level_aggregations",
    multiple=True,
    help="LEVEL=METHOD, e.g. overall=geometric (levels category, sub_dimension, dimension, "
    "overall)",
)
@click.option(
    "--weight",
    "weights",
    multiple=True,
    help="LEVEL:ID=WEIGHT, e.g. dimension:EC=2 or 'item:EC: ICT: ICT: 1C=0.5' (repeat)",
)
@click.option(
    "--down-weight-low-quality", is_flag=True, default=False, help="down-weight quality 4-6"
)
@click.option("--loo-city", default=None, help="show this city's rank drivers (leave one out)")
@click.option(
    "--spec-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="a spec JSON downloaded from the lab (other options are then ignored)",
)
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json")
@click.option(
    "--output", type=click.Path(dir_okay=False), default=None, help="write to this file (xlsx)"
)
@with_appcontext
def lab(
    fmt: str,
    cities: tuple[str, ...],
    regions: tuple[str, ...],
    sizes: tuple[str, ...],
    level_aggregations: tuple[str, ...],
    weights: tuple[str, ...],
    down_weight_low_quality: bool,
    spec_file: str | None,
    output: str | None,
    **options: Any,
) -> None:
    """The methods lab: published peer group scored by a spec beside the U4SSC rule."""
    from pathlib import Path

    from kpi_app.services import lab as lab_service
    from kpi_app.services import lab_files

    args = {key: [str(value)] for key, value in options.items() if value is not None}
    args["city"] = list(cities)
    args["region"] = list(regions)
    args["size"] = list(sizes)
    if down_weight_low_quality:
        args["down_weight_low_quality"] = ["1"]
    for pair in level_aggregations:
        level, _, method = pair.partition("=")
        args[f"{lab_service.LEVEL_AGGREGATION_PREFIX}{level.strip()}"] = [method.strip()]
    for pair in weights:
        key, sep, value = pair.rpartition("=")
        if not sep or ":" not in key:
            fail(f"--weight must be LEVEL:ID=WEIGHT, got {pair!r}")
            return
        args[f"{lab_service.WEIGHT_PREFIX}{key.strip()}"] = [value.strip()]
    if fmt == "xlsx" and not output:
        fail("--format xlsx needs --output FILE")
        return
    try:
        if spec_file:
            query = lab_files.query_from_document(Path(spec_file).read_bytes())
        else:
            query = lab_service.parse_query(args)
        result = lab_service.run_lab(query)
    except lab_service.LabError as error:
        fail(str(error))
        return
    if fmt == "xlsx":
        Path(str(output)).write_bytes(result.to_xlsx())
        click.echo(f"wrote {output}")
    elif fmt == "json":
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"
        _emit(text, output)
    else:
        _emit(result.to_csv(), output)


def _emit(text: str, output: str | None) -> None:
    if output:
        from pathlib import Path

        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


COMMANDS = [score, lab]
