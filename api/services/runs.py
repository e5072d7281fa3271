"""Evaluation runs, defined once: start (on the app's worker pool), read, their results and their files.

``POST /evaluations``, the web pages' 运行评估 and results pages, and their downloads all come here. One worker
pool per app, one cache of rebuilt results, one folder and one naming of exported files:
``<data_dir>/exports/<store key>/run-<id>.<suffix>`` (``.json .geojson .gpkg .csv .xlsx``, ``.txt`` for the
界址点坐标 file of the parcels, ``.html`` for the compliance map, ``-map.png`` for the static map, ``-map.pdf`` for
the A3 print map); comparisons, trends and lists beside them. A finished run never changes, so a file once
written is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import uuid
import zipfile
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
    "pdf": "application/pdf",
    "txt": "text/plain; charset=gb18030",
}
COMPARISON_FORMATS = {"xlsx": EXPORT_MEDIA_TYPES["xlsx"], "html": EXPORT_MEDIA_TYPES["html"]}
MAP_IMAGES = ("png", "pdf")  # the static map and the print map: ``run-<id>-map.<fmt>``
DOWNLOADS = {"xlsx": "XLSX 报表", "gpkg": "GeoPackage", "geojson": "GeoJSON", "csv": "CSV（逐条结论）",
             "txt": "界址点坐标 TXT"}
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
        self._timelines: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
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

    def timeline(self, run_id: int) -> Any:
        """A finished run's timeline events (``rules.timeline.timeline`` over the dataset's stored parcels, the
        run's result and each statistics year's grades; the last few kept, by run and the years' runs)."""
        from rules.timeline import timeline

        run = self.get(run_id)
        years = self._year_runs(run)
        key = (int(run_id), tuple(sorted(years.items())))  # a run of a new year makes a new timeline
        with self._lock:
            if key in self._timelines:
                self._timelines.move_to_end(key)
                return self._timelines[key]
        result = self.result(run_id)
        with self.engine.connect() as conn:
            parcels = ev.load_inputs_from_store(conn, int(run["dataset_id"])).parcels
        yearly = {year: self.result(rid) for year, rid in years.items()}
        events = timeline(parcels, self.ruleset(result), result.as_of, result, yearly=yearly)
        with self._lock:
            self._timelines[key] = events
            while len(self._timelines) > RESULTS_KEPT:
                self._timelines.popitem(last=False)
        return events

    def _year_runs(self, run: dict[str, Any], most: int = 5) -> dict[int, int]:
        """``{year: run id}``: the newest finished run of each statistics year judged by the run's rule set (this
        run for its own year), the most recent ``most`` years — the grades a parcel's timeline shows by year."""
        newest: dict[int, int] = {}
        own = (run.get("summary") or {}).get("year")
        if own is not None:
            newest[int(own)] = run["id"]
        for r in self.list(limit=500):  # newest first
            year = (r.get("summary") or {}).get("year")
            if r["status"] == "done" and year is not None and r["ruleset_sha256"] == run["ruleset_sha256"]:
                newest.setdefault(int(year), r["id"])
        return {y: newest[y] for y in sorted(newest)[-most:]}

    def parcel_timeline(self, run_id: int, parcel_id: str) -> dict[str, Any]:
        """One parcel's timeline as the API and the parcel page give it (raises ``NotFound`` for a parcel the
        run did not evaluate)."""
        from api.store.errors import NotFound
        from rules.timeline import event_records

        result = self.result(run_id)
        if not (result.parcels["parcel_id"].astype(str) == parcel_id).any():
            raise NotFound(f"评估 {run_id} 中没有宗地 {parcel_id} (parcel not in this evaluation)",
                           details=[{"run": run_id, "parcel_id": parcel_id}])
        events = self.timeline(run_id)
        return {"run": int(run_id), "parcel_id": parcel_id, "as_of": result.as_of,
                "events": event_records(events[events["parcel_id"] == parcel_id])}

    def warnings(self, run_id: int, within_days: int) -> dict[str, Any]:
        """The run's 预警清单 as JSON-safe records (``GET /evaluations/{id}/warnings``)."""
        from rules.export import warning_table
        from rules.result import records
        from rules.timeline import warning_list

        result = self.result(run_id)
        rows = warning_table(result, warning_list(self.timeline(run_id), within_days))
        items = records(rows.assign(date=rows["date"].dt.strftime("%Y-%m-%d"))[
            ["parcel_id", "event", "label", "date", "days", "detail", "district", "park", "area_mu", "overall"]])
        for item, firms in zip(items, rows["enterprises"], strict=True):
            item["enterprises"] = [f for f in str(firms or "").split("\n") if f]
        return {"run": int(run_id), "as_of": result.as_of, "within": int(within_days), "numberMatched": len(items),
                "warnings": items}

    def warnings_file(self, run_id: int, within_days: int) -> Path:
        """The run's 预警清单 XLSX: deadlines from its as-of date to ``within_days`` later (written once, kept)."""
        from rules.export import write_warnings_xlsx
        from rules.timeline import warning_list

        warnings = warning_list(self.timeline(run_id), within_days)  # ValueError for a negative horizon
        result = self.result(run_id)
        path = self.folder / f"run-{int(run_id)}-warnings-{int(within_days)}.xlsx"
        return self._once(path, lambda tmp: write_warnings_xlsx(result, warnings, tmp, within_days))

    def notices(self, run_id: int, kind: str = "all") -> tuple[Path, int]:
        """The run's Word notices of ``kind`` as one zip (``rules.notices``), written once and kept; with the
        number of notices it holds."""
        from rules.notices import KIND_CHOICES, notices_zip

        if kind not in KIND_CHOICES:
            raise KeyError(kind)
        result = self.result(run_id)
        path = self._once(self.folder / f"run-{int(run_id)}-notices-{kind}.zip",
                          lambda tmp: notices_zip(result, self.timeline(run_id), self.ruleset(result), tmp, kind=kind))
        with zipfile.ZipFile(path) as zf:
            return path, len(zf.namelist())

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
        path = self.folder / (f"run-{int(run_id)}-map.{fmt}" if fmt in MAP_IMAGES else f"run-{int(run_id)}.{fmt}")
        return self._once(path, lambda tmp: self._write(run_id, fmt, tmp))

    # --- the policy sandbox: two runs of one dataset compared -----------------------------------------
    def compare(self, run_a: int, run_b: int) -> Any:
        """What changes from run ``a`` to run ``b`` (``rules.compare.Comparison``); both of the same dataset."""
        from rules.compare import CompareError, compare

        a, b = self.get(run_a), self.get(run_b)
        if a["dataset_id"] != b["dataset_id"]:
            raise CompareError(
                f"评估 {run_a} 属于数据集 {a['dataset_id']}，评估 {run_b} 属于数据集 {b['dataset_id']}：只能对比同一"
                "数据集的两次评估 (the two runs evaluate different datasets)")
        return compare(self.result(run_a), self.result(run_b))

    def comparison_file(self, run_a: int, run_b: int, fmt: str) -> Path:
        """The comparison of two runs as ``xlsx`` (the workbook) or ``html`` (a map of the changed parcels)."""
        if fmt not in COMPARISON_FORMATS:
            raise KeyError(fmt)
        comparison = self.compare(run_a, run_b)  # errors before anything is written
        return self._once(self.folder / f"compare-{int(run_a)}-{int(run_b)}.{fmt}",
                          lambda tmp: self._write_comparison(comparison, run_b, fmt, tmp))

    def _write_comparison(self, comparison: Any, run_b: int, fmt: str, path: Path) -> None:
        from rules.compare import write_comparison_xlsx
        from rules.export import _vocab

        result = self.result(run_b)
        if fmt == "xlsx":
            write_comparison_xlsx(comparison, path, parks=_vocab(result).parks)
            return
        from api.cli_maps import map_args
        from gis.maps import save_compliance_map

        changed = set(comparison.parcels["parcel_id"]) | set(
            comparison.changes.loc[comparison.changes["level"] == "parcel", "subject_id"])
        args = map_args(result, self.ruleset(result))
        args["parcels"] = args["parcels"][args["parcels"]["parcel_id"].astype(str).isin(changed)]
        verdicts = args["verdicts"]
        args["verdicts"] = verdicts[(verdicts["level"] != "parcel") | verdicts["subject_id"].isin(changed)]
        a, b = comparison.a, comparison.b
        title = (f"结论变化的宗地（{len(changed):,} 宗，按 B 的结论着色）— A {a.get('id')} {a.get('version')} → "
                 f"B {b.get('id')} {b.get('version')}")
        save_compliance_map(path, **args, inline=True, title=title)

    # --- the planner's year: several statistics years side by side, each year's lists -----------------
    def trend(self, run_ids: list[int]) -> Any:
        """``rules.trend.Trend`` of finished runs, one per statistics year (the year their firms' figures are of)."""
        from rules.trend import trend

        for run_id in run_ids:
            self.get(run_id)  # NotFound for a run that does not exist
        return trend([self.result(run_id) for run_id in run_ids])

    def trend_file(self, run_ids: list[int]) -> Path:
        """The trend of ``run_ids`` as the print-ready workbook (written once per set of runs)."""
        from rules.export import _vocab
        from rules.trend import write_trend_xlsx

        t = self.trend(run_ids)
        key = "-".join(str(int(r)) for r in sorted(run_ids))
        return self._once(self.folder / f"trend-{key}.xlsx",
                          lambda tmp: write_trend_xlsx(t, tmp, parks=_vocab(self.result(run_ids[-1])).parks))

    def lists_file(self, run_id: int) -> Path:
        """A run's published lists (A/B/C/D, T 类 with reasons, 租赁厂房企业) as a workbook."""
        from rules.trend import write_annual_lists_xlsx

        result = self.result(run_id)
        return self._once(self.folder / f"run-{int(run_id)}-lists.xlsx",
                          lambda tmp: write_annual_lists_xlsx(result, tmp))

    def _once(self, path: Path, write: Any) -> Path:
        """``path``, written by ``write(tmp)`` into a temporary file and moved in place, unless it exists."""
        if path.is_file():
            return path
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if not path.is_file():
                tmp = self.folder / f".tmp-{uuid.uuid4().hex}{path.suffix}"
                try:
                    write(tmp)
                    os.replace(tmp, path)
                finally:
                    tmp.unlink(missing_ok=True)
        return path

    def parcel_survey_txt(self, run_id: int, parcel_id: str) -> bytes:
        """One parcel of a finished run as a 界址点坐标 file (GBK; ``KeyError`` when the run has no such parcel)."""
        from gis.survey_txt import write_survey_txt

        parcels = self.result(run_id).parcels
        row = parcels[parcels["parcel_id"].astype(str) == parcel_id]
        if row.empty:
            raise KeyError(parcel_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".tmp-{uuid.uuid4().hex}.txt"
        try:
            return write_survey_txt(row, tmp).read_bytes()
        finally:
            tmp.unlink(missing_ok=True)

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
        elif fmt == "pdf":
            from api.cli_maps import source_text
            from gis.print_map import print_map_pdf

            rs = self.ruleset(result)
            print_map_pdf(path, result.parcels, result.verdicts, result.zones, legend=rs.legend(),
                          paper="A3", landscape=True, title=f"工业用地合规评估图（评估 {run_id}）",
                          unit=self.settings.print_unit, source=source_text(rs, result.as_of, f"亩均评估 {run_id}"))
        else:
            from rules.export import write_result

            write_result(result, path)
