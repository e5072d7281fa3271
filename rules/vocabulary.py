"""The verdict vocabulary, defined once: statuses, their order, labels and colours; verdict codes; thresholds.

Every page, map, sheet and terminal summary takes its words from here, so a planner reads 不合规 / 纳入园区管理 /
"间距 ≤ 30 米，成片 ≥ 50 亩，紧邻 ≤ 50 米" instead of ``fail`` / ``include_in_park`` / ``{'gap_m': 30, …}``.
``gis/`` knows nothing of rules: the map is handed :func:`legend` built from a rule set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

# Status codes as stored (the order of the integer codes in verdict arrays; never reorder).
STATUSES: tuple[str, ...] = ("pass", "fail", "warn", "exempt", "not_applicable", "missing_data")
# Display order, most severe first (legends, tables, counts).
STATUS_ORDER: tuple[str, ...] = ("fail", "warn", "missing_data", "pass", "exempt", "not_applicable")
STATUS_LABELS: dict[str, str] = {
    "fail": "不合规",
    "warn": "预警",
    "missing_data": "数据缺失",
    "pass": "合规",
    "exempt": "豁免",
    "not_applicable": "不适用",
}
# Colours checked for colour-blind readers (tests/test_maps.py simulates protanopia, deuteranopia and tritanopia
# with the Machado et al. 2009 matrices): every pair stays ≥ 12 CIEDE2000 apart, opaque and as the map blends them.
# Red and green differ in lightness (dark red, mid green), so they stay apart when the hues collapse.
STATUS_COLORS: dict[str, str] = {
    "fail": "#a50f15",
    "warn": "#d88d00",
    "missing_data": "#5f5f5f",
    "pass": "#6faf7c",
    "exempt": "#2b65a8",
    "not_applicable": "#e0e0e0",
}
# Overall status of a subject (contract v2): the highest rank among its non-note verdicts. All not_applicable →
# not_applicable; only exempt besides → exempt; otherwise fail > warn > missing_data > pass.
OVERALL_RANK: dict[str, int] = {
    "not_applicable": 0,
    "exempt": 1,
    "pass": 2,
    "missing_data": 3,
    "warn": 4,
    "fail": 5,
}
NOTE_PREFIX = "data."  # data.* verdicts are data-quality notes (数据提示): they never set the overall status
NOTE_LABEL = "数据提示"


def is_note(rule_id: object) -> bool:
    """True for a data-quality note rule (``data.straddles``, ``data.occupancy``)."""
    return str(rule_id).startswith(NOTE_PREFIX)


def overall_status(status_codes: Iterable[np.ndarray], n: int) -> np.ndarray:
    """The overall status name per subject from its verdicts' status codes (indices into :data:`STATUSES`).

    Pass only the codes of the rules that count (not the notes). ``n`` subjects; with no rule at all every
    subject is ``not_applicable``.

    Examples
    --------
    >>> code = {s: i for i, s in enumerate(STATUSES)}
    >>> far = np.array([code["not_applicable"], code["exempt"], code["pass"], code["warn"]])
    >>> idle = np.array([code["not_applicable"], code["not_applicable"], code["missing_data"], code["pass"]])
    >>> overall_status([far, idle], 4).tolist()
    ['not_applicable', 'exempt', 'missing_data', 'warn']
    """
    rank = np.zeros(n, dtype=np.int8)
    for codes in status_codes:
        np.maximum(rank, _RANK_OF_CODE[np.asarray(codes)], out=rank)
    return _OVERALL_NAMES[rank]


_RANK_OF_CODE = np.array([OVERALL_RANK[s] for s in STATUSES], dtype=np.int8)
_OVERALL_NAMES = np.array(sorted(OVERALL_RANK, key=OVERALL_RANK.__getitem__), dtype=object)

# ---- verdict codes ---------------------------------------------------------------------------------
CODE_LABELS: dict[str, str] = {
    # far.bounds
    "below_min": "低于下限",
    "above_max": "高于上限",
    "special_process": "特殊工艺用地",
    # zone.*
    "conversion": "拟调整为非工业用途",
    "review": "保留期满需复核",
    "retain": "近期可保留",
    "exit": "引导退出、向园区集中",
    "include_in_park": "纳入园区管理",
    "one_park_multi_site": "一园多片管理",
    "not_block": "零散用地，不成板块",
    # per_mu.*
    "below_target": "低于2025年全市目标",
    "outside_park": "不在园区内",
    "no_occupant": "无入驻企业",
    "below_scale": "规下企业",
    "no_land": "无用地记录",
    # data.*
    "by_floor_area": "按建筑面积分摊",
    "equal_split": "按企业数平均分摊",
    "straddles": "跨越分区边界",
    "red_blue_overlap": "红线区与蓝线区重叠",
    # idle.order53
    "idle_risk": "闲置预警",
    "idle_fee_20pct": "征缴土地闲置费（20%）",
    "idle_recover": "无偿收回",
    "idle_negotiate": "协商处置（政府原因或不可抗力）",
    "not_idle": "未构成闲置",
    "idle": "已按闲置土地处置",
    # low_efficiency (codes combine with "+": tax+far)
    "tax": "亩均税收偏低",
    "far": "容积率偏低",
    "coverage": "建筑系数偏低",
    # standard_land.*
    "not_standard_land": "未以标准地方式出让",
    "missing_commitments": "约定指标不全",
    "below_commitment": "未达约定指标",
    "not_due": "未到约定达产日期",
    # industry.restricted
    "restricted_new": "严控新建项目",
    "restricted_existing": "存量严控产业",
    # mujun.grade
    "A": "A 类（优先发展类）",
    "B": "B 类（提升发展类）",
    "C": "C 类（调控帮扶类）",
    "D": "D 类（倒逼整治类）",
}
# Aggregates use their code for the metric judged (agg.park_per_mu: revenue / tax).
AGGREGATE_CODE_LABELS: dict[str, str] = {"revenue": "亩均营收", "tax": "亩均税收"}


def code_label(code: object, rule: object = None) -> str:
    """The Chinese name of a verdict code (``include_in_park`` → 纳入园区管理; ``tax+far`` → 亩均税收偏低、容积率偏低).

    Examples
    --------
    >>> code_label("include_in_park"), code_label("tax+far"), code_label("tax", "agg.park_per_mu"), code_label(None)
    ('纳入园区管理', '亩均税收偏低、容积率偏低', '亩均税收', '')
    """
    if code is None or (isinstance(code, float) and math.isnan(code)) or code is pd.NA or code == "":
        return ""
    text = str(code)
    if str(rule or "").startswith("agg.") and text in AGGREGATE_CODE_LABELS:
        return AGGREGATE_CODE_LABELS[text]
    if text in CODE_LABELS:
        return CODE_LABELS[text]
    parts = text.split("+")
    return "、".join(CODE_LABELS.get(p, p) for p in parts)


# ---- values and thresholds -------------------------------------------------------------------------
# The unit a kind's ``value`` is measured in (KindSpec.unit): how value and min/max thresholds are written.
UNIT_FORMATS: dict[str, tuple[str, str]] = {
    "": (".2f", ""),  # a ratio such as FAR: 2 decimals, no unit
    "share": (".1%", ""),
    "万元/亩": (",.1f", " 万元/亩"),
    "亩": (",.1f", " 亩"),
    "天": (".0f", " 天"),
    "分": (".1f", " 分"),
    "家": (".0f", " 家"),
}


def value_text(value: Any, unit: str = "") -> str:
    """A measured value in words with its unit (``650.0, "万元/亩"`` → ``650.0 万元/亩``); empty for none."""
    if value is None or value is pd.NA:
        return ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "无穷大"
    spec, suffix = UNIT_FORMATS.get(unit, (",.2f", f" {unit}" if unit else ""))
    return format(v, spec) + suffix


# Threshold keys the kinds emit → how each is written (``{}`` takes the value).
_THRESHOLD_WORDS: dict[str, str] = {
    "strict_until": "{} 前不得调整为非工业用途",
    "gap_m": "间距 ≤ {} 米",
    "min_block_mu": "成片 ≥ {} 亩",
    "adjacent_m": "紧邻 ≤ {} 米",
    "reference_date": "起算日 {}",
    "warning_days": "满 {} 天预警",
    "fee_date": "满一年 {}",
    "recover_date": "满两年 {}",
    "tax_per_mu_min": "亩均税收 ≥ {} 万元/亩",
    "coverage_min": "建筑系数 ≥ {}",
    "far_min": "容积率 ≥ {}",
    "from_date": "{} 起供地",
    "investment_per_mu_min": "亩均投资 ≥ {} 万元/亩",
    "revenue_per_mu_min": "亩均营收 ≥ {} 万元/亩",
    "new_project_from": "新建项目：{} 起供地",
    "benchmarks": "基准值 {}",
    "grade_min_score": "分级线 {}",
    "grade_shares": "比例 {}",
}
_SHARE_KEYS = {"coverage_min"}
_SHARE_MAPS = {"grade_shares"}


def _plain(v: Any, share: bool = False) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else "否"
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "—"
        if share:
            return f"{f:.0%}"
        return f"{f:,.2f}".rstrip("0").rstrip(".")
    return "—" if v is None else str(v)


def threshold_text(threshold: Any, unit: str = "") -> str:
    """A verdict's threshold in words: ``{"min": 2.0, "max": 4.0}`` → ``2.00–4.00``.

    Examples
    --------
    >>> threshold_text({"gap_m": 30, "min_block_mu": 50, "adjacent_m": 50})
    '间距 ≤ 30 米，成片 ≥ 50 亩，紧邻 ≤ 50 米'
    >>> threshold_text({"min": 650.0}, "万元/亩"), threshold_text({"min": 0.25}, "share"), threshold_text(None)
    ('≥ 650.0 万元/亩', '≥ 25.0%', '')
    """
    if threshold is None or (isinstance(threshold, float) and math.isnan(threshold)):
        return ""
    if isinstance(threshold, str):
        return threshold
    if not isinstance(threshold, Mapping):
        return _plain(threshold)
    parts: list[str] = []
    lo, hi = threshold.get("min"), threshold.get("max")
    if lo is not None and hi is not None:
        suffix = UNIT_FORMATS.get(unit, ("", f" {unit}"))[1]
        parts.append(f"{value_text(lo, unit).removesuffix(suffix)}–{value_text(hi, unit)}")
    elif lo is not None:
        parts.append(f"≥ {value_text(lo, unit)}")
    elif hi is not None:
        parts.append(f"≤ {value_text(hi, unit)}")
    for key, v in threshold.items():
        if key in ("min", "max"):
            continue
        words = _THRESHOLD_WORDS.get(key, key + " {}")
        if isinstance(v, Mapping):
            inner = "，".join(f"{k} {_plain(x, key in _SHARE_MAPS)}" for k, x in v.items())
            parts.append(words.format(inner))
        else:
            parts.append(words.format(_plain(v, key in _SHARE_KEYS)))
    return "，".join(parts)


def threshold_texts(thresholds: pd.Series, unit: str = "") -> pd.Series:
    """:func:`threshold_text` over a column, each distinct threshold object written once."""
    if thresholds.empty:
        return pd.Series([], dtype=object, index=thresholds.index)
    keys = thresholds.map(id)
    first = ~keys.duplicated()
    texts = {k: threshold_text(t, unit) for k, t in zip(keys[first], thresholds[first], strict=True)}
    return keys.map(texts)


def legend(rules: Iterable[Any], units: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything a map or page needs to name what it draws, built from a rule set's rules (JSON-able).

    ``rules`` are objects with ``id`` and ``title`` (a rule set's :class:`RuleSpec` list); ``units`` maps
    rule id → value unit.
    """
    rule_list = [
        {"id": r.id, "title": r.title, "note": is_note(r.id), "unit": (units or {}).get(r.id, "")} for r in rules
    ]
    return {
        "statuses": [{"id": s, "label": STATUS_LABELS[s], "color": STATUS_COLORS[s]} for s in STATUS_ORDER],
        "rules": rule_list,
        "codes": dict(CODE_LABELS),
        "note_label": NOTE_LABEL,
    }


