"""The result of an evaluation and its contract JSON form."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.crs import WORKING_CRS
from rules.vocabulary import STATUS_LABELS, STATUS_ORDER, STATUSES

__all__ = [
    "AGGREGATE_COLUMNS",
    "STATUSES",
    "STATUS_LABELS",
    "STATUS_ORDER",
    "VERDICT_COLUMNS",
    "VERDICT_KEY_COLUMNS",
    "VERDICT_TEXT_COLUMNS",
    "VERDICT_TEXT_KEYS",
    "compact_verdicts",
    "expand_verdicts",
    "EvaluationResult",
    "empty_verdicts",
    "records",
    "status_column",
    "verdict_frame",
]

# The long verdict table, defined once: column → pandas dtype ("category" columns hold their values in order of
# first appearance; ``status`` has the fixed STATUSES categories). The engine builds it, the store and the
# result files keep it, and ``verdict_frame`` rebuilds it from what they read back.
VERDICT_COLUMNS: dict[str, str] = {
    "level": "category",  # parcel / enterprise
    "subject_id": "object",
    "rule": "category",
    "status": "status",  # categorical over rules.vocabulary.STATUSES
    "value": "float64",
    "code": "object",  # str or None
    "threshold": "object",  # dict or None
    "message": "object",  # Chinese text
    "citation": "category",
}
# What identifies a verdict and is stored per row; the other columns are text that many rows share, stored once
# per distinct value (the store's verdict_texts, the GeoPackage's verdict_texts) and referred to by a key.
VERDICT_KEY_COLUMNS: tuple[str, ...] = ("level", "subject_id", "rule", "status", "code", "value")
VERDICT_TEXT_COLUMNS: tuple[str, ...] = ("threshold", "message", "citation")
VERDICT_TEXT_KEYS: dict[str, str] = {name: f"{name}_key" for name in VERDICT_TEXT_COLUMNS}
AGGREGATE_COLUMNS: tuple[str, ...] = (
    "rule", "scope", "key", "code", "status", "value", "threshold", "message", "citation",
)


def _categorical(values: Any, categories: list[str] | None = None) -> pd.Categorical:
    if isinstance(values, pd.Categorical) and (categories is None or list(values.categories) == categories):
        return values
    if categories is not None:
        return pd.Categorical(np.asarray(values, dtype=object), categories=categories)
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return pd.Categorical.from_codes(codes, categories=list(uniq))


def verdict_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """The verdict table from one array per column of :data:`VERDICT_COLUMNS`, with the table's dtypes."""
    out: dict[str, Any] = {}
    for name, kind in VERDICT_COLUMNS.items():
        values = columns[name]
        if kind == "category":
            out[name] = _categorical(values)
        elif kind == "status":
            out[name] = _categorical(values, list(STATUSES))
        elif kind == "float64":
            out[name] = np.asarray(values, dtype="float64")
        else:
            out[name] = pd.Series(np.asarray(values, dtype=object), dtype=object, copy=False)
    return pd.DataFrame(out, copy=False)


def compact_verdicts(verdicts: pd.DataFrame) -> tuple[dict[str, Any], list[str]]:
    """The verdict table as its key columns plus ``<text column>_key`` (int64, -1 = none) and the list of distinct
    texts the keys index: messages, citations and thresholds (as JSON, unknown bounds as null) of every row.

    Rows share their text objects (a rule's threshold dict, a rendered message): each distinct object is turned
    into text once, so a million parcels' 17M verdicts cost a few array passes. A threshold that is not a
    non-empty dict has no text.
    """
    texts: dict[str, int] = {}
    out: dict[str, Any] = {name: verdicts[name] for name in VERDICT_KEY_COLUMNS}
    for name, key in VERDICT_TEXT_KEYS.items():
        values = verdicts[name]
        as_json = name == "threshold"
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy()
            uniq = np.asarray(values.cat.categories, dtype=object)
        elif as_json:
            objs = values.to_numpy(dtype=object)
            codes, _ = pd.factorize(np.fromiter(map(id, objs), dtype=np.int64, count=len(objs)))
            first = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=np.intp)
            first[codes[::-1]] = np.arange(len(codes))[::-1]
            uniq = objs[first]
        else:
            codes, uniq = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
            uniq = np.asarray(uniq, dtype=object)
        mapped = np.full(len(uniq) + 1, -1, dtype=np.int64)
        for i, value in enumerate(uniq.tolist()):
            if as_json:
                text = json.dumps(_clean(value), ensure_ascii=False) if isinstance(value, dict) and value else None
            else:
                text = None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
            if text is not None:
                mapped[i] = texts.setdefault(text, len(texts))
        out[key] = mapped[np.where(codes < 0, len(uniq), codes)]
    return out, list(texts)


def expand_verdicts(columns: dict[str, Any], texts: dict[int, str] | list[str]) -> pd.DataFrame:
    """The verdict table from :func:`compact_verdicts`' columns (keys as ints, -1/None/NaN = none) and texts."""
    lookup_of = dict(enumerate(texts)) if isinstance(texts, list) else texts
    out: dict[str, Any] = {name: columns[name] for name in VERDICT_KEY_COLUMNS}
    out["value"] = pd.to_numeric(pd.Series(columns["value"], dtype=object), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan)
    for name, key in VERDICT_TEXT_KEYS.items():
        codes = pd.to_numeric(pd.Series(columns[key], dtype=object), errors="coerce").fillna(-1).to_numpy(
            dtype=np.int64)
        size = max(lookup_of, default=-1) + 2
        lookup = np.full(size, None, dtype=object)
        for k in pd.unique(codes[codes >= 0]).tolist():  # this column's keys only: the kinds share one list
            lookup[k] = json.loads(lookup_of[k]) if name == "threshold" else lookup_of[k]
        out[name] = lookup[np.where(codes < 0, size - 1, codes)]
    return verdict_frame(out)


