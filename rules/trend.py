"""The planner's year: results of several statistics years (统计年度) side by side, and each year's published lists.

- ``annual_lists(result)``: every firm of the enterprise table in exactly one of the lists a 亩均 office publishes:
  graded A/B/C/D, not graded (T 类, with the reason: below scale, no land, figures missing), and tenants without
  land of their own (租赁厂房企业, judged by the floor area they occupy; listed apart).
- ``trend(results)``: per firm, park and district, 亩均营收/亩均税收 and grade by year with the year-over-year change;
  the firms that moved grade and the parks that reached or left the target.
- ``write_trend_xlsx(trend, path)``: the print-ready workbook (``mujun trend``, the 趋势 page's download).

A result's year is ``EvaluationResult.year`` (from ``--year`` or the enterprise table's ``year`` column). Joins and
group-bys only: no loop over firms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rules.result import EvaluationResult, records

GRADES = ("A", "B", "C", "D")
LIST_LABELS = {
    "A": "A 类（优先发展类）",
    "B": "B 类（提升发展类）",
    "C": "C 类（调控帮扶类）",
    "D": "D 类（倒逼整治类）",
    "T": "T 类（暂不评价）",
    "tenant": "租赁厂房企业（无自有用地）",
}
LIST_ORDER = ("A", "B", "C", "D", "T", "tenant")
GRADE_RULE = "mujun.grade"
PARK_RULE = "agg.park_per_mu"
_FIGURES = ("revenue_per_mu_10k", "tax_per_mu_10k")


class TrendError(ValueError):
    """Results that cannot make a trend (no year, the same year twice); the message says which, in Chinese."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def tenants(result: EvaluationResult) -> set[str]:
    """Firms without land of their own: every parcel they occupy is shared with other occupants (租赁厂房)."""
    occ = result.occupants
    if occ is None or len(occ) == 0:
        return set()
    pairs = occ.astype({"enterprise_id": str, "parcel_id": str}).drop_duplicates()
    shared = pairs["parcel_id"].map(pairs["parcel_id"].value_counts()) > 1
    only_shared = shared.groupby(pairs["enterprise_id"]).all()
    return set(only_shared.index[only_shared.to_numpy()])


def annual_lists(result: EvaluationResult) -> pd.DataFrame:
    """One row per firm: ``list`` (A/B/C/D/T/tenant), its label, the reason for T, and the year's figures.

    A firm all of whose parcels it shares with other occupants is a tenant (租赁厂房企业, e.g. in a 标准厂房): its land
    is its share of the parcels by floor area, so it is listed apart, with the grade it would have as a
    reference. Otherwise a grade puts it on the A–D lists; a firm without a grade is T 类 with the grade
    rule's own words for why (规下且用地不足, 无用地, 缺少营业收入或税收).
    """
    firms = result.enterprises.copy()
    if firms.empty:
        return pd.DataFrame(columns=["enterprise_id", "name", "list", "list_label", "reason"])
    firms["enterprise_id"] = firms["enterprise_id"].astype(str)
    tenant = firms["enterprise_id"].isin(tenants(result))
    grade = firms["grade"].astype("string") if "grade" in firms else pd.Series(pd.NA, index=firms.index, dtype="string")
    graded = grade.isin(GRADES).fillna(False).astype(bool)
    firms["list"] = np.select([tenant.to_numpy(), graded.to_numpy()], ["tenant", grade.fillna("").to_numpy()], "T")
    firms["list_label"] = firms["list"].map(LIST_LABELS)
    verdicts = result.verdicts
    reasons = verdicts[(verdicts["level"] == "enterprise") & (verdicts["rule"].astype(str) == GRADE_RULE)]
    reason = reasons.drop_duplicates("subject_id").set_index("subject_id")["message"]
    firms["reason"] = np.where(
        firms["list"] == "T", firms["enterprise_id"].map(reason).fillna("无用地记录，不参评").to_numpy(), ""
    )
    firms["district"] = firms["enterprise_id"].map(firm_districts(result)).to_numpy()
    order = {k: i for i, k in enumerate(LIST_ORDER)}
    firms = firms.assign(_o=firms["list"].map(order)).sort_values(["_o", "enterprise_id"], kind="stable")
    return firms.drop(columns="_o").reset_index(drop=True)


