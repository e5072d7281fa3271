"""The policy sandbox: what changes when the same parcels are judged under two rule sets (or two dates).

``compare(a, b)`` takes two ``EvaluationResult``s of the same dataset and tells which parcels and firms change
status or grade, and how many by district, park and rule; ``write_comparison_xlsx`` writes it as a print-ready
workbook. The CLI (``mujun compare``), the API (``GET /evaluations/{a}/compare/{b}``) and the web page (预演 on
the rule-set comparison page) are adapters over these two functions.

Everything is a join on ids and a comparison of status columns: no loop over parcels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rules.result import EvaluationResult, records
from rules.vocabulary import OVERALL_RANK, STATUS_LABELS

DIRECTION_LABELS = {"worse": "趋严", "better": "趋宽", "same": "持平"}
ABSENT = "absent"  # a rule that one of the two rule sets does not have
_ABSENT_LABEL = "（无此规则）"
_GRADE_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}


class CompareError(ValueError):
    """Two results that cannot be compared (not the same dataset); the message says why, in Chinese."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass
class Comparison:
    """The difference from result ``a`` to result ``b``; every frame is in words a planner reads."""

    a: dict[str, Any]  # ruleset id/version/sha256 and as_of of each side
    b: dict[str, Any]
    parcels: pd.DataFrame  # parcels whose overall status changed: id, district, park, area, status_a/_b, direction
    changes: pd.DataFrame  # one row per (subject, rule) whose status changed, with values and thresholds
    firms: pd.DataFrame  # firms whose 亩产论英雄 grade changed
    by_rule: pd.DataFrame
    by_district: pd.DataFrame
    by_park: pd.DataFrame
    compared: int  # parcels in both results
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    rule_titles: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the API's answer)."""
        return {
            "a": self.a, "b": self.b, "compared": self.compared,
            "changed_parcels": len(self.parcels), "changed_firms": len(self.firms),
            "only_a": self.only_a[:100], "only_b": self.only_b[:100],
            "by_rule": records(self.by_rule), "by_district": records(self.by_district),
            "by_park": records(self.by_park),
            "parcels": records(self.parcels), "changes": records(self.changes), "firms": records(self.firms),
        }


def _side(result: EvaluationResult) -> dict[str, Any]:
    return {**{k: result.ruleset.get(k) for k in ("id", "version", "sha256")}, "as_of": result.as_of.isoformat()}


def _rank(status: pd.Series) -> np.ndarray:
    return status.map(OVERALL_RANK).fillna(-1).to_numpy()


def _direction(before: pd.Series, after: pd.Series) -> pd.Series:
    ra, rb = _rank(before), _rank(after)
    return pd.Series(np.select([rb > ra, rb < ra], ["worse", "better"], "same"), index=before.index)


def compare(a: EvaluationResult, b: EvaluationResult) -> Comparison:
    """What changes from ``a`` to ``b`` (the same dataset judged twice)."""
    pa, pb = pd.DataFrame(a.parcels.drop(columns="geometry")), pd.DataFrame(b.parcels.drop(columns="geometry"))
    ids_a, ids_b = pa["parcel_id"].astype(str), pb["parcel_id"].astype(str)
    common = np.intersect1d(ids_a.to_numpy(), ids_b.to_numpy())
    if len(common) == 0:
        raise CompareError(
            f"两个结果没有共同的宗地（A 有 {len(pa)} 宗，B 有 {len(pb)} 宗，编号无一相同），不是同一数据集的评估，"
            "无法对比；请对同一数据集的两次评估作对比 (the results share no parcel: not the same dataset)")
    only_a = sorted(set(ids_a) - set(common))
    only_b = sorted(set(ids_b) - set(common))
    keep = ["parcel_id", "district", "park_id", "area_mu", "status"]
    left = pa.assign(parcel_id=ids_a)[[c for c in keep if c in pa.columns]]
    right = pb.assign(parcel_id=ids_b)[[c for c in keep if c in pb.columns]]
    both = left.merge(right, on="parcel_id", suffixes=("_a", "_b"), how="inner")
    for column in ("district", "park_id", "area_mu"):
        if f"{column}_b" in both:  # the same dataset: B's copy is the one shown
            both[column] = both[f"{column}_b"]

    overall = both[both["status_a"].astype(str) != both["status_b"].astype(str)]
    parcels = pd.DataFrame({
        "parcel_id": overall["parcel_id"], "district": overall.get("district"), "park_id": overall.get("park_id"),
        "area_mu": overall.get("area_mu"), "status_a": overall["status_a"].astype(str),
        "status_b": overall["status_b"].astype(str),
        "direction": _direction(overall["status_a"].astype(str), overall["status_b"].astype(str)),
    }).reset_index(drop=True)

    changes = _rule_changes(a, b, common)
    firms = _firm_changes(a, b)
    from rules.export import _vocab  # titles also for a result file, which carries none: from its rule set

    titles = {**_vocab(a).titles, **_vocab(b).titles}
    return Comparison(
        a=_side(a), b=_side(b), parcels=parcels, changes=changes, firms=firms,
        by_rule=_by_rule(changes, titles), by_district=_by_key(parcels, "district"),
        by_park=_by_key(parcels, "park_id"), compared=len(common), only_a=only_a, only_b=only_b,
        rule_titles=titles,
    )


