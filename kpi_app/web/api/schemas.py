"""Marshmallow schemas of the open data API: query arguments, bodies and responses.

They are the contract: flask-smorest validates arguments with them and writes them into the
OpenAPI document, and the schemathesis test checks every response against them.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from kpi_app.scoring.spec import PRESETS

MAX_PAGE_SIZE = 500
#: Page numbers and offsets stay within a 32-bit SQL integer (OFFSET beyond it is an error).
MAX_PAGE = 1_000_000
MAX_OFFSET = 2**31 - 1
YEAR = validate.Range(min=1900, max=2200)
#: What `catalogue.normalise_code` accepts: four parts separated by colons (spacing and case
#: forgiven), three groups of 1–6 letters and a serial number 1–999 with the tier letter.
_GROUP = "[A-Za-z]{1,6}"
_SERIAL = "(?:0{0,2}[1-9]|0?[1-9][0-9]|[1-9][0-9]{2})[CAca]"
KPI_CODE_PATTERN = f"^ *{_GROUP} *: *{_GROUP} *: *{_GROUP} *: *{_SERIAL} *$"
KPI_CODE = validate.Regexp(KPI_CODE_PATTERN, error="not a KPI code (like 'EC: ICT: ICT: 1C')")


def _text(description: str, **kwargs: object) -> fields.String:
    return fields.String(metadata={"description": description}, **kwargs)  # type: ignore[arg-type]


def _nullable_text(description: str) -> fields.String:
    return fields.String(allow_none=True, metadata={"description": description})


def _nullable_float(description: str) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": description})


def _nullable_int(description: str) -> fields.Integer:
    return fields.Integer(allow_none=True, metadata={"description": description})


# --- query arguments ---------------------------------------------------------------------


class PageArgs(ma.Schema):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"Page number (at most {MAX_PAGE})"},
    )
    page_size = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": f"Items per page (at most {MAX_PAGE_SIZE})"},
    )


class CountryFilter(ma.Schema):
    country = fields.String(
        validate=validate.Regexp(r"^[A-Za-z]{2}$"),
        metadata={"description": "ISO 3166-1 alpha-2 country code"},
    )


class CityArgs(PageArgs, CountryFilter):
    pass


class AssessmentArgs(PageArgs, CountryFilter):
    year = fields.Integer(
        validate=YEAR, metadata={"description": "Reporting year", "example": 2024}
    )
    city = fields.String(
        validate=[
            validate.Length(min=1, max=80),
            validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="not a city slug"),
        ],
        metadata={"description": "City slug, e.g. 'fjordby'", "example": "fjordby"},
    )


class ValueArgs(AssessmentArgs):
    code = fields.String(
        validate=[validate.Length(min=1, max=40), KPI_CODE],
        metadata={
            "description": "KPI code, e.g. 'EC: ICT: ICT: 1C' (spacing and case are forgiven)",
            "example": "EC: ICT: ICT: 1C",
        },
    )


class IndicatorArgs(PageArgs):
    dimension = fields.String(
        validate=validate.OneOf(["EC", "EN", "SC", "ec", "en", "sc"]),
        metadata={"description": "Dimension code"},
    )
    code = ValueArgs._declared_fields["code"]
    lang = fields.String(
        load_default="en",
        validate=validate.OneOf(["en", "fr", "es", "ar", "zh", "ru"]),
        metadata={
            "description": "Language of names, units, numerators and denominators "
            "(codes and numbers never change; default en)"
        },
    )


class SdgArgs(PageArgs):
    code = ValueArgs._declared_fields["code"]
    sdg = fields.String(
        validate=validate.Regexp(r"^[0-9]{1,2}(\.[0-9a-z]{1,2}){0,2}$"),
        metadata={"description": "SDG goal, target or indicator, e.g. 11, 11.6 or 11.6.2"},
    )


class ScoreArgs(ma.Schema):
    method = fields.String(
        load_default="u4ssc",
        validate=validate.OneOf(sorted(PRESETS)),
        metadata={"description": "Scoring method: u4ssc or a composite preset (see /methods)"},
    )
    peers = fields.String(
        load_default=None,
        metadata={
            "description": "Relative methods (minmax-*, zscore-*, percentile-*) only: "
            "comma-separated city slugs of the peer group, each with a published assessment "
            "of the same year. Default: every published assessment of the year. Fewer than "
            "two assessments in the group, an unknown peer, or peers with an absolute method "
            "answer 422.",
            "example": "fjellby,valmorena",
        },
    )
    benchmark_set = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=80),
        metadata={
            "description": "Score against this benchmark set (see /benchmark-sets) as an "
            "analysis: the response then says published_result false. Without it, the "
            "targets frozen at publication are used."
        },
    )


NGSI_DEFAULT_LIMIT = 20
NGSI_MAX_LIMIT = 1000


class NgsiArgs(ma.Schema):
    """Query parameters of GET /ngsi-ld/entities, paged as the NGSI-LD API pages them."""

    year = fields.Integer(validate=YEAR, metadata={"description": "Reporting year"})
    city = AssessmentArgs._declared_fields["city"]
    options = fields.String(
        validate=validate.OneOf(["keyValues", "normalized"]),
        load_default="normalized",
        metadata={"description": "keyValues for plain attribute values (NGSI-LD option)"},
    )
    limit = fields.Integer(
        load_default=NGSI_DEFAULT_LIMIT,
        validate=validate.Range(min=0, max=NGSI_MAX_LIMIT),
        metadata={
            "description": (
                f"Entities per response, at most {NGSI_MAX_LIMIT} (default "
                f"{NGSI_DEFAULT_LIMIT}); 0 only together with count=true"
            ),
            "example": 100,
        },
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_OFFSET),
        metadata={
            "description": f"Entities to skip (pagination, at most {MAX_OFFSET})",
            "example": 0,
        },
    )
    count = fields.Boolean(
        load_default=False,
        metadata={"description": "true: the total number of matches in NGSILD-Results-Count"},
    )
    kpiSet = fields.String(  # camelCase, as the NGSI-LD API names its parameters
        validate=validate.OneOf(["u4ssc", "local"]),
        metadata={
            "description": (
                "u4ssc: only entities of U4SSC KPIs (frameworkCode); local: only the "
                "city-defined local KPIs (localCode LOCAL:<city>:<CODE>); absent: both, the "
                "U4SSC entities first"
            )
        },
    )

    @ma.validates_schema
    def _limit_zero_needs_count(self, data: dict[str, object], **_: object) -> None:
        if data.get("limit") == 0 and not data.get("count"):
            raise ma.ValidationError("limit=0 is only allowed with count=true", "limit")


class SdmxArgs(ma.Schema):
    year = fields.Integer(validate=YEAR, metadata={"description": "Reporting year"})
    city = AssessmentArgs._declared_fields["city"]


# --- responses ---------------------------------------------------------------------------


class LinksSchema(ma.Schema):
    self_ = fields.String(data_key="self", required=True)
    first = fields.String(required=True)
    last = fields.String(required=True)
    next = fields.String(allow_none=True)
    prev = fields.String(allow_none=True)


class MetaSchema(ma.Schema):
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "Items across all pages"})
    pages = fields.Integer(required=True)


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A paginated envelope {data: [...], meta, links} around the item schema."""
    return ma.Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item_schema), required=True),
            "meta": fields.Nested(MetaSchema, required=True),
            "links": fields.Nested(LinksSchema, required=True),
        },
        name=name,
    )


