"""Aggregate rule kinds: district/city industrial share, park/city per-mu, yearly land-supply share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from rules.context import M2_PER_MU, Context
from rules.kinds.base import Outcome, register

if TYPE_CHECKING:
    from rules.ruleset import RuleSpec

CITY = "全市"


class MinShare(BaseModel):
    """A minimum share (0–1)."""

    model_config = ConfigDict(extra="forbid")
    min: float = Field(ge=0, le=1)


def _keys(scope: list[str], key: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"scope": scope, "key": key})


@register(
    "industrial_share",
    level="aggregate",
    unit="share",
    params=MinShare,
    messages=("pass", "fail", "missing_data"),
    fields=("min", "industrial_mu"),
)
def industrial_share(ctx: Context, rule: RuleSpec) -> tuple[pd.DataFrame, Outcome]:
    """Industrial land ÷ 城市建设用地 per district and for the city."""
    p: MinShare = rule.p
    districts = ctx.layer("districts")
    if districts is None:
        out = Outcome(rule, 1)
        out.rest("missing_data", "missing_data")
        return _keys(["city"], [CITY]), out.finish()
    names = (
        districts["name"].astype(str).to_numpy(dtype=object)
        if "name" in districts
        else np.arange(len(districts)).astype(str)
    )
    land = (
        pd.to_numeric(districts.get("construction_land_m2"), errors="coerce")
        if "construction_land_m2" in districts
        else pd.Series(np.nan, index=districts.index)
    )
    land = land.to_numpy(dtype=float)
    ind_area = pd.Series(np.where(ctx.industrial, ctx.area_m2, 0.0)).groupby(pd.Series(ctx.district)).sum()
    industrial_m2 = ind_area.reindex(names).fillna(0.0).to_numpy(dtype=float)
    city_land = np.nansum(land) if np.isfinite(land).all() else np.nan
    industrial_m2 = np.append(industrial_m2, industrial_m2.sum())
    land = np.append(land, city_land)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(land > 0, industrial_m2 / land, np.nan)
    keys = _keys(["district"] * len(names) + ["city"], list(names) + [CITY])
    out = Outcome(rule, len(keys))
    thr = {"min": p.min}
    common: dict[str, Any] = dict(value=share, threshold=thr, min=p.min, industrial_mu=industrial_m2 / M2_PER_MU)
    out.case(np.isnan(share), "missing_data", "missing_data")
    out.case(share >= p.min, "pass", "pass", **common)
    out.rest("fail", "fail", **common)
    return keys, out.finish()


class ParkPerMuParams(BaseModel):
    """Per-mu targets for parks and the city."""

    model_config = ConfigDict(extra="forbid")
    revenue_min: float = Field(ge=0)
    tax_min: float = Field(ge=0)


@register(
    "park_per_mu",
    level="aggregate",
    unit="万元/亩",
    params=ParkPerMuParams,
    messages=("pass", "fail", "missing_data"),
    fields=("min", "metric_name", "firms", "land_mu"),
)
def park_per_mu(ctx: Context, rule: RuleSpec) -> tuple[pd.DataFrame, Outcome]:
    """In-scope (above-scale, in-park) revenue and tax ÷ in-scope land, per park and for the city.

    Each in-scope enterprise's revenue and tax are attributed to a park in proportion to its land there.
    """
    p: ParkPerMuParams = rule.p
    if ctx.in_park is None or ctx.firms.empty:
        out = Outcome(rule, 2)
        out.rest("missing_data", "missing_data")
        return pd.DataFrame({"scope": ["city", "city"], "key": [CITY, CITY], "code": ["revenue", "tax"]}), out.finish()
    occ = ctx.occupants
    pidx = occ["parcel_idx"].to_numpy(dtype=np.intp)
    assert ctx.park_id is not None  # in_park is known
    park = ctx.park_id[pidx]
    scope = ctx.occupant_firm_flag("in_scope") & pd.notna(park)
    land = occ["land_m2"].to_numpy(dtype=float)
    firm_land = ctx.occupant_firm_column("land_m2").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(firm_land > 0, land / firm_land, 0.0)
    frame = pd.DataFrame(
        {
            "park": park[scope],
            "land_m2": land[scope],
            "revenue": (ctx.occupant_firm_column("revenue_10k").astype(float) * frac)[scope],
            "tax": (ctx.occupant_firm_column("tax_10k").astype(float) * frac)[scope],
            "firm": occ["enterprise_id"].to_numpy(dtype=object)[scope],
        }
    )
    per_park = frame.groupby("park").agg(
        land_m2=("land_m2", "sum"), revenue=("revenue", "sum"), tax=("tax", "sum"), firms=("firm", "nunique")
    )
    park_ids = sorted(set(ctx.park_names) | set(per_park.index))
    per_park = per_park.reindex(park_ids)
    city = pd.DataFrame(
        {
            "land_m2": [frame["land_m2"].sum()],
            "revenue": [frame["revenue"].sum()],
            "tax": [frame["tax"].sum()],
            "firms": [frame["firm"].nunique()],
        },
        index=[CITY],
    )
    table = pd.concat([per_park, city])
    scopes = ["park"] * len(per_park) + ["city"]
    rows = []
    for metric, label, target in (("revenue", "亩均营收", p.revenue_min), ("tax", "亩均税收", p.tax_min)):
        part = pd.DataFrame(
            {
                "scope": scopes,
                "key": table.index.astype(str),
                "code": metric,
                "metric_name": label,
                "min": target,
                "land_mu": table["land_m2"].to_numpy() / M2_PER_MU,
                "firms": table["firms"].fillna(0).to_numpy(dtype=float),
                "total": table[metric].to_numpy(dtype=float),
            }
        )
        rows.append(part)
    keys = pd.concat(rows, ignore_index=True)
    land_mu = keys["land_mu"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(land_mu > 0, keys["total"].to_numpy(dtype=float) / land_mu, np.nan)
    minimum = keys["min"].to_numpy(dtype=float)
    thr = np.array([{"min": float(m)} for m in minimum.tolist()] if len(minimum) else [], dtype=object)
    out = Outcome(rule, len(keys))
    common: dict[str, Any] = dict(
        value=value,
        threshold=thr,
        min=minimum,
        metric_name=keys["metric_name"].to_numpy(dtype=object),
        firms=keys["firms"].to_numpy(dtype=float),
        land_mu=land_mu,
    )
    out.case(np.isnan(value), "missing_data", "missing_data", code=keys["code"].to_numpy(dtype=object))
    out.case(value >= minimum, "pass", "pass", code=keys["code"].to_numpy(dtype=object), **common)
    out.rest("fail", "fail", code=keys["code"].to_numpy(dtype=object), **common)
    return keys[["scope", "key", "code"]], out.finish()


@register(
    "supply_share",
    level="aggregate",
    unit="share",
    params=MinShare,
    messages=("pass", "fail", "missing_data"),
    fields=("min", "key", "total_mu"),
)
def supply_share(ctx: Context, rule: RuleSpec) -> tuple[pd.DataFrame, Outcome]:
    """Industrial share of each year's supplied 国有建设用地."""
    p: MinShare = rule.p
    supply = ctx.land_supply
    if supply is None or len(supply) == 0:
        out = Outcome(rule, 1)
        out.rest("missing_data", "missing_data")
        return _keys(["city"], [CITY]), out.finish()
    year = pd.to_numeric(supply["year"], errors="coerce").astype("Int64").astype(str)
    area = pd.to_numeric(supply["area_m2"], errors="coerce").fillna(0.0)
    ind = ctx.is_industrial_code(supply["land_use"].astype("string").to_numpy(dtype=object))
    total = area.groupby(year).sum()
    industrial = pd.Series(np.where(ind, area, 0.0), index=area.index).groupby(year).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (industrial / total).to_numpy(dtype=float)
    keys = _keys(["year"] * len(total), total.index.astype(str).tolist())
    out = Outcome(rule, len(keys))
    common: dict[str, Any] = dict(
        value=share,
        threshold={"min": p.min},
        min=p.min,
        key=keys["key"].to_numpy(dtype=object),
        total_mu=total.to_numpy(dtype=float) / M2_PER_MU,
    )
    out.case(np.isnan(share), "missing_data", "missing_data")
    out.case(share >= p.min, "pass", "pass", **common)
    out.rest("fail", "fail", **common)
    return keys, out.finish()
