"""Server-side work behind the pages: store evaluation runs and cached result files.

Imports go through ``api.services.datasets`` as for the API and the CLI. Runs are the store's
(``api.store.evaluations``); downloads are cached under ``web/exports``.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

DOWNLOADS = {"xlsx": "XLSX 报表", "gpkg": "GeoPackage", "geojson": "GeoJSON", "csv": "CSV（逐条结论）"}
_lock = threading.Lock()


def web_dir(data_dir: Path) -> Path:
    """The web pages' own folder inside the data directory (created on demand)."""
    path = Path(data_dir) / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