def _rule_changes(a: EvaluationResult, b: EvaluationResult, common: np.ndarray) -> pd.DataFrame:
    """Every (level, subject, rule) whose status differs, a rule present on one side only included."""
    cols = ["level", "subject_id", "rule", "status", "value", "threshold", "message"]
    va = a.verdicts[cols].astype({"level": str, "subject_id": str, "rule": str, "status": str})
    vb = b.verdicts[cols].astype({"level": str, "subject_id": str, "rule": str, "status": str})
    parcel_ids = set(common.tolist())
    va = va[(va["level"] != "parcel") | va["subject_id"].isin(parcel_ids)]
    vb = vb[(vb["level"] != "parcel") | vb["subject_id"].isin(parcel_ids)]
    # A rule that one side does not have at all: its verdicts on the other side are changes from/to "absent";
    # a subject that simply has no verdict of a rule both sides have (not judged) is the same on both sides.
    rules_a, rules_b = set(va["rule"]), set(vb["rule"])
    joined = va.merge(vb, on=["level", "subject_id", "rule"], how="outer", suffixes=("_a", "_b"))
    missing_a = joined["status_a"].isna() & ~joined["rule"].isin(rules_a)
    missing_b = joined["status_b"].isna() & ~joined["rule"].isin(rules_b)
    joined.loc[missing_a, "status_a"] = ABSENT
    joined.loc[missing_b, "status_b"] = ABSENT
    joined = joined.dropna(subset=["status_a", "status_b"])
    changed = joined[joined["status_a"] != joined["status_b"]].copy()
    changed["direction"] = _direction(changed["status_a"], changed["status_b"])
    changed = changed.sort_values(["level", "rule", "subject_id"], kind="stable").reset_index(drop=True)
    return changed[["level", "subject_id", "rule", "status_a", "status_b", "direction", "value_a", "value_b",
                    "threshold_a", "threshold_b", "message_b"]]


def _firm_changes(a: EvaluationResult, b: EvaluationResult) -> pd.DataFrame:
    cols = ["enterprise_id", "name", "grade", "revenue_per_mu_10k", "tax_per_mu_10k"]
    empty = pd.DataFrame(columns=["enterprise_id", "name", "grade_a", "grade_b", "move"])
    if a.enterprises is None or b.enterprises is None or a.enterprises.empty or b.enterprises.empty:
        return empty
    if "grade" not in a.enterprises or "grade" not in b.enterprises:
        return empty
    ea = a.enterprises[[c for c in cols if c in a.enterprises]].astype({"enterprise_id": str})
    eb = b.enterprises[[c for c in cols if c in b.enterprises]].astype({"enterprise_id": str})
    both = ea.merge(eb, on="enterprise_id", suffixes=("_a", "_b"))
    ga = both["grade_a"].astype("string").fillna("—")
    gb = both["grade_b"].astype("string").fillna("—")
    moved = both[ga != gb].copy()
    oa = ga[moved.index].map(_GRADE_ORDER).astype(float)
    ob = gb[moved.index].map(_GRADE_ORDER).astype(float)
    moved["grade_a"], moved["grade_b"] = ga[moved.index], gb[moved.index]
    moved["move"] = np.select([ob < oa, ob > oa], ["up", "down"], "other")
    moved["name"] = moved["name_b"] if "name_b" in moved else moved["enterprise_id"]
    return moved[["enterprise_id", "name", "grade_a", "grade_b", "move"]].sort_values("enterprise_id") \
        .reset_index(drop=True)


