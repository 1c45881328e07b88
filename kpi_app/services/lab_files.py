"""The methods lab's spec file: the JSON the lab downloads (:meth:`LabQuery.to_dict`), read
back into a :class:`~kpi_app.services.lab.LabQuery` (upload on the page, ``kpi-app lab
--spec-file``), with a clear message for every way a file can be wrong."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from kpi_app.i18n import _
from kpi_app.scoring import ScoringSpec
from kpi_app.scoring.spec import ScoringSpecError
from kpi_app.services.lab import (
    DEFAULT_DRAWS,
    LEVEL_AGGREGATION_PREFIX,
    WEIGHT_PREFIX,
    LabError,
    LabQuery,
    parse_query,
)

#: Largest spec document accepted by upload (bytes).
MAX_SPEC_BYTES: Final = 256 * 1024


def query_from_document(raw: bytes | str) -> LabQuery:
    """Read back a spec document (:meth:`LabQuery.to_dict`); LabError with a clear message.

    The fingerprint, when present, must be that of the spec: a hand-edited spec is welcome,
    but then drop the fingerprint (it is recomputed).
    """
    if len(raw) > MAX_SPEC_BYTES:
        raise LabError(_("the spec file is larger than %(size)d KiB", size=MAX_SPEC_BYTES // 1024))
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LabError(_("the spec file is not valid JSON: %(error)s", error=error)) from None
    if not isinstance(data, dict):
        raise LabError(_("the spec file must hold a JSON object (as the lab downloads it)"))
    known = {"peer_group", "benchmark_set", "monte_carlo", "leave_one_out_city", "spec"}
    unknown = set(data) - known - {"fingerprint"}
    if unknown:
        raise LabError(
            _("the spec file has unknown key(s) %(keys)s", keys=", ".join(sorted(unknown)))
        )
    try:
        spec = ScoringSpec.from_dict(_mapping(data.get("spec", {}), "spec"))
    except (ScoringSpecError, KeyError, TypeError, ValueError) as error:
        raise LabError(_("the spec file's spec is not valid: %(error)s", error=error)) from None
    fingerprint = data.get("fingerprint")
    if fingerprint is not None and fingerprint != spec.fingerprint():
        raise LabError(
            _(
                "the spec file's fingerprint does not match its spec (was it edited?); "
                "remove the fingerprint to load an edited spec"
            )
        )
    if spec.method != "composite" or spec.overrides or spec.normalisation.params:
        raise LabError(
            _("the lab runs composite specs without per-KPI overrides or normaliser parameters")
        )
    peers = _mapping(data.get("peer_group", {}), "peer_group")
    mc = _mapping(data.get("monte_carlo", {}), "monte_carlo")
    args: dict[str, list[str]] = {
        "year": [str(peers.get("year", ""))],
        "city": [str(c) for c in _list(peers.get("cities"), "peer_group.cities")],
        "region": [str(r) for r in _list(peers.get("regions"), "peer_group.regions")],
        "size": [str(s) for s in _list(peers.get("sizes"), "peer_group.sizes")],
        "normalisation": [spec.normalisation.name],
        "aggregation": [spec.aggregation],
        "min_coverage": [repr(spec.min_coverage)],
        "draws": [str(mc.get("draws", DEFAULT_DRAWS))],
    }
    if peers.get("country"):
        args["country"] = [str(peers["country"])]
    if data.get("benchmark_set"):
        args["benchmark_set"] = [str(data["benchmark_set"])]
    if data.get("leave_one_out_city"):
        args["loo_city"] = [str(data["leave_one_out_city"])]
    if spec.down_weight_low_quality:
        args["down_weight_low_quality"] = ["1"]
    for level, name in spec.level_aggregation.items():
        args[f"{LEVEL_AGGREGATION_PREFIX}{level}"] = [name]
    for level, by_id in spec.weights.items():
        for group_id, weight in by_id.items():
            args[f"{WEIGHT_PREFIX}{level}:{group_id}"] = [repr(weight)]
    return parse_query(args)


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise LabError(_("the spec file's %(name)s must be a JSON object", name=name))
    return value


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise LabError(_("the spec file's %(name)s must be a JSON list", name=name))
    return value
