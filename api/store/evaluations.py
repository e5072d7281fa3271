"""Rule sets, evaluation runs and verdicts in the store: rebuild ``Inputs`` from a dataset, run the engine,
store the result in bulk, and rebuild an ``EvaluationResult`` from a stored run (for exports and maps)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from sqlalchemy import Connection, Engine, LargeBinary, func, insert, select, text, update

from api.store import models as m
from api.store.bulk import bulk_insert, deferred_indexes, json_objects, json_records, json_values
from api.store.errors import Conflict, NotFound
from api.store.frames import expand_extra
from api.store.repository import analyze, audit
from rules.result import VERDICT_COLUMNS, VERDICT_KEY_COLUMNS, VERDICT_TEXT_KEYS, compact_verdicts, expand_verdicts

log = logging.getLogger("mujun.store")

# gis.io column kinds → pandas dtypes of a freshly read input.
_KIND_DTYPES = {"number": "float64", "int": "Int64", "bool": "boolean", "date": "datetime64[ns]"}


# --- rule sets -----------------------------------------------------------------------------------------

def _ruleset_row(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    return {k: d[k] for k in ("id", "ruleset_id", "version", "sha256", "builtin", "created_by", "created_at")}


def store_ruleset(conn: Connection, ruleset: Any, *, builtin: bool = False, actor: str | None = None) -> int:
    """Store a validated ``RuleSet`` (or find it by sha256); an (id, version) is immutable once stored."""
    pk = conn.scalar(select(m.RuleSetRecord.id).where(m.RuleSetRecord.sha256 == ruleset.sha256))
    if pk is not None:
        return pk
    clash = conn.execute(select(m.RuleSetRecord.id, m.RuleSetRecord.sha256).where(
        m.RuleSetRecord.ruleset_id == ruleset.id, m.RuleSetRecord.version == ruleset.version)).first()
    if clash is not None:
        raise Conflict(f"规则集 {ruleset.id} 版本 {ruleset.version} 已存在且内容不同；"
                       "规则集版本一经保存不可修改，请提高版本号 "
                       "(rule set version exists with different content; bump the version)",
                       details=[{"ruleset": ruleset.id, "version": ruleset.version,
                                 "stored_sha256": clash.sha256, "uploaded_sha256": ruleset.sha256}])
    pk = conn.scalar(insert(m.RuleSetRecord.__table__).returning(m.RuleSetRecord.id), [{
        "ruleset_id": ruleset.id, "version": ruleset.version, "sha256": ruleset.sha256,
        "yaml_text": ruleset.yaml_text, "builtin": builtin, "created_by": actor, "created_at": m._now()}])
    audit(conn, actor, "add", "ruleset", pk, {"ruleset": ruleset.id, "version": ruleset.version,
                                              "sha256": ruleset.sha256, "builtin": builtin})
    return pk


def list_rulesets(conn: Connection) -> list[dict[str, Any]]:
    """Stored rule set versions (newest first) plus built-ins not stored yet."""
    from rules.ruleset import builtin_rulesets

    rows = [_ruleset_row(r) for r in conn.execute(select(m.RuleSetRecord.__table__)
                                                  .order_by(m.RuleSetRecord.id.desc()))]
    stored_ids = {r["ruleset_id"] for r in rows}
    for rid in builtin_rulesets():
        if rid not in stored_ids:
            rows.append({"id": None, "ruleset_id": rid, "version": None, "sha256": None, "builtin": True,
                         "created_by": None, "created_at": None})
    used = {pk for (pk,) in conn.execute(select(m.EvaluationRun.ruleset_pk).distinct())}
    for r in rows:
        r["used"] = r["id"] in used
    return rows


def resolve_ruleset(conn: Connection, ref: str, *, actor: str | None = None) -> tuple[int, Any]:
    """A rule set by ``id`` (newest stored version, else the built-in), ``id@version`` or sha256; stored."""
    from rules.ruleset import builtin_rulesets, load_ruleset, parse_ruleset

    rid, _, version = ref.partition("@")
    q = select(m.RuleSetRecord.id, m.RuleSetRecord.yaml_text, m.RuleSetRecord.ruleset_id)
    if version:
        row = conn.execute(q.where(m.RuleSetRecord.ruleset_id == rid,
                                   m.RuleSetRecord.version == version)).first()
    elif len(ref) == 64 and all(c in "0123456789abcdef" for c in ref):
        row = conn.execute(q.where(m.RuleSetRecord.sha256 == ref)).first()
    else:
        row = conn.execute(q.where(m.RuleSetRecord.ruleset_id == rid, m.RuleSetRecord.builtin.is_(False))
                           .order_by(m.RuleSetRecord.id.desc()).limit(1)).first()
        if row is None and rid in builtin_rulesets():
            ruleset = load_ruleset(rid)
            return store_ruleset(conn, ruleset, builtin=True, actor=actor), ruleset
        if row is None:
            row = conn.execute(q.where(m.RuleSetRecord.ruleset_id == rid)
                               .order_by(m.RuleSetRecord.id.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"规则集 '{ref}' 不存在 (rule set not found)",
                       details=[{"ruleset": ref, "builtin": builtin_rulesets()}])
    return row.id, parse_ruleset(row.yaml_text, source=f"{row.ruleset_id} (stored #{row.id})")


def get_ruleset(conn: Connection, ref: str) -> dict[str, Any]:
    """One rule set version with its YAML text."""
    pk, ruleset = resolve_ruleset(conn, ref)
    row = conn.execute(select(m.RuleSetRecord.__table__).where(m.RuleSetRecord.id == pk)).one()
    out = _ruleset_row(row)
    out["yaml_text"] = row.yaml_text
    out["rules"] = [r.id for r in ruleset.rules]
    out["used"] = conn.scalar(select(func.count()).where(m.EvaluationRun.ruleset_pk == pk)) > 0
    return out


# --- inputs from the store -----------------------------------------------------------------------------

def _retype(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    for name, kind in kinds.items():
        if name not in frame.columns:
            continue
        dtype = _KIND_DTYPES.get(kind)
        if dtype == "datetime64[ns]":
            frame[name] = pd.to_datetime(frame[name], errors="coerce").astype(dtype)
        elif dtype in ("float64", "Int64"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
            if dtype == "Int64":
                frame[name] = frame[name].round().astype("Int64")
        elif dtype == "boolean":
            frame[name] = frame[name].astype("boolean")
        else:
            frame[name] = frame[name].astype("str")
    return frame


def _table(conn: Connection, model: Any, dataset_id: int, columns: list[str], *where: Any) -> pd.DataFrame | None:
    t = model.__table__
    rows = conn.execute(select(*(t.c[c] for c in columns), t.c.extra).where(t.c.dataset_id == dataset_id, *where)
                        .order_by(t.c.id)).all()
    if not rows:
        return None
    return expand_extra(pd.DataFrame([tuple(r) for r in rows], columns=[*columns, "extra"]))


def load_inputs_from_store(conn: Connection, dataset_id: int) -> Any:
    """Rebuild the ``gis.io.Inputs`` of a stored dataset (same columns and dtypes as read from files)."""
    from gis.io import PARCEL_COLUMNS, TABLE_COLUMNS, ZONE_COLUMNS, Inputs, SourceFile

    ds = conn.execute(select(m.Dataset.__table__).where(m.Dataset.id == dataset_id)).first()
    if ds is None:
        raise NotFound(f"数据集 {dataset_id} 不存在 (dataset not found)", details=[{"dataset": dataset_id}])
    p = m.Parcel.__table__
    cols = ["parcel_id", *m.PARCEL_COLUMNS]
    rows = conn.execute(select(*(p.c[c] for c in cols), p.c.extra,
                               func.ST_AsBinary(p.c.geom, type_=LargeBinary))
                        .where(p.c.dataset_id == dataset_id).order_by(p.c.id)).all()
    frame = pd.DataFrame([tuple(r)[:-1] for r in rows], columns=[*cols, "extra"])
    geoms = shapely.from_wkb(np.array([bytes(r[-1]) for r in rows], dtype=object))
    frame = _retype(expand_extra(frame), PARCEL_COLUMNS)
    missing = list(ds.missing_columns or [])
    parcels = gpd.GeoDataFrame(frame, geometry=geoms, crs=f"EPSG:{m.SRID}")
    parcels.attrs["missing_columns"] = missing

    def table(model: Any, kind: str, key: list[str]) -> pd.DataFrame | None:
        t = _table(conn, model, dataset_id, key)
        return None if t is None else _retype(t, TABLE_COLUMNS[kind])

    enterprises = table(m.Enterprise, "enterprises", ["enterprise_id", *m.ENTERPRISE_COLUMNS])
    occupancy = table(m.Occupancy, "occupancy", list(m.OCCUPANCY_COLUMNS))
    land_supply = table(m.LandSupply, "land_supply", list(m.LAND_SUPPLY_COLUMNS))
    zones = load_zones(conn, dataset_id, ZONE_COLUMNS)
    sources = {k: SourceFile(v.get("name") or k, v.get("sha256") or "", v.get("size") or 0)
               for k, v in (ds.sources or {}).items()}
    return Inputs(parcels=parcels, enterprises=enterprises, occupancy=occupancy, zones=zones,
                  land_supply=land_supply, sources=sources)


def enterprise_rows(conn: Connection, dataset_id: int, enterprise_ids: list[str]) -> pd.DataFrame | None:
    """The named firms of a stored dataset, as ``load_inputs_from_store`` types its enterprise table (rows in
    table order); read through the unique (dataset, enterprise_id) index, not the whole table. None when the
    dataset has none of them."""
    from gis.io import TABLE_COLUMNS

    t = m.Enterprise.__table__
    ids = sorted({str(i) for i in enterprise_ids})
    found = _table(conn, m.Enterprise, dataset_id, ["enterprise_id", *m.ENTERPRISE_COLUMNS],
                   t.c.enterprise_id.in_(ids)) if ids else None
    return None if found is None else _retype(found, TABLE_COLUMNS["enterprises"])


def load_zones(conn: Connection, dataset_id: int | None, zone_columns: dict[str, dict[str, str]] | None = None
               ) -> dict[str, gpd.GeoDataFrame]:
    """The zone layers stored with a dataset (default: the newest dataset that has zones)."""
    z = m.ZoneFeature.__table__
    if dataset_id is None:
        dataset_id = conn.scalar(select(func.max(z.c.dataset_id)))
        if dataset_id is None:
            return {}
    rows = conn.execute(select(z.c.layer, z.c.properties, func.ST_AsBinary(z.c.geom, type_=LargeBinary))
                        .where(z.c.dataset_id == dataset_id).order_by(z.c.id)).all()
    out: dict[str, gpd.GeoDataFrame] = {}
    layers = pd.Series([r[0] for r in rows], dtype=object)
    for layer in layers.unique():
        picked = [r for r in rows if r[0] == layer]
        props = pd.DataFrame([(json.loads(r[1]) if isinstance(r[1], str) else (r[1] or {})) for r in picked])
        if zone_columns and layer in zone_columns:
            props = _retype(props, zone_columns[layer])
        geoms = shapely.from_wkb(np.array([bytes(r[2]) for r in picked], dtype=object))
        out[str(layer)] = gpd.GeoDataFrame(props, geometry=geoms, crs=f"EPSG:{m.SRID}")
    return out


# --- runs ----------------------------------------------------------------------------------------------

def create_run(conn: Connection, dataset_id: int, ruleset_ref: str, as_of: dt.date,
               actor: str | None = None, *, owner: str | None = None, lease_s: float = 0.0) -> int:
    """Record a queued run of ``dataset_id`` against a rule set at ``as_of``; returns the run id.

    ``owner`` (a server process) claims the run for ``lease_s`` seconds; it renews the claim while it works.
    """
    if conn.scalar(select(m.Dataset.id).where(m.Dataset.id == dataset_id)) is None:
        raise NotFound(f"数据集 {dataset_id} 不存在 (dataset not found)", details=[{"field": "dataset",
                                                                                 "value": dataset_id}])
    pk, ruleset = resolve_ruleset(conn, ruleset_ref, actor=actor)
    run_id = conn.scalar(insert(m.EvaluationRun.__table__).returning(m.EvaluationRun.id), [{
        "dataset_id": dataset_id, "ruleset_pk": pk, "ruleset_sha256": ruleset.sha256, "as_of": as_of,
        "status": "queued", "progress": 0.0, "created_by": actor, "created_at": m._now(),
        "lease_owner": owner, "lease_expires_at": m._now() + dt.timedelta(seconds=lease_s) if owner else None}])
    audit(conn, actor, "create", "evaluation_run", run_id, {"dataset": dataset_id, "ruleset": ruleset.id,
                                                           "version": ruleset.version, "as_of": str(as_of)})
    return run_id


def _set(engine: Engine, run_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(m.EvaluationRun.__table__).where(m.EvaluationRun.id == run_id).values(**values))


def renew_leases(engine: Engine, owner: str, run_ids: list[int], lease_s: float) -> None:
    """Extend ``owner``'s claim on the runs it still has queued or running."""
    if not run_ids:
        return
    t = m.EvaluationRun.__table__
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.id.in_(run_ids), t.c.lease_owner == owner,
                                     t.c.status.in_(("queued", "running")))
                     .values(lease_expires_at=m._now() + dt.timedelta(seconds=lease_s)))