def firm_districts(result: EvaluationResult) -> pd.Series:
    """Firm id → the district of its largest parcel (its first parcel on a tie)."""
    occupants = result.occupants.astype({"enterprise_id": str, "parcel_id": str})
    if occupants.empty or "district" not in result.parcels.columns:
        return pd.Series(dtype=object)
    parcels = pd.DataFrame(
        {
            "parcel_id": result.parcels["parcel_id"].astype(str),
            "district": result.parcels["district"],
            "area": result.parcels["area_m2"],
        }
    )
    joined = occupants.merge(parcels, on="parcel_id").sort_values(
        ["enterprise_id", "area"], ascending=[True, False], kind="stable"
    )
    return joined.drop_duplicates("enterprise_id").set_index("enterprise_id")["district"]


@dataclass
class Trend:
    """Several years side by side (years ascending)."""

    years: list[int]
    firms: pd.DataFrame  # one row per firm and year: figures, grade, list, change against the year before
    grade_moves: pd.DataFrame  # a firm's grade in one year against the year before, where it differs
    parks: pd.DataFrame  # one row per park, year and figure (revenue/tax): value, target, status, change
    park_moves: pd.DataFrame  # parks that reached or left a target from one year to the next
    districts: pd.DataFrame  # one row per district and year: 亩均营收/税收 of its above-scale firms in parks
    lists: pd.DataFrame  # per year, the number of firms on each list
    rulesets: list[dict[str, Any]] = field(default_factory=list)  # the rule set of each year's result

    @property
    def mixed_rulesets(self) -> str:
        """A warning in words when the years were judged by different rule sets (targets then differ), else ""."""
        names = {f"{r.get('id')} {r.get('version')}".strip() for r in self.rulesets}
        if len({r.get("sha256") or r.get("id") for r in self.rulesets}) <= 1:
            return ""
        return (f"所选年度使用了不同的规则集（{'、'.join(sorted(names))}）：目标不同，达标变化可能来自规则而非数据 "
                "(the years were judged by different rule sets)")

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the API's answer)."""
        return {
            "years": self.years,
            "rulesets": self.rulesets,
            "warning": self.mixed_rulesets,
            "firms": records(self.firms),
            "grade_moves": records(self.grade_moves),
            "parks": records(self.parks),
            "park_moves": records(self.park_moves),
            "districts": records(self.districts),
            "lists": records(self.lists),
        }


def _year_of(result: EvaluationResult, index: int) -> int:
    year = getattr(result, "year", None)
    if year is None:
        raise TrendError(
            f"第 {index + 1} 个结果没有统计年度（企业表缺少 year 列，评估时也未给 --year），无法排成趋势 "
            "(a result has no statistics year)"
        )
    return int(year)


def _change(frame: pd.DataFrame, keys: list[str], columns: Sequence[str]) -> pd.DataFrame:
    """``<column>_change``: the change against the same key's previous year (rows sorted by key, year)."""
    frame = frame.sort_values([*keys, "year"], kind="stable").reset_index(drop=True)
    same = (frame[keys].shift() == frame[keys]).all(axis=1).to_numpy()
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        frame[f"{column}_change"] = np.where(same, values - values.shift(), np.nan)
    return frame


