"""What the store's text columns can hold, checked before anything is written.

PostgreSQL refuses a ``VARCHAR(100)`` value of 101 characters with a ``DataError`` in the middle of the load;
SpatiaLite stores it silently. Both stores must accept the same datasets, so the lengths of the models are
checked here, for every input frame, and an over-long value is an ``ImportRejected`` naming the file, the column,
the rows and the limit — before the transaction starts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import String

from api.store import models as m
from api.store.errors import ImportRejected
from gis.vocabulary import INPUT_KIND_LABELS

_ID_COLUMNS = {"parcels": "parcel_id", "enterprises": "enterprise_id", "occupancy": "parcel_id"}
_SHOWN = 20  # rows named per column in the error


def text_limits(model: Any) -> dict[str, int]:
    """``{column: max characters}`` of a model's bounded text columns."""
    return {c.name: c.type.length for c in model.__table__.columns
            if isinstance(c.type, String) and c.type.length}


def _over(values: pd.Series, limit: int) -> pd.Series:
    lengths = values.astype("string").str.len()
    return (lengths > limit).fillna(False).astype(bool)


def check_text_lengths(inputs: Any, name: str) -> None:
    """Refuse an import whose dataset name or any text value is longer than its store column allows."""
    problems: list[dict[str, Any]] = []
    name_limit = text_limits(m.Dataset)["name"]
    if len(name) > name_limit:
        problems.append({"file": "dataset", "field": "name", "limit": name_limit, "length": len(name),
                         "problem": f"数据集名称 {len(name)} 个字符，超过 {name_limit} 个字符上限"})
    frames = {"parcels": (inputs.parcels, m.Parcel), "enterprises": (inputs.enterprises, m.Enterprise),
              "occupancy": (inputs.occupancy, m.Occupancy),
              "land_supply": (getattr(inputs, "land_supply", None), m.LandSupply)}
    for kind, (frame, model) in frames.items():
        if frame is None:
            continue
        for column, limit in text_limits(model).items():
            if column in frame.columns:
                problems += _column_problems(kind, frame[column], column, limit, frame)
    zone_limits = text_limits(m.ZoneFeature)
    for layer, gdf in (getattr(inputs, "zones", None) or {}).items():
        if len(layer) > zone_limits["layer"]:
            problems.append({"file": "zones", "layer": layer[:60] + "…", "field": "layer",
                             "limit": zone_limits["layer"], "length": len(layer),
                             "problem": f"分区图层名 {len(layer)} 个字符，超过 {zone_limits['layer']} 个字符上限"})
        for column in ("zone_id", "park_id", "name"):
            if column in gdf.columns:
                limit = zone_limits["name" if column == "name" else "zone_id"]
                problems += _column_problems("zones", gdf[column], column, limit, gdf, layer=layer)
    if problems:
        fields = "、".join(dict.fromkeys(f"{_file_label(p['file'])} {p['field']}" for p in problems))
        raise ImportRejected(
            f"{fields} 的值超过入库长度上限，未写入任何内容；请缩短这些值后重新导入 "
            "(values longer than the store allows; nothing was stored)", details=problems)


def _file_label(kind: str) -> str:
    return INPUT_KIND_LABELS.get(kind, "数据集")


def _column_problems(kind: str, values: pd.Series, column: str, limit: int, frame: pd.DataFrame,
                     layer: str | None = None) -> list[dict[str, Any]]:
    over = _over(values, limit)
    if not over.any():
        return []
    positions = [int(i) for i in over.to_numpy().nonzero()[0]]
    problem: dict[str, Any] = {
        "file": kind, "field": column, "limit": limit,
        "length": int(values[over].astype("string").str.len().max()),
        "rows": [i + 1 for i in positions[:_SHOWN]], "count": len(positions),
        "problem": f"{INPUT_KIND_LABELS[kind]} {column} 有 {len(positions)} 个值超过 {limit} 个字符",
    }
    if layer is not None:
        problem["layer"] = layer
    key = _ID_COLUMNS.get(kind)
    if key is not None and key != column and key in frame.columns:
        problem["ids"] = [str(v)[:40] for v in frame[key].iloc[positions[:_SHOWN]]]
    else:  # the over-long value is the id itself (or the table has none): its first 40 characters
        problem["ids"] = [str(v)[:40] + "…" for v in values.iloc[positions[:_SHOWN]]]
    return [problem]
