"""Screening helpers for verifiers: what to look at first in a submitted assessment.

The checks mirror the U4SSC verifier's routine, done by hand in the spreadsheet today:

- completeness: KPI items reported out of all items, core and advanced apart;
- shared denominators: a KPI whose denominator is the city's population, households or GDP
  should use the figure in the city's facts for that year; a gap above 5 % is flagged;
- plausibility: outside the catalogue's plausible range, plus the documented cross-KPI rules
  in CROSS_KPI_RULES;
- change: a value more than PREVIOUS_YEAR_THRESHOLD away (relative) from the city's own
  previous assessment;
- peers: a value far from the other cities' published values for the same year, by the
  modified z-score of Iglewicz and Hoaglin, 0.6745 · (x − median) / MAD, flagged at |z| > 3.5.

Flags are hints for review, never verdicts. The functions above the "loading" line are pure
pandas (values in, flags out); `screen_assessment` gathers their inputs from the database.
Peers are read from published snapshots only, so screening never leaks one city's
unpublished numbers into another city's review.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from flask import current_app

from kpi_app.catalogue import Catalogue
from kpi_app.extensions import db
from kpi_app.models import Assessment, CityYearFacts, User
from kpi_app.services import permissions, snapshots
from kpi_app.services.catalogue import current_catalogue
from kpi_app.services.workflow_terms import effective_reported

PLAUSIBILITY = "implausible"
DENOMINATOR_GAP = "denominator_gap"
CROSS_RULE = "cross_rule"
PREVIOUS_YEAR = "previous_year"
PEER_OUTLIER = "peer_outlier"
CONSISTENCY = "consistency"
CONSISTENCY_FILE = "consistency.yaml"  # in the catalogue directory (indicators/)
WARNING, INFO = "warning", "info"

DENOMINATOR_GAP_THRESHOLD = 0.05  # the U4SSC manual investigates gaps above 5 %
PREVIOUS_YEAR_THRESHOLD = 0.5  # ±50 % in one year is rare for city statistics
ROBUST_Z_THRESHOLD = 3.5  # Iglewicz & Hoaglin's recommended cut-off
MIN_PEERS = 5  # below this the median and MAD say little
MAD_SCALE = 0.6745  # makes the MAD comparable to a standard deviation for normal data

# Catalogue denominator wording → the CityYearFacts field it should equal. Area is left out
# on purpose: KPIs state it in km², ha or m², so a plain comparison would cry wolf.
DENOMINATOR_FACTS: dict[str, str] = {
    "city population": "population",
    "total inhabitants": "population",
    "total population": "population",
    "total households": "households",
    "city gdp": "gdp",
}


@dataclass(frozen=True)
class Flag:
    """One screening hint on one KPI item. `rule` names the cross-KPI rule when there is one."""

    code: str
    data_point: str
    kind: str
    severity: str
    params: dict[str, Any] = field(default_factory=dict)
    rule: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.code, self.data_point)


@dataclass(frozen=True)
class CrossRule:
    """`subject` should normally stay below (or equal to) `bound` (a KPI item or a number)."""

    name: str
    subject: tuple[str, str]
    bound: tuple[str, str] | float
    severity: str = WARNING


CROSS_KPI_RULES: tuple[CrossRule, ...] = (
    # Fixed broadband reaches households that already have Internet access.
    CrossRule("broadband_below_internet", ("EC: ICT: ICT: 2C", ""), ("EC: ICT: ICT: 1C", "")),
    # Cities rarely spend 5 % of GDP on R&D (the leading countries spend 3-5 %).
    CrossRule("rd_below_5_percent", ("EC: P: IN: 1C", ""), 5.0),
    # Enrolment may exceed 100 % (pupils from outside the city, over-age pupils): a note,
    # so the verifier does not reject a correct value.
    CrossRule("enrolment_above_100", ("SC: EH: ED: 2C", ""), 100.0, INFO),
    # Youth unemployment is normally above the overall rate; the reverse deserves a look.
    CrossRule("unemployment_below_youth", ("EC: P: EM: 1C", ""), ("EC: P: EM: 2C", ""), INFO),
)


@dataclass(frozen=True)
class Completeness:
    reported_core: int
    total_core: int
    reported_advanced: int
    total_advanced: int
    missing_core: tuple[tuple[str, str], ...]

    @property
    def reported(self) -> int:
        return self.reported_core + self.reported_advanced

    @property
    def total(self) -> int:
        return self.total_core + self.total_advanced

    @property
    def percent(self) -> float:
        return 100.0 * self.reported / self.total if self.total else 0.0


# --- pure checks ----------------------------------------------------------------------------


def _keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(frame["code"], frame["data_point"], strict=True))


def _reported(values: pd.DataFrame) -> pd.DataFrame:
    """Rows with a usable number (not reported items carry NaN)."""
    return values[pd.to_numeric(values["value"], errors="coerce").notna()]


def value_lookup(values: pd.DataFrame) -> dict[tuple[str, str], float]:
    reported = _reported(values)
    return {key: float(v) for key, v in zip(_keys(reported), reported["value"], strict=True)}


def completeness(items: pd.DataFrame, values: pd.DataFrame) -> Completeness:
    """Items reported / all items per tier; `items` is Catalogue.to_frame()."""
    done = set(value_lookup(values))
    reported = [key in done for key in _keys(items)]
    core = (items["tier"] == "core").tolist()
    missing = tuple(
        key
        for key, is_core, ok in zip(_keys(items), core, reported, strict=True)
        if is_core and not ok
    )
    return Completeness(
        reported_core=sum(ok for ok, c in zip(reported, core, strict=True) if c),
        total_core=sum(core),
        reported_advanced=sum(ok for ok, c in zip(reported, core, strict=True) if not c),
        total_advanced=len(core) - sum(core),
        missing_core=missing,
    )


def relative_gap(value: float, reference: float) -> float:
    """|value − reference| / |reference|; infinite when the reference is 0 and value is not."""
    if reference == 0:
        return 0.0 if value == 0 else math.inf
    return abs(value - reference) / abs(reference)


def denominator_gaps(
    values: pd.DataFrame,
    denominator_fields: Mapping[tuple[str, str], str],
    facts: Mapping[str, float | None],
    threshold: float = DENOMINATOR_GAP_THRESHOLD,
) -> list[Flag]:
    """Denominators that differ from the city's facts by more than `threshold`.

    `denominator_fields` maps a KPI item to the facts field its denominator should equal.
    """
    flags = []
    for key, denominator in zip(_keys(values), values["denominator"], strict=True):
        fact_name = denominator_fields.get(key)
        fact = facts.get(fact_name) if fact_name else None
        if fact is None or denominator is None or pd.isna(denominator) or fact <= 0:
            continue
        gap = relative_gap(float(denominator), float(fact))
        if gap > threshold:
            flags.append(
                Flag(
                    *key,
                    kind=DENOMINATOR_GAP,
                    severity=WARNING,
                    params={
                        "fact": fact_name,
                        "denominator": float(denominator),
                        "expected": float(fact),
                        "gap_percent": round(100 * gap, 1),
                    },
                )
            )
    return flags


def plausibility_flags(values: pd.DataFrame, items: pd.DataFrame) -> list[Flag]:
    """Values outside the catalogue's plausible_min / plausible_max."""
    bounds = {
        key: (lo, hi)
        for key, lo, hi in zip(
            _keys(items), items["plausible_min"], items["plausible_max"], strict=True
        )
    }
    flags = []
    for key, value in value_lookup(values).items():
        lo, hi = bounds.get(key, (None, None))
        below = lo is not None and not pd.isna(lo) and value < lo
        above = hi is not None and not pd.isna(hi) and value > hi
        if below or above:
            flags.append(
                Flag(
                    *key,
                    kind=PLAUSIBILITY,
                    severity=WARNING,
                    params={
                        "value": value,
                        "min": None if lo is None or pd.isna(lo) else float(lo),
                        "max": None if hi is None or pd.isna(hi) else float(hi),
                    },
                )
            )
    return flags


