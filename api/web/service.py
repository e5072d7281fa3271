"""Server-side work behind the pages: staged uploads, evaluation runs (files in ``<data_dir>/web``), results.

The pages call the same functions as the CLI and API: ``gis.io.load_inputs`` to validate, the store's
``import_files`` to store, ``rules.engine.evaluate`` to evaluate and ``rules.export.write_result`` to write
the downloads. A run's outputs live in ``<data_dir>/web/runs/<id>/`` (``meta.json`` + ``result.*``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from sqlalchemy import Engine

INPUT_KINDS = ("parcels", "enterprises", "occupancy", "zones", "land_supply")
KIND_LABELS = {
    "parcels": "宗地图层",
    "enterprises": "企业表",
    "occupancy": "宗地占用表",
    "zones": "分区图层",
    "land_supply": "土地供应表",
}
DOWNLOADS = {"xlsx": "XLSX 报表", "gpkg": "GeoPackage", "geojson": "GeoJSON", "csv": "CSV（逐条结论）"}
_SAFE = re.compile(r"[^0-9A-Za-z._\-\u4e00-\u9fff]+")
_lock = threading.Lock()


def web_dir(data_dir: Path) -> Path:
    """The web pages' own folder inside the data directory (created on demand)."""
    path = Path(data_dir) / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path


def safe_name(name: str) -> str:
    """A file name without directories or odd characters (keeps the suffix and Chinese)."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _SAFE.sub("_", base).strip("._") or "upload"
    return cleaned[-120:]


# --- import ------------------------------------------------------------------------------------------


@dataclass
class Staged:
    """Uploaded files waiting for confirmation: a token and the saved path per input kind."""

    token: str
    paths: dict[str, Path]


def stage_uploads(data_dir: Path, files: dict[str, tuple[str, bytes]]) -> Staged:
    """Save uploaded files (kind -> (file name, bytes)) into a fresh staging folder."""
    token = uuid.uuid4().hex
    folder = web_dir(data_dir) / "staging" / token
    folder.mkdir(parents=True)
    paths = {}
    for kind, (name, data) in files.items():
        sub = folder / kind
        sub.mkdir()
        path = sub / safe_name(name)
        path.write_bytes(data)
        paths[kind] = path
    return Staged(token, paths)


def staged(data_dir: Path, token: str) -> Staged:
    """The staging folder for ``token`` (KeyError when unknown or already used)."""
    if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
        raise KeyError(token)
    folder = web_dir(data_dir) / "staging" / token
    if not folder.is_dir():
        raise KeyError(token)
    paths = {}
    for kind in INPUT_KINDS:
        found = sorted((folder / kind).glob("*")) if (folder / kind).is_dir() else []
        if found:
            paths[kind] = found[0]
    return Staged(token, paths)


def validate(paths: dict[str, Path], crs: str | None = None) -> Any:
    """Read and check the files with ``gis.io.load_inputs`` (raises ``GisError`` listing every problem)."""
    from gis.io import load_inputs

    return load_inputs(crs=crs or None, **{k: str(v) for k, v in paths.items()})


def commit_import(
    engine: Engine, data_dir: Path, stage: Staged, *, name: str | None, crs: str | None, actor: str | None
) -> Any:
    """Store the staged files as a dataset (store ``import_files``) and keep them for later evaluations."""
    from api.store.importer import import_files

    outcome = import_files(
        engine,
        crs=crs or None,
        name=name or None,
        actor=actor,
        display_names={k: p.name for k, p in stage.paths.items()},
        **{k: v for k, v in stage.paths.items()},
    )
    target = dataset_files_dir(data_dir, outcome.dataset_id)
    src = web_dir(data_dir) / "staging" / stage.token
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), str(target))
        (target / "options.json").write_text(json.dumps({"crs": crs or None}), encoding="utf-8")
    else:
        shutil.rmtree(src, ignore_errors=True)
    return outcome


def dataset_files_dir(data_dir: Path, dataset_id: int) -> Path:
    """Where the web keeps the input files of a dataset imported through the pages."""
    return web_dir(data_dir) / "datasets" / str(int(dataset_id))


def dataset_files(data_dir: Path, dataset_id: int) -> tuple[dict[str, Path], str | None] | None:
    """The kept input files (and CRS option) of a dataset, or None when it was not imported via the pages."""
    folder = dataset_files_dir(data_dir, dataset_id)
    if not folder.is_dir():
        return None
    paths = {}
    for kind in INPUT_KINDS:
        found = sorted((folder / kind).glob("*")) if (folder / kind).is_dir() else []
        if found:
            paths[kind] = found[0]
    options = folder / "options.json"
    crs = json.loads(options.read_text(encoding="utf-8")).get("crs") if options.is_file() else None
    return (paths, crs) if "parcels" in paths else None


def register_dataset_files(
    data_dir: Path, dataset_id: int, paths: dict[str, Path], crs: str | None = None
) -> None:
    """Copy a dataset's input files next to the pages (for datasets imported with the CLI)."""
    folder = dataset_files_dir(data_dir, dataset_id)
    for kind, path in paths.items():
        (folder / kind).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, folder / kind / Path(path).name)
    (folder / "options.json").write_text(json.dumps({"crs": crs}), encoding="utf-8")


