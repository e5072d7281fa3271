"""Chinese (and common English) column headers accepted for the contract's columns.

Bureaus export tables with Chinese headers — 宗地编号, 计容建筑面积（平方米）, 营业收入（万元）. A header is matched
after dropping a bracketed unit and white space and ignoring case, so mujun's own exported reports read back
in too. Only columns of the schema being read are renamed, and never onto a column that is already there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

ALIASES: dict[str, tuple[str, ...]] = {
    # parcels
    "parcel_id": ("宗地编号", "宗地代码", "宗地号", "地块编号", "地块编码", "parcel id", "parcelid"),
    "land_use": ("用地分类", "用地分类代码", "用地性质", "用地类型", "土地用途", "地类编码", "地类"),
    "floor_area_m2": ("计容建筑面积", "计容面积", "占用建筑面积", "使用建筑面积", "floor area"),
    "footprint_m2": ("建筑基底面积", "基底面积", "建筑占地面积"),
    "special_process": ("特殊工艺", "特殊工艺用地"),
    "status": ("现状", "用地现状", "建设状态", "site_status"),
    "planned_use": ("拟变更用途", "拟调整用途", "规划用途"),
    "retainable": ("可保留", "近期可保留", "是否可保留"),
    "transfer_date": ("供地日期", "出让日期", "供地时间", "划拨日期"),
    "agreed_start_date": ("约定动工日期", "约定开工日期", "合同约定动工日期"),
    "actual_start_date": ("实际动工日期", "实际开工日期"),
    "planned_dev_area_m2": ("应动工开发建设总面积", "应开发建设面积"),
    "developed_area_m2": ("已动工开发建设面积", "已开发建设面积"),
    "total_investment_10k": ("总投资额", "总投资"),
    "invested_10k": ("已完成投资额", "已投资额", "已完成投资"),
    "halted_since": ("中止开发建设日期", "中止开发日期", "停工日期"),
    "delay_cause": ("闲置原因",),
    "standard_land": ("标准地", "是否标准地"),
    "committed_investment_per_mu_10k": ("约定亩均投资",),
    "committed_revenue_per_mu_10k": ("约定亩均营收",),
    "committed_tax_per_mu_10k": ("约定亩均税收",),
    "production_due_date": ("约定达产日期", "达产日期"),
    "enterprise_id": ("企业编号", "企业代码", "企业id"),
    # enterprises
    "name": ("企业名称", "名称"),
    "industry_code": ("行业代码", "国民经济行业代码", "行业分类代码"),
    "revenue_10k": ("营业收入", "主营业务收入"),
    "tax_10k": ("实缴税金", "实缴税收", "税收"),
    "year": ("年度", "年份"),
    "above_scale": ("规上", "规上企业", "是否规上"),
    "value_added_10k": ("工业增加值", "增加值"),
    "energy_tce": ("综合能耗",),
    "rd_expense_10k": ("研发费用", "研发经费"),
    "employees": ("从业人员", "从业人数", "职工人数", "员工人数"),
    "emission_eq": ("主要污染物排放当量", "排放当量"),
    # land supply and zones
    "area_m2": ("面积", "供应面积", "出让面积"),
    "zone_id": ("编号", "分区编号"),
    "park_id": ("园区编号", "园区代码"),
    "construction_land_m2": ("城市建设用地面积", "城市建设用地"),
}

_UNIT = re.compile(r"[（(][^（）()]*[）)]\s*$")


def _key(name: object) -> str:
    text = _UNIT.sub("", str(name).strip())
    return re.sub(r"[\s_\-]+", "", text).lower()


_LOOKUP: dict[str, str] = {}
for _canonical, _names in ALIASES.items():
    for _name in (_canonical, *_names):
        _LOOKUP.setdefault(_key(_name), _canonical)


def canonical_name(name: object, schema: Iterable[str]) -> str | None:
    """The contract column a header stands for, if it is one of ``schema`` (else None).

    Examples
    --------
    >>> canonical_name("计容建筑面积（平方米）", ["parcel_id", "floor_area_m2"])
    'floor_area_m2'
    >>> canonical_name("Parcel ID", ["parcel_id"]), canonical_name("备注", ["parcel_id"])
    ('parcel_id', None)
    """
    hit = _LOOKUP.get(_key(name))
    return hit if hit is not None and hit in set(schema) else None


def alias_renames(columns: Iterable[object], schema: Mapping[str, str] | Iterable[str]) -> dict[object, str]:
    """``{header: contract name}`` for the headers to rename; a header already named right stays."""
    columns = list(columns)
    present = {str(c) for c in columns}
    wanted: dict[str, list[object]] = {}
    for col in columns:
        target = canonical_name(col, schema)
        if target is not None and str(col) != target and target not in present:
            wanted.setdefault(target, []).append(col)
    return {cols[0]: target for target, cols in wanted.items() if len(cols) == 1}