class DataPointSchema(ma.Schema):
    id = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(allow_none=True)
    direction = fields.String(required=True)
    value_type = fields.String(required=True)


class IndicatorSchema(ma.Schema):
    code = _text("U4SSC KPI code", required=True)
    name = _text("Name in English", required=True)
    name_fr = _nullable_text("Name in French")
    dimension = fields.String(required=True)
    sub_dimension = fields.String(required=True)
    category = fields.String(required=True)
    dimension_code = fields.String(required=True)
    sub_dimension_id = fields.String(required=True)
    category_id = fields.String(required=True)
    tier = fields.String(required=True, validate=validate.OneOf(["core", "advanced"]))
    kind = _nullable_text("smart, sustainable or structural")
    unit = fields.String(required=True)
    value_type = fields.String(required=True)
    numerator = _nullable_text("What the numerator counts")
    denominator = _nullable_text("What the denominator counts")
    multiplier = _nullable_float("value = numerator / denominator × multiplier")
    direction = fields.String(required=True)
    sdg_refs = fields.List(fields.String(), required=True)
    y4903_ref = _nullable_text("Reference in ITU-T Y.4903")
    data_points = fields.List(fields.Nested(DataPointSchema), required=True)


class BenchmarkSchema(ma.Schema):
    code = fields.String(required=True)
    data_point = fields.String(required=True)
    target = _nullable_float("Target; null means deliberately not scored")
    direction = _nullable_text("Direction override")
    source = _nullable_text("Where the target comes from")
    rationale = _nullable_text("Why this target")