def empty_verdicts() -> pd.DataFrame:
    """A verdict table with no rows and the table's columns and dtypes."""
    return verdict_frame({name: [] for name in VERDICT_COLUMNS})


def status_column(rule_id: str) -> str:
    """Column holding a rule's status in the parcel table: ``far.bounds`` → ``st_far_bounds``."""
    return "st_" + rule_id.replace(".", "_")


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN → None, numpy → Python."""
    if value is None:
        return None
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-safe records."""
    if frame is None or frame.empty:
        return []
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


@dataclass
class EvaluationResult:
    """Parcels with overall and per-rule status, the long verdict table, enterprises and aggregates."""

    parcels: gpd.GeoDataFrame
    verdicts: pd.DataFrame
    enterprises: pd.DataFrame
    aggregates: pd.DataFrame
    ruleset: dict[str, str]
    as_of: date
    zones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    load_warnings: list[Any] = field(default_factory=list)
    crs: str = WORKING_CRS
    rule_titles: dict[str, str] = field(default_factory=dict)  # rule id → Chinese title, for reports
    # (parcel_id, enterprise_id) per occupant, for reports naming the firms on a parcel
    occupants: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["parcel_id", "enterprise_id"]))
    rule_units: dict[str, str] = field(default_factory=dict)  # rule id → unit of its value (rules.vocabulary)
    year: int | None = None  # the statistics year (统计年度) of the enterprise figures judged
    summary: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.summary = self._summarise()

    def _summarise(self) -> dict[str, Any]:
        by_status = {s: 0 for s in STATUS_ORDER}
        by_status.update({str(k): int(v) for k, v in self.parcels["status"].value_counts().items()})
        by_rule: dict[str, dict[str, int]] = {}
        if not self.verdicts.empty:
            counts = self.verdicts.groupby(["rule", "status"], observed=True).size()
            for (rule, status), n in counts.items():
                by_rule.setdefault(str(rule), {})[str(status)] = int(n)
        if not self.aggregates.empty:
            counts = self.aggregates.groupby(["rule", "status"]).size()
            for (rule, status), n in counts.items():
                by_rule.setdefault(str(rule), {})[str(status)] = int(n)
        summary: dict[str, Any] = {
            "parcels": int(len(self.parcels)),
            "area_mu": _clean(float(self.parcels["area_mu"].sum())),
            "by_status": by_status,
            "by_rule": by_rule,
            "enterprises": int(len(self.enterprises)),
        }
        if not self.enterprises.empty and "grade" in self.enterprises:
            summary["grades"] = {
                str(k): int(v) for k, v in self.enterprises["grade"].value_counts().sort_index().items()
            }
        city = {}
        if not self.aggregates.empty:
            rows = self.aggregates[self.aggregates["scope"] == "city"]
            for row in rows.to_dict("records"):
                name = row["rule"] + (f".{row['code']}" if row.get("code") else "")
                city[name] = {
                    "value": _clean(row["value"]),
                    "threshold": _clean(row["threshold"]),
                    "status": row["status"],
                }
        summary["city"] = city
        if self.year is not None:
            summary["year"] = int(self.year)
        return summary

    def verdicts_for(self, level: str = "parcel") -> pd.DataFrame:
        """The verdict rows of one level."""
        return self.verdicts[self.verdicts["level"] == level]

    def parcel_verdict_lists(self) -> dict[str, list[dict[str, Any]]]:
        """Verdicts grouped per parcel id, as JSON-safe dicts (for exports, not the hot path)."""
        return _grouped(self.verdicts_for("parcel"))

    def enterprise_verdict_lists(self) -> dict[str, list[dict[str, Any]]]:
        """Verdicts grouped per enterprise id."""
        return _grouped(self.verdicts_for("enterprise"))

    def to_dict(self) -> dict[str, Any]:
        """The data contract's JSON output."""
        pv = self.parcel_verdict_lists()
        cols = ["parcel_id", "area_m2", "area_mu", "district", "park_id", "zone", "inside_ring", "far", "status"]
        parcels = records(pd.DataFrame(self.parcels[cols]))
        for p in parcels:
            p["verdicts"] = pv.get(p["parcel_id"], [])
        ev = self.enterprise_verdict_lists()
        enterprises = records(self.enterprises)
        for e in enterprises:
            e["verdicts"] = ev.get(e["enterprise_id"], [])
        return {
            "ruleset": self.ruleset,
            "as_of": self.as_of.isoformat(),
            "year": self.year,
            "crs": self.crs,
            "parcels": parcels,
            "enterprises": enterprises,
            "aggregates": records(self.aggregates),
            "summary": self.summary,
        }


_VERDICT_FIELDS = [c for c in VERDICT_COLUMNS if c not in ("level", "subject_id")]


def _grouped(verdicts: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    if verdicts.empty:
        return {}
    frame = verdicts[["subject_id", *_VERDICT_FIELDS]].copy()
    for col in ("rule", "status", "citation"):
        frame[col] = frame[col].astype(object)
    frame["_order"] = np.arange(len(frame))
    frame = frame.sort_values(["subject_id", "_order"], kind="stable")
    ids = frame["subject_id"].to_numpy(dtype=object)
    rows = records(frame[_VERDICT_FIELDS])
    bounds = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True])
    return {ids[a]: rows[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)}
