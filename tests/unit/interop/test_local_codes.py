"""Local KPI codes in the exchange formats: their SDMX / URN ids and what the readers do."""

from __future__ import annotations

import pytest

from kpi_app.interop import InteropFormatError, Observation, parse_entities, to_entities
from kpi_app.interop.ngsi_ld import entity_id, is_local_entity
from kpi_app.interop.records import indicator_token, is_local_code, local_code_parts
from kpi_app.interop.sdmx import LOCAL_STRUCTURE_ID, STRUCTURE_ID, parse_sdmx_csv, to_sdmx_csv


def _obs(code: str, point: str = "") -> Observation:
    return Observation(
        city="kyebi",
        city_name="Kyebi",
        country="GH",
        year=2024,
        code=code,
        data_point=point,
        kpi_name="A KPI",
        unit="%",
        value=40.0,
        reported=True,
        verified=True,
        quality=2,
        source="Office",
        data_year=2023,
        target=60.0,
        direction="higher_better",
    )


def test_tokens_keep_the_two_namespaces_apart() -> None:
    assert indicator_token("LOCAL:kyebi:WASTE-1") == "LOCAL_kyebi_WASTE-1"
    assert indicator_token("LOCAL:new-town:A_B") == "LOCAL_new-town_A_B"
    assert indicator_token("EC: ICT: ICT: 1C") == "EC_ICT_ICT_1C"
    assert local_code_parts("LOCAL:new-town:A_B") == ("new-town", "A_B")
    assert is_local_code("LOCAL:kyebi:X") and not is_local_code("EC: ICT: ICT: 1C")
    for bad in ("LOCAL:Kyebi:X", "LOCAL:kyebi:", "LOCAL:kyebi:x", "LOCAL:a_b:X"):
        with pytest.raises(ValueError, match="not a local KPI code"):
            local_code_parts(bad)
    assert entity_id("kyebi", 2024, "LOCAL:kyebi:TREES", "north") == (
        "urn:ngsi-ld:KeyPerformanceIndicator:local:kyebi:2024:TREES:north"
    )
    assert entity_id("kyebi", 2024, "EC: ICT: ICT: 1C") == (
        "urn:ngsi-ld:KeyPerformanceIndicator:u4ssc:kyebi:2024:EC_ICT_ICT_1C"
    )


def test_readers_leave_out_or_refuse_local_values() -> None:
    entities = to_entities([_obs("EC: ICT: ICT: 1C"), _obs("LOCAL:kyebi:WASTE-1")], "http://x/c")
    assert [is_local_entity(e) for e in entities] == [False, True]
    assert "frameworkCode" not in entities[1] and entities[1]["localCode"]["value"]
    parsed = parse_entities(entities)
    assert [p.code for p in parsed] == ["EC: ICT: ICT: 1C"]
    with pytest.raises(InteropFormatError, match="only local KPI entities"):
        parse_entities(entities[1:])
    u4ssc = to_sdmx_csv([_obs("EC: ICT: ICT: 1C")])
    local = to_sdmx_csv([_obs("LOCAL:kyebi:WASTE-1")], structure_id=LOCAL_STRUCTURE_ID)
    assert STRUCTURE_ID in u4ssc and LOCAL_STRUCTURE_ID not in u4ssc
    assert f"dataflow,{LOCAL_STRUCTURE_ID},I,kyebi,2024,LOCAL_kyebi_WASTE-1,_Z,40," in local
    with pytest.raises(InteropFormatError, match="is a local KPI"):
        parse_sdmx_csv(local)