def trend(results: Sequence[EvaluationResult]) -> Trend:
    """Results of several statistics years of the same area, side by side."""
    if len(results) < 2:
        raise TrendError("趋势至少需要两个年度的评估结果 (a trend needs results of at least two years)")
    years = [_year_of(r, i) for i, r in enumerate(results)]
    if len(set(years)) != len(years):
        dup = sorted({y for y in years if years.count(y) > 1})
        raise TrendError(
            f"统计年度 {'、'.join(map(str, dup))} 出现了不止一次：每个年度只给一个结果 (one result per year)"
        )
    order = np.argsort(years)
    years = [years[i] for i in order]
    results = [results[i] for i in order]

    firm_rows, park_rows, district_rows, list_rows = [], [], [], []
    for year, result in zip(years, results, strict=True):
        lists = annual_lists(result)
        cols = [
            "enterprise_id",
            "name",
            "district",
            *[c for c in (*_FIGURES, "land_mu", "score", "grade", "in_park", "above_scale") if c in lists],
            "list",
        ]
        firm_rows.append(lists[cols].assign(year=year))
        list_rows.append(lists["list"].value_counts().reindex(LIST_ORDER, fill_value=0).rename(year))
        agg = result.aggregates
        if not agg.empty:
            parks = agg[(agg["rule"] == PARK_RULE) & (agg["scope"] == "park")]
            park_rows.append(
                pd.DataFrame(
                    {
                        "park_id": parks["key"].astype(str),
                        "figure": parks["code"].astype(str),
                        "year": year,
                        "value": parks["value"].astype(float),
                        "target": [t.get("min") if isinstance(t, dict) else np.nan for t in parks["threshold"]],
                        "status": parks["status"].astype(str),
                    }
                )
            )
        district_rows.append(_district_figures(lists, year))

    firms = _change(
        pd.concat(firm_rows, ignore_index=True), ["enterprise_id"], [c for c in _FIGURES if c in firm_rows[0]]
    )
    parks = (
        _change(pd.concat(park_rows, ignore_index=True), ["park_id", "figure"], ["value"])
        if park_rows
        else pd.DataFrame(columns=["park_id", "figure", "year", "value", "target", "status", "value_change"])
    )
    districts = _change(pd.concat(district_rows, ignore_index=True), ["district"], list(_FIGURES))
    lists = pd.DataFrame(list_rows).rename_axis("year").reset_index()
    return Trend(
        years=years,
        firms=firms,
        grade_moves=_moves(firms, "enterprise_id", "grade"),
        parks=parks,
        park_moves=_park_moves(parks),
        districts=districts,
        lists=lists,
        rulesets=[dict(r.ruleset) for r in results],
    )


def _district_figures(lists: pd.DataFrame, year: int) -> pd.DataFrame:
    """亩均营收/税收 per district of the year's above-scale firms in parks (the per-mu rules' population)."""
    need = {"revenue_10k", "tax_10k", "land_mu", "above_scale", "in_park"}
    if not need <= set(lists.columns):
        return pd.DataFrame(columns=["district", "year", *_FIGURES, "firms"])
    pop = lists[
        lists["above_scale"].fillna(False).astype(bool)
        & lists["in_park"].fillna(False).astype(bool)
        & (pd.to_numeric(lists["land_mu"], errors="coerce") > 0)
    ]
    pop = pop.assign(district=pop["district"].fillna("（未知）"))
    sums = pop.groupby("district")[["revenue_10k", "tax_10k", "land_mu"]].sum(min_count=1)
    out = pd.DataFrame(
        {
            "revenue_per_mu_10k": sums["revenue_10k"] / sums["land_mu"],
            "tax_per_mu_10k": sums["tax_10k"] / sums["land_mu"],
            "firms": pop.groupby("district").size(),
        }
    ).reset_index()
    return out.assign(year=year)


