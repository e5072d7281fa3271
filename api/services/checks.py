"""What checking one proposed parcel reads from the store, read once per server instead of once per request.

``POST /check`` and the web check page evaluate one parcel against a rule set, a dataset's zone layers and
(to grade a firm) the dataset's grading benchmarks (``api.grading.distribution``, once per run); a parcel's
stored firm is read by its id alone. None of these change once stored — datasets and rule set versions are
immutable, rows are only ever added — so each is read and parsed once and kept with the store's engine
(:func:`api.store.engine.memo`); a request then costs the evaluation of its one parcel, not a YAML parse and
the zone layers' reading (at 50 concurrent checks that repeated work was most of the 11 s p95).

The frames handed out are copies, so a caller may add columns without touching what other requests share.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, func, select

from api.store import evaluations as ev
from api.store import models as m
from api.store.engine import memo
from api.store.errors import NotFound

KEEP_DATASETS = 4  # zone layers and firm tables kept for this many datasets (least recently used dropped)
_lock = threading.Lock()


def _kept(engine: Engine, kind: str, key: Any, compute: Callable[[], Any], keep: int = KEEP_DATASETS) -> Any:
    """``compute()`` once per (engine, kind, key), the ``keep`` most recently used kept."""
    cache = memo(engine)
    with _lock:
        store = cache.setdefault(("checks", kind), OrderedDict())
        if key in store:
            store.move_to_end(key)
            return store[key]
    value = compute()  # outside the lock: two first requests may both compute, one result is kept
    with _lock:
        store[key] = value
        store.move_to_end(key)
        while len(store) > keep:
            store.popitem(last=False)
    return value


def ruleset(engine: Engine, ref: str) -> Any:
    """The rule set ``ref`` names (id, ``id@version`` or sha256), as :func:`api.store.evaluations.resolve_ruleset`
    resolves it; parsed again only after a rule set version has been stored since (the table only grows).

    Raises the store's ``NotFound`` for an unknown rule set.
    """
    with engine.connect() as conn:
        stamp = conn.scalar(select(func.max(m.RuleSetRecord.id)))
    cache = memo(engine)
    key = ("checks", "ruleset", ref)
    hit = cache.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    with engine.connect() as conn:  # not committed: a check stores nothing (a built-in is stored by its first run)
        parsed = ev.resolve_ruleset(conn, ref)[1]
    with _lock:
        if len(cache) < 10_000:  # refs are caller's text: only resolvable ones get here, but stay bounded
            cache[key] = (stamp, parsed)
    return parsed


def zones(engine: Engine, dataset_id: int) -> dict[str, gpd.GeoDataFrame]:
    """The zone layers stored with ``dataset_id`` (:func:`api.store.evaluations.load_zones`, attribute columns
    typed as the contract's ``gis.io.ZONE_COLUMNS``: both check paths the same), copies of the kept ones.

    Raises the store's ``NotFound`` when there is no such dataset.
    """
    from gis.io import ZONE_COLUMNS

    def read() -> dict[str, gpd.GeoDataFrame]:
        with engine.connect() as conn:
            if conn.scalar(select(m.Dataset.id).where(m.Dataset.id == int(dataset_id))) is None:
                raise NotFound(f"数据集 {dataset_id} 不存在 (dataset not found)",
                               details=[{"dataset": dataset_id}])
            return ev.load_zones(conn, dataset_id, ZONE_COLUMNS)

    return {layer: gdf.copy() for layer, gdf in _kept(engine, "zones", int(dataset_id), read).items()}


# --- the use case: check proposed parcels ------------------------------------------------------------------
MAX_PARCELS = 50  # a check is for a few proposed parcels; batches go through import and evaluation


@dataclass
class CheckOutcome:
    """A check's evaluation, the rule set and zones dataset it used, the firm rows and their grading."""

    result: Any
    ruleset: Any
    dataset: int | None
    enterprises: pd.DataFrame | None
    grading: list[dict[str, Any]]
    report: Any


def check(
    engine: Engine,
    parcels: gpd.GeoDataFrame,
    *,
    as_of: dt.date,
    ruleset_ref: str = "chengdu-2023",
    dataset: int | None = None,
    crs: str | None = None,
    enterprise: dict[str, Any] | None = None,
    source: str = "提交的宗地",
) -> CheckOutcome:
    """Evaluate proposed parcels (features as a GeoDataFrame, any CRS) against a dataset's zones — no files.

    ``dataset`` names the zones (and firms) to check against; without it the newest dataset with zones is used
    (none: no zones). ``enterprise`` (the contract's enterprise columns) is a firm proposed for the parcels: it
    is graded (亩产论英雄) against the dataset's firms; otherwise a parcel's stored ``enterprise_id`` brings that
    firm's row from the dataset. Raises ``gis`` errors for bad features, the store's ``NotFound`` for an
    unknown rule set or dataset, ``ImportRejected`` for too many parcels.
    """
    from api.grading import grade_firms
    from api.store.errors import ImportRejected
    from api.store.features import resolve_dataset
    from gis.io import Inputs, normalise_parcels
    from rules.engine import evaluate

    parcel, report = normalise_parcels(parcels, source=source, crs=crs)
    if len(parcel) > MAX_PARCELS:
        raise ImportRejected(
            f"即时核查最多 {MAX_PARCELS} 个宗地，提交了 {len(parcel)} 个；批量请用“导入数据”和“运行评估” "
            f"(at most {MAX_PARCELS} parcels in a check)", details=[{"parcels": len(parcel)}], code="too_many_parcels")
    rules = ruleset(engine, ruleset_ref)
    with engine.connect() as conn:
        try:
            zone_ds: int | None = resolve_dataset(conn, dataset, with_zones=dataset is None)
        except NotFound:
            if dataset is not None:
                raise  # a dataset that does not exist is the caller's mistake, not "no zones"
            zone_ds = None
    firm_rows: pd.DataFrame | None = None
    if enterprise is not None:
        firm = {k: v for k, v in enterprise.items() if v is not None}
        firm.setdefault("enterprise_id", "proposed-firm")
        parcel["enterprise_id"] = str(firm["enterprise_id"])
        firm_rows = pd.DataFrame([firm])
    elif zone_ds is not None and parcel["enterprise_id"].notna().any():
        # the parcels' own firms only, by id through the store's unique index (never the dataset's whole table)
        with engine.connect() as conn:
            stored = ev.enterprise_rows(conn, zone_ds, parcel["enterprise_id"].dropna().astype(str).tolist())
        if stored is not None:
            firm_rows = stored.reset_index(drop=True)
    inputs = Inputs(parcels=parcel, zones=zones(engine, zone_ds) if zone_ds is not None else {},
                    enterprises=firm_rows, report=report)
    result = evaluate(inputs, rules, as_of)
    grading = grade_firms(engine, zone_ds, rules, result, firm_rows, as_of)
    return CheckOutcome(result, rules, zone_ds, firm_rows, grading, report)
