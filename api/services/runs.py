"""Evaluation runs, defined once: start (on the app's worker pool), read, their results and their files.

``POST /evaluations``, the web pages' 运行评估 and results pages, and their downloads all come here. One worker
pool per app, one cache of rebuilt results, one folder and one naming of exported files:
``<data_dir>/exports/<store key>/run-<id>.<suffix>`` (``.json .geojson .gpkg .csv .xlsx``, ``.html`` for the
compliance map, ``-map.png`` for the static map). A finished run never changes, so a file once written is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from api.store import evaluations as ev

log = logging.getLogger("mujun.runs")

EXPORT_MEDIA_TYPES = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "png": "image/png",
}
DOWNLOADS = {"xlsx": "XLSX 报表", "gpkg": "GeoPackage", "geojson": "GeoJSON", "csv": "CSV（逐条结论）"}
RESULTS_KEPT = 4  # rebuilt results kept in memory (exports and pages of one run come in bursts)
LEASE_S = 120.0  # a server's claim on its runs; renewed every LEASE_S / 4 while it holds any


def store_key(settings: Any) -> str:
    """A short key of the store URL, so the files of two stores never mix."""
    return hashlib.sha256(settings.resolved_database_url.encode()).hexdigest()[:12]


class Runs:
    """The evaluation runs of one store: a worker pool, the result cache and the export folder."""

    def __init__(self, engine: Engine, settings: Any, workers: int = 1) -> None:
        self.engine = engine
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="mujun-eval")
        self.folder = Path(settings.data_dir) / "exports" / store_key(settings)
        self._results: OrderedDict[int, Any] = OrderedDict()
        self._lock = threading.RLock()
        # This server's claim on the runs it executes: another server starting on the same store leaves them be.
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held: set[int] = set()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def shutdown(self) -> None:
        """Stop taking runs (queued ones are cancelled; their leases lapse and the next start fails them)."""
        self._stop.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_S / 4):
            with self._lock:
                held = sorted(self._held)
            try:
                ev.renew_leases(self.engine, self.owner, held, LEASE_S)
            except Exception:  # a busy store: the lease still has three quarters to run; try again
                log.warning("could not renew the leases of runs %s", held, exc_info=True)

    def _execute(self, run_id: int) -> None:
        try:
            ev.execute_run(self.engine, run_id)
        finally:
            with self._lock:
                self._held.discard(run_id)

    # --- runs ------------------------------------------------------------------------------------------
    def start(self, dataset_id: int, ruleset_ref: str, as_of: dt.date, actor: str | None, *, wait: bool = False
              ) -> int:
        """Queue a run of a stored dataset (raises the store's ``NotFound``); with ``wait``, run it now."""
        with self.engine.begin() as conn:
            run_id = ev.create_run(conn, dataset_id, ruleset_ref, as_of, actor=actor, owner=self.owner,
                                   lease_s=LEASE_S)
        with self._lock:
            self._held.add(run_id)
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(target=self._renew, name="mujun-leases", daemon=True)
                self._heartbeat.start()
        if wait:
            self._execute(run_id)
        else:
            self.pool.submit(self._execute, run_id)
        return run_id

    def get(self, run_id: int) -> dict[str, Any]:
        """A run: status, progress, summary, rule set (raises the store's ``NotFound``)."""
        with self.engine.connect() as conn:
            return ev.get_run(conn, run_id)

    def list(self, dataset_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Runs, newest first, each with its rule set's id and version."""
        with self.engine.connect() as conn:
            runs = ev.list_runs(conn, dataset_id, limit=limit)
            sets = {r["id"]: r for r in ev.list_rulesets(conn) if r["id"] is not None}
        for run in runs:
            rs = sets.get(run["ruleset_pk"]) or {}
            run["ruleset"] = {"id": rs.get("ruleset_id"), "version": rs.get("version"),
                              "sha256": run["ruleset_sha256"]}
        return runs

    # --- results and files ---------------------------------------------------------------------------
    def result(self, run_id: int) -> Any:
        """A finished run's ``EvaluationResult`` rebuilt from the store (the last few are kept)."""
        with self._lock:
            if run_id in self._results:
                self._results.move_to_end(run_id)
                return self._results[run_id]
        with self.engine.connect() as conn:
            result = ev.result_from_store(conn, run_id)
        with self._lock:
            self._results[run_id] = result
            while len(self._results) > RESULTS_KEPT:
                self._results.popitem(last=False)
        return result

    def ruleset(self, result: Any) -> Any:
        """The rule set a result was evaluated with (the stored version, by SHA-256; parsed once per server)."""
        return self.ruleset_of_run({"ruleset": result.ruleset})

    def ruleset_of_run(self, run: dict[str, Any]) -> Any:
        """The rule set a run (as :meth:`get` gives it) was evaluated with, without rebuilding its result."""
        from api.services import checks

        return checks.ruleset(self.engine, str(run["ruleset"].get("sha256") or run["ruleset"].get("id")))

    def file(self, run_id: int, fmt: str) -> Path:
        """A finished run's file in ``fmt`` (see :data:`EXPORT_MEDIA_TYPES`), written once and kept."""
        if fmt not in EXPORT_MEDIA_TYPES:
            raise KeyError(fmt)
        self.get(run_id)  # NotFound for a run that does not exist, before anything is written
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / (f"run-{int(run_id)}-map.png" if fmt == "png" else f"run-{int(run_id)}.{fmt}")
        if path.is_file():
            return path
        with self._lock:
            if not path.is_file():
                tmp = self.folder / f".tmp-{uuid.uuid4().hex}{path.suffix}"
                try:
                    self._write(run_id, fmt, tmp)
                    os.replace(tmp, path)
                finally:
                    tmp.unlink(missing_ok=True)
        return path

    def _write(self, run_id: int, fmt: str, path: Path) -> None:
        result = self.result(run_id)
        if fmt == "html":
            from api.cli_maps import map_args
            from gis.maps import save_compliance_map

            title = f"合规评估地图 — 评估 {run_id}（{result.ruleset.get('id')}，{result.as_of}）"
            save_compliance_map(path, **map_args(result, self.ruleset(result)), inline=True, title=title)
        elif fmt == "png":
            from gis.maps import static_map_png

            static_map_png(path, result.parcels, result.verdicts, result.zones,
                           legend=self.ruleset(result).legend(),
                           title=f"工业用地合规评估（评估 {run_id}，{result.as_of}）", dpi=110, size=(8.0, 6.0))
        else:
            from rules.export import write_result

            write_result(result, path)