def fail_interrupted_runs(engine: Engine) -> list[int]:
    """Mark runs left ``queued``/``running`` by a stopped server as failed (call before serving).

    Evaluations run in a server process's thread pool, so a stopped server loses them; without this they would
    show "running" for ever. A run whose lease is still held belongs to another live server and is left alone;
    only runs whose lease expired (or that have none) are failed.
    """
    t = m.EvaluationRun.__table__
    with engine.begin() as conn:
        expired = (t.c.lease_expires_at.is_(None)) | (t.c.lease_expires_at < m._now())
        ids = [r for (r,) in conn.execute(select(t.c.id).where(t.c.status.in_(("queued", "running")), expired))]
        if ids:
            conn.execute(update(t).where(t.c.id.in_(ids)).values(
                status="failed", finished_at=m._now(),
                error={"code": "interrupted", "message": "服务重启时评估尚未完成，请重新运行 "
                       "(the server stopped before the run finished; run it again)", "details": []}))
            for run_id in ids:
                audit(conn, None, "fail", "evaluation_run", run_id, {"status": "failed", "reason": "interrupted"})
    return ids


def execute_run(engine: Engine, run_id: int) -> None:
    """Run a queued evaluation: load inputs from the store, evaluate, store verdicts; status → done/failed."""
    from rules.engine import evaluate

    with engine.connect() as conn:
        run = conn.execute(select(m.EvaluationRun.__table__).where(m.EvaluationRun.id == run_id)).one()
    _set(engine, run_id, status="running", started_at=m._now(), progress=0.02)
    try:
        with engine.connect() as conn:
            _, ruleset = resolve_ruleset(conn, run.ruleset_sha256)
            inputs = load_inputs_from_store(conn, run.dataset_id)
        _set(engine, run_id, progress=0.1)

        def progress(done: int, total: int, _rule: str) -> None:
            _set(engine, run_id, progress=round(0.1 + 0.7 * done / max(total, 1), 3))

        result = evaluate(inputs, ruleset, run.as_of, progress=progress)
        with engine.begin() as conn:
            store_result(conn, run_id, result, ruleset)
            conn.execute(update(m.EvaluationRun.__table__).where(m.EvaluationRun.id == run_id).values(
                status="done", progress=1.0, finished_at=m._now()))
            audit(conn, run.created_by, "finish", "evaluation_run", run_id, {"status": "done"})
            analyze(conn, "parcel_results", "verdicts")
    except Exception as exc:  # a failed run must say so, not stay "running"
        from api.errors import gis_error_details

        log.exception("evaluation run %s failed", run_id)
        details: list[Any] = []
        if hasattr(exc, "problems") and hasattr(exc, "ids"):
            details = gis_error_details(exc)
        elif hasattr(exc, "problems"):
            details = [{"path": p, "message": msg} for p, msg in exc.problems]
        _set(engine, run_id, status="failed", finished_at=m._now(),
             error={"code": type(exc).__name__, "message": str(exc)[:2000], "details": details})


