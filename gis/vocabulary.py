"""Chinese names for the data's own codes: land-use classes, industries, zone layers, columns and values.

One home for every code a planner sees in the input data, so that pages, maps, popups and sheets show
工业用地 rather than ``100102``, 红线区 rather than ``red_line`` and 是/否 rather than ``True``/``False``.
The rule vocabulary (statuses, verdict codes, thresholds) is in ``rules/vocabulary.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from gis.columns import ALIASES

# ---- land-use classes -----------------------------------------------------------------------------
# 国土空间调查、规划、用途管制用地用海分类指南 (自然资发〔2023〕234号): the classes industrial parcels meet.
_LAND_USE_2023: dict[str, str] = {
    "01": "耕地",
    "02": "园地",
    "03": "林地",
    "04": "草地",
    "05": "湿地",
    "07": "居住用地",
    "0701": "城镇住宅用地",
    "0702": "城镇社区服务设施用地",
    "0703": "农村宅基地",
    "0704": "农村社区服务设施用地",
    "08": "公共管理与公共服务用地",
    "0801": "机关团体用地",
    "0802": "科研用地",
    "0803": "文化用地",
    "0804": "教育用地",
    "0805": "体育用地",
    "0806": "医疗卫生用地",
    "0807": "社会福利用地",
    "09": "商业服务业用地",
    "0901": "商业用地",
    "0902": "商务金融用地",
    "0903": "娱乐康体用地",
    "0904": "其他商业服务业用地",
    "10": "工矿用地",
    "1001": "工业用地",
    "100101": "一类工业用地",
    "100102": "二类工业用地",
    "100103": "三类工业用地",
    "1002": "采矿用地",
    "1003": "盐田",
    "11": "仓储用地",
    "1101": "物流仓储用地",
    "110101": "一类物流仓储用地",
    "110102": "二类物流仓储用地",
    "110103": "三类物流仓储用地",
    "1102": "储备库用地",
    "12": "交通运输用地",
    "1207": "城镇道路用地",
    "1208": "交通场站用地",
    "13": "公用设施用地",
    "14": "绿地与开敞空间用地",
    "1401": "公园绿地",
    "1402": "防护绿地",
    "1403": "广场用地",
    "15": "特殊用地",
    "16": "留白用地",
    "17": "陆地水域",
    "23": "其他土地",
}
# GB/T 21010-2017 土地利用现状分类: the contract reads 06xx in this vocabulary (0601 = 工业用地).
_LAND_USE_21010: dict[str, str] = {
    "06": "工矿仓储用地",
    "0601": "工业用地",
    "0602": "采矿用地",
    "0603": "盐田",
    "0604": "仓储用地",
}
# GB 50137-2011 城市用地分类与规划建设用地标准.
_LAND_USE_50137: dict[str, str] = {
    "R": "居住用地",
    "R1": "一类居住用地",
    "R2": "二类居住用地",
    "R3": "三类居住用地",
    "A": "公共管理与公共服务设施用地",
    "B": "商业服务业设施用地",
    "B1": "商业用地",
    "B2": "商务用地",
    "B3": "娱乐康体用地",
    "B4": "公用设施营业网点用地",
    "B9": "其他服务设施用地",
    "M": "工业用地",
    "M1": "一类工业用地",
    "M2": "二类工业用地",
    "M3": "三类工业用地",
    "W": "物流仓储用地",
    "W1": "一类物流仓储用地",
    "W2": "二类物流仓储用地",
    "W3": "三类物流仓储用地",
    "S": "道路与交通设施用地",
    "U": "公用设施用地",
    "G": "绿地与广场用地",
    "G1": "公园绿地",
    "G2": "防护绿地",
    "G3": "广场用地",
    "H": "建设用地",
    "E": "非建设用地",
}
LAND_USE_NAMES: dict[str, str] = {**_LAND_USE_2023, **_LAND_USE_21010, **_LAND_USE_50137}


def land_use_name(code: object) -> str:
    """The Chinese class name of a land-use code, most specific known level first (``100102`` → 二类工业用地).

    Examples
    --------
    >>> land_use_name("100102"), land_use_name("M1"), land_use_name("0601"), land_use_name("10019901")
    ('二类工业用地', '一类工业用地', '工业用地', '工业用地')
    >>> land_use_name(None), land_use_name("Q7")
    ('', 'Q7')
    """
    text = _text(code)
    if not text:
        return ""
    key = text.upper() if text[0].isalpha() else text
    for n in range(len(key), 0, -1):
        if key[:n] in LAND_USE_NAMES:
            return LAND_USE_NAMES[key[:n]]
    return text


def land_use_label(code: object) -> str:
    """Class name and code, as a planner reads it: ``二类工业用地（100102）``; empty for no code."""
    text = _text(code)
    if not text:
        return ""
    name = land_use_name(text)
    return text if name == text else f"{name}（{text}）"


# ---- industries (GB/T 4754-2017) ------------------------------------------------------------------
INDUSTRY_DIVISIONS: dict[str, str] = {
    "06": "煤炭开采和洗选业",
    "07": "石油和天然气开采业",
    "08": "黑色金属矿采选业",
    "09": "有色金属矿采选业",
    "10": "非金属矿采选业",
    "11": "开采专业及辅助性活动",
    "12": "其他采矿业",
    "13": "农副食品加工业",
    "14": "食品制造业",
    "15": "酒、饮料和精制茶制造业",
    "16": "烟草制品业",
    "17": "纺织业",
    "18": "纺织服装、服饰业",
    "19": "皮革、毛皮、羽毛及其制品和制鞋业",
    "20": "木材加工和木、竹、藤、棕、草制品业",
    "21": "家具制造业",
    "22": "造纸和纸制品业",
    "23": "印刷和记录媒介复制业",
    "24": "文教、工美、体育和娱乐用品制造业",
    "25": "石油、煤炭及其他燃料加工业",
    "26": "化学原料和化学制品制造业",
    "27": "医药制造业",
    "28": "化学纤维制造业",
    "29": "橡胶和塑料制品业",
    "30": "非金属矿物制品业",
    "31": "黑色金属冶炼和压延加工业",
    "32": "有色金属冶炼和压延加工业",
    "33": "金属制品业",
    "34": "通用设备制造业",
    "35": "专用设备制造业",
    "36": "汽车制造业",
    "37": "铁路、船舶、航空航天和其他运输设备制造业",
    "38": "电气机械和器材制造业",
    "39": "计算机、通信和其他电子设备制造业",
    "40": "仪器仪表制造业",
    "41": "其他制造业",
    "42": "废弃资源综合利用业",
    "43": "金属制品、机械和设备修理业",
    "44": "电力、热力生产和供应业",
    "45": "燃气生产和供应业",
    "46": "水的生产和供应业",
}
# Finer classes named where the policy or the sample needs them (the restricted list, common Chengdu classes).
INDUSTRY_CLASSES: dict[str, str] = {
    "1713": "棉印染精加工",
    "1723": "毛染整精加工",
    "1733": "麻染整精加工",
    "1743": "丝印染精加工",
    "1752": "化纤织物染整精加工",
    "1762": "针织或钩针编织物印染精加工",
    "202": "人造板制造",
    "221": "纸浆制造",
    "222": "造纸",
    "3011": "水泥制造",
    "3031": "黏土砖瓦及建筑砌块制造",
    "3041": "平板玻璃制造",
    "3360": "金属表面处理及热处理加工",
    "3391": "黑色金属铸造",
    "3392": "有色金属铸造",
    "271": "化学药品原料药制造",
    "272": "化学药品制剂制造",
    "276": "生物药品制品制造",
    "367": "汽车零部件及配件制造",
    "374": "航空、航天器及设备制造",
    "382": "输配电及控制设备制造",
    "384": "电池制造",
    "391": "计算机制造",
    "392": "通信设备制造",
    "397": "电子器件制造",
    "3973": "集成电路制造",
    "398": "电子元件及电子专用材料制造",
}


def industry_name(code: object) -> str:
    """The GB/T 4754-2017 name of an industry code, the most specific known level (``C3981`` → 电子元件…).

    Examples
    --------
    >>> industry_name("C3011"), industry_name("C3999"), industry_name("3360")
    ('水泥制造', '计算机、通信和其他电子设备制造业', '金属表面处理及热处理加工')
    >>> industry_name(None), industry_name("X1")
    ('', 'X1')
    """
    text = _text(code)
    if not text:
        return ""
    digits = text[1:] if text[0].isalpha() else text
    for n in range(len(digits), 2, -1):
        if digits[:n] in INDUSTRY_CLASSES:
            return INDUSTRY_CLASSES[digits[:n]]
    return INDUSTRY_DIVISIONS.get(digits[:2], text)


def industry_label(code: object) -> str:
    """Industry name and code: ``电子元件及电子专用材料制造（C3981）``; empty for no code."""
    text = _text(code)
    if not text:
        return ""
    name = industry_name(text)
    return text if name == text else f"{name}（{text}）"


# ---- input files, zone layers, site values, columns -----------------------------------------------
# The data contract's input files, in the order they are asked for.
INPUT_KIND_LABELS: dict[str, str] = {
    "parcels": "宗地图层",
    "enterprises": "企业表",
    "occupancy": "宗地占用表",
    "zones": "分区图层",
    "land_supply": "土地供应表",
}
INPUT_KINDS: tuple[str, ...] = tuple(INPUT_KIND_LABELS)

ZONE_LAYER_LABELS: dict[str, str] = {
    "red_line": "工业红线区",
    "blue_line": "工业蓝线区",
    "ring": "绕城高速（G4202）以内",
    "parks": "工业园区",
    "urban_dev_boundary": "城镇开发边界",
    "planned_construction_area": "规划集中建设区",
    "districts": "区（市）县",
}
SITE_STATUS_LABELS: dict[str, str] = {"built": "已建成", "under_construction": "在建", "vacant": "空地（未建）"}
DELAY_CAUSE_LABELS: dict[str, str] = {"none": "企业自身原因", "government": "政府原因", "force_majeure": "不可抗力"}
# What each value column means, with its unit: the first Chinese header the loader accepts for it.
_UNITS: dict[str, str] = {
    "floor_area_m2": "平方米",
    "footprint_m2": "平方米",
    "planned_dev_area_m2": "平方米",
    "developed_area_m2": "平方米",
    "area_m2": "平方米",
    "construction_land_m2": "平方米",
    "total_investment_10k": "万元",
    "invested_10k": "万元",
    "revenue_10k": "万元",
    "tax_10k": "万元",
    "value_added_10k": "万元",
    "rd_expense_10k": "万元",
    "committed_investment_per_mu_10k": "万元/亩",
    "committed_revenue_per_mu_10k": "万元/亩",
    "committed_tax_per_mu_10k": "万元/亩",
    "energy_tce": "吨标煤",
    "employees": "人",
}
COLUMN_LABELS: dict[str, str] = {
    **{col: names[0] for col, names in ALIASES.items()},
    "status": "现状",
    "site_status": "现状",
    "area_mu": "面积（亩）",
    "land_mu": "用地（亩）",
    "land_m2": "用地（平方米）",
    "far": "容积率",
    "district": "行政区",
    "park": "园区",
    "zone": "保护线",
    "inside_ring": "绕城高速以内",
    "revenue_per_mu_10k": "亩均营收（万元/亩）",
    "tax_per_mu_10k": "亩均税收（万元/亩）",
}
COLUMN_LABELS.update({col: f"{COLUMN_LABELS[col]}（{unit}）" for col, unit in _UNITS.items() if col in COLUMN_LABELS})


def column_label(column: str) -> str:
    """The Chinese header of a contract column (``floor_area_m2`` → 计容建筑面积（平方米）), else the name itself."""
    return COLUMN_LABELS.get(column, column)


def source_header(column: str, renames: Mapping[str, str] | None) -> str:
    """The user's own header for a contract column when the file had one (``renames`` maps header → column)."""
    for header, canonical in (renames or {}).items():
        if canonical == column:
            return str(header)
    return column_label(column)