def _moves(frame: pd.DataFrame, key: str, column: str) -> pd.DataFrame:
    """Rows where ``column`` differs from the same key's previous year (both years present)."""
    frame = frame.sort_values([key, "year"], kind="stable")
    prev = frame.groupby(key)[[column, "year"]].shift()
    value = frame[column].astype("string").fillna("—")
    before = prev[column].astype("string").fillna("—")
    moved = prev["year"].notna() & (value != before)
    out = frame.loc[moved, [key, "name", "year"]].copy() if "name" in frame else frame.loc[moved, [key, "year"]]
    out["year_from"] = prev.loc[moved, "year"].astype(int)
    out[f"{column}_from"], out[f"{column}_to"] = before[moved], value[moved]
    rank = {g: i for i, g in enumerate(GRADES)}
    a = out[f"{column}_from"].map(rank).astype(float).to_numpy()
    b = out[f"{column}_to"].map(rank).astype(float).to_numpy()
    out["move"] = np.select([b < a, b > a], ["up", "down"], "other")  # NaN (not graded) compares False: other
    return out.rename(columns={"year": "year_to"}).reset_index(drop=True)


def _park_moves(parks: pd.DataFrame) -> pd.DataFrame:
    """Parks whose status against a target changed between consecutive years: reached (达标) or left (掉出)."""
    if parks.empty:
        return pd.DataFrame(columns=["park_id", "figure", "year_from", "year_to", "status_from", "status_to", "move"])
    parks = parks.sort_values(["park_id", "figure", "year"], kind="stable")
    prev = parks.groupby(["park_id", "figure"])[["status", "year"]].shift()
    met, met_before = parks["status"] == "pass", prev["status"] == "pass"
    changed = prev["year"].notna() & (met != met_before)
    out = parks.loc[changed, ["park_id", "figure", "year", "value"]].rename(columns={"year": "year_to"})
    out.insert(2, "year_from", prev.loc[changed, "year"].astype(int))
    out["status_from"], out["status_to"] = prev.loc[changed, "status"], parks.loc[changed, "status"]
    out["move"] = np.where(met[changed], "reached", "left")
    return out.reset_index(drop=True)


_MOVE_WORDS = {"up": "升级", "down": "降级", "other": "变化", "reached": "达标", "left": "掉出"}
_FIGURE_WORDS = {"revenue": "亩均营收", "tax": "亩均税收"}