# ---- rule-set parameters and message keys ----------------------------------------------------------
# Parameter key → (Chinese name, unit). The unit says how a number is written ("share" → per cent, "" → plain,
# "rule" → the rule's own value unit from RuleSet.units(), e.g. per_mu.revenue's ``min`` in 万元/亩).
PARAM_LABELS: dict[str, tuple[str, str]] = {
    # rule-set-wide parameters
    "industrial_land_use": ("工业用地分类代码", ""),
    "exact": ("代码", ""),
    "prefixes": ("代码前缀", ""),
    "membership_share": ("空间归属面积比例", "share"),
    "straddle_min": ("跨界提示下限", "share"),
    "straddle_max": ("跨界提示上限", "share"),
    "above_scale_revenue_10k": ("规上企业营业收入门槛", "万元"),
    "park_adjacent_m": ("紧邻园区距离", "米"),
    "block_gap_m": ("成片间距", "米"),
    "block_min_mu": ("成片最小面积", "亩"),
    # per-rule parameters
    "inside_ring": ("绕城高速以内", "rule"),
    "outside_ring": ("绕城高速以外", "rule"),
    "min": ("下限", "rule"),
    "max": ("上限", "rule"),
    "decimals": ("保留小数位数", "位"),
    "layer": ("分区图层", ""),
    "layers": ("分区图层", ""),
    "strict_until": ("严格管控截止日期", ""),
    "metric": ("考核指标", ""),
    "warning_days": ("预警天数", "天"),
    "fee_years": ("征缴闲置费年限", "年"),
    "recover_years": ("无偿收回年限", "年"),
    "fee_rate": ("土地闲置费比例", "share"),
    "developed_share_min": ("已动工面积比例下限", "share"),
    "invested_share_min": ("已投资额比例下限", "share"),
    "exempt_causes": ("免责原因", ""),
    "tax_share_of_target": ("亩均税收低于目标的比例", "share"),
    "tax_target": ("亩均税收目标", "万元/亩"),
    "coverage_min": ("建筑系数下限", "share"),
    "reform_date": ("供给侧结构性改革起始日期", ""),
    "disposal_routes": ("处置方式", ""),
    "from_date": ("起始供地日期", ""),
    "new_project_from": ("新建项目起算日期", ""),
    "industries": ("严控产业", ""),
    "indicators": ("评价指标", ""),
    "benchmark": ("基准值", ""),
    "cap_ratio": ("单项得分上限（倍基准值）", ""),
    "grade_shares": ("等级比例", "share"),
    "below_scale_min_mu": ("规下企业参评最小用地", "亩"),
    "revenue_min": ("亩均营收目标", "万元/亩"),
    "tax_min": ("亩均税收目标", "万元/亩"),
    "name": ("名称", ""),
    "numerator": ("分子", ""),
    "denominator": ("分母", ""),
    "weight": ("权重", ""),
}
# Parameter values that are words of the vocabulary rather than free text.
PARAM_VALUE_LABELS: dict[str, str] = {"median": "中位数", "mean": "平均数"}
# Message template keys that are not verdict codes (the rule-set page and the diff name them).
MESSAGE_LABELS: dict[str, str] = {
    "before": "供地早于起始日期",
    "in_park": "位于园区内",
    "inside": "位于分区内",
    "low_efficiency": "低效工业用地",
    "missing_enterprises": "缺少企业数据",
    "missing_floor_area": "缺少计容建筑面积",
    "missing_industry": "缺少行业代码",
    "missing_land_use": "缺少用地分类",
    "missing_layer": "缺少分区图层",
    "missing_progress": "缺少开发进度",
    "missing_revenue": "缺少营业收入或税收",
    "missing_ring": "缺少绕城高速图层",
    "missing_start": "缺少动工日期",
    "missing_status": "缺少现状",
    "missing_transfer_date": "缺少供地日期",
    "non_industrial": "非工业用地",
    "none": "无",
    "not_evaluated": "不参评",
    "not_started": "未动工",
    "outside": "不在分区内",
    "single": "单一企业使用",
    "unknown": "情况不明",
    "vacant": "空地",
}