def cross_kpi_flags(
    values: pd.DataFrame, rules: Iterable[CrossRule] = CROSS_KPI_RULES
) -> list[Flag]:
    """Apply the documented cross-KPI rules (each needs its subject, and its bound if a KPI)."""
    known = value_lookup(values)
    flags = []
    for rule in rules:
        subject = known.get(rule.subject)
        if subject is None:
            continue
        if isinstance(rule.bound, tuple):
            bound = known.get(rule.bound)
            bound_code: str | None = rule.bound[0]
        else:
            bound, bound_code = rule.bound, None
        if bound is None or subject <= bound:
            continue
        flags.append(
            Flag(
                *rule.subject,
                kind=CROSS_RULE,
                severity=rule.severity,
                params={"value": subject, "bound": bound, "bound_code": bound_code},
                rule=rule.name,
            )
        )
    return flags


@dataclass(frozen=True)
class ConsistencyRule:
    """A rule relating the data points of one KPI (declared in indicators/consistency.yaml)."""

    id: str
    kind: str  # "sum" or "descending"
    code: str
    data_points: tuple[str, ...]
    total: float = 100.0
    tolerance: float = 2.0


def parse_consistency_rules(data: Any, known: set[tuple[str, str]]) -> tuple[ConsistencyRule, ...]:
    """Rules from the YAML's data; ValueError naming the rule when one is malformed."""
    rules = []
    for raw in (data or {}).get("rules", []):
        rule_id = str(raw.get("id") or "?")
        kind = raw.get("kind")
        if kind not in ("sum", "descending"):
            raise ValueError(f"consistency rule {rule_id}: kind must be sum or descending")
        points = tuple(str(p) for p in raw.get("data_points") or ())
        code = str(raw.get("code") or "")
        unknown = [p for p in points if (code, p) not in known]
        if len(points) < 2 or unknown:
            raise ValueError(
                f"consistency rule {rule_id}: {code!r} needs two or more known data points"
                + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            )
        rules.append(
            ConsistencyRule(
                id=rule_id,
                kind=kind,
                code=code,
                data_points=points,
                total=float(raw.get("total", 100)),
                tolerance=float(raw.get("tolerance", 2)),
            )
        )
    return tuple(rules)


