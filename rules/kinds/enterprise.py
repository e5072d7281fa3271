"""Enterprise-level rule kinds: per-mu targets and the 亩产论英雄 weighted score and grade."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules.context import Context
from rules.kinds.base import Outcome, also_for_enterprises, register
from rules.kinds.parcel import PerMuParams, below_target

if TYPE_CHECKING:
    from rules.ruleset import RuleSpec


@also_for_enterprises("per_mu")
def per_mu_enterprise(ctx: Context, rule: RuleSpec) -> tuple[np.ndarray, Outcome]:
    """Above-scale enterprises whose land is in a park: per-mu revenue or tax against the target."""
    p: PerMuParams = rule.p
    firms = ctx.firms
    out = Outcome(rule, len(firms))
    if firms.empty:
        return np.empty(0, dtype=object), out.finish()
    column = "revenue_per_mu_10k" if p.metric == "revenue_10k" else "tax_per_mu_10k"
    value = firms[column].to_numpy(dtype=float)
    thr = {"min": p.min}
    out.case(
        ~firms["above_scale"].to_numpy(dtype=bool),
        "not_applicable",
        "below_scale",
        code="below_scale",
        above_scale=ctx.params.above_scale_revenue_10k,
    )
    out.case(firms["land_m2"].to_numpy() <= 0, "missing_data", "no_land", code="no_land")
    if ctx.in_park is None:
        out.rest("missing_data", "missing_layer")
        return firms.index.to_numpy(dtype=object), out.finish()
    out.case(~firms["in_park"].to_numpy(dtype=bool), "not_applicable", "outside_park", code="outside_park")
    out.case(np.isnan(value), "missing_data", "missing_revenue", threshold=thr)
    below_target(out, value, p.min)
    return firms.index.to_numpy(dtype=object), out.finish()


class Indicator(BaseModel):
    """One 亩产论英雄 indicator: numerator ÷ denominator, weighted."""

    model_config = ConfigDict(extra="forbid")
    name: str
    numerator: str
    denominator: str
    weight: float = Field(ge=0)
    benchmark: float | None = Field(None, gt=0)  # a fixed benchmark; default: the rule's ``benchmark`` statistic


class GradeParams(BaseModel):
    """Parameters of the weighted score."""

    model_config = ConfigDict(extra="forbid")
    indicators: list[Indicator]
    benchmark: str = Field("median", pattern="^(median|mean)$")
    cap_ratio: float = Field(2.0, gt=0)
    grade_shares: dict[str, float]
    below_scale_min_mu: float = Field(3.0, ge=0)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> "GradeParams":
        total = sum(self.grade_shares.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"grade_shares must add up to 1 (they add up to {total:g})")
        return self


@register(
    "weighted_score",
    level="enterprise",
    firm_columns=lambda out: {"score": out.value, "grade": out.code},
    unit="分",
    params=GradeParams,
    messages=("A", "B", "C", "D", "not_evaluated", "missing_data"),
    fields=("min_mu",),
)
def weighted_score(ctx: Context, rule: RuleSpec) -> tuple[np.ndarray, Outcome]:
    """亩产论英雄: Σ weight × min(value ÷ benchmark, cap); grades by rank shares (A top, D bottom)."""
    p: GradeParams = rule.p
    firms = ctx.firms
    out = Outcome(rule, len(firms))
    if firms.empty:
        return np.empty(0, dtype=object), out.finish()
    land_mu = firms["land_mu"].to_numpy(dtype=float)
    above = firms["above_scale"].to_numpy(dtype=bool)
    evaluated = (above & (land_mu > 0)) | (~above & (land_mu >= p.below_scale_min_mu))
    known = ~np.isnan(firms["revenue_10k"].to_numpy()) & ~np.isnan(firms["tax_10k"].to_numpy())
    scored = evaluated & known
    score = np.zeros(len(firms))
    benchmarks: dict[str, float | None] = {}
    for ind in p.indicators:
        num = firms[ind.numerator].to_numpy(dtype=float) if ind.numerator in firms else np.full(len(firms), np.nan)
        den = firms[ind.denominator].to_numpy(dtype=float) if ind.denominator in firms else np.full(len(firms), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(den > 0, num / den, np.nan)
        pool = v[scored & np.isfinite(v)]
        if ind.benchmark:
            bench = ind.benchmark
        elif len(pool):
            bench = float(np.median(pool)) if p.benchmark == "median" else float(np.mean(pool))
        else:
            bench = np.nan
        benchmarks[ind.name] = round(bench, 4) if np.isfinite(bench) else None
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.clip(v / bench, 0, p.cap_ratio) if bench and np.isfinite(bench) else np.zeros(len(firms))
        score += ind.weight * np.nan_to_num(ratio)
    score = np.where(scored, score, np.nan)
    grades = np.full(len(firms), None, dtype=object)
    cutoffs: dict[str, float | None] = {}
    idx = np.flatnonzero(scored)
    if len(idx):
        order = idx[np.argsort(-score[idx], kind="stable")]
        rank_pct = (np.arange(len(order)) + 1) / len(order)
        lower = 0.0
        for grade, share in p.grade_shares.items():
            upper = lower + share
            in_grade = (rank_pct > lower + 1e-12) & (rank_pct <= upper + 1e-12)
            grades[order[in_grade]] = grade
            cutoffs[grade] = round(float(score[order[in_grade]].min()), 2) if in_grade.any() else None
            lower = upper
    thr = {"benchmarks": benchmarks, "grade_min_score": cutoffs, "grade_shares": p.grade_shares}
    out.case(~evaluated, "not_applicable", "not_evaluated", min_mu=p.below_scale_min_mu)
    out.case(~known, "missing_data", "missing_data")
    status_of = {"A": "pass", "B": "pass", "C": "warn", "D": "fail"}
    for grade in p.grade_shares:
        out.case(grades == grade, status_of.get(grade, "warn"), grade, code=grade, value=score, threshold=thr)
    out.rest("missing_data", "missing_data")
    return firms.index.to_numpy(dtype=object), out.finish()


def firm_frame(ctx: Context) -> pd.DataFrame:
    """The enterprise output table (without verdicts), indexed by enterprise_id."""
    firms = ctx.firms
    if firms.empty:
        return pd.DataFrame()
    cols = [
        "name",
        "industry_code",
        "land_m2",
        "land_mu",
        "revenue_10k",
        "tax_10k",
        "revenue_per_mu_10k",
        "tax_per_mu_10k",
        "above_scale",
        "in_park",
    ]
    return firms[[c for c in cols if c in firms.columns]].copy()