# ---- values ---------------------------------------------------------------------------------------
def yes_no(value: object) -> str:
    """是 / 否 for a boolean, empty for unknown."""
    if value is None or _is_nan(value):
        return ""
    if isinstance(value, str):
        words = {"true": "是", "false": "否", "1": "是", "0": "否", "是": "是", "否": "否"}
        return words.get(value.strip().lower(), value)
    return "是" if bool(value) else "否"


def display_value(value: Any, *, decimals: int = 2) -> str:
    """Any cell as the text a planner reads: no ``None``, ``True``, ``nan``, ``[...]`` or ``{...}``.

    Examples
    --------
    >>> display_value(None), display_value(True), display_value(float("nan")), display_value(2.0)
    ('', '是', '', '2')
    >>> display_value(["C31", "C21"]), display_value({"min": 2.0, "max": 4.0}), display_value(3.14159)
    ('C31、C21', '2–4', '3.14')
    """
    if value is None or _is_nan(value):
        return ""
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        return yes_no(value)
    if isinstance(value, (datetime, date)) or type(value).__name__ == "Timestamp":
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        v = float(value)
        if math.isinf(v):
            return "无穷大" if v > 0 else "负无穷大"
        return f"{v:,.{decimals}f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v):,}"
    if isinstance(value, Mapping):
        if set(value) <= {"min", "max"}:
            lo, hi = value.get("min"), value.get("max")
            if lo is not None and hi is not None:
                return f"{display_value(lo)}–{display_value(hi)}"
            return f"≥ {display_value(lo)}" if lo is not None else f"≤ {display_value(hi)}"
        return "；".join(f"{column_label(str(k))} {display_value(v)}" for k, v in value.items())
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return "、".join(display_value(v) for v in value)
    return str(value)


def _text(value: object) -> str:
    if value is None or _is_nan(value):
        return ""
    return str(value).strip()


def _is_nan(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, bytes, Mapping, list, tuple, set)) or hasattr(value, "__array__") and getattr(
        value, "ndim", 0
    ):
        return False
    try:
        return bool(value != value)  # NaN, NaT, pd.NA (the last raises on bool())
    except (TypeError, ValueError):
        return True