def consistency_flags(values: pd.DataFrame, rules: Iterable[ConsistencyRule]) -> list[Flag]:
    """Shares that do not add up, and treatment levels out of order."""
    known = value_lookup(values)
    flags: list[Flag] = []
    for rule in rules:
        parts = {p: known[(rule.code, p)] for p in rule.data_points if (rule.code, p) in known}
        if rule.kind == "sum" and parts:
            total = sum(parts.values())
            complete = len(parts) == len(rule.data_points)
            off = abs(total - rule.total) > rule.tolerance if complete else None
            over = total > rule.total + rule.tolerance
            if off or over:
                params = {
                    "sum": round(total, 2),
                    "total": rule.total,
                    "tolerance": rule.tolerance,
                    "complete": complete,
                }
                flags += [Flag(rule.code, p, CONSISTENCY, WARNING, params, rule.id) for p in parts]
        elif rule.kind == "descending":
            ordered = [p for p in rule.data_points if p in parts]
            for higher, lower in itertools.pairwise(ordered):
                if parts[lower] > parts[higher]:
                    flags.append(
                        Flag(
                            rule.code,
                            lower,
                            CONSISTENCY,
                            WARNING,
                            {
                                "value": parts[lower],
                                "bound": parts[higher],
                                "bound_point": higher,
                            },
                            rule.id,
                        )
                    )
    return flags


def previous_year_flags(
    values: pd.DataFrame,
    previous: pd.DataFrame,
    threshold: float = PREVIOUS_YEAR_THRESHOLD,
    skip: Iterable[tuple[str, str]] = (),
) -> list[Flag]:
    """Values that moved more than `threshold` (relative) since the previous assessment."""
    before = value_lookup(previous)
    ignored = set(skip)
    flags = []
    for key, value in value_lookup(values).items():
        if key in ignored or key not in before:
            continue
        change = relative_gap(value, before[key])
        if change > threshold:
            flags.append(
                Flag(
                    *key,
                    kind=PREVIOUS_YEAR,
                    severity=WARNING,
                    params={
                        "value": value,
                        "previous": before[key],
                        "change_percent": None if math.isinf(change) else round(100 * change, 1),
                    },
                )
            )
    return flags