# --- runs --------------------------------------------------------------------------------------------


def runs_dir(data_dir: Path) -> Path:
    """The folder holding every web evaluation run."""
    path = web_dir(data_dir) / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_meta(folder: Path, meta: dict[str, Any]) -> None:
    tmp = folder / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(folder / "meta.json")


def get_run(data_dir: Path, run_id: int) -> dict[str, Any]:
    """A run's metadata (KeyError when there is no such run)."""
    path = runs_dir(data_dir) / str(int(run_id)) / "meta.json"
    if not path.is_file():
        raise KeyError(run_id)
    return json.loads(path.read_text(encoding="utf-8"))


def list_runs(data_dir: Path) -> list[dict[str, Any]]:
    """Every run's metadata, newest first."""
    ids = sorted((int(p.name) for p in runs_dir(data_dir).iterdir() if p.name.isdigit()), reverse=True)
    out = []
    for i in ids:
        try:
            out.append(get_run(data_dir, i))
        except (KeyError, json.JSONDecodeError):
            continue
    return out


def start_run(
    data_dir: Path,
    dataset_id: int,
    ruleset_id: str,
    as_of: dt.date,
    actor: str | None,
    *,
    background: bool = True,
) -> int:
    """Create a run and evaluate it (in a thread by default); returns the run id at once."""
    from rules.ruleset import load_ruleset

    files = dataset_files(data_dir, dataset_id)
    if files is None:
        raise FileNotFoundError(
            f"数据集 {dataset_id} 不是通过网页导入的，网页无法读取其源文件 "
            f"(dataset {dataset_id} has no files kept by the web pages); 请在“导入数据”页重新上传"
        )
    ruleset = load_ruleset(ruleset_id)
    with _lock:
        base = runs_dir(data_dir)
        run_id = max((int(p.name) for p in base.iterdir() if p.name.isdigit()), default=0) + 1
        folder = base / str(run_id)
        folder.mkdir()
        meta = {
            "id": run_id,
            "dataset_id": int(dataset_id),
            "ruleset": {"id": ruleset.id, "version": ruleset.version, "sha256": ruleset.sha256},
            "ruleset_ref": ruleset_id,
            "as_of": as_of.isoformat(),
            "status": "queued",
            "progress": 0.0,
            "stage": "排队中",
            "created_by": actor,
            "created_at": dt.datetime.now().isoformat(timespec="seconds"),
            "summary": None,
            "error": None,
        }
        _write_meta(folder, meta)
    if background:
        threading.Thread(target=_execute, args=(folder, meta, files, ruleset, as_of), daemon=True).start()
    else:
        _execute(folder, meta, files, ruleset, as_of)
    return run_id


