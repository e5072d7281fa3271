"""``POST /check``: one proposed parcel checked at once against the stored zones and a rule set."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import MAX_ID, Reader
from api.errors import ApiError
from api.store import evaluations as ev
from api.store.features import resolve_dataset

router = APIRouter(tags=["即时核查 check"])


class CheckRequest(BaseModel):
    """A GeoJSON Feature (CRS84 unless ``crs`` says otherwise) with the contract's parcel attributes."""

    feature: dict[str, Any] = Field(description="GeoJSON Feature：geometry 为 Polygon/MultiPolygon，"
                                                "properties 为宗地属性 (parcel_id, land_use, floor_area_m2, …)")
    ruleset: str = Field(default="chengdu-2023", description="规则集 (rule set id, id@version or sha256)")
    as_of: dt.date | None = Field(default=None, description="评估基准日，默认今天")
    dataset: int | None = Field(default=None, ge=1, le=MAX_ID,
                                description="取分区与企业数据的数据集，默认最新含分区的数据集")
    crs: str | None = Field(default=None, description="坐标系，默认 CRS84 (经纬度)；如 EPSG:4544")


def _feature_file(feature: dict[str, Any], crs: str | None, folder: Path) -> Path:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ApiError(422, "invalid_feature", 'feature 须为 GeoJSON Feature（"type": "Feature"）',
                       [{"field": "feature.type", "value": str(feature.get("type"))[:50]}])
    geom = feature.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise ApiError(422, "invalid_geometry", "宗地几何须为 Polygon 或 MultiPolygon (geometry must be a polygon)",
                       [{"field": "feature.geometry.type",
                         "value": None if not isinstance(geom, dict) else geom.get("type")}])
    props = dict(feature.get("properties") or {})
    props.setdefault("parcel_id", str(feature.get("id") or "proposed"))
    collection: dict[str, Any] = {"type": "FeatureCollection",
                                  "features": [{"type": "Feature", "geometry": geom, "properties": props}]}
    if crs and crs.upper() not in ("CRS84", "OGC:CRS84", "EPSG:4326"):
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    path = folder / "proposed.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


@router.post("/check", summary="单宗地即时核查 (check one proposed parcel)")
def check_parcel(body: CheckRequest, request: Request, _user: Reader) -> dict[str, Any]:
    """Evaluate one parcel against the stored zones (and that dataset's enterprises) and return its verdicts."""
    from gis.io import ZONE_COLUMNS, Inputs, load_inputs
    from rules.engine import evaluate
    from rules.result import STATUS_LABELS

    engine = request.app.state.engine
    with tempfile.TemporaryDirectory(prefix="mujun-check-") as tmp:
        path = _feature_file(body.feature, body.crs, Path(tmp))
        parsed = load_inputs(parcels=str(path))
    parcel = parsed.parcels
    with engine.connect() as conn:
        _, ruleset = ev.resolve_ruleset(conn, body.ruleset)
        try:
            zone_ds = resolve_dataset(conn, body.dataset, with_zones=body.dataset is None)
        except Exception:
            zone_ds = None
        zones = ev.load_zones(conn, zone_ds, ZONE_COLUMNS) if zone_ds is not None else {}
        enterprises = None
        eid = parcel["enterprise_id"].iloc[0] if "enterprise_id" in parcel.columns else None
        if zone_ds is not None and eid is not None and str(eid) not in ("", "nan", "<NA>", "None"):
            stored = ev.load_inputs_from_store(conn, zone_ds).enterprises
            if stored is not None:
                enterprises = stored[stored["enterprise_id"] == str(eid)].reset_index(drop=True)
    inputs = Inputs(parcels=parcel, zones=zones, enterprises=enterprises, report=parsed.report)
    result = evaluate(inputs, ruleset, body.as_of or dt.date.today())
    row = result.to_dict()["parcels"][0]
    failing = [v for v in row["verdicts"] if v["status"] == "fail"]
    warning = [v for v in row["verdicts"] if v["status"] == "warn"]
    status = row["status"]
    return {
        "parcel": row,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "acceptable": status != "fail",
        "conclusion": (f"{STATUS_LABELS.get(status, status)}：{len(failing)} 项不符合，{len(warning)} 项预警"
                       if failing or warning else f"{STATUS_LABELS.get(status, status)}：未发现不符合项"),
        "failing_rules": [v["rule"] for v in failing],
        "ruleset": result.ruleset,
        "as_of": result.as_of.isoformat(),
        "zones_dataset": zone_ds,
        "warnings": [{"file": i.file, "message": i.message} for i in parsed.report.issues],
    }