def robust_z(value: float, sample: Iterable[float]) -> float | None:
    """Modified z-score of `value` against `sample`; None when the MAD is 0 (no spread)."""
    series = pd.Series(list(sample), dtype="float64")
    median = float(series.median())
    mad = float((series - median).abs().median())
    if mad == 0 or math.isnan(mad):
        return None
    return MAD_SCALE * (value - median) / mad


def peer_outlier_flags(
    values: pd.DataFrame,
    peers: pd.DataFrame,
    threshold: float = ROBUST_Z_THRESHOLD,
    min_peers: int = MIN_PEERS,
) -> list[Flag]:
    """Values whose modified z-score among peer cities' values exceeds `threshold`."""
    peer_values = _reported(peers).assign(value=lambda f: f["value"].astype("float64"))
    samples = peer_values.groupby(["code", "data_point"])["value"].apply(list).to_dict()
    flags = []
    for key, value in value_lookup(values).items():
        sample = samples.get(key, [])
        if len(sample) < min_peers:
            continue
        z = robust_z(value, sample)
        if z is not None and abs(z) > threshold:
            flags.append(
                Flag(
                    *key,
                    kind=PEER_OUTLIER,
                    severity=WARNING,
                    params={
                        "value": value,
                        "z": round(z, 2),
                        "median": float(pd.Series(sample).median()),
                        "peers": len(sample),
                    },
                )
            )
    return flags


def denominator_fields_from_catalogue(
    items: Iterable[tuple[str, str, str | None]],
) -> dict[tuple[str, str], str]:
    """(code, data_point, denominator text) → facts field, from DENOMINATOR_FACTS."""
    mapping = {}
    for code, data_point, denominator in items:
        fact = DENOMINATOR_FACTS.get((denominator or "").strip().lower())
        if fact:
            mapping[(code, data_point)] = fact
    return mapping


# --- loading from the database --------------------------------------------------------------


@dataclass(frozen=True)
class ScreeningReport:
    completeness: Completeness
    flags: tuple[Flag, ...]
    peers: int
    previous_year: int | None
    peer_list: tuple[tuple[str, int], ...] = ()  # (city slug, year) of each peer used

    def for_item(self, code: str, data_point: str = "") -> list[Flag]:
        return [flag for flag in self.flags if flag.key == (code, data_point)]

    @property
    def warnings(self) -> int:
        return sum(flag.severity == WARNING for flag in self.flags)

    def counts(self) -> dict[tuple[str, str], int]:
        result: dict[tuple[str, str], int] = {}
        for flag in self.flags:
            result[flag.key] = result.get(flag.key, 0) + 1
        return result


def screen_assessment(assessment: Assessment, actor: User | None) -> ScreeningReport:
    """Run every check on an assessment, with its facts, previous year and published peers."""
    catalogue = current_catalogue()
    items = catalogue.to_frame()
    values = live_values_frame(assessment)
    previous_year, previous = _previous_values(assessment, actor)
    peers, peer_list = _peer_values(assessment)
    denominators = denominator_fields_from_catalogue(
        (item.code, item.data_point, catalogue.indicator(item.code).denominator)
        for item in catalogue.items()
    )
    booleans = [
        key for key, vt in zip(_keys(items), items["value_type"], strict=True) if vt == "boolean"
    ]
    flags = [
        *plausibility_flags(values, items),
        *cross_kpi_flags(values),
        *denominator_gaps(values, denominators, _facts(assessment)),
        *previous_year_flags(values, previous, skip=booleans),
        *peer_outlier_flags(values, peers),
        *consistency_flags(values, consistency_rules(catalogue)),
    ]
    order = {key: n for n, key in enumerate(_keys(items))}
    flags.sort(key=lambda f: (order.get(f.key, len(order)), f.kind))
    return ScreeningReport(
        completeness=completeness(items, values),
        flags=tuple(flags),
        peers=len(peer_list),
        previous_year=previous_year,
        peer_list=peer_list,
    )