def _finite(values: Any) -> np.ndarray:
    """Numbers as float64, anything not finite (NaN, inf, not a number) as NaN (stored as NULL)."""
    numbers = pd.to_numeric(pd.Series(values, copy=False), errors="coerce").to_numpy(dtype="float64",
                                                                                    na_value=np.nan)
    return np.where(np.isfinite(numbers), numbers, np.nan)


def store_result(conn: Connection, run_id: int, result: Any, ruleset: Any) -> None:
    """Bulk-write a result's parcel outcomes and verdicts and keep its summary, enterprises, aggregates.

    A verdict row holds ``rules.result.VERDICT_KEY_COLUMNS``; its threshold (JSON), message and citation are
    keys into ``verdict_texts``, where each distinct text of the run is stored once.
    """
    from rules.result import records, status_column

    parcels = result.parcels
    n = len(parcels)
    st_cols = {status_column(r.id): r.id for r in ruleset.rules if status_column(r.id) in parcels.columns}
    run = np.full(n, run_id, dtype=np.int64)
    with deferred_indexes(conn, m.ParcelResult.__table__, n):
        bulk_insert(conn, m.ParcelResult.__table__, {
            "run_id": run,
            "parcel_id": parcels["parcel_id"].astype(str),
            "status": parcels["status"].astype(str),
            "area_m2": _finite(parcels["area_m2"]),
            "area_mu": _finite(parcels["area_mu"]),
            "district": parcels["district"],
            "park_id": parcels["park_id"],
            "zone": parcels["zone"],
            "inside_ring": parcels["inside_ring"].astype("boolean"),
            "far": _finite(parcels["far"]),
            "rule_statuses": json_objects({rid: json_values(parcels[col]) for col, rid in st_cols.items()}, n),
        })
    v = result.verdicts
    if not v.empty:
        columns, texts = compact_verdicts(v)
        bulk_insert(conn, m.VerdictText.__table__, {
            "run_id": np.full(len(texts), run_id, dtype=np.int64),
            "key": np.arange(len(texts), dtype=np.int64),
            "text": pa.array(texts, pa.string()),
        })
        columns = {"run_id": np.full(len(v), run_id, dtype=np.int64), **columns}
        columns["value"] = _finite(columns["value"])
        for key in VERDICT_TEXT_KEYS.values():
            columns[key] = pa.array(columns[key], mask=columns[key] < 0, type=pa.int64())
        with deferred_indexes(conn, m.Verdict.__table__, len(v)):
            bulk_insert(conn, m.Verdict.__table__, columns)
    conn.execute(update(m.EvaluationRun.__table__).where(m.EvaluationRun.id == run_id).values(
        summary=_json_safe(result.summary),
        aggregates=_json_safe(records(result.aggregates)),
    ))
    # a firm per row: the JSON text built column-wise (a million firms' records as dicts cost a minute)
    json_text = "CAST(:firms AS JSON)" if conn.dialect.name == "postgresql" else ":firms"
    conn.execute(text(f"UPDATE evaluation_runs SET enterprises = {json_text} WHERE id = :id"),
                 {"firms": json_records(result.enterprises), "id": run_id})


