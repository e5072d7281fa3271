"""Parcel-level rule kinds. Each is an ordered decision table over all parcels at once."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from gis import overlay
from rules.context import Context
from rules.kinds.base import Outcome, register
from rules.messages import render

if TYPE_CHECKING:
    from rules.ruleset import RuleSpec

_MISSING_LAND_USE = "missing_land_use"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _by_distinct_dates(values: np.ndarray, func: Any) -> np.ndarray:
    """``func`` of the distinct dates only (a million parcels have a few thousand), spread back."""
    values = np.asarray(values, dtype="datetime64[ns]")
    inverse, uniq = pd.factorize(values.view(np.int64))  # NaT is one value
    return np.asarray(func(np.asarray(uniq).view("datetime64[ns]")))[inverse]


def _fmt_dates(values: np.ndarray) -> np.ndarray:
    """ISO dates as text (— for NaT), vectorised."""

    def fmt(uniq: np.ndarray) -> np.ndarray:
        return pd.Series(uniq).dt.strftime("%Y-%m-%d").fillna("—").to_numpy(dtype=object)

    return _by_distinct_dates(values, fmt)


def _dicts(keys: list[np.ndarray], make: Any, by: np.ndarray | None = None) -> np.ndarray:
    """An object array of ``make(*row)`` dicts, one dict per distinct row of ``keys`` shared by its repeats.

    ``by``: one array the rows are known to be determined by (distinct ``by`` → distinct rows), to group on.
    """
    out = np.empty(len(keys[0]), dtype=object)
    if by is not None:
        inverse, uniq = pd.factorize(by)
        first = np.empty(len(uniq), dtype=np.intp)
        first[inverse] = np.arange(len(inverse))
        made = np.empty(len(first), dtype=object)
        firsts = [k[first].tolist() for k in keys]  # Python scalars, as the dicts always held
        made[:] = [make(*(f[j] for f in firsts)) for j in range(len(first))]
        out[:] = made[inverse]
        return out
    if len(out) == 0:
        return out
    # floats by their bits (NaN is one value, -0.0 stays apart from 0.0), text by value
    combo = np.zeros(len(out), dtype=np.int64)
    for k in keys:
        codes, uniq = (
            pd.factorize(k.view(np.int64))
            if k.dtype.kind == "f"
            else pd.factorize(np.asarray(k, dtype=object), use_na_sentinel=False)
        )
        combo = pd.factorize(combo * len(uniq) + codes)[0]
    inverse, uniq = pd.factorize(combo)
    first = np.empty(len(uniq), dtype=np.intp)
    first[inverse] = np.arange(len(inverse))  # a row of each distinct combination
    rows = [k.tolist() for k in keys]  # Python scalars, as the dicts always held
    made = np.empty(len(first), dtype=object)
    made[:] = [make(*(r[i] for r in rows)) for i in first.tolist()]
    out[:] = made[inverse]
    return out


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


# ---- far.bounds -------------------------------------------------------------------------------------
class Bounds(_Params):
    """Inclusive FAR bounds."""

    min: float = Field(ge=0)
    max: float = Field(gt=0)


class FarParams(_Params):
    """Parameters of far_bounds: bounds inside and outside the ring."""

    inside_ring: Bounds
    outside_ring: Bounds
    # FAR is judged as planners report it, rounded to this many decimals (容积率 4.004 is "4.00", within 4.0):
    # coordinates in degrees or a few centimetres of digitising noise must not turn a 4.00 into a failure.
    decimals: int | None = Field(2, ge=0, le=6)


@register(
    "far_bounds",
    level="parcel",
    params=FarParams,
    messages=(
        "pass",
        "below_min",
        "above_max",
        "special_process",
        "vacant",
        "non_industrial",
        "missing_floor_area",
        "missing_status",
        _MISSING_LAND_USE,
        "missing_ring",
    ),
    fields=("far", "ring", "min", "max"),
)
def far_bounds(ctx: Context, rule: RuleSpec) -> Outcome:
    """FAR within the ring-dependent bounds, inclusive; special process exempt; vacant/non-industrial n/a."""
    p: FarParams = rule.p
    out = Outcome(rule, ctx.n)
    far = ctx.far
    status = ctx.status
    special, _ = ctx.flag("special_process")
    inside = ctx.inside_ring
    out.case(~ctx.land_use_known, "missing_data", _MISSING_LAND_USE)
    out.case(~ctx.industrial, "not_applicable", "non_industrial")
    out.case(status == "vacant", "not_applicable", "vacant")
    out.case(pd.isna(status), "missing_data", "missing_status")
    out.case(special, "exempt", "special_process", code="special_process", value=far, far=far)
    if inside is None:
        out.rest("missing_data", "missing_ring", value=far)
        return out.finish()
    lo = np.where(inside, p.inside_ring.min, p.outside_ring.min)
    hi = np.where(inside, p.inside_ring.max, p.outside_ring.max)
    ring = np.where(inside, "绕城高速以内", "绕城高速以外").astype(object)
    thr_in = {"min": p.inside_ring.min, "max": p.inside_ring.max}
    thr_out = {"min": p.outside_ring.min, "max": p.outside_ring.max}
    thr = np.empty(ctx.n, dtype=object)
    thr[inside] = [thr_in]
    thr[~inside] = [thr_out]
    out.case(np.isnan(far), "missing_data", "missing_floor_area", threshold=thr)
    judged = far if p.decimals is None else np.round(far, p.decimals)
    common: dict[str, Any] = dict(value=far, threshold=thr, far=far, ring=ring, min=lo, max=hi)
    out.case(judged < lo, "fail", "below_min", code="below_min", **common)
    out.case(judged > hi, "fail", "above_max", code="above_max", **common)
    out.rest("pass", "pass", **common)
    return out.finish()


# ---- zone.red_line / zone.blue_line -----------------------------------------------------------------
class LineParams(_Params):
    """Parameters of protection_line: the zone layer and the date until which conversion fails."""

    layer: str
    strict_until: date | None = None


@register(
    "protection_line",
    level="parcel",
    params=LineParams,
    messages=("pass", "conversion", "outside", "non_industrial", _MISSING_LAND_USE, "missing_layer"),
    fields=("zone_name", "planned_use"),
)
def protection_line(ctx: Context, rule: RuleSpec) -> Outcome:
    """Industrial land in a protection line may not change to a non-industrial use (until a date, if given)."""
    p: LineParams = rule.p
    out = Outcome(rule, ctx.n)
    member = ctx.in_red if p.layer == "red_line" else ctx.in_blue if p.layer == "blue_line" else ctx.member(p.layer)
    if member is None:
        out.rest("missing_data", "missing_layer")
        return out.finish()
    names = ctx.red_name if p.layer == "red_line" else ctx.blue_name if p.layer == "blue_line" else None
    names = names if names is not None else np.full(ctx.n, p.layer, dtype=object)
    out.case(~member, "not_applicable", "outside")
    out.case(~ctx.land_use_known, "missing_data", _MISSING_LAND_USE)
    out.case(~ctx.industrial, "not_applicable", "non_industrial")
    conv = ctx.planned_non_industrial
    thr = {"strict_until": _iso(p.strict_until)} if p.strict_until else None
    strict = p.strict_until is None or ctx.as_of < pd.Timestamp(p.strict_until)
    info = dict(zone_name=names, planned_use=ctx.planned_use)
    if strict:
        out.case(conv, "fail", "conversion", code="conversion", threshold=thr, **info)
    else:
        out.case(conv, "warn", "review", code="review", threshold=thr, **info)
    out.rest("pass", "pass", threshold=thr, **info)
    return out.finish()


# ---- zone.outside ---------------------------------------------------------------------------------
@register(
    "outside_parks",
    level="parcel",
    layers=("planned_construction_area",),
    messages=("retain", "exit", "unknown", "inside", "non_industrial", _MISSING_LAND_USE, "missing_layer"),
)
def outside_parks(ctx: Context, rule: RuleSpec) -> Outcome:
    """Industrial land in no park and outside the planned construction area: retain, exit, or unknown."""
    out = Outcome(rule, ctx.n)
    out.case(~ctx.land_use_known, "missing_data", _MISSING_LAND_USE)
    out.case(~ctx.industrial, "not_applicable", "non_industrial")
    in_pca = ctx.member("planned_construction_area")
    if ctx.in_park is None or in_pca is None:
        out.rest("missing_data", "missing_layer")
        return out.finish()
    out.case(ctx.in_park | in_pca, "not_applicable", "inside")
    retain, known = ctx.flag("retainable")
    out.case(known & retain, "pass", "retain", code="retain")
    out.case(known & ~retain, "fail", "exit", code="exit")
    out.rest("missing_data", "unknown")
    return out.finish()


# ---- zone.park_management -------------------------------------------------------------------------
@register(
    "park_blocks",
    level="parcel",
    layers=("urban_dev_boundary",),
    unit="亩",
    messages=(
        "include_in_park",
        "one_park_multi_site",
        "not_block",
        "in_park",
        "non_industrial",
        _MISSING_LAND_USE,
        "missing_layer",
    ),
    fields=("block_mu", "adjacent_m", "min_block_mu", "gap_m"),
)
def park_blocks(ctx: Context, rule: RuleSpec) -> Outcome:
    """Contiguous industrial blocks outside parks: adjacent → include in park; otherwise one park, many sites."""
    prm = ctx.params
    out = Outcome(rule, ctx.n)
    out.case(~ctx.land_use_known, "missing_data", _MISSING_LAND_USE)
    out.case(~ctx.industrial, "not_applicable", "non_industrial")
    boundary = ctx.member("urban_dev_boundary")
    if ctx.in_park is None or boundary is None:
        out.rest("missing_data", "missing_layer")
        return out.finish()
    out.case(ctx.in_park, "not_applicable", "in_park")
    candidates = np.flatnonzero(out.open)  # industrial, outside parks
    geoms = ctx.parcels.geometry.to_numpy()[candidates]
    labels = overlay.contiguous_blocks(geoms, prm.block_gap_m)
    block_mu = np.full(ctx.n, np.nan)
    block_mu[candidates] = overlay.block_sums(labels, ctx.area_mu[candidates])
    near = np.zeros(ctx.n, dtype=bool)
    parks = ctx.layer("parks")
    assert parks is not None  # in_park is known, so the layer exists
    near_each = overlay.within_distance(geoms, parks.geometry.to_numpy(), prm.park_adjacent_m)
    near[candidates] = overlay.group_any(labels, near_each)
    is_block = block_mu >= prm.block_min_mu
    thr = {"gap_m": prm.block_gap_m, "min_block_mu": prm.block_min_mu, "adjacent_m": prm.park_adjacent_m}
    info: dict[str, Any] = dict(
        value=block_mu,
        threshold=thr,
        block_mu=block_mu,
        adjacent_m=prm.park_adjacent_m,
        min_block_mu=prm.block_min_mu,
        gap_m=prm.block_gap_m,
    )
    out.case(is_block & near & boundary, "warn", "include_in_park", code="include_in_park", **info)
    # 不相邻的成板块工业用地，以及城镇开发边界外的现状成片区域 → 一园多片
    out.case(is_block, "warn", "one_park_multi_site", code="one_park_multi_site", **info)
    # v2: a parcel in no block is outside the rule's scope
    out.rest("not_applicable", "not_block", code="not_block", **info)
    return out.finish()


# ---- data.occupancy -------------------------------------------------------------------------------
@register(
    "occupancy_check",
    level="parcel",
    unit="家",
    messages=("by_floor_area", "equal_split", "single", "none"),
    fields=("occupants",),
)
def occupancy_check(ctx: Context, rule: RuleSpec) -> Outcome:
    """Report how each parcel's land was apportioned; an equal split is a warning."""
    out = Outcome(rule, ctx.n)
    count = ctx.occupant_count.astype(float)
    out.case(count == 0, "not_applicable", "none", value=count, occupants=count)
    out.case(ctx.equal_split & (count > 1), "warn", "equal_split", code="equal_split", value=count, occupants=count)
    out.case(count == 1, "pass", "single", value=count, occupants=count)
    out.rest("pass", "by_floor_area", code="by_floor_area", value=count, occupants=count)
    return out.finish()