_rules_cache: dict[tuple[str, str], tuple[ConsistencyRule, ...]] = {}


def consistency_rules(catalogue: Catalogue) -> tuple[ConsistencyRule, ...]:
    """The consistency rules next to the catalogue (none when the file is absent)."""
    path = Path(current_app.config["CATALOGUE_DIR"]) / CONSISTENCY_FILE
    key = (str(path), catalogue.version)
    if key not in _rules_cache:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
        known = {item.key for item in catalogue.items()}
        _rules_cache[key] = parse_consistency_rules(data, known)
    return _rules_cache[key]


VALUE_COLUMNS = ["code", "data_point", "value", "numerator", "denominator"]


def live_values_frame(assessment: Assessment) -> pd.DataFrame:
    """The assessment's current values; not reported items get NaN as value."""
    rows = [
        {
            "code": v.code,
            "data_point": v.data_point,
            "value": v.value if effective_reported(v) else None,
            "numerator": v.numerator,
            "denominator": v.denominator,
        }
        for v in assessment.values
    ]
    return pd.DataFrame(rows, columns=VALUE_COLUMNS)


def snapshot_values_frame(content: Mapping[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "code": r["code"],
            "data_point": r.get("data_point", ""),
            "value": r.get("value") if r.get("reported", True) else None,
            "numerator": None,
            "denominator": None,
        }
        for r in content.get("values", [])
    ]
    return pd.DataFrame(rows, columns=VALUE_COLUMNS)


def _facts(assessment: Assessment) -> dict[str, float | None]:
    facts = db.session.scalar(
        db.select(CityYearFacts).where(
            CityYearFacts.city_id == assessment.city_id, CityYearFacts.year == assessment.year
        )
    )
    if facts is None:
        return {}
    return {"population": facts.population, "households": facts.households, "gdp": facts.gdp}


def _previous_values(assessment: Assessment, actor: User | None) -> tuple[int | None, pd.DataFrame]:
    """The city's latest earlier assessment: its published snapshot, else live if visible."""
    previous = db.session.scalar(
        db.select(Assessment)
        .where(Assessment.city_id == assessment.city_id, Assessment.year < assessment.year)
        .order_by(Assessment.year.desc())
        .limit(1)
    )
    if previous is None:
        return None, pd.DataFrame(columns=VALUE_COLUMNS)
    snapshot = snapshots.latest(previous.id)
    if snapshot is not None:
        return previous.year, snapshot_values_frame(snapshot.content)
    if permissions.can_view_assessment(actor, previous):
        return previous.year, live_values_frame(previous)
    return None, pd.DataFrame(columns=VALUE_COLUMNS)


def _peer_values(assessment: Assessment) -> tuple[pd.DataFrame, tuple[tuple[str, int], ...]]:
    """Other cities' published values: the same year first; when fewer than MIN_PEERS cities
    published it, each remaining city's latest earlier published year (one year per city)."""
    others = db.session.scalars(
        db.select(Assessment)
        .where(
            Assessment.year <= assessment.year,
            Assessment.city_id != assessment.city_id,
            Assessment.published_at.is_not(None),
        )
        .order_by(Assessment.year.desc(), Assessment.id)
    )
    frames = []
    used: list[tuple[str, int]] = []
    seen: set[int] = set()
    for other in others:
        earlier = other.year < assessment.year
        if other.city_id in seen or (earlier and len(used) >= MIN_PEERS):
            continue
        snapshot = snapshots.latest(other.id)
        if snapshot is not None:
            frames.append(snapshot_values_frame(snapshot.content))
            used.append((other.city.slug, other.year))
            seen.add(other.city_id)
    if not frames:
        return pd.DataFrame(columns=VALUE_COLUMNS), ()
    return pd.concat(frames, ignore_index=True), tuple(used)
