"""Server-side work behind the pages: staged uploads, store evaluation runs, cached result files.

The pages call the same functions as the CLI and API: ``gis.io.load_inputs`` to validate, the store's
``import_files`` to store, ``rules.engine.evaluate`` to evaluate and ``rules.export.write_result`` to write
the downloads. Runs are the store's (``api.store.evaluations``); downloads are cached under ``web/exports``.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    """Store the staged files as one dataset (the store's ``import_files``), then drop the staging folder."""
    from api.store.importer import import_files

    try:
        return import_files(
            engine,
            crs=crs or None,
            name=name or None,
            actor=actor,
            display_names={k: p.name for k, p in stage.paths.items()},
            **{k: v for k, v in stage.paths.items()},
        )
    finally:
        shutil.rmtree(web_dir(data_dir) / "staging" / stage.token, ignore_errors=True)


# --- runs (the store's evaluation runs) -------------------------------------------------------------------


def start_run(app: Any, dataset_id: int, ruleset_ref: str, as_of: dt.date, actor: str | None) -> int:
    """Queue a store evaluation run and execute it on the app's worker pool (as ``POST /evaluations``)."""
    from api.store import evaluations as ev

    engine = app.state.engine
    with engine.begin() as conn:
        run_id = ev.create_run(conn, dataset_id, ruleset_ref, as_of, actor=actor)
    pool = getattr(app.state, "evaluation_pool", None)
    if pool is not None:
        pool.submit(ev.execute_run, engine, run_id)
    else:
        threading.Thread(target=ev.execute_run, args=(engine, run_id), daemon=True).start()
    return run_id


def get_run(engine: Engine, run_id: int) -> dict[str, Any]:
    """A run from the store (KeyError when there is no such run)."""
    from api.store import evaluations as ev
    from api.store.errors import NotFound

    try:
        with engine.connect() as conn:
            return ev.get_run(conn, run_id)
    except NotFound as exc:
        raise KeyError(run_id) from exc


def list_runs(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """Runs from the store, newest first, each with its rule set id and version."""
    from api.store import evaluations as ev

    with engine.connect() as conn:
        runs = ev.list_runs(conn, limit=limit)
        sets = {r["id"]: r for r in ev.list_rulesets(conn) if r["id"] is not None}
    for run in runs:
        rs = sets.get(run["ruleset_pk"]) or {}
        run["ruleset"] = {
            "id": rs.get("ruleset_id"),
            "version": rs.get("version"),
            "sha256": run["ruleset_sha256"],
        }
    return runs


def store_key(settings: Any) -> str:
    """A short key of the store URL, so cached files of two stores never mix."""
    import hashlib

    return hashlib.sha256(settings.resolved_database_url.encode()).hexdigest()[:12]


_cache: dict[tuple[str, int], Any] = {}
_cache_lock = threading.Lock()


def load_result(engine: Engine, settings: Any, run_id: int) -> Any:
    """A finished run's ``EvaluationResult`` rebuilt by the store (cached: finished runs never change)."""
    from api.store import evaluations as ev

    key = (store_key(settings), int(run_id))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    with engine.connect() as conn:
        result = ev.result_from_store(conn, run_id)
    with _cache_lock:
        if len(_cache) >= 4:
            _cache.pop(next(iter(_cache)))
        _cache[key] = result
    return result


def result_file(engine: Engine, settings: Any, run_id: int, fmt: str) -> Path:
    """A run's download (``rules.export.write_result``) or static map PNG, written once and kept."""
    if fmt not in (*DOWNLOADS, "json", "png"):
        raise KeyError(fmt)
    folder = web_dir(Path(settings.data_dir)) / "exports" / store_key(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"run-{int(run_id)}-map.png" if fmt == "png" else f"run-{int(run_id)}.{fmt}")
    if path.is_file():
        return path
    with _lock:
        if not path.is_file():
            result = load_result(engine, settings, run_id)
            tmp = folder / f".tmp-{uuid.uuid4().hex}{path.suffix}"
            try:
                if fmt == "png":
                    from api.cli_maps import stored_ruleset
                    from gis.maps import static_map_png

                    static_map_png(
                        tmp,
                        result.parcels,
                        result.verdicts,
                        result.zones,
                        legend=stored_ruleset(engine, result.ruleset).legend(),
                        title=f"工业用地合规评估（评估 {run_id}，{result.as_of}）",
                        dpi=110,
                        size=(8.0, 6.0),
                    )
                else:
                    from rules.export import write_result

                    write_result(result, tmp)
                tmp.replace(path)
            finally:
                tmp.unlink(missing_ok=True)
    return path
