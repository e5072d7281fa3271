"""The evaluation: run every enabled rule of a rule set over the inputs, vectorised, and collect verdicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from gis.io import Inputs
from rules.context import Context
from rules.errors import EvaluationError
from rules.kinds import KINDS
from rules.kinds.enterprise import firm_frame
from rules.result import SEVERITY, EvaluationResult, status_column
from rules.ruleset import RuleSet, RuleSpec

Progress = Callable[[int, int, str], None]

# Kinds whose outcome other kinds read (low_efficiency reads idle.order53) run first.
_RUN_FIRST = ("idle_order53",)


def _order(rules: list[RuleSpec]) -> list[RuleSpec]:
    return sorted((r for r in rules if r.enabled), key=lambda r: 0 if r.kind in _RUN_FIRST else 1)


def _frame(level: str, ids: np.ndarray, rule: RuleSpec, out, citation: str) -> pd.DataFrame:
    return pd.DataFrame({
        "level": level,
        "subject_id": ids,
        "rule": rule.id,
        "status": out.status,
        "value": out.value,
        "code": out.code,
        "threshold": out.threshold,
        "message": out.message,
        "citation": citation,
    })


def _worst(statuses: list[np.ndarray], n: int) -> np.ndarray:
    """The most severe status per subject: fail > warn > missing_data > pass (exempt, n/a count as pass)."""
    names = np.array(["pass", "missing_data", "warn", "fail"], dtype=object)
    if not statuses:
        return np.full(n, "pass", dtype=object)
    rank = np.zeros(n, dtype=np.int8)
    for st in statuses:
        r = pd.Series(st).map(SEVERITY).fillna(0).to_numpy(dtype=np.int8)
        np.maximum(rank, r, out=rank)
    return names[rank]


def evaluate(inputs: Inputs, ruleset: RuleSet, as_of: date | str | None = None,
             progress: Progress | None = None) -> EvaluationResult:
    """Evaluate parcels, enterprises and aggregates against ``ruleset`` as of a date (default: today).

    Examples
    --------
    >>> from gis.io import load_inputs                                   # doctest: +SKIP
    >>> from rules.ruleset import load_ruleset                           # doctest: +SKIP
    >>> inputs = load_inputs("data/sample_parcels/parcels.gpkg",
    ...                      zones="data/sample_parcels/zones.gpkg")      # doctest: +SKIP
    >>> result = evaluate(inputs, load_ruleset("chengdu-2023"), "2025-06-30")   # doctest: +SKIP
    >>> result.summary["by_status"]                                      # doctest: +SKIP
    {'pass': 812, 'warn': 301, 'fail': 402, 'missing_data': 85}
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
    yaml_order = {r.id: i for i, r in enumerate(ruleset.rules)}
    parcel_frames: dict[str, pd.DataFrame] = {}
    firm_frames: list[pd.DataFrame] = []
    agg_frames: list[pd.DataFrame] = []
    parcel_status: dict[str, np.ndarray] = {}
    firm_status: list[pd.Series] = []
    grades: pd.DataFrame | None = None
    for i, rule in enumerate(rules):
        spec = KINDS.get(rule.kind)
        if spec is None:
            raise EvaluationError(f"rule {rule.id}: unknown kind {rule.kind}")
        citation = ruleset.citation_text(rule)
        if spec.level == "parcel":
            out = spec.func(ctx, rule)
            ctx.outcomes[rule.id] = out
            parcel_frames[rule.id] = _frame("parcel", ctx.ids, rule, out, citation)
            parcel_status[rule.id] = out.status
            if spec.enterprise is not None:
                ids, eout = spec.enterprise(ctx, rule)
                firm_frames.append(_frame("enterprise", ids, rule, eout, citation))
                firm_status.append(pd.Series(eout.status, index=ids))
        elif spec.level == "enterprise":
            ids, out = spec.func(ctx, rule)
            firm_frames.append(_frame("enterprise", ids, rule, out, citation))
            firm_status.append(pd.Series(out.status, index=ids))
            if rule.kind == "weighted_score":
                grades = pd.DataFrame({"score": out.value, "grade": out.code}, index=ids)
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
            agg_frames.append(agg[["rule", "scope", "key", "code", "status", "value", "threshold", "message", "citation"]])
        if progress:
            progress(i + 1, len(rules), rule.id)

    parcels = ctx.parcels[["parcel_id"]].copy()
    parcels["parcel_id"] = ctx.ids
    parcels["area_m2"] = ctx.area_m2
    parcels["area_mu"] = ctx.area_mu
    parcels["land_use"] = ctx.text("land_use")
    parcels["district"] = ctx.district
    parcels["park_id"] = ctx.park_id if ctx.park_id is not None else None
    parcels["zone"] = ctx.zone_label
    parcels["inside_ring"] = ctx.inside_ring if ctx.inside_ring is not None else None
    parcels["far"] = ctx.far
    parcels["status"] = _worst(list(parcel_status.values()), ctx.n)
    in_yaml_order = sorted(parcel_status, key=yaml_order.__getitem__)
    for rule_id in in_yaml_order:
        parcels[status_column(rule_id)] = parcel_status[rule_id]
    parcels = parcels.set_geometry(ctx.parcels.geometry.values, crs=ctx.parcels.crs)

    frames = [parcel_frames[r] for r in in_yaml_order] + firm_frames
    verdicts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    for col in ("level", "rule", "status", "citation"):
        if col in verdicts:
            verdicts[col] = verdicts[col].astype("category")
    if "code" in verdicts:
        code = verdicts["code"].astype(object)
        verdicts["code"] = code.where(code.notna(), None)

    firms = firm_frame(ctx)
    if not firms.empty:
        if grades is not None:
            firms = firms.join(grades)
        statuses = [s.to_numpy(dtype=object) for s in firm_status]
        firms["status"] = _worst(statuses, len(firms)) if statuses else "pass"
        firms = firms.reset_index().rename(columns={"index": "enterprise_id"})
    aggregates = pd.concat(agg_frames, ignore_index=True) if agg_frames else pd.DataFrame(
        columns=["rule", "scope", "key", "code", "status", "value", "threshold", "message", "citation"])

    return EvaluationResult(
        parcels=parcels,
        verdicts=verdicts,
        enterprises=firms,
        aggregates=aggregates,
        ruleset=ruleset.header(),
        as_of=as_of_ts.date(),
        zones=ctx.zones,
        load_warnings=[i for i in getattr(inputs.report, "issues", []) if getattr(i, "severity", "") == "warning"],
    )