class BenchmarkSetSchema(ma.Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.String(required=True)
    description = fields.String(required=True)
    entries = fields.Integer(required=True, metadata={"description": "Number of entries"})


class BenchmarkSetDetailSchema(BenchmarkSetSchema):
    benchmarks = fields.List(fields.Nested(BenchmarkSchema), required=True)


class CitySchema(ma.Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    country = fields.String(required=True)
    population = _nullable_int("Population (city register)")
    latitude = _nullable_float("Latitude")
    longitude = _nullable_float("Longitude")
    published_years = fields.List(fields.Integer(), required=True)


class AssessmentSchema(ma.Schema):
    city = fields.String(required=True)
    city_name = fields.String(required=True)
    country = fields.String(required=True)
    year = fields.Integer(required=True)
    catalogue_version = fields.String(required=True)
    benchmark_set = fields.String(required=True)
    published_at = fields.DateTime(allow_none=True)
    snapshot_id = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    items = fields.Integer(required=True)
    reported = fields.Integer(required=True)
    verified = fields.Integer(required=True)
    reported_verified = fields.Integer(
        required=True, metadata={"description": "Reported values that were verified"}
    )
    verified_share = fields.String(
        required=True,
        metadata={"description": "The verified share in words: 'N of M reported values verified'"},
    )


class ValueSchema(ma.Schema):
    city = fields.String(required=True)
    country = fields.String(required=True)
    year = fields.Integer(required=True)
    code = fields.String(required=True)
    data_point = fields.String(required=True)
    name = fields.String(required=True, attribute="kpi_name")
    value = _nullable_float("Published value; null when not reported")
    unit = _nullable_text("Unit")
    reported = fields.Boolean(required=True)
    verified = fields.Boolean(allow_none=True)
    quality = _nullable_int("U4SSC data-quality level 1-6")
    data_year = _nullable_int("Year the data refer to")
    source = _nullable_text("Source")
    target = _nullable_float("Benchmark target")
    not_reported_reason = _nullable_text("Why the city did not report the item")


class ItemScoreSchema(ma.Schema):
    code = fields.String(required=True)
    data_point = fields.String(required=True)
    value = _nullable_float("Value")
    target = _nullable_float("Target")
    percent_of_target = _nullable_float("Value as % of target")
    points = _nullable_int("U4SSC points 1-4")
    band = _nullable_int("Band 1-4")
    band_label = _nullable_text("Band label")


class GroupScoreSchema(ma.Schema):
    id = fields.String(required=True)
    score = _nullable_float("Score (0-100)")
    band = _nullable_int("Band 1-4")
    band_label = _nullable_text("Band label")
    points = _nullable_float("Points obtained")
    max_points = _nullable_float("Points possible")
    scored_items = fields.Integer(required=True)
    total_items = fields.Integer(required=True)
    coverage = _nullable_float("Scored items / items")
    coverage_core = _nullable_float("Coverage of core KPIs")
    coverage_advanced = _nullable_float("Coverage of advanced KPIs")
    confidence = _nullable_text(
        "Confidence grade of the score: high, medium or low, from item coverage and data-quality "
        "levels (docs/scoring.md, Confidence); null when there is no score"
    )


class PeerSchema(ma.Schema):
    city = fields.String(required=True, metadata={"description": "City slug"})
    year = fields.Integer(required=True, metadata={"description": "Reporting year"})


class ScoreSchema(ma.Schema):
    city = fields.String(required=True)
    year = fields.Integer(required=True)
    method = fields.String(required=True)
    catalogue_version = fields.String(allow_none=True)
    benchmark_set = fields.String(allow_none=True)
    published_result = fields.Boolean(
        metadata={"description": "true: the published result; false: an analysis"}
    )
    analysis = fields.String(
        metadata={"description": "Present for an analysis against another benchmark set"}
    )
    items = fields.List(fields.Nested(ItemScoreSchema), required=True)
    categories = fields.List(fields.Nested(GroupScoreSchema), required=True)
    sub_dimensions = fields.List(fields.Nested(GroupScoreSchema), required=True)
    dimensions = fields.List(fields.Nested(GroupScoreSchema), required=True)
    overall = fields.Nested(GroupScoreSchema, required=True)
    peers = fields.List(
        fields.Nested(PeerSchema),
        metadata={
            "description": "Relative methods only: every assessment normalised together "
            "(the city itself included). Absent for absolute methods."
        },
    )


class MethodSchema(ma.Schema):
    id = fields.String(required=True)
    spec = fields.Dict(required=True, metadata={"description": "The scoring spec (JSON)"})


class SdgLinkSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    sdg = fields.String(required=True, metadata={"description": "SDG goal number"})
    sdg_ref = fields.String(required=True, metadata={"description": "SDG indicator/target"})


# --- writes ------------------------------------------------------------------------------


class ValueRowSchema(ma.Schema):
    """One row as the file import reads it (same columns as the spreadsheet template)."""

    class Meta:
        unknown = ma.RAISE

    code = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=40), KPI_CODE],
        metadata={
            "description": "KPI code (spacing and case are forgiven)",
            "example": "EC: ICT: ICT: 1C",
        },
    )
    data_point = fields.String(
        load_default="",
        validate=validate.Length(max=40),
        metadata={"description": "Data point id; empty for single-value KPIs", "example": ""},
    )
    value = fields.Raw(
        allow_none=True,
        metadata={
            "description": "Number, true/false for yes/no KPIs, or 'Not Reported'",
            "oneOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}],
        },
    )
    numerator = fields.Float(allow_none=True, allow_nan=False)
    denominator = fields.Float(allow_none=True, allow_nan=False)
    unit = fields.String(allow_none=True, validate=validate.Length(max=80))
    source = fields.String(allow_none=True, validate=validate.Length(max=2000))
    source_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    quality = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=6))
    data_year = fields.Integer(allow_none=True, validate=YEAR)
    comment = fields.String(allow_none=True, validate=validate.Length(max=4000))
    override_reason = fields.String(allow_none=True, validate=validate.Length(max=4000))
    not_reported_reason = fields.String(allow_none=True, validate=validate.Length(max=4000))