def message_label(key: str) -> str:
    """The Chinese name of a message template key (a status, a verdict code or another case)."""
    if key in STATUS_LABELS:
        return STATUS_LABELS[key]
    if key in CODE_LABELS:
        return CODE_LABELS[key]
    return MESSAGE_LABELS.get(key, key)


def param_label(key: str) -> str:
    """The Chinese name of a rule-set parameter (``block_gap_m`` → 成片间距); nested keys joined by ·."""
    return " · ".join(PARAM_LABELS.get(k, (k, ""))[0] for k in str(key).split("."))


def param_text(key: str, value: Any, rule_unit: str = "") -> str:
    """A parameter's value in words with its unit (``block_gap_m, 30`` → ``30 米``; ``min, 650`` → ``650 万元/亩``).

    Column names become their Chinese headers, zone layers and industry codes their names, dates dates,
    lists are joined with 、 and ``None`` reads 无.

    Examples
    --------
    >>> param_text("block_gap_m", 30.0), param_text("min", 650.0, "万元/亩"), param_text("fee_rate", 0.2)
    ('30 米', '650 万元/亩', '20%')
    >>> param_text("inside_ring", {"min": 2.0, "max": 4.0}), param_text("strict_until", None)
    ('下限 2，上限 4', '无')
    """
    from gis.vocabulary import (
        DELAY_CAUSE_LABELS,
        ZONE_LAYER_LABELS,
        column_label,
        display_value,
        industry_label,
    )

    last = str(key).rsplit(".", 1)[-1]
    unit = PARAM_LABELS.get(last, ("", ""))[1]
    if unit == "rule":
        unit = rule_unit
    if value is None:
        return "无"
    if isinstance(value, Mapping):
        if last == "grade_shares":
            return "，".join(f"{k} {_plain(v, True)}" for k, v in value.items())
        if last == "layers":
            return "、".join(ZONE_LAYER_LABELS.get(str(k), str(v)) for k, v in value.items())
        if last == "industries":
            return "；".join(f"{k}（{'、'.join(industry_label(c) for c in codes)}）" for k, codes in value.items())
        if last == "indicators":  # one indicator as a dict
            return _indicator_text(value)
        return "，".join(f"{param_label(k)} {param_text(k, v, rule_unit)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if last == "indicators":
            return "；".join(_indicator_text(v) for v in value)
        if last == "exempt_causes":
            return "、".join(DELAY_CAUSE_LABELS.get(str(v), str(v)) for v in value)
        return "、".join(param_text(last, v, rule_unit) for v in value)
    if isinstance(value, str):
        if last in ("layer",):
            return ZONE_LAYER_LABELS.get(value, value)
        if last in ("metric", "numerator", "denominator"):
            return column_label(value)
        return PARAM_VALUE_LABELS.get(value, value)
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, (int, float, np.integer, np.floating)):
        if unit == "share":
            return _plain(value, True)
        return _plain(value) + (f" {unit}" if unit else "")
    return display_value(value)