def _counts(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per ``key``: changes in all, into 不合规, out of 不合规, stricter, more lenient."""
    if frame.empty:
        return pd.DataFrame(columns=[key, "changed", "to_fail", "from_fail", "worse", "better"])
    keys = frame[key].astype("string").fillna("—")
    grouped = pd.DataFrame({
        key: keys,
        "changed": 1,
        "to_fail": (frame["status_b"] == "fail").astype(int),
        "from_fail": (frame["status_a"] == "fail").astype(int),
        "worse": (frame["direction"] == "worse").astype(int),
        "better": (frame["direction"] == "better").astype(int),
    }).groupby(key, sort=True).sum().reset_index()
    return grouped.sort_values(["changed", key], ascending=[False, True], kind="stable").reset_index(drop=True)


def _by_key(parcels: pd.DataFrame, key: str) -> pd.DataFrame:
    return _counts(parcels, key)


def _by_rule(changes: pd.DataFrame, titles: dict[str, str]) -> pd.DataFrame:
    out = _counts(changes, "rule")
    out.insert(1, "title", out["rule"].map(lambda r: titles.get(r, r)))
    return out


def status_word(status: Any) -> str:
    """A status in Chinese; a rule missing on one side in words."""
    if status == ABSENT:
        return _ABSENT_LABEL
    return STATUS_LABELS.get(str(status), str(status))


def write_comparison_xlsx(comparison: Comparison, path: str | Path, parks: dict[str, str] | None = None) -> Path:
    """The comparison as a print-ready workbook: 对比汇总, 状态变化宗地, 规则变化明细, 等级变化企业."""
    from rules.export import Column, _list_sheet, report_workbook

    path = Path(path)
    a, b = comparison.a, comparison.b
    page = {"report": "规则集预演对比", "as_of": f"A {a['as_of']} / B {b['as_of']}",
            "ruleset": f"A {a.get('id')} {a.get('version')} → B {b.get('id')} {b.get('version')}"}
    parks = parks or {}
    titles = comparison.rule_titles

    def words(values: pd.Series) -> list[str]:
        return [status_word(v) for v in values]

    with report_workbook(path, page["report"], page) as (wb, fmts):
        summary = pd.DataFrame({
            "项目": ["结果 A 规则集", "结果 B 规则集", "A 评估基准日", "B 评估基准日", "对比宗地数",
                   "总体结论变化的宗地", "其中趋严", "其中趋宽", "规则结论变化（宗地与企业）", "等级变化的企业",
                   "仅在 A 中的宗地", "仅在 B 中的宗地"],
            "内容": [f"{a.get('id')} {a.get('version')}", f"{b.get('id')} {b.get('version')}", a["as_of"],
                   b["as_of"], f"{comparison.compared:,}", f"{len(comparison.parcels):,}",
                   f"{int((comparison.parcels['direction'] == 'worse').sum()):,}",
                   f"{int((comparison.parcels['direction'] == 'better').sum()):,}",
                   f"{len(comparison.changes):,}", f"{len(comparison.firms):,}",
                   f"{len(comparison.only_a):,}", f"{len(comparison.only_b):,}"],
        })
        _list_sheet(wb, fmts, "对比汇总", "规则集预演对比汇总",
                    [Column("项目", "text", summary["项目"], 26), Column("内容", "wrap", summary["内容"], 40)], page)
        r = comparison.by_rule
        _list_sheet(wb, fmts, "按规则", "按规则统计的结论变化", [
            Column("规则", "wrap", r["title"], 28), Column("变化数", "count", r["changed"], 9),
            Column("新增不合规", "count", r["to_fail"], 10), Column("不再不合规", "count", r["from_fail"], 10),
            Column("趋严", "count", r["worse"], 8), Column("趋宽", "count", r["better"], 8),
            Column("规则编号", "id", r["rule"], 20)], page)
        for name, frame, key, label in (("按行政区", comparison.by_district, "district", "行政区"),
                                        ("按园区", comparison.by_park, "park_id", "园区")):
            keys = frame[key].map(lambda k: parks.get(str(k), k)) if key == "park_id" else frame[key]
            _list_sheet(wb, fmts, name, f"{name}统计的总体结论变化", [
                Column(label, "wrap", keys, 26), Column("变化宗地", "count", frame["changed"], 10),
                Column("新增不合规", "count", frame["to_fail"], 10),
                Column("不再不合规", "count", frame["from_fail"], 10),
                Column("趋严", "count", frame["worse"], 8), Column("趋宽", "count", frame["better"], 8)], page)
        p = comparison.parcels
        _list_sheet(wb, fmts, "状态变化宗地", f"总体结论变化的宗地（共 {len(p):,} 宗）", [
            Column("宗地编号", "text", p["parcel_id"], 14),
            Column("行政区", "text", p["district"], 10),
            Column("园区", "wrap", p["park_id"].map(lambda k: parks.get(str(k), k)), 22),
            Column("面积（亩）", "area", p["area_mu"], 9),
            Column("A 结论", "status", p["status_a"], 9), Column("B 结论", "status", p["status_b"], 9),
            Column("变化", "text", p["direction"].map(DIRECTION_LABELS), 7)], page)
        c = comparison.changes
        _list_sheet(wb, fmts, "规则变化明细", f"规则结论变化明细（共 {len(c):,} 条）", [
            Column("对象", "text", c["level"].map({"parcel": "宗地", "enterprise": "企业"}), 6),
            Column("编号", "text", c["subject_id"], 14),
            Column("规则", "wrap", c["rule"].map(lambda r: titles.get(r, r)), 24),
            Column("A 结论", "text", words(c["status_a"]), 10), Column("B 结论", "text", words(c["status_b"]), 10),
            Column("变化", "text", c["direction"].map(DIRECTION_LABELS), 7),
            Column("B 的说明", "wrap", c["message_b"].fillna(""), 48)], page)
        f = comparison.firms
        _list_sheet(wb, fmts, "等级变化企业", f"亩产论英雄等级变化的企业（共 {len(f):,} 家）", [
            Column("企业编号", "text", f["enterprise_id"], 14), Column("企业名称", "wrap", f["name"], 28),
            Column("A 等级", "text", f["grade_a"], 8), Column("B 等级", "text", f["grade_b"], 8),
            Column("变化", "text", f["move"].map({"up": "升级", "down": "降级", "other": "其他"}), 7)], page)
    return path
