"""Zone proposals (工业红线、蓝线划定建议) from the maps module: generate, view, download."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fastapi import Request

from api.web import service


def _module() -> Any:
    try:
        return importlib.import_module("gis.zone_proposal")
    except ModuleNotFoundError:
        return None


def proposal_file(request: Request, dataset_id: int, name: str) -> Path:
    """A file of a dataset's proposal (``map.html``, ``zones.gpkg``)."""
    return service.web_dir(Path(request.app.state.settings.data_dir)) / "zones" / str(int(dataset_id)) / name


def proposal_status(request: Request) -> dict[str, Any]:
    """What the zone page shows: datasets with kept files, and which already have a proposal."""
    from api.store.repository import list_datasets

    with request.app.state.engine.connect() as conn:
        datasets = list_datasets(conn)
    data_dir = Path(request.app.state.settings.data_dir)
    rows = []
    for d in datasets:
        files = service.dataset_files(data_dir, d["id"])
        rows.append(
            {
                **d,
                "usable": bool(files and "zones" in files[0]),
                "has_proposal": proposal_file(request, d["id"], "zones.gpkg").is_file(),
            }
        )
    return {"datasets": rows, "available": _module() is not None}


def propose(request: Request, dataset_id: int, actor: str) -> str | None:
    """Run the maps module's proposal on a dataset's kept files; returns an error message or None."""
    mod = _module()
    if mod is None:
        return "红线、蓝线划定建议模块（gis.zone_proposal）尚未安装 (zone proposal module not available yet)"
    data_dir = Path(request.app.state.settings.data_dir)
    files = service.dataset_files(data_dir, dataset_id)
    if not files or "zones" not in files[0]:
        return f"数据集 {dataset_id} 没有可用的分区图层文件 (dataset has no zones file kept by the pages)"
    out = proposal_file(request, dataset_id, "zones.gpkg").parent
    out.mkdir(parents=True, exist_ok=True)
    paths, crs = files
    from gis.io import load_inputs

    inputs = load_inputs(crs=crs, **{k: str(v) for k, v in paths.items() if k in ("parcels", "zones")})
    runner = getattr(mod, "propose_to_files", None) or getattr(mod, "write_proposal", None)
    if runner is None:
        return "gis.zone_proposal 没有可调用的接口 (no propose_to_files/write_proposal in gis.zone_proposal)"
    runner(inputs.parcels, inputs.zones, out)
    return None