def _indicator_text(ind: Mapping[str, Any]) -> str:
    from gis.vocabulary import column_label

    num, den = column_label(str(ind.get("numerator", ""))), column_label(str(ind.get("denominator", "")))
    text = f"{ind.get('name', '')}（{num} ÷ {den}，权重 {_plain(ind.get('weight'))}"
    if ind.get("benchmark") is not None:
        text += f"，基准值 {_plain(ind['benchmark'])}"
    return text + "）"


# ---- the parcel timeline (rules.timeline) -------------------------------------------------------------
# Dated events of a parcel, in the order shown when two fall on the same day.
TIMELINE_EVENTS: dict[str, str] = {
    "transfer": "供地",
    "agreed_start": "约定动工",
    "actual_start": "实际动工",
    "halted": "中止开发",
    "idle_warning": "闲置预警",
    "idle_fee": "满一年（闲置）",
    "idle_recover": "满两年（收回）",
    "production_due": "达产/到期",
    "grade": "年度亩产论英雄评价",
    "evaluation": "评估基准日",
}
# Events that are deadlines: upcoming ones within the horizon make the 预警清单.
TIMELINE_DEADLINES = ("agreed_start", "idle_warning", "idle_fee", "idle_recover", "production_due")
# Each event relative to the as-of date.
PHASE_LABELS: dict[str, str] = {"past": "已过", "today": "今日", "upcoming": "将到"}
