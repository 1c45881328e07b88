# mypy: disable-error-code="untyped-decorator"
# (flask-smorest ships no type hints, so its decorators are untyped; the views are typed.)
"""GET /api/v1/lab: the methods lab (see :mod:`kpi_app.services.lab`) as JSON."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request
from flask_babel import get_locale
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from kpi_app.scoring import AGGREGATORS, NORMALISERS, PRESETS
from kpi_app.services import lab
from kpi_app.web.api.resources import read_endpoint

lab_bp = Blueprint(
    "api_lab",
    __name__,
    url_prefix="/api/v1",
    description="The methods lab: a scoring spec over a published peer group.",
)


class LabArgs(ma.Schema):
    year = fields.Integer(
        required=True,
        validate=validate.Range(min=1900, max=2200),
        metadata={"description": "Year of the assessments"},
    )
    country = fields.String(
        load_default=None,
        validate=validate.Regexp("^[A-Za-z]{2}$"),
        metadata={"description": "ISO2 country filter"},
    )
    city = fields.List(
        fields.String(),
        load_default=list,
        metadata={"description": "City slugs (repeat); default: every published one"},
    )
    benchmark_set = fields.String(load_default=None, metadata={"description": "Benchmark set id"})
    method = fields.String(
        load_default=None,
        validate=validate.OneOf(sorted(k for k, v in PRESETS.items() if v.method == "composite")),
        metadata={"description": "A composite preset (see /methods)"},
    )
    normalisation = fields.String(
        load_default=None,
        validate=validate.OneOf(sorted(NORMALISERS)),
        metadata={"description": "Normaliser"},
    )
    aggregation = fields.String(
        load_default=None,
        validate=validate.OneOf(sorted(AGGREGATORS)),
        metadata={"description": "Aggregation"},
    )
    min_coverage = fields.Float(
        load_default=None, validate=validate.Range(min=0, max=1), metadata={"description": "0 to 1"}
    )
    draws = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "Monte Carlo draws"},
    )
    region = fields.List(
        fields.String(),
        load_default=list,
        metadata={"description": "UN M49 region of the city's country (repeat)"},
    )
    size = fields.List(
        fields.String(validate=validate.OneOf(lab.SIZE_BANDS)),
        load_default=list,
        metadata={"description": "Population band (repeat): small, medium, large, metropolitan"},
    )
    aggregation_category = fields.String(
        load_default=None, validate=validate.OneOf(sorted(AGGREGATORS))
    )
    aggregation_sub_dimension = fields.String(
        load_default=None, validate=validate.OneOf(sorted(AGGREGATORS))
    )
    aggregation_dimension = fields.String(
        load_default=None, validate=validate.OneOf(sorted(AGGREGATORS))
    )
    aggregation_overall = fields.String(
        load_default=None, validate=validate.OneOf(sorted(AGGREGATORS))
    )
    down_weight_low_quality = fields.Boolean(
        load_default=None,
        metadata={"description": "Down-weight items of data-quality levels 4-6 (docs/scoring)"},
    )
    loo_city = fields.String(
        load_default=None,
        metadata={"description": "City slug whose rank drivers (leave one KPI out) to return"},
    )


class LabRowSchema(ma.Schema):
    city = fields.String(required=True)
    year = fields.Integer(required=True)
    level = fields.String(required=True, metadata={"description": "overall or dimension"})
    group = fields.String(required=True, metadata={"description": "dimension id, '' overall"})
    score = fields.Float(allow_none=True)
    rank = fields.Integer(allow_none=True)
    coverage = fields.Float(allow_none=True)
    u4ssc_score = fields.Float(allow_none=True)
    u4ssc_rank = fields.Integer(allow_none=True)
    mc_median_rank = fields.Float(allow_none=True)
    mc_rank_p05 = fields.Float(allow_none=True)
    mc_rank_p95 = fields.Float(allow_none=True)
    mc_scored_share = fields.Float(allow_none=True)
    confidence = fields.String(allow_none=True, metadata={"description": "high, medium, low"})


class LooRowSchema(ma.Schema):
    code = fields.String(required=True)
    base_score = fields.Float(allow_none=True)
    base_rank = fields.Integer(allow_none=True)
    score_without = fields.Float(allow_none=True)
    rank_without = fields.Integer(allow_none=True)
    rank_change = fields.Integer(
        allow_none=True, metadata={"description": "rank without - rank with the KPI"}
    )


class LabResultSchema(ma.Schema):
    peer_group = fields.Dict(required=True)
    benchmark_set = fields.String(allow_none=True)
    monte_carlo = fields.Dict(required=True)
    spec = fields.Dict(required=True, metadata={"description": "The ScoringSpec (to_dict)"})
    fingerprint = fields.String(required=True, metadata={"description": "SHA-256 of the spec"})
    cities = fields.List(fields.String(), required=True)
    scored_benchmark_set = fields.String(allow_none=True)
    rows = fields.List(fields.Nested(LabRowSchema), required=True)
    leave_one_out = fields.List(
        fields.Nested(LooRowSchema),
        required=True,
        metadata={"description": "loo_city's rank drivers, largest move first ([] without)"},
    )
    leave_one_out_city = fields.String(allow_none=True)


@lab_bp.route("/lab")
@lab_bp.arguments(LabArgs, location="query", as_kwargs=True)
@lab_bp.response(200, LabResultSchema)
@lab_bp.alt_response(422, schema="Error", description="Bad parameters")
@lab_bp.alt_response(
    404, schema="Error", description="No such benchmark set or published assessment(s)"
)
@read_endpoint(lab_bp)
def lab_results(**params: Any) -> Any:
    """Scores, ranks and confidence grades at every level by a spec beside the U4SSC rule,
    with Monte Carlo 90 % rank intervals and the share of draws each city was scored in.

    Weights are query parameters ``w_<level>:<id>=<weight>`` (levels item, category,
    sub_dimension, dimension; e.g. ``w_dimension:EC=2``), as in the lab page's address."""
    args: dict[str, list[str]] = {}
    for key in ("city", "region", "size"):
        args[key] = [str(v) for v in params.pop(key) or []]
    flag = params.pop("down_weight_low_quality")
    if flag is not None:
        args["down_weight_low_quality"] = ["1" if flag else "0"]
    args |= {key: [str(value)] for key, value in params.items() if value is not None}
    args |= {
        key: request.args.getlist(key) for key in request.args if key.startswith(lab.WEIGHT_PREFIX)
    }
    try:
        return lab.run_lab(lab.parse_query(args), current_user, str(get_locale() or "en")).to_dict()
    except lab.LabNotFound as error:
        abort(404, message=str(error))
    except lab.LabError as error:
        abort(422, message=str(error), errors={"query": [str(error)]})