# ---- per_mu.revenue / per_mu.tax ------------------------------------------------------------------
class PerMuParams(_Params):
    """Parameters of per_mu: the enterprise metric and its per-mu target."""

    metric: str = Field(pattern="^(revenue_10k|tax_10k)$")
    min: float = Field(ge=0)


@register(
    "per_mu",
    level="parcel",
    params=PerMuParams,
    messages=(
        "pass",
        "below_target",
        "below_scale",
        "outside_park",
        "no_occupant",
        "missing_revenue",
        "no_land",
        "missing_layer",
        "missing_enterprises",
    ),
    fields=("min", "above_scale", "gap"),
    unit="万元/亩",
)
def per_mu(ctx: Context, rule: RuleSpec) -> Outcome:
    """Parcel per-mu figure: land-weighted mean over its above-scale, in-park occupants, against the target."""
    p: PerMuParams = rule.p
    out = Outcome(rule, ctx.n)
    if not ctx.has_enterprises and len(ctx.occupants) == 0:
        out.rest("missing_data", "missing_enterprises")
        return out.finish()
    if ctx.in_park is None:
        out.rest("missing_data", "missing_layer")
        return out.finish()
    column = "revenue_per_mu_10k" if p.metric == "revenue_10k" else "tax_per_mu_10k"
    if not ctx.has_enterprises:
        out.rest("missing_data", "missing_enterprises")
        return out.finish()
    value, scope_land = ctx.in_scope_weighted(column)
    thr = {"min": p.min}
    out.case(~ctx.in_park, "not_applicable", "outside_park", code="outside_park")
    out.case(ctx.occupant_count == 0, "not_applicable", "no_occupant", code="no_occupant")
    above = ctx.occupant_flags(ctx.occupant_firm_flag("above_scale"))
    out.case(
        ~above & (scope_land == 0),
        "not_applicable",
        "below_scale",
        code="below_scale",
        above_scale=ctx.params.above_scale_revenue_10k,
    )
    out.case(np.isnan(value), "missing_data", "missing_revenue", threshold=thr)
    below_target(out, value, p.min)
    return out.finish()