def _json_safe(value: Any) -> Any:
    """Plain JSON values: NaN/inf → None (PostgreSQL's json refuses NaN), numpy → Python, dates → ISO."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def run_dict(row: Any) -> dict[str, Any]:
    """A run row as the API shows it."""
    d = dict(row._mapping)
    keys = ("id", "dataset_id", "ruleset_pk", "ruleset_sha256", "as_of", "status", "progress", "summary",
            "error", "created_by", "created_at", "started_at", "finished_at")
    return {k: d.get(k) for k in keys}


def get_run(conn: Connection, run_id: int) -> dict[str, Any]:
    """One run with its rule set reference, or NotFound."""
    r = m.EvaluationRun.__table__
    row = conn.execute(select(r, m.RuleSetRecord.ruleset_id, m.RuleSetRecord.version)
                       .join(m.RuleSetRecord.__table__, m.RuleSetRecord.id == r.c.ruleset_pk)
                       .where(r.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"评估 {run_id} 不存在 (evaluation run not found)", details=[{"run": run_id}])
    out = run_dict(row)
    out["ruleset"] = {"id": row.ruleset_id, "version": row.version, "sha256": row.ruleset_sha256}
    return out


def list_runs(conn: Connection, dataset_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Runs, newest first (optionally of one dataset)."""
    r = m.EvaluationRun.__table__
    q = select(r).order_by(r.c.id.desc()).limit(limit)
    if dataset_id is not None:
        q = q.where(r.c.dataset_id == dataset_id)
    return [run_dict(row) for row in conn.execute(q)]