def write_trend_xlsx(t: Trend, path: str | Path, parks: dict[str, str] | None = None) -> Path:
    """The trend as a print-ready workbook: 年度名单统计, 等级变动企业, 园区趋势, 园区达标变化, 区县趋势, 企业趋势."""
    from rules.export import Column, _list_sheet, report_workbook

    path = Path(path)
    parks = parks or {}
    span = f"{t.years[0]}–{t.years[-1]}"
    page = {"report": "亩均效益年度趋势", "as_of": f"统计年度 {span}", "ruleset": ""}

    def park_name(ids: pd.Series) -> pd.Series:
        return ids.map(lambda k: parks.get(str(k), str(k)))

    with report_workbook(path, page["report"], page) as (wb, fmts):
        lists = t.lists
        _list_sheet(
            wb,
            fmts,
            "年度名单统计",
            f"各年度企业名单（{span}）",
            [
                Column("统计年度", "count", lists["year"], 9),
                *[Column(LIST_LABELS[k], "count", lists[k], 14) for k in LIST_ORDER],
            ],
            page,
        )
        m = t.grade_moves
        _list_sheet(
            wb,
            fmts,
            "等级变动企业",
            f"亩产论英雄等级变动的企业（共 {len(m):,} 次）",
            [
                Column("企业编号", "text", m["enterprise_id"], 12),
                Column("企业名称", "wrap", m.get("name", ""), 28),
                Column("上一年度", "count", m["year_from"], 9),
                Column("本年度", "count", m["year_to"], 9),
                Column("原等级", "text", m["grade_from"], 8),
                Column("新等级", "text", m["grade_to"], 8),
                Column("变动", "text", m["move"].map(_MOVE_WORDS), 7),
            ],
            page,
        )
        p = t.parks
        _list_sheet(
            wb,
            fmts,
            "园区趋势",
            "园区亩均效益（规上工业企业）",
            [
                Column("园区", "wrap", park_name(p["park_id"]), 24),
                Column("指标", "text", p["figure"].map(_FIGURE_WORDS), 9),
                Column("统计年度", "count", p["year"], 9),
                Column("数值（万元/亩）", "money", p["value"], 12),
                Column("较上年", "money", p["value_change"], 10),
                Column("目标", "money", p["target"], 9),
                Column("是否达标", "status", p["status"], 9),
            ],
            page,
        )
        pm = t.park_moves
        _list_sheet(
            wb,
            fmts,
            "园区达标变化",
            f"达标或掉出目标的园区（共 {len(pm):,} 次）",
            [
                Column("园区", "wrap", park_name(pm["park_id"]), 24),
                Column("指标", "text", pm["figure"].map(_FIGURE_WORDS), 9),
                Column("上一年度", "count", pm["year_from"], 9),
                Column("本年度", "count", pm["year_to"], 9),
                Column("数值（万元/亩）", "money", pm["value"], 12),
                Column("变化", "text", pm["move"].map(_MOVE_WORDS), 7),
            ],
            page,
        )
        d = t.districts
        _list_sheet(
            wb,
            fmts,
            "区县趋势",
            "区（市）县亩均效益（园区内规上工业企业）",
            [
                Column("区（市）县", "text", d["district"], 12),
                Column("统计年度", "count", d["year"], 9),
                Column("亩均营收", "money", d["revenue_per_mu_10k"], 10),
                Column("较上年", "money", d["revenue_per_mu_10k_change"], 9),
                Column("亩均税收", "money", d["tax_per_mu_10k"], 10),
                Column("较上年", "money", d["tax_per_mu_10k_change"], 9),
                Column("企业数", "count", d["firms"], 8),
            ],
            page,
        )
        f = t.firms
        _list_sheet(
            wb,
            fmts,
            "企业趋势",
            f"企业亩均效益逐年（{len(f):,} 行）",
            [
                Column("企业编号", "text", f["enterprise_id"], 12),
                Column("企业名称", "wrap", f["name"], 26),
                Column("统计年度", "count", f["year"], 9),
                Column("名单", "text", f["list"].map(LIST_LABELS), 16),
                Column("亩均营收", "money", f.get("revenue_per_mu_10k"), 10),
                Column("较上年", "money", f.get("revenue_per_mu_10k_change"), 9),
                Column("亩均税收", "money", f.get("tax_per_mu_10k"), 10),
                Column("较上年", "money", f.get("tax_per_mu_10k_change"), 9),
            ],
            page,
        )
    return path


def write_annual_lists_xlsx(result: EvaluationResult, path: str | Path) -> Path:
    """One year's published lists: a sheet per list (A, B, C, D, T 类 with reasons, 租赁厂房企业)."""
    from rules.export import Column, _list_sheet, report_workbook

    path = Path(path)
    lists = annual_lists(result)
    year = getattr(result, "year", None)
    page = {"report": "亩产论英雄年度名单", "as_of": f"统计年度 {year or '—'}", "ruleset": ""}
    with report_workbook(path, page["report"], page) as (wb, fmts):
        for key in LIST_ORDER:
            rows = lists[lists["list"] == key]
            cols = [
                Column("企业编号", "text", rows["enterprise_id"], 12),
                Column("企业名称", "wrap", rows["name"], 28),
                Column("区（市）县", "text", rows["district"], 10),
                Column("用地（亩）", "area", rows.get("land_mu"), 9),
                Column("亩均营收", "money", rows.get("revenue_per_mu_10k"), 10),
                Column("亩均税收", "money", rows.get("tax_per_mu_10k"), 10),
            ]
            if key == "T":
                cols.append(Column("不参评原因", "wrap", rows["reason"], 36))
            if key == "tenant":
                cols[3] = Column("按建筑面积折算用地（亩）", "area", rows.get("land_mu"), 12)
                cols.append(Column("参考等级", "text", rows["grade"].astype("string").fillna("—"), 8))
            _list_sheet(
                wb, fmts, LIST_LABELS[key].split("（")[0], f"{LIST_LABELS[key]}（{len(rows):,} 家）", cols, page
            )
    return path
