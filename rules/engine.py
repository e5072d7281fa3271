"""The evaluation: run every enabled rule of a rule set over the inputs, vectorised, and collect verdicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from gis.io import Inputs
from rules.context import Context
from rules.errors import EvaluationError
from rules.kinds import KINDS
from rules.kinds.base import Outcome
from rules.kinds.enterprise import firm_frame
from rules.result import AGGREGATE_COLUMNS, EvaluationResult, empty_verdicts, status_column, verdict_frame
from rules.ruleset import RuleSet, RuleSpec
from rules.vocabulary import STATUSES, is_note, overall_status

Progress = Callable[[int, int, str], None]

# Zone layers a run overlays anyway: the parcel table shows ring, zone, park and district; some kinds add more.
_TABLE_LAYERS = ("ring", "red_line", "blue_line", "parks", "districts")


def _layers_used(rules: list[RuleSpec]) -> list[str]:
    names = list(_TABLE_LAYERS)
    for r in rules:
        names += KINDS[r.kind].layers if r.kind in KINDS else ()
        layers = getattr(r.p, "layers", None)  # straddles: every layer it checks
        names += list(layers) if isinstance(layers, dict) else []
        layer = getattr(r.p, "layer", None)  # protection_line
        names += [layer] if isinstance(layer, str) else []
    return names


def _order(rules: list[RuleSpec]) -> list[RuleSpec]:
    """Enabled rules, those whose kind provides what another kind needs first (stable otherwise)."""
    enabled = [r for r in rules if r.enabled]
    needed = {name for r in enabled if r.kind in KINDS for name in KINDS[r.kind].needs}

    def first(rule: RuleSpec) -> int:
        spec = KINDS.get(rule.kind)
        return 0 if spec is not None and needed & set(spec.provides) else 1

    return sorted(enabled, key=first)


def _verdict_table(parts: list[tuple[str, np.ndarray, str, Outcome, str]]) -> pd.DataFrame:
    """One long verdict table from ``(level, ids, rule_id, outcome, citation)`` parts, built in one go.

    Categorical columns get their codes directly (concatenating frames whose categories differ would fall
    back to strings, which costs seconds at a million parcels).
    """
    if not parts:
        return empty_verdicts()
    sizes = np.array([len(p[1]) for p in parts])

    def categorical(values: list[str]) -> pd.Categorical:
        cats = list(dict.fromkeys(values))
        codes = np.repeat(np.array([cats.index(v) for v in values], dtype=np.int16), sizes)
        return pd.Categorical.from_codes(codes, categories=cats)

    def objects(arrays: list[np.ndarray]) -> pd.Series:
        return pd.Series(np.concatenate([np.asarray(a, dtype=object) for a in arrays]), dtype=object, copy=False)

    def take(attr: str) -> list[np.ndarray]:
        # The table holds these values from here on: each outcome lets go of its own array, so a million
        # parcels never hold two copies of every column at once.
        arrays = [getattr(p[3], attr) for p in parts]
        for p in parts:
            setattr(p[3], attr, None)
        return arrays

    return verdict_frame({
        "level": categorical([p[0] for p in parts]),
        "subject_id": objects([p[1] for p in parts]),
        "rule": categorical([p[2] for p in parts]),
        "status": pd.Categorical.from_codes(np.concatenate(take("status_code")), categories=list(STATUSES)),
        "value": np.concatenate(take("value")),
        "code": objects(take("code")),
        "threshold": objects(take("threshold")),
        "message": objects(take("message")),
        "citation": categorical([p[4] for p in parts]),
    })


def _text_column(values: np.ndarray) -> pd.Series:
    """Text values (None = unknown) as pandas ``str``, built from their few distinct values in Arrow."""
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    text = pa.DictionaryArray.from_arrays(
        pa.array(codes, mask=codes < 0, type=pa.int32()), pa.array(np.asarray(uniq, dtype=object), pa.large_string())
    ).dictionary_decode()
    return pd.Series(pd.arrays.ArrowStringArray(text, dtype=pd.StringDtype("pyarrow", na_value=np.nan)), copy=False)


def statistics_year(enterprises: pd.DataFrame | None) -> int | None:
    """The statistics year (统计年度) of an enterprise table: its ``year`` column's most common value, if any.

    >>> statistics_year(pd.DataFrame({"year": [2023, 2023, 2022]}))
    2023
    >>> statistics_year(pd.DataFrame({"enterprise_id": ["E1"]})) is None
    True
    """
    if enterprises is None or "year" not in enterprises.columns:
        return None
    years = pd.to_numeric(enterprises["year"], errors="coerce").dropna()
    return int(years.mode().min()) if len(years) else None


def evaluate(
    inputs: Inputs,
    ruleset: RuleSet,
    as_of: date | str | None = None,
    progress: Progress | None = None,
    *,
    year: int | None = None,
) -> EvaluationResult:
    """Evaluate parcels, enterprises and aggregates against ``ruleset`` as of a date (default: today).

    ``year`` is the statistics year (统计年度) the result is of; by default the enterprise table's ``year``.

    Examples
    --------
    >>> from gis.io import load_inputs
    >>> from rules.ruleset import load_ruleset
    >>> d = "data/sample_parcels/"
    >>> inputs = load_inputs(d + "parcels.gpkg", d + "enterprises.csv", d + "occupancy.csv",
    ...                      d + "zones.gpkg", d + "land_supply.csv")
    >>> result = evaluate(inputs, load_ruleset("chengdu-2023"), "2025-06-30")
    >>> result.summary["by_status"]
    {'fail': 809, 'warn': 565, 'missing_data': 18, 'pass': 239, 'exempt': 0, 'not_applicable': 169}
    """
    as_of_ts = pd.Timestamp(as_of or date.today()).normalize()
    ctx = Context(
        parcels=inputs.parcels,
        ruleset=ruleset,
        as_of=as_of_ts,
        zones=dict(inputs.zones or {}),
        enterprises=inputs.enterprises,
        occupancy=inputs.occupancy,
        land_supply=inputs.land_supply,
    )
    rules = _order(ruleset.rules)
    ctx.prefetch(_layers_used(rules))
    yaml_order = {r.id: i for i, r in enumerate(ruleset.rules)}
    parcel_parts: dict[str, tuple[str, np.ndarray, str, Outcome, str]] = {}
    firm_parts: list[tuple[str, np.ndarray, str, Outcome, str]] = []
    agg_frames: list[pd.DataFrame] = []
    parcel_status: dict[str, np.ndarray] = {}
    # (ids, status codes) of the rules that count for the firm's overall status
    firm_status: list[tuple[np.ndarray, np.ndarray]] = []
    firm_extra: pd.DataFrame | None = None  # columns a kind adds to the enterprise table (score, grade)
    for i, rule in enumerate(rules):
        spec = KINDS.get(rule.kind)
        if spec is None:
            raise EvaluationError(f"rule {rule.id}: unknown kind {rule.kind}")
        citation = ruleset.citation_text(rule)
        if spec.level == "parcel":
            out = spec.func(ctx, rule)
            ctx.provided.update({name: get(out) for name, get in spec.provides.items()})
            parcel_parts[rule.id] = ("parcel", ctx.ids, rule.id, out, citation)
            parcel_status[rule.id] = out.status_code
            if spec.enterprise is not None:
                ids, eout = spec.enterprise(ctx, rule)
                firm_parts.append(("enterprise", ids, rule.id, eout, citation))
                firm_status.append((ids, eout.status_code))
        elif spec.level == "enterprise":
            ids, out = spec.func(ctx, rule)
            firm_parts.append(("enterprise", ids, rule.id, out, citation))
            firm_status.append((ids, out.status_code))
            if spec.firm_columns is not None:
                firm_extra = pd.DataFrame(dict(spec.firm_columns(out)), index=ids)
        else:
            keys, out = spec.func(ctx, rule)
            agg = keys.copy().reset_index(drop=True)
            agg.insert(0, "rule", rule.id)
            if "code" not in agg.columns:
                agg["code"] = out.code
            agg["status"] = out.status
            agg["value"] = out.value
            agg["threshold"] = out.threshold
            agg["message"] = out.message
            agg["citation"] = citation
            agg_frames.append(agg[list(AGGREGATE_COLUMNS)])
        if progress:
            progress(i + 1, len(rules), rule.id)

    in_yaml_order = sorted(parcel_status, key=yaml_order.__getitem__)
    columns: dict[str, object] = {
        "parcel_id": ctx.parcels["parcel_id"].astype(str),  # what ctx.ids holds
        "area_m2": ctx.area_m2,
        "area_mu": ctx.area_mu,
        "land_use": ctx.text_series("land_use"),
        "district": _text_column(ctx.district),
        "park_id": _text_column(ctx.park_id) if ctx.park_id is not None else None,
        "zone": _text_column(ctx.zone_label),
        "inside_ring": ctx.inside_ring if ctx.inside_ring is not None else None,
        "far": ctx.far,
        # Contract v2: data.* notes never set the overall status; all not_applicable → not_applicable.
        "status": _text_column(overall_status([c for r, c in parcel_status.items() if not is_note(r)], ctx.n)),
    }
    for rule_id in in_yaml_order:
        columns[status_column(rule_id)] = pd.Categorical.from_codes(parcel_status[rule_id], categories=list(STATUSES))
    parcels = gpd.GeoDataFrame(
        pd.DataFrame(columns, index=ctx.parcels.index, copy=False),
        geometry=ctx.parcels.geometry.values,
        crs=ctx.parcels.crs,
    )

    ctx.release()
    verdicts = _verdict_table([parcel_parts[r] for r in in_yaml_order] + firm_parts)

    firms = firm_frame(ctx)
    if not firms.empty:
        if firm_extra is not None:
            firms = firms.join(firm_extra)
        na = STATUSES.index("not_applicable")
        firm_ids = firms.index.to_numpy(dtype=object)
        statuses = [
            codes.astype(np.int8)
            if len(ids) == len(firm_ids) and np.array_equal(ids, firm_ids)  # the kinds judge firms in table order
            else pd.Series(codes, index=ids).reindex(firms.index).fillna(na).to_numpy(dtype=np.int8)
            for ids, codes in firm_status
        ]
        firms["status"] = overall_status(statuses, len(firms))
        firms = firms.reset_index().rename(columns={"index": "enterprise_id"})
    aggregates = (
        pd.concat(agg_frames, ignore_index=True)
        if agg_frames
        else pd.DataFrame(columns=list(AGGREGATE_COLUMNS))
    )

    return EvaluationResult(
        parcels=parcels,
        verdicts=verdicts,
        enterprises=firms,
        aggregates=aggregates,
        ruleset=ruleset.header(),
        as_of=as_of_ts.date(),
        zones=ctx.zones,
        load_warnings=[i for i in getattr(inputs.report, "issues", []) if getattr(i, "severity", "") == "warning"],
        rule_titles={r.id: r.title for r in ruleset.rules},
        rule_units=ruleset.units(),
        year=year if year is not None else statistics_year(inputs.enterprises),
        occupants=ctx.occupant_pairs(),
    )