def below_target(out: Outcome, value: np.ndarray, target: float) -> None:
    """Per-mu against the city's collective 2025 target: at or above → pass; below → warn, never fail (v2)."""
    thr = {"min": target}
    out.case(value >= target, "pass", "pass", value=value, threshold=thr, min=target, gap=0.0)
    out.rest("warn", "below_target", code="below_target", value=value, threshold=thr, min=target, gap=target - value)


# ---- idle.order53 ---------------------------------------------------------------------------------
class IdleParams(_Params):
    """Parameters of idle_order53 (闲置土地处置办法)."""

    warning_days: int = Field(270, ge=0)
    fee_years: int = Field(1, ge=1)
    recover_years: int = Field(2, ge=1)
    fee_rate: float = Field(0.2, ge=0, le=1)
    developed_share_min: float = Field(1 / 3, gt=0, le=1)
    invested_share_min: float = Field(0.25, gt=0, le=1)
    exempt_causes: list[str] = ["government", "force_majeure"]


def _add_years(values: np.ndarray, years: int) -> np.ndarray:
    """Calendar years: 2023-03-01 + 1 year = 2024-03-01 (满一年), not day 365."""
    return _by_distinct_dates(
        values, lambda uniq: (pd.DatetimeIndex(uniq) + pd.DateOffset(years=years)).to_numpy(dtype="datetime64[ns]")
    )


