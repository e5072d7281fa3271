"""``POST /check``: one proposed parcel checked at once against the stored zones and a rule set."""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
from fastapi import APIRouter, Request
from pydantic import Field

from api.deps import MAX_ID, Reader
from api.errors import ApiError, error_responses
from api.schemas import CheckResult, In, IsoDate, ProposedFeature
from gis.crs import parse_crs

router = APIRouter(tags=["即时核查 check"])


class ProposedFirm(In):
    """A firm proposed for the parcel (all figures optional but revenue and tax for 亩产论英雄)."""

    enterprise_id: str = Field(default="proposed-firm", max_length=100, description="企业编号")
    name: str | None = Field(default=None, max_length=200, description="企业名称")
    industry_code: str | None = Field(default=None, max_length=20, description="行业代码（GB/T 4754），如 C3981")
    revenue_10k: float | None = Field(default=None, ge=0, description="营业收入（万元）")
    tax_10k: float | None = Field(default=None, ge=0, description="实缴税金（万元）")
    employees: float | None = Field(default=None, ge=0, description="从业人员（人）")
    energy_tce: float | None = Field(default=None, ge=0, description="综合能耗（吨标煤）")
    rd_expense_10k: float | None = Field(default=None, ge=0, description="研发费用（万元）")
    value_added_10k: float | None = Field(default=None, ge=0, description="工业增加值（万元）")
    emission_eq: float | None = Field(default=None, ge=0, description="主要污染物排放当量")
    above_scale: bool | None = Field(default=None, description="规上企业；默认按营业收入 ≥ 2000 万元判断")


class CheckRequest(In):
    """A GeoJSON Feature (CRS84 unless ``crs`` says otherwise) with the contract's parcel attributes."""

    feature: ProposedFeature
    ruleset: str = Field(default="chengdu-2023", description="规则集 (rule set id, id@version or sha256)")
    as_of: IsoDate | None = Field(default=None, description="评估基准日，默认今天")
    dataset: int | None = Field(default=None, ge=1, le=MAX_ID,
                                description="取分区与企业数据的数据集，默认最新含分区的数据集")
    crs: str | None = Field(default=None, description="坐标系，默认 CRS84 (经纬度)；如 EPSG:4544")
    enterprise: ProposedFirm | None = Field(
        default=None,
        description="拟入驻企业：给出后按所选数据集全部参评企业的分布计算亩产论英雄得分、百分位和等级",
    )


def _is_position(value: Any) -> bool:
    return (isinstance(value, list) and len(value) >= 2
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in value))


def _check_rings(geom: dict[str, Any]) -> None:
    """Each ring a closed list of at least 4 positions (RFC 7946 §3.1.6), or 422 naming the ring.

    Checked here because the GeoJSON reader gives an unclosed ring to GEOS, which throws instead of reporting.
    """
    coords = geom.get("coordinates")
    polygons = [coords] if geom["type"] == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        polygons = [None]
    for p, rings in enumerate(polygons):
        where = "feature.geometry.coordinates" + ("" if geom["type"] == "Polygon" else f"[{p}]")
        if not isinstance(rings, list) or not rings:
            raise ApiError(422, "invalid_input", "宗地几何缺少坐标环 (the polygon has no rings)", [{"field": where}])
        for r, ring in enumerate(rings):
            if not isinstance(ring, list) or len(ring) < 4 or not all(_is_position(pt) for pt in ring) \
                    or ring[0] != ring[-1]:
                raise ApiError(422, "invalid_input",
                               "宗地几何的每个环须为至少 4 个 [x, y] 坐标、首尾相同的闭合环 "
                               "(each ring must be closed: at least 4 positions, the first equal to the last)",
                               [{"field": f"{where}[{r}]"}])


def _feature_frame(feature: dict[str, Any], crs: str | None, enterprise_id: str | None = None) -> gpd.GeoDataFrame:
    """The proposed feature, checked as the document describes it, as a one-row GeoDataFrame (no file)."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ApiError(422, "invalid_feature", 'feature 须为 GeoJSON Feature（"type": "Feature"）',
                       [{"field": "feature.type", "value": str(feature.get("type"))[:50]}])
    fid = feature.get("id")
    if fid is not None and (isinstance(fid, bool) or not isinstance(fid, (str, int, float))):
        raise ApiError(422, "invalid_feature", "feature.id 须为字符串或数字 (feature id must be a string or a number)",
                       [{"field": "feature.id", "type": type(fid).__name__}])
    props = feature.get("properties")
    if props is not None and not isinstance(props, dict):
        raise ApiError(422, "invalid_feature", "feature.properties 须为对象 (properties must be a JSON object)",
                       [{"field": "feature.properties", "type": type(props).__name__}])
    geom = feature.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise ApiError(422, "invalid_geometry", "宗地几何须为 Polygon 或 MultiPolygon (geometry must be a polygon)",
                       [{"field": "feature.geometry.type",
                         "value": None if not isinstance(geom, dict) else geom.get("type")}])
    _check_rings(geom)
    props = dict(props or {})
    props.setdefault("parcel_id", str(fid if fid not in (None, "") else "proposed"))
    if enterprise_id is not None:
        props["enterprise_id"] = enterprise_id
    # GeoJSON is longitude/latitude (RFC 7946) unless the request names another CRS
    return gpd.GeoDataFrame.from_features([{"type": "Feature", "geometry": geom, "properties": props}],
                                          crs=parse_crs(crs or "OGC:CRS84", source="crs"))


@router.post("/check", summary="单宗地即时核查 (check one proposed parcel)", response_model=CheckResult,
             responses=error_responses(400, 401, 404, 413, 422))
def check_parcel(body: CheckRequest, request: Request, _user: Reader) -> dict[str, Any]:
    """Evaluate one parcel against the stored zones (and that dataset's enterprises) and return its verdicts.

    With ``enterprise`` (or a stored ``enterprise_id`` in the properties) the firm is also graded
    (亩产论英雄) against the dataset's firms: ``grading`` gives its score, percentile and grade.
    """
    from api.services import checks
    from rules.vocabulary import STATUS_LABELS, is_note

    firm = body.enterprise.model_dump(exclude_none=True) if body.enterprise is not None else None
    parcels = _feature_frame(body.feature, body.crs, firm["enterprise_id"] if firm else None)
    outcome = checks.check(request.app.state.engine, parcels, as_of=body.as_of or dt.date.today(),
                           ruleset_ref=body.ruleset, dataset=body.dataset, enterprise=firm)
    result = outcome.result
    row = result.to_dict()["parcels"][0]
    counted = [v for v in row["verdicts"] if not is_note(v["rule"])]  # data.* notes are not problems
    failing = [v for v in counted if v["status"] == "fail"]
    warning = [v for v in counted if v["status"] == "warn"]
    status = row["status"]
    label = STATUS_LABELS.get(status, status)
    return {
        "parcel": row,
        "status": status,
        "status_label": label,
        "acceptable": status != "fail",
        "conclusion": (f"{label}：{len(failing)} 项不符合，{len(warning)} 项预警"
                       if failing or warning else f"{label}：未发现不符合项"),
        "failing_rules": [v["rule"] for v in failing],
        "notes": [v for v in row["verdicts"] if is_note(v["rule"]) and v["status"] != "pass"],
        "grading": outcome.grading,
        "ruleset": result.ruleset,
        "as_of": result.as_of.isoformat(),
        "zones_dataset": outcome.dataset,
        "warnings": [{"file": i.file, "message": i.message} for i in outcome.report.issues],
    }
