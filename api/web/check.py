"""Check one parcel at once: a drawn or pasted GeoJSON polygon (or a file) plus the attributes typed in."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import geopandas as gpd

from gis.crs import parse_crs

# form field -> (contract column, kind)
FIELDS: dict[str, tuple[str, str]] = {
    "parcel_id": ("parcel_id", "text"),
    "land_use": ("land_use", "text"),
    "status": ("status", "text"),
    "floor_area_m2": ("floor_area_m2", "number"),
    "footprint_m2": ("footprint_m2", "number"),
    "planned_use": ("planned_use", "text"),
    "transfer_date": ("transfer_date", "date"),
    "agreed_start_date": ("agreed_start_date", "date"),
    "actual_start_date": ("actual_start_date", "date"),
    "special_process": ("special_process", "bool"),
    "standard_land": ("standard_land", "bool"),
    "retainable": ("retainable", "bool"),
}
ENTERPRISE_FIELDS = ("enterprise_name", "industry_code")
# The firm's figures (万元, 人, 吨标煤 …): what 亩产论英雄 scores, all optional but revenue and tax.
ENTERPRISE_NUMBERS = (
    "revenue_10k",
    "tax_10k",
    "employees",
    "energy_tce",
    "rd_expense_10k",
    "value_added_10k",
    "emission_eq",
)


def _geometry(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"GeoJSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg} (invalid GeoJSON)"
        ) from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
        if len(feats) != 1:
            raise ValueError(
                f"GeoJSON 应只含一个宗地要素，实际 {len(feats)} 个 (exactly one feature expected)"
            )
        doc = feats[0]
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry") or {}
    if not isinstance(doc, dict) or doc.get("type") not in ("Polygon", "MultiPolygon"):
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"几何类型应为 Polygon 或 MultiPolygon，实际为 {got} (a polygon is required)")
    return doc


def _attributes(values: dict[str, str]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, (column, kind) in FIELDS.items():
        raw = (values.get(name) or "").strip()
        if raw == "":
            continue
        if kind == "number":
            try:
                number = float(raw)
            except ValueError as exc:
                raise ValueError(f"“{name}”应为数字，收到“{raw}” ({name} must be a number)") from exc
            if number < 0:
                raise ValueError(f"“{name}”不能为负数 ({name} must be ≥ 0)")
            props[column] = number
        elif kind == "date":
            try:
                props[column] = dt.date.fromisoformat(raw).isoformat()
            except ValueError as exc:
                raise ValueError(
                    f"“{name}”应为日期 YYYY-MM-DD，收到“{raw}” ({name} must be an ISO date)"
                ) from exc
        elif kind == "bool":
            props[column] = raw in ("1", "true", "on", "yes")
        else:
            props[column] = raw
    props.setdefault("parcel_id", "CHECK-1")
    return props


def check_parcel(
    values: dict[str, str], upload: tuple[str, bytes] | None, *, engine: Any, zones_dataset: int | None
) -> dict[str, Any]:
    """Evaluate one parcel with ``rules.engine.evaluate``; returns verdict rows and the parcel's status.

    Zones (red/blue lines, ring, parks, districts…) come from the chosen dataset (form field ``dataset``,
    default ``zones_dataset``: the newest stored dataset that has them); a firm typed in is graded
    (亩产论英雄) against that dataset's firms with :func:`api.grading.grade_firms`.
    """
    from api.services import checks
    from api.store.errors import ImportRejected, NotFound
    from gis.errors import GisError
    from rules.result import records

    ref = values.get("ruleset") or "chengdu-2023"
    try:
        checks.ruleset(engine, ref)  # an unknown rule set is said first, before the parcel is read
    except NotFound as exc:
        raise ValueError(f"未知规则集 {ref} (unknown rule set)") from exc
    try:
        as_of = dt.date.fromisoformat(values.get("as_of") or dt.date.today().isoformat())
    except ValueError as exc:
        raise ValueError("评估基准日应为 YYYY-MM-DD (as-of date must be ISO 8601)") from exc
    firm: dict[str, Any] | None = None
    if upload is not None:
        parcels = _read_upload(*upload)
    else:
        text = (values.get("geojson") or "").strip()
        if not text:
            raise ValueError(
                "请在地图上画出宗地、粘贴 GeoJSON 或上传文件 (draw, paste or upload a polygon)"
            )
        props = _attributes(values)
        ent = {k: (values.get(k) or "").strip() for k in (*ENTERPRISE_FIELDS, *ENTERPRISE_NUMBERS)}
        if ent["revenue_10k"] or ent["tax_10k"]:
            firm = _enterprise(ent)
        feature = {"type": "Feature", "geometry": _geometry(text), "properties": props}
        # drawn or pasted GeoJSON is in longitude/latitude (RFC 7946) unless the form names a CRS
        try:
            parcels = gpd.GeoDataFrame.from_features([feature], crs=parse_crs(values.get("crs") or "OGC:CRS84"))
        except GisError as exc:
            raise ValueError(exc.message) from exc
    try:
        outcome = checks.check(engine, parcels, as_of=as_of, ruleset_ref=ref,
                               dataset=_dataset(values.get("dataset"), zones_dataset), enterprise=firm,
                               source=upload[0] if upload is not None else "绘制的宗地")
    except GisError as exc:
        raise ValueError(str(exc)) from exc
    except (NotFound, ImportRejected) as exc:
        raise ValueError(exc.message) from exc
    result, ruleset, dataset, grading = outcome.result, outcome.ruleset, outcome.dataset, outcome.grading
    verdicts = result.verdicts
    parcels = result.parcels.drop(columns=result.parcels.geometry.name)
    columns = ["parcel_id", "area_mu", "far", "district", "park_id", "zone", "inside_ring", "status"]
    firm_verdicts = records(verdicts[verdicts["level"] == "enterprise"])
    graded = {(g["enterprise_id"], g["rule"]): g for g in grading}
    for v in firm_verdicts:  # the lone firm's own-rank grade is replaced by its grade among the dataset's firms
        g = graded.get((str(v["subject_id"]), v["rule"]))
        if g is not None and g["grade"] is not None:
            threshold = {"benchmarks": g["benchmarks"], "grade_shares": dict(ruleset.rule(g["rule"]).p.grade_shares)}
            v.update(status=g["status"], value=g["score"], code=g["grade"], threshold=threshold,
                     message=g["message"])
    return {
        "parcels": records(parcels[columns]),
        "verdicts": records(verdicts[verdicts["level"] == "parcel"]),
        "enterprise_verdicts": firm_verdicts,
        "grading": grading,
        "rules": ruleset,
        "ruleset": result.ruleset,
        "as_of": as_of.isoformat(),
        "zones_dataset": dataset,
        "warnings": [i.message for i in outcome.report.warnings],
    }


def _dataset(raw: str | None, default: int | None) -> int | None:
    text = (raw or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError as exc:
        raise ValueError(f"数据集编号应为整数，收到“{text}” (dataset must be an id)") from exc


def _enterprise(ent: dict[str, str]) -> dict[str, Any]:
    """The firm typed in, as the contract's enterprise columns (numbers checked)."""
    from gis.vocabulary import column_label

    numbers: dict[str, float] = {}
    for key in ENTERPRISE_NUMBERS:
        try:
            numbers[key] = float(ent.get(key) or "nan")
        except ValueError as exc:
            raise ValueError(
                f"“{column_label(key)}”应为数字，收到“{ent[key]}” ({key} must be a number)"
            ) from exc
        if numbers[key] < 0:
            raise ValueError(f"“{column_label(key)}”不能为负数 ({key} must be ≥ 0)")
    return {
        "enterprise_id": "E-CHECK",
        "name": ent["enterprise_name"] or "核查企业",
        "industry_code": ent["industry_code"] or None,
        **{k: v for k, v in numbers.items() if v == v},  # blanks stay unknown
    }


def _read_upload(name: str, data: bytes) -> gpd.GeoDataFrame:
    """An uploaded parcel file read from memory (GeoJSON, GeoPackage, zipped Shapefile, FlatGeobuf, 界址点 TXT)."""
    import io

    import pyogrio

    from gis.archive import check_zip
    from gis.errors import GisError
    from gis.survey_txt import parse_survey_txt
    from gis.textfile import decode_text

    if name.lower().endswith(".txt"):
        try:
            return parse_survey_txt(decode_text(data, name)[0], name)[0]
        except GisError as exc:
            raise ValueError(str(exc)) from exc
    if name.lower().endswith(".zip"):
        check_zip(io.BytesIO(data), name=name)  # sizes and paths checked before GDAL opens it
    try:
        return pyogrio.read_dataframe(io.BytesIO(data))
    except Exception as exc:  # GDAL's errors for an unreadable file
        raise ValueError(f"{name}: 无法读取文件 (cannot read the file: {exc})") from exc