def idle_reference(
    status: np.ndarray, agreed: np.ndarray, actual: np.ndarray, halted: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Order 53's clock per parcel: ``(reference date, started, halted case, not started)``.

    Not started (现状空地, no actual start): the clock runs from the agreed start date; started but halted and
    not built: from ``halted_since`` (第二条). The idle rule and the parcel timeline (``rules.timeline``) both
    count from here.
    """
    started = ~np.isnat(actual) | (status == "under_construction") | (status == "built")
    not_started = (status == "vacant") & np.isnat(actual)
    halted_case = started & ~np.isnat(halted) & (status != "built")
    return np.where(halted_case, halted, agreed), started, halted_case, not_started


def idle_deadlines(ref: np.ndarray, p: IdleParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(early-warning date, 满一年, 满两年)`` from the reference date: warning_days later, and calendar years."""
    warn_date = ref + np.timedelta64(p.warning_days, "D")
    return warn_date, _add_years(ref, p.fee_years), _add_years(ref, p.recover_years)


@register(
    "idle_order53",
    level="parcel",
    unit="天",
    params=IdleParams,
    # land found idle under Order 53 (fee, recovery or negotiated disposal): low_efficiency does not judge it again
    provides={"idle_land": lambda out: np.isin(out.code, ["idle_fee_20pct", "idle_recover", "idle_negotiate"])},
    messages=(
        "not_idle",
        "not_due",
        "idle_risk",
        "idle_fee_20pct",
        "idle_recover",
        "idle_negotiate",
        "non_industrial",
        "missing_start",
        "missing_progress",
        "missing_status",
        _MISSING_LAND_USE,
    ),
    fields=("detail", "start_date", "days", "fee_date", "recover_date", "basis"),
)
def idle_order53(ctx: Context, rule: RuleSpec) -> Outcome:
    """闲置土地处置办法: not started a full year after the agreed date, or halted a full year with little done."""
    p: IdleParams = rule.p
    out = Outcome(rule, ctx.n)
    as_of = np.datetime64(ctx.as_of, "ns")
    status = ctx.status
    agreed = ctx.dates("agreed_start_date")
    actual = ctx.dates("actual_start_date")
    halted = ctx.dates("halted_since")
    planned_area = ctx.num("planned_dev_area_m2")
    developed = ctx.num("developed_area_m2")
    total_inv = ctx.num("total_investment_10k")
    invested = ctx.num("invested_10k")
    cause = ctx.text("delay_cause")
    exempt_cause = pd.Series(cause).isin(p.exempt_causes).to_numpy(dtype=bool)

    ref, started, halted_case, not_started = idle_reference(status, agreed, actual, halted)
    # Strict comparisons: exactly 1/3 developed or exactly 25 % invested is not "不足".
    with np.errstate(invalid="ignore"):
        little_area = developed < planned_area * p.developed_share_min - 1e-9
        little_inv = invested < total_inv * p.invested_share_min - 1e-9
        enough_area = developed >= planned_area * p.developed_share_min - 1e-9
        enough_inv = invested >= total_inv * p.invested_share_min - 1e-9
    progress_known = (~np.isnan(developed) & ~np.isnan(planned_area)) | (~np.isnan(invested) & ~np.isnan(total_inv))
    little = little_area | little_inv
    enough = enough_area & enough_inv

    days = np.asarray(as_of - ref).astype("timedelta64[D]").astype(float)
    days[np.isnat(ref)] = np.nan
    warn_date, fee_date, recover_date = idle_deadlines(ref, p)
    basis = np.where(halted_case, "中止开发建设", "未动工开发").astype(object)
    fee_txt, rec_txt, ref_txt = _fmt_dates(fee_date), _fmt_dates(recover_date), _fmt_dates(ref)
    thr = np.empty(ctx.n, dtype=object)
    thr[:] = [None]
    has_ref = ~np.isnat(ref)
    thr[has_ref] = _dicts(
        [ref_txt[has_ref], fee_txt[has_ref], rec_txt[has_ref]],
        lambda r, f, c: {"reference_date": r, "fee_date": f, "recover_date": c, "warning_days": p.warning_days},
        by=ref[has_ref].view(np.int64),  # the fee and recovery dates follow from the reference date
    )
    info = dict(
        value=days, threshold=thr, days=days, start_date=ref_txt, fee_date=fee_txt, recover_date=rec_txt, basis=basis
    )

    out.case(~ctx.land_use_known, "missing_data", _MISSING_LAND_USE)
    out.case(~ctx.industrial, "not_applicable", "non_industrial")
    out.case(status == "built", "pass", "not_idle", code="not_idle", detail="已建成")
    out.case(started & np.isnat(halted), "pass", "not_idle", code="not_idle", detail="已动工，未中止开发")
    out.case(halted_case & enough, "pass", "not_idle", code="not_idle", detail="已动工面积不少于1/3且已投资不少于25%")
    out.case(halted_case & ~little & ~progress_known, "missing_data", "missing_progress")
    out.case(halted_case & ~little & ~enough, "missing_data", "missing_progress")
    out.case(~(not_started | halted_case), "missing_data", "missing_status")
    out.case(np.isnat(ref), "missing_data", "missing_start")
    due = as_of >= fee_date
    out.case(due & exempt_cause, "warn", "idle_negotiate", code="idle_negotiate", **info)
    out.case(as_of >= recover_date, "fail", "idle_recover", code="idle_recover", **info)
    out.case(due, "fail", "idle_fee_20pct", code="idle_fee_20pct", **info)
    out.case(not_started & (as_of >= warn_date), "warn", "idle_risk", code="idle_risk", **info)
    out.case(not_started, "pass", "not_due", code="not_idle", **info)
    out.rest("pass", "not_idle", code="not_idle", value=days, threshold=thr, detail="中止开发未满一年")
    return out.finish()


# ---- low_efficiency -------------------------------------------------------------------------------
class LowEffParams(_Params):
    """Parameters of low_efficiency."""

    tax_share_of_target: float = Field(0.5, gt=0, le=1)
    tax_target: float = Field(30.0, ge=0)
    coverage_min: float = Field(0.3, ge=0, le=1)
    reform_date: date
    disposal_routes: list[str] = []


@register(
    "low_efficiency",
    level="parcel",
    unit="万元/亩",
    params=LowEffParams,
    needs=("idle_land",),
    messages=("pass", "low_efficiency", "idle", "not_started", "missing_data", _MISSING_LAND_USE),
    fields=("tax", "far", "coverage", "reasons", "routes", "missing"),
)
def low_efficiency(ctx: Context, rule: RuleSpec) -> Outcome:
    """Built or started, not idle, below the efficiency floor on per-mu tax, FAR or 建筑系数."""
    p: LowEffParams = rule.p
    out = Outcome(rule, ctx.n)
    tax = ctx.apportioned_per_mu("tax_10k")
    far = ctx.far
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = ctx.num("footprint_m2") / ctx.area_m2
    tax_floor = p.tax_share_of_target * p.tax_target
    far_min = np.full(ctx.n, np.nan)
    special, _ = ctx.flag("special_process")
    far_decimals: int | None = None
    try:
        far_rule = ctx.ruleset.rule("far.bounds").p
        far_decimals = far_rule.decimals
        if ctx.inside_ring is not None:
            far_min = np.where(ctx.inside_ring, far_rule.inside_ring.min, far_rule.outside_ring.min)
    except KeyError:
        pass
    far_min = np.where(special, np.nan, far_min)  # special process: FAR is not a criterion
    low_tax = tax < tax_floor
    low_far = (far if far_decimals is None else np.round(far, far_decimals)) < far_min
    low_cov = coverage < p.coverage_min - 1e-9
    unknown_tax, unknown_far, unknown_cov = (
        np.isnan(tax),
        np.isnan(far) | (np.isnan(far_min) & ~special),
        np.isnan(coverage),
    )
    reasons = np.full(ctx.n, "", dtype=object)
    share_txt = f"{p.tax_share_of_target:.0%}"
    _append(reasons, low_tax, "亩均税收低于目标的", share_txt, "（", (tax, ".1f"), f" < {tax_floor:.1f} 万元/亩）；")
    _append(reasons, low_far, "容积率低于下限（", (far, ".2f"), " < ", (far_min, ".1f"), "）；")
    _append(reasons, low_cov, f"建筑系数低于 {p.coverage_min:.0%}（", (coverage * 100, ".0f"), "%）；")
    code = np.full(ctx.n, "", dtype=object)
    _append(code, low_tax, "tax")
    _append(code, low_far & low_tax, "+")
    _append(code, low_far, "far")
    _append(code, low_cov & (low_tax | low_far), "+")
    _append(code, low_cov, "coverage")
    old = ctx.dates("transfer_date") < np.datetime64(pd.Timestamp(p.reform_date), "ns")
    routes_txt = (
        "供给侧结构性改革前供应，支持通过" + "、".join(p.disposal_routes) + "等方式处置" if p.disposal_routes else ""
    )
    routes = np.where(old, routes_txt, "").astype(object)
    missing = np.full(ctx.n, "", dtype=object)
    _append(missing, unknown_tax, "亩均税收 ")
    _append(missing, unknown_far, "容积率 ")
    _append(missing, unknown_cov, "建筑系数 ")
    thr = {"tax_per_mu_min": tax_floor, "coverage_min": p.coverage_min, "far_min": "容积率规则的下限"}
    status = ctx.status
    out.case(~ctx.land_use_known, "missing_data", _MISSING_LAND_USE)
    out.case(~ctx.industrial, "not_applicable", "not_started")
    started = (status == "built") | (status == "under_construction") | ~np.isnat(ctx.dates("actual_start_date"))
    out.case(~started, "not_applicable", "not_started")
    is_idle = ctx.provided.get("idle_land")  # absent when the rule set has no idle-land rule
    if is_idle is not None:
        out.case(is_idle, "not_applicable", "idle", code="idle")
    any_low = low_tax | low_far | low_cov
    out.case(any_low, "fail", "low_efficiency", code=code, value=tax, threshold=thr, reasons=reasons, routes=routes)
    out.case(
        unknown_tax | unknown_far | unknown_cov,
        "missing_data",
        "missing_data",
        value=tax,
        threshold=thr,
        missing=missing,
    )
    out.rest("pass", "pass", value=tax, threshold=thr, tax=tax, far=far, coverage=coverage)
    return out.finish()


def _append(texts: np.ndarray, mask: np.ndarray, *pieces: str | tuple[np.ndarray, str]) -> np.ndarray:
    """Append ``pieces`` to ``texts`` (in place) where ``mask`` holds; a ``(values, spec)`` piece is a number.

    Only the masked rows are formatted and joined, so building the text of a few failing parcels among a
    million costs little.
    """
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return texts
    # One template over the text so far and the numbers: each distinct combination is joined once.
    template = "{t}"
    variables: dict[str, Any] = {"t": texts[idx]}
    for i, piece in enumerate(pieces):
        if isinstance(piece, tuple):
            values, spec = piece
            template += f"{{n{i}:{spec}}}"
            variables[f"n{i}"] = np.asarray(values, dtype=float)[idx]
        else:
            template += piece.replace("{", "{{").replace("}", "}}")
    texts[idx] = render(template, len(idx), variables)
    return texts


def _num_txt(values: np.ndarray, spec: str) -> np.ndarray:
    """Numbers as text with a format spec (— for unknown), vectorised."""
    return np.asarray(render("{v:" + spec + "}", len(values), {"v": np.asarray(values, dtype=float)}), dtype=object)


# ---- standard_land.required / performance ---------------------------------------------------------
class StdReqParams(_Params):
    """Parameters of standard_land_required."""

    from_date: date


_COMMITMENTS = {
    "committed_investment_per_mu_10k": "亩均投资",
    "committed_revenue_per_mu_10k": "亩均营收",
    "committed_tax_per_mu_10k": "亩均税收",
}


@register(
    "standard_land_required",
    level="parcel",
    params=StdReqParams,
    messages=(
        "pass",
        "not_standard_land",
        "missing_commitments",
        "before",
        "outside_park",
        "non_industrial",
        "missing_transfer_date",
        _MISSING_LAND_USE,
        "missing_layer",
    ),
    fields=("transfer_date", "from_date", "missing"),
)
def standard_land_required(ctx: Context, rule: RuleSpec) -> Outcome:
    """New industrial land in parks supplied on/after the date must be 标准地 with all three commitments."""
    p: StdReqParams = rule.p
    out = Outcome(rule, ctx.n)
    transfer = ctx.dates("transfer_date")
    std, std_known = ctx.flag("standard_land")
    thr = {"from_date": p.from_date.isoformat()}
    out.case(~ctx.land_use_known, "missing_data", _MISSING_LAND_USE)
    out.case(~ctx.industrial, "not_applicable", "non_industrial")
    if ctx.in_park is None:
        out.rest("missing_data", "missing_layer")
        return out.finish()
    out.case(~ctx.in_park, "not_applicable", "outside_park")
    out.case(np.isnat(transfer), "missing_data", "missing_transfer_date")
    out.case(
        transfer < np.datetime64(pd.Timestamp(p.from_date), "ns"),
        "not_applicable",
        "before",
        from_date=p.from_date.isoformat(),
    )
    td = _fmt_dates(transfer)
    out.case(std_known & ~std, "fail", "not_standard_land", code="not_standard_land", threshold=thr, transfer_date=td)
    out.case(~std_known, "missing_data", "not_standard_land", threshold=thr, transfer_date=td)
    missing = np.full(ctx.n, "", dtype=object)
    for col, label in _COMMITMENTS.items():
        v = ctx.num(col)
        _append(missing, np.isnan(v) | (v <= 0), label + " ")
    out.case(missing != "", "fail", "missing_commitments", code="missing_commitments", threshold=thr, missing=missing)
    out.rest("pass", "pass", threshold=thr, transfer_date=td)
    return out.finish()


@register(
    "standard_land_performance",
    level="parcel",
    unit="share",
    messages=("pass", "below_commitment", "not_due", "not_standard_land", "missing_data"),
    fields=("investment", "revenue", "tax", "c_investment", "c_revenue", "c_tax", "shortfalls", "due_date", "missing"),
)
def standard_land_performance(ctx: Context, rule: RuleSpec) -> Outcome:
    """At or after the production due date: actual per-mu investment, revenue and tax against the commitments."""
    out = Outcome(rule, ctx.n)
    std, _ = ctx.flag("standard_land")
    due = ctx.dates("production_due_date")
    as_of = np.datetime64(ctx.as_of, "ns")
    with np.errstate(divide="ignore", invalid="ignore"):
        investment = ctx.num("invested_10k") / ctx.area_mu
    revenue = ctx.apportioned_per_mu("revenue_10k")
    tax = ctx.apportioned_per_mu("tax_10k")
    c_inv, c_rev, c_tax = (ctx.num(c) for c in _COMMITMENTS)
    actual = {"亩均投资": (investment, c_inv), "亩均营收": (revenue, c_rev), "亩均税收": (tax, c_tax)}
    shortfalls = np.full(ctx.n, "", dtype=object)
    missing = np.full(ctx.n, "", dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.full(ctx.n, np.inf)
        for label, (a, c) in actual.items():
            _append(shortfalls, std & (a < c), label + " ", (a, ".1f"), " < 约定 ", (c, ".1f"), "；")
            _append(missing, np.isnan(a) | np.isnan(c), label + " ")
            ratio = np.fmin(ratio, np.where(c > 0, a / c, np.nan))
    ratio[np.isinf(ratio)] = np.nan
    out.case(~std, "not_applicable", "not_standard_land")
    out.case(np.isnat(due), "missing_data", "missing_data", missing="约定达产日期")
    out.case(as_of < due, "not_applicable", "not_due", code="not_due", due_date=_fmt_dates(due))
    thr = np.empty(ctx.n, dtype=object)
    thr[:] = [None]
    sel = np.flatnonzero(out.open)
    thr[sel] = _dicts(
        [c_inv[sel], c_rev[sel], c_tax[sel]],
        lambda a, b, c: {"investment_per_mu_min": a, "revenue_per_mu_min": b, "tax_per_mu_min": c},
    )
    out.case(
        shortfalls != "",
        "fail",
        "below_commitment",
        code="below_commitment",
        value=ratio,
        threshold=thr,
        shortfalls=shortfalls,
    )
    out.case(missing != "", "missing_data", "missing_data", value=ratio, threshold=thr, missing=missing)
    out.rest(
        "pass",
        "pass",
        value=ratio,
        threshold=thr,
        investment=investment,
        revenue=revenue,
        tax=tax,
        c_investment=c_inv,
        c_revenue=c_rev,
        c_tax=c_tax,
    )
    return out.finish()


# ---- industry.restricted --------------------------------------------------------------------------
class IndustryParams(_Params):
    """Parameters of industry_restricted: restricted industries by GB/T 4754 prefix."""

    new_project_from: date
    industries: dict[str, list[str]]


@register(
    "industry_restricted",
    level="parcel",
    params=IndustryParams,
    messages=(
        "pass",
        "restricted_new",
        "restricted_existing",
        "no_occupant",
        "missing_industry",
        "missing_enterprises",
    ),
    fields=("industries",),
)
def industry_restricted(ctx: Context, rule: RuleSpec) -> Outcome:
    """An occupant in a restricted traditional industry: new project → fail; existing → warn."""
    p: IndustryParams = rule.p
    out = Outcome(rule, ctx.n)
    if not ctx.has_enterprises:
        out.rest("missing_data", "missing_enterprises")
        return out.finish()
    codes = pd.Series(ctx.occupant_firm_column("industry_code"), dtype="string").str.strip().str.upper()
    # Per parcel, the names of the restricted industries among its occupants: one vectorised pass per industry.
    parcel_names = np.full(ctx.n, "", dtype=object)
    for name, prefixes in p.industries.items():
        hit = np.zeros(len(codes), dtype=bool)
        for prefix in prefixes:
            hit |= codes.str.startswith(prefix.upper()).fillna(False).to_numpy(dtype=bool)
        on_parcel = ctx.occupant_flags(hit)
        _append(parcel_names, on_parcel & (parcel_names != ""), "、")
        _append(parcel_names, on_parcel, name)
    has_restricted = parcel_names != ""
    unknown_code = ctx.occupant_flags(codes.isna().to_numpy(dtype=bool))
    status = ctx.status
    transfer = ctx.dates("transfer_date")
    new = ((status == "vacant") | (status == "under_construction")) & (
        transfer >= np.datetime64(pd.Timestamp(p.new_project_from), "ns")
    )
    thr = {"new_project_from": p.new_project_from.isoformat()}
    out.case(ctx.occupant_count == 0, "not_applicable", "no_occupant")
    out.case(
        has_restricted & new, "fail", "restricted_new", code="restricted_new", threshold=thr, industries=parcel_names
    )
    out.case(
        has_restricted,
        "warn",
        "restricted_existing",
        code="restricted_existing",
        threshold=thr,
        industries=parcel_names,
    )
    out.case(unknown_code, "missing_data", "missing_industry")
    out.rest("pass", "pass")
    return out.finish()


# ---- data.straddles -------------------------------------------------------------------------------
class StraddleParams(_Params):
    """Parameters of straddles: the zone layers checked and their Chinese names."""

    layers: dict[str, str]


@register(
    "straddles",
    level="parcel",
    params=StraddleParams,
    messages=("pass", "straddles", "red_blue_overlap", "non_industrial"),
    fields=("detail", "overlap"),
    unit="share",
)
def straddles(ctx: Context, rule: RuleSpec) -> Outcome:
    """Parcels with 1 %–99 % of their area inside a zone layer; red/blue overlaps."""
    p: StraddleParams = rule.p
    lo, hi = ctx.params.straddle_min, ctx.params.straddle_max
    out = Outcome(rule, ctx.n)
    detail = np.full(ctx.n, "", dtype=object)
    first_share = np.full(ctx.n, np.nan)
    for layer, label in p.layers.items():
        share = ctx.share(layer)
        if share is None:
            continue
        hit = (share >= lo) & (share <= hi)
        _append(detail, hit, f"{label} ", (share * 100, ".0f"), "%；")
        first_share = np.where(hit & np.isnan(first_share), share, first_share)
    overlap = np.zeros(ctx.n)
    red, blue = ctx.layer("red_line"), ctx.layer("blue_line")
    if red is not None and blue is not None:
        both = red.geometry.union_all().intersection(blue.geometry.union_all())
        if not both.is_empty:
            overlap = overlay.area_share(ctx.parcels.geometry, [both], tree=ctx.tree, bounds=ctx.bounds)
    thr = {"min": lo, "max": hi}
    # v2: only parcels some zone rule applies to (industrial land_use or industrial planned_use); unknown land
    # use stays in scope, since a zone rule would then report missing data.
    planned_industrial = ctx.is_industrial_code(ctx.planned_use)
    out.case(ctx.land_use_known & ~ctx.industrial & ~planned_industrial, "not_applicable", "non_industrial")
    out.case(
        overlap >= lo,
        "warn",
        "red_blue_overlap",
        code="red_blue_overlap",
        value=overlap,
        threshold=thr,
        overlap=overlap,
        detail=detail,
    )
    out.case(detail != "", "warn", "straddles", code="straddles", value=first_share, threshold=thr, detail=detail)
    out.rest("pass", "pass")
    return out.finish()