def _texts(conn: Connection, run_id: int) -> dict[int, str]:
    t = m.VerdictText.__table__
    return dict(conn.execute(select(t.c.key, t.c.text).where(t.c.run_id == run_id)).all())


def verdict_table(conn: Connection, run_id: int, *, rule: str | None = None, level: str | None = None
                  ) -> pd.DataFrame:
    """A run's verdicts (of one rule and level if given) as the ``rules.result`` verdict table, in the order the
    engine made them: messages, citations and thresholds looked up from the run's ``verdict_texts``."""
    v = m.Verdict.__table__
    keys = list(VERDICT_TEXT_KEYS.values())
    where = [v.c.run_id == run_id] + ([v.c.rule == rule] if rule else []) + ([v.c.level == level] if level else [])
    rows = conn.execute(select(*(v.c[c] for c in (*VERDICT_KEY_COLUMNS, *keys))).where(*where)
                        .order_by(v.c.id)).all()
    names = [*VERDICT_KEY_COLUMNS, *keys]
    columns = zip(*rows, strict=True) if rows else ([] for _ in names)
    values = {c: np.array(list(col), dtype=object) for c, col in zip(names, columns, strict=True)}
    return expand_verdicts(values, _texts(conn, run_id))


def query_verdicts(conn: Connection, run_id: int, *, rule: list[str] | None = None,
                   status: list[str] | None = None, district: list[str] | None = None,
                   park_id: list[str] | None = None, level: str | None = None, subject: str | None = None,
                   limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Verdicts of a run filtered by rule, status, level, subject and the parcel's district/park."""
    v = m.Verdict.__table__
    pr = m.ParcelResult.__table__
    where = [v.c.run_id == run_id]
    if rule:
        where.append(v.c.rule.in_(rule))
    if status:
        where.append(v.c.status.in_(status))
    if level:
        where.append(v.c.level == level)
    if subject:
        where.append(v.c.subject_id == subject)
    src = v
    if district or park_id:
        src = v.join(pr, (pr.c.run_id == v.c.run_id) & (pr.c.parcel_id == v.c.subject_id)
                     & (v.c.level == "parcel"))
        if district:
            where.append(pr.c.district.in_(district))
        if park_id:
            where.append(pr.c.park_id.in_(park_id))
    total = conn.scalar(select(func.count()).select_from(src).where(*where)) or 0
    t = m.VerdictText.__table__
    joined, texts = src, []
    for name, key in VERDICT_TEXT_KEYS.items():
        alias = t.alias(f"text_{name}")
        joined = joined.outerjoin(alias, (alias.c.run_id == v.c.run_id) & (alias.c.key == v.c[key]))
        texts.append(alias.c.text.label(name))
    rows = conn.execute(select(*(v.c[c] for c in VERDICT_KEY_COLUMNS), *texts).select_from(joined)
                        .where(*where).order_by(v.c.id).limit(limit).offset(offset)).all()
    out = []
    for r in rows:
        d = dict(r._mapping)
        d["threshold"] = json.loads(d["threshold"]) if d["threshold"] else None
        out.append({c: d[c] for c in VERDICT_COLUMNS if c in d})
    return out, int(total)


def result_from_store(conn: Connection, run_id: int) -> Any:
    """Rebuild the ``EvaluationResult`` of a finished run (parcels with geometry, verdicts, tables, zones)."""
    from rules.result import AGGREGATE_COLUMNS, EvaluationResult, status_column

    run = get_run(conn, run_id)
    if run["status"] != "done":
        raise Conflict(f"评估 {run_id} 尚未完成（状态 {run['status']}）(run is not finished)",
                       details=[{"run": run_id, "status": run["status"]}], code="run_not_done")
    pr, p = m.ParcelResult.__table__, m.Parcel.__table__
    rows = conn.execute(
        select(pr.c.parcel_id, pr.c.area_m2, pr.c.area_mu, p.c.land_use, pr.c.district, pr.c.park_id,
               pr.c.zone, pr.c.inside_ring, pr.c.far, pr.c.status, pr.c.rule_statuses,
               func.ST_AsBinary(p.c.geom, type_=LargeBinary))
        .join(p, (p.c.parcel_id == pr.c.parcel_id) & (p.c.dataset_id == run["dataset_id"]))
        .where(pr.c.run_id == run_id).order_by(p.c.id)).all()
    cols = ["parcel_id", "area_m2", "area_mu", "land_use", "district", "park_id", "zone", "inside_ring",
            "far", "status", "rule_statuses"]
    frame = pd.DataFrame([tuple(r)[:-1] for r in rows], columns=cols)
    statuses = pd.DataFrame([(json.loads(s) if isinstance(s, str) else s) or {}
                             for s in frame.pop("rule_statuses")])
    _, ruleset = resolve_ruleset(conn, run["ruleset_sha256"])
    for rule in ruleset.rules:
        if rule.id in statuses.columns:
            frame[status_column(rule.id)] = statuses[rule.id].astype(object).to_numpy()
    frame["inside_ring"] = frame["inside_ring"].astype("boolean")
    for col in ("area_m2", "area_mu", "far"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    geoms = shapely.from_wkb(np.array([bytes(r[-1]) for r in rows], dtype=object))
    parcels = gpd.GeoDataFrame(frame, geometry=geoms, crs=f"EPSG:{m.SRID}")
    vframe = verdict_table(conn, run_id)
    raw = conn.execute(select(m.EvaluationRun.enterprises, m.EvaluationRun.aggregates)
                       .where(m.EvaluationRun.id == run_id)).one()
    enterprises = pd.DataFrame(raw.enterprises or [])
    aggregates = pd.DataFrame(raw.aggregates or [], columns=None if raw.aggregates else list(AGGREGATE_COLUMNS),
                              dtype=object)
    if "value" in aggregates.columns:
        aggregates["value"] = pd.to_numeric(aggregates["value"], errors="coerce").astype("float64")
    zones = load_zones(conn, run["dataset_id"])
    return EvaluationResult(parcels=parcels, verdicts=vframe, enterprises=enterprises, aggregates=aggregates,
                            ruleset=run["ruleset"], as_of=run["as_of"], zones=zones,
                            rule_titles={r.id: r.title for r in ruleset.rules}, rule_units=ruleset.units(),
                            occupants=_occupants(conn, run["dataset_id"]),
                            year=(run.get("summary") or {}).get("year"))


def occupancy_table(conn: Connection, dataset_id: int, parcel_id: str | None = None) -> pd.DataFrame:
    """A dataset's occupancy rows as stored (of one parcel if given): ``enterprise_id``, ``parcel_id``,
    ``floor_area_m2``, in file order."""
    o = m.Occupancy.__table__
    where = [o.c.dataset_id == int(dataset_id)] + ([o.c.parcel_id == parcel_id] if parcel_id is not None else [])
    rows = conn.execute(select(o.c.enterprise_id, o.c.parcel_id, o.c.floor_area_m2).where(*where)
                        .order_by(o.c.id)).all()
    return pd.DataFrame(rows, columns=["enterprise_id", "parcel_id", "floor_area_m2"])


def _occupants(conn: Connection, dataset_id: int) -> pd.DataFrame:
    """(parcel_id, enterprise_id) of a dataset as the engine sees them: the occupancy table's rows, and a
    parcel's own ``enterprise_id`` where the table names no occupant for it."""
    o, p = m.Occupancy.__table__, m.Parcel.__table__
    table = pd.DataFrame(conn.execute(select(o.c.parcel_id, o.c.enterprise_id)
                                      .where(o.c.dataset_id == dataset_id).order_by(o.c.id)).all(),
                         columns=["parcel_id", "enterprise_id"], dtype=object)
    own = pd.DataFrame(conn.execute(select(p.c.parcel_id, p.c.enterprise_id)
                                    .where(p.c.dataset_id == dataset_id, p.c.enterprise_id.is_not(None))
                                    .order_by(p.c.id)).all(),
                       columns=["parcel_id", "enterprise_id"], dtype=object)
    own = own[~own["parcel_id"].isin(table["parcel_id"])]
    return pd.concat([table, own], ignore_index=True).dropna()