#: A local KPI's public code: ``LOCAL:<city slug>:<CODE>`` (services.local_kpis).
LOCAL_CODE_PATTERN = r"^LOCAL:[a-z0-9]+(?:-[a-z0-9]+)*:[A-Za-z0-9][A-Za-z0-9_-]{0,23}$"
LOCAL_CODE = validate.Regexp(
    LOCAL_CODE_PATTERN, error="not a local KPI code (like 'LOCAL:kyebi:WASTE-1')"
)


class SubmitSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    values = fields.List(
        fields.Nested(ValueRowSchema), required=True, validate=validate.Length(min=1, max=1000)
    )
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "Validate and report the changes without writing them"},
    )


class LocalValueRowSchema(ValueRowSchema):
    """One local value as the local-KPI file import reads it (same columns as its export)."""

    class Meta:
        unknown = ma.RAISE
        exclude = ("override_reason",)  # a local value is the number or its two parts

    code = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=120), LOCAL_CODE],
        metadata={
            "description": "Local KPI code LOCAL:<city>:<CODE> (the city of the URL)",
            "example": "LOCAL:kyebi:WASTE-1",
        },
    )


class LocalSubmitSchema(SubmitSchema):
    values = fields.List(
        fields.Nested(LocalValueRowSchema), required=True, validate=validate.Length(min=1, max=1000)
    )


class ProblemSchema(ma.Schema):
    row = fields.Integer(allow_none=True, metadata={"description": "Row of values (from 1)"})
    column = fields.String(allow_none=True)
    message = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(["error", "warning"]))
    code = fields.String(allow_none=True, metadata={"description": "KPI code of the row"})


class ChangeSchema(ma.Schema):
    row = fields.Integer(required=True)
    code = fields.String(required=True)
    data_point = fields.String(required=True)
    label = fields.String(required=True)
    old_value = fields.String(required=True)
    new_value = fields.String(required=True)


class SubmitResultSchema(ma.Schema):
    applied = fields.Boolean(
        required=True, metadata={"description": "True when the values were written"}
    )
    dry_run = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    warnings = fields.List(fields.Nested(ProblemSchema), required=True)
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    unchanged = fields.Integer(required=True, metadata={"description": "Rows equal to stored"})