def _execute(
    folder: Path,
    meta: dict[str, Any],
    files: tuple[dict[str, Path], str | None],
    ruleset: Any,
    as_of: dt.date,
) -> None:
    from gis.errors import GisError
    from rules.engine import evaluate
    from rules.export import write_result

    def step(progress: float, stage: str) -> None:
        meta.update(progress=round(progress, 3), stage=stage)
        _write_meta(folder, meta)

    try:
        meta["status"] = "running"
        step(0.02, "读取数据")
        paths, crs = files
        inputs = validate(paths, crs)
        step(0.2, "评估规则")

        def progress(done: int, total: int, rule_id: str) -> None:
            step(0.2 + 0.5 * done / max(total, 1), f"评估规则 {rule_id}（{done}/{total}）")

        result = evaluate(inputs, ruleset, as_of, progress=progress)
        for i, suffix in enumerate(("gpkg", "xlsx", "geojson", "csv", "json")):
            step(0.7 + 0.05 * i, f"写出 {suffix.upper()}")
            write_result(result, folder / f"result.{suffix}")
        step(0.96, "生成静态地图")
        try:
            from gis.maps import static_map_png

            static_map_png(
                folder / "map.png",
                result.parcels,
                result.verdicts,
                result.zones,
                title=f"工业用地合规评估（{as_of.isoformat()}）",
                dpi=110,
                size=(8.0, 6.0),
            )
        except Exception as exc:  # the printable page works without the picture
            meta["map_error"] = str(exc)
        meta.update(
            status="done",
            progress=1.0,
            stage="完成",
            summary=result.summary,
            finished_at=dt.datetime.now().isoformat(timespec="seconds"),
        )
        _write_meta(folder, meta)
    except GisError as exc:
        from api.errors import gis_error_details

        meta.update(
            status="failed", stage="失败", error={"message": exc.message, "details": gis_error_details(exc)}
        )
        _write_meta(folder, meta)
    except Exception as exc:  # a failed run must say so on its page, not hang at "running"
        meta.update(
            status="failed", stage="失败", error={"message": f"{type(exc).__name__}: {exc}", "details": []}
        )
        _write_meta(folder, meta)


def result_file(data_dir: Path, run_id: int, fmt: str) -> Path:
    """The path of one of a run's result files (KeyError for unknown formats)."""
    if fmt not in (*DOWNLOADS, "json", "png"):
        raise KeyError(fmt)
    name = "map.png" if fmt == "png" else f"result.{fmt}"
    return runs_dir(data_dir) / str(int(run_id)) / name


@dataclass
class RunResult:
    """A finished run as the pages use it (parcels in EPSG:4544 with ``st_*``; long verdicts; tables)."""

    parcels: gpd.GeoDataFrame
    verdicts: pd.DataFrame
    enterprises: pd.DataFrame
    aggregates: pd.DataFrame
    zones: dict[str, gpd.GeoDataFrame]


_cache: dict[Path, tuple[float, RunResult]] = {}


def load_result(data_dir: Path, run_id: int) -> RunResult:
    """Read a finished run's GeoPackage (cached while the file is unchanged)."""
    from gis.maps import read_result_layers

    path = result_file(data_dir, run_id, "gpkg")
    mtime = path.stat().st_mtime
    hit = _cache.get(path)
    if hit and hit[0] == mtime:
        return hit[1]
    layers = read_result_layers(path)
    names = {str(n) for n, _ in pyogrio.list_layers(path)}
    ent = (
        pd.DataFrame(pyogrio.read_dataframe(path, layer="enterprises", read_geometry=False))
        if "enterprises" in names
        else pd.DataFrame()
    )
    res = RunResult(
        layers.parcels,
        layers.verdicts if layers.verdicts is not None else pd.DataFrame(),
        ent,
        layers.aggregates if layers.aggregates is not None else pd.DataFrame(),
        layers.zones,
    )
    if len(_cache) > 8:
        _cache.clear()
    _cache[path] = (mtime, res)
    return res
