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
# Colours checked for colour-blind readers (tests/test_vocabulary.py simulates deuteranopia, protanopia and
# tritanopia): red, orange, dark grey, green, blue and light grey stay apart by lightness as well as hue.
STATUS_COLORS: dict[str, str] = {
    "fail": "#c0182a",
    "warn": "#f39c34",
    "missing_data": "#5f5f5f",
    "pass": "#1a9850",
    "exempt": "#4a90d9",
    "not_applicable": "#d9d9d9",
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
