"""Compact, vectorised encoding of parcels, verdicts and zones for the browser map (private).

The map page receives one JSON payload: geometries as one delta-encoded integer stream with ring/part counts,
each parcel's status per layer (overall, and one layer per rule) as one character per parcel, and the verdicts
as a CSR table whose strings (messages, citations, values and thresholds in words) are de-duplicated. No
per-parcel Python loops.

Nothing here knows a rule id: names, colours and units come from the legend the caller builds from its rule
set (``RuleSet.legend()``, see :func:`read_legend`); data codes are named by :mod:`gis.vocabulary`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import M2_PER_MU, WORKING_CRS
from gis.vocabulary import display_value

# A popup lists a parcel's verdicts in groups: what is wrong first, the data notes (数据提示) after them, and
# everything else (合规, 不适用, notes with nothing to say) collapsed behind "其余 N 条".
GROUP_FAIL, GROUP_WARN, GROUP_MISSING, GROUP_EXEMPT, GROUP_NOTE, GROUP_REST = range(6)
_GROUP_OF_STATUS = {"fail": GROUP_FAIL, "warn": GROUP_WARN, "missing_data": GROUP_MISSING, "exempt": GROUP_EXEMPT}
NO_VERDICT_TITLE = "未列入图例的规则"

_MU_PER_M2 = 1.0 / M2_PER_MU


@dataclass(frozen=True)
class Legend:
    """The names and colours a map draws with (from ``RuleSet.legend()``)."""

    statuses: tuple[str, ...]  # display order, most severe first: also the rank order of the overall status
    labels: dict[str, str]
    colors: dict[str, str]
    rules: tuple[dict[str, Any], ...]  # {"id", "title", "note", "unit"} in the rule set's order
    codes: dict[str, str]
    note_label: str

    def rule(self, rule_id: str) -> dict[str, Any] | None:
        """The legend entry of a rule id, ``None`` when the legend does not list it."""
        return self._by_id.get(rule_id)

    @property
    def _by_id(self) -> dict[str, dict[str, Any]]:
        cached = self.__dict__.get("_by_id_cache")
        if cached is None:
            cached = {r["id"]: r for r in self.rules}
            object.__setattr__(self, "_by_id_cache", cached)
        return cached

    def to_payload(self) -> dict[str, Any]:
        """The part of the legend the page needs."""
        return {
            "statuses": list(self.statuses),
            "labels": self.labels,
            "colors": self.colors,
            "noteLabel": self.note_label,
        }


def read_legend(legend: Mapping[str, Any] | Legend | None) -> Legend:
    """Check and normalise the legend dict of ``RuleSet.legend()``; clear errors for a wrong one."""
    if isinstance(legend, Legend):
        return legend
    hint = "用 RuleSet.legend() 生成 / build it with load_ruleset(result.ruleset['id']).legend()"
    if not isinstance(legend, Mapping):
        raise TypeError(f"地图需要图例 legend= / the map needs legend= (a dict): {hint}")
    statuses = legend.get("statuses")
    if not isinstance(statuses, list) or not statuses:
        raise ValueError(f"图例缺少 statuses / legend has no statuses: {hint}")
    try:
        ids = tuple(str(s["id"]) for s in statuses)
        labels = {str(s["id"]): str(s["label"]) for s in statuses}
        colors = {str(s["id"]): str(s["color"]) for s in statuses}
    except (KeyError, TypeError) as exc:
        raise ValueError(
            f"图例的每个状态需要 id、label、color / each legend status needs id, label, color: {exc}"
        ) from exc
    rules = []
    for r in legend.get("rules") or []:
        if not isinstance(r, Mapping) or "id" not in r:
            raise ValueError(f"图例的 rules 每项需要 id、title / each legend rule needs id and title: {r!r}")
        rules.append(
            {
                "id": str(r["id"]),
                "title": str(r.get("title") or NO_VERDICT_TITLE),
                "note": bool(r.get("note", False)),
                "unit": str(r.get("unit") or ""),
            }
        )
    codes = {str(k): str(v) for k, v in (legend.get("codes") or {}).items()}
    return Legend(ids, labels, colors, tuple(rules), codes, str(legend.get("note_label") or "数据提示"))


def status_column(rule_id: str) -> str:
    """The result file's per-rule status column (data contract): ``far.bounds`` → ``st_far_bounds``."""
    return "st_" + rule_id.replace(".", "_")


def _parcel_level(verdicts: pd.DataFrame) -> pd.DataFrame:
    if "level" in verdicts.columns:
        return verdicts[verdicts["level"].astype("str") == "parcel"]
    return verdicts


def _positions(ids: pd.Series, subject: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Row of each verdict's parcel in ``ids`` and the mask of verdicts whose parcel is there."""
    pos = pd.Series(np.arange(len(ids)), index=ids.astype("str").to_numpy())
    pos = pos[~pos.index.duplicated()]
    row_pos = pos.reindex(subject.astype("str").to_numpy()).to_numpy()
    ok = ~np.isnan(row_pos)
    return row_pos[ok].astype(np.int64), ok


def status_codes(status: pd.Series, legend: Legend) -> np.ndarray:
    """Statuses as indices into ``legend.statuses``, -1 for none or unknown."""
    return map_small(status, {s: i for i, s in enumerate(legend.statuses)}, -1).astype(np.int64)


def rule_codes(parcels: pd.DataFrame, verdicts: pd.DataFrame | None, legend: Legend) -> dict[str, np.ndarray]:
    """Each legend rule's status per parcel (index into ``legend.statuses``; -1 = no verdict of that rule).

    The result's ``st_<rule>`` column when present, else the rule's parcel verdicts (the most severe when a
    parcel has several). Rules no parcel has a verdict of are left out.
    """
    n = len(parcels)
    none = len(legend.statuses)
    from_verdicts: dict[str, np.ndarray] = {}
    if verdicts is not None and len(verdicts):
        v = _parcel_level(verdicts)
        row_pos, ok = _positions(parcels["parcel_id"], v["subject_id"])
        rule = v["rule"].astype("str").to_numpy()[ok]
        code = status_codes(v["status"].astype("str"), legend)[ok]
        keep = code >= 0
        rule, code, row_pos = rule[keep], code[keep], row_pos[keep]
        rule_idx, names = pd.factorize(rule)
        for k, name in enumerate(names):
            hit = rule_idx == k
            arr = np.full(n, none, dtype=np.int64)
            np.minimum.at(arr, row_pos[hit], code[hit])  # the most severe (display order) wins
            from_verdicts[str(name)] = np.where(arr == none, -1, arr)
    out: dict[str, np.ndarray] = {}
    for r in legend.rules:
        rid = r["id"]
        col = status_column(rid)
        codes = from_verdicts.get(rid)
        if col in parcels.columns:
            given = status_codes(parcels[col].astype("str"), legend)
            codes = given if codes is None else np.where(given >= 0, given, codes)
        if codes is not None and (codes >= 0).any():
            out[rid] = codes
    return out


def overall_codes(parcels: pd.DataFrame, by_rule: Mapping[str, np.ndarray], legend: Legend) -> np.ndarray:
    """Overall status per parcel: the parcel's own ``status`` (contract v2) wherever it has one.

    Only where it has none: the most severe status among its non-note rules (the legend's status order is the
    contract's rank order), and not_applicable when no rule speaks of it — never pass by default.
    """
    n = len(parcels)
    none = len(legend.statuses)
    computed = np.full(n, none, dtype=np.int64)
    for rid, codes in by_rule.items():
        entry = legend.rule(rid)
        if entry is not None and entry["note"]:
            continue
        np.minimum(computed, np.where(codes < 0, none, codes), out=computed)
    fallback = legend.statuses.index("not_applicable") if "not_applicable" in legend.statuses else -1
    computed = np.where(computed == none, fallback, computed)
    if "status" in parcels.columns:
        given = status_codes(parcels["status"].astype("str"), legend)
        return np.where(given >= 0, given, computed)
    return computed


# Small codes travel as one character each (far smaller than JSON integers at 100 000 parcels): the printable
# ASCII characters from "0" on, less "<" (escaped in the page), ">" and "\\" (escaped in JSON); "/" is -1.
ALPHABET = "".join(chr(c) for c in range(48, 127) if chr(c) not in "<>\\")
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)


def pack(codes: np.ndarray) -> str | list[int]:
    """Codes −1…75 as a string of one :data:`ALPHABET` character each; a list of ints if any is larger."""
    arr = np.asarray(codes, dtype=np.int64)
    if len(arr) and arr.max() >= len(ALPHABET):
        return arr.tolist()
    chars = np.where(arr < 0, ord("/"), _ALPHABET_BYTES[np.clip(arr, 0, None)]).astype(np.uint8)
    return chars.tobytes().decode("ascii")


code_string = pack


def factor(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes into a table of the distinct texts (missing → ""), without converting the column to objects."""
    codes, uniques = pd.factorize(values)
    table = [str(u) for u in uniques]
    if (codes < 0).any():
        if "" not in table:
            table.append("")
        codes = np.where(codes < 0, table.index(""), codes)
    return codes.astype(np.int64), table


def map_small(values: pd.Series, mapping: Mapping[Any, Any], default: Any) -> np.ndarray:
    """``values.map(mapping)`` through the distinct values (fast on Arrow strings: no per-row Python)."""
    codes, uniques = pd.factorize(values)
    table = np.array([mapping.get(str(u), default) for u in uniques] + [default])
    return table[np.where(codes < 0, len(uniques), codes)]


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 → GCJ-02 (火星坐标) offset used by 高德/腾讯 basemaps; vectorised, display only."""
    a = 6378245.0
    ee = 0.00669342162296594323
    x = lon - 105.0
    y = lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * math.pi) + 320 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    radlat = lat / 180.0 * math.pi
    magic = 1 - ee * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (a / sqrtmagic * np.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def to_display(geoms: gpd.GeoSeries, *, gcj02: bool = False) -> np.ndarray:
    """Geometries in EPSG:4326 (optionally shifted to GCJ-02) as a shapely array."""
    if geoms.crs is None:
        raise ValueError("地图图层没有坐标系 / map layer has no CRS: reproject it to EPSG:4544 first")
    arr = np.asarray(geoms.to_crs(4326).to_numpy())
    if gcj02:
        arr = shapely.transform(arr, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    return arr


def encode_polygons(geoms: np.ndarray, precision: int = 6) -> dict[str, Any]:
    """Encode (multi)polygons as a delta-encoded int stream (x, y interleaved) with ring/part counts.

    ``pp[f]`` parts in feature f, ``pr[p]`` rings in part p, ``rl[r]`` points in ring r (closing point
    dropped); ``c`` the running differences of round(coord × 10^precision).
    """
    geoms = np.asarray(geoms, dtype=object)
    empty = shapely.is_empty(geoms) | shapely.is_missing(geoms)
    geoms = np.where(empty, shapely.Polygon(), geoms)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    parts = np.asarray(parts)
    keep = shapely.get_type_id(parts) == 3  # polygons only (drop stray points/lines of collections)
    parts, part_of = parts[keep], part_of[keep]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    n_pts = np.bincount(coord_of, minlength=len(rings))
    # drop each ring's closing point: it is the last coordinate of the ring
    last = np.cumsum(n_pts) - 1
    mask = np.ones(len(coords), dtype=bool)
    mask[last[n_pts > 0]] = False
    coords = coords[mask]
    scale = 10**precision
    ints = np.rint(coords * scale).astype(np.int64)
    flat = ints.reshape(-1)
    deltas = np.diff(flat.reshape(-1, 2), axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).reshape(-1)
    return {
        "scale": scale,
        "pp": np.bincount(part_of, minlength=len(geoms)).tolist(),
        "pr": np.bincount(ring_of, minlength=len(parts)).tolist(),
        "rl": (n_pts - 1).clip(min=0).tolist(),
        "c": deltas.tolist(),
    }


def encode_lines(geoms: np.ndarray, precision: int = 6) -> dict[str, Any]:
    """Encode (multi)linestrings like ``encode_polygons`` (each line one part with one 'ring')."""
    geoms = np.asarray(geoms, dtype=object)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    parts = np.asarray(parts)
    keep = np.isin(shapely.get_type_id(parts), (1, 2))
    parts, part_of = parts[keep], part_of[keep]
    coords, coord_of = shapely.get_coordinates(parts, return_index=True)
    scale = 10**precision
    ints = np.rint(coords * scale).astype(np.int64)
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).reshape(-1)
    return {
        "scale": scale,
        "pp": np.bincount(part_of, minlength=len(geoms)).tolist(),
        "pr": [1] * len(parts),
        "rl": np.bincount(coord_of, minlength=len(parts)).tolist(),
        "c": deltas.tolist(),
    }


# --------------------------------------------------------------------------------------------------
# verdicts and texts


def map_distinct(values: pd.Series, fn: Callable[[Any], str]) -> pd.Series:
    """``fn`` over a column, called once per distinct value (unhashable ones such as dicts by their JSON text)."""
    if values.empty:
        return pd.Series([], index=values.index, dtype=object)
    try:
        codes, uniques = pd.factorize(values)  # strings, numbers: hashed without a Python call per row
        texts = np.array([fn(u) for u in uniques] + [fn(None)], dtype=object)
        return pd.Series(texts[np.where(codes < 0, len(uniques), codes)], index=values.index, dtype=object)
    except TypeError:  # dicts: first by identity (engine results share them), then by content
        pass
    arr = values.to_numpy(dtype=object)
    ident = np.fromiter((id(x) for x in arr), dtype=np.int64, count=len(arr))
    first_codes, _ = pd.factorize(ident)
    _, first_rows = np.unique(first_codes, return_index=True)  # factorize codes run 0..k-1
    objs = arr[first_rows]
    key_codes, _ = pd.factorize(pd.Series([_key(o) for o in objs], dtype=object))  # one per distinct object
    _, rep = np.unique(key_codes, return_index=True)
    texts = np.array([fn(objs[i]) for i in rep], dtype=object)
    return pd.Series(texts[key_codes[first_codes]], index=values.index, dtype=object)


def _key(value: Any) -> str:
    if isinstance(value, str):
        return "s" + value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n"
    if isinstance(value, (dict, list, tuple)):
        return "j" + json.dumps(value, ensure_ascii=False, default=str)
    return "r" + repr(value)


def _json_or_self(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _plain_threshold(value: Any) -> str:
    """Fallback wording of a threshold when the caller gave no ``threshold_text`` (data words only)."""
    value = _json_or_self(value)
    if isinstance(value, str) and value.strip() in ("", "null", "None", "nan"):
        return ""
    if isinstance(value, Mapping) and not set(value) <= {"min", "max"}:
        return ""  # a rule's own parameters: only the rule set can word them (threshold_text)
    return display_value(value)


def _plain_value(value: Any, unit: str) -> str:
    """Fallback wording of a value when the caller gave no ``value_text``: the number and its unit."""
    text = display_value(value)
    if not text or not unit:
        return text
    if unit == "share":
        return f"{float(value):.1%}"
    return f"{text} {unit}"


def _code_words(code: Any, codes: Mapping[str, str]) -> str:
    if code is None or (isinstance(code, float) and math.isnan(code)) or code == "":
        return ""
    text = str(code)
    if text in codes:
        return codes[text]
    return "、".join(filter(None, (codes.get(part, "") for part in text.split("+"))))  # never a bare code


def _text_column(v: pd.DataFrame, name: str) -> pd.Series | None:
    return v[name] if name in v.columns else None  # missing values read as "" (see factor)


def verdict_texts(v: pd.DataFrame, legend: Legend) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Value, threshold and code of each verdict in words: the caller's ``value_text`` / ``threshold_text`` /
    ``code_text`` columns when given (the rule set's own wording), else a plain fallback per distinct value."""
    index = v.index
    empty = pd.Series("", index=index, dtype=object)
    value = _text_column(v, "value_text")
    if value is None and "value" in v.columns:
        unit_of = {r["id"]: r["unit"] for r in legend.rules}
        rule_idx, rules = pd.factorize(v["rule"])
        units = np.array([unit_of.get(str(r), "") for r in rules] + [""], dtype=object)[rule_idx]
        nums = pd.to_numeric(v["value"], errors="coerce").to_numpy(dtype=float)
        keys = pd.DataFrame({"u": rule_idx, "v": nums}).groupby(["u", "v"], dropna=False, sort=False).ngroup()
        codes = keys.to_numpy()
        _, first = np.unique(codes, return_index=True)
        texts = np.array([_plain_value(nums[i], units[i]) for i in first], dtype=object)
        value = pd.Series(texts[codes], index=index, dtype=object)
    threshold = _text_column(v, "threshold_text")
    if threshold is None and "threshold" in v.columns:
        threshold = map_distinct(v["threshold"], _plain_threshold)
    code = _text_column(v, "code_text")
    if code is None and "code" in v.columns:
        code = map_distinct(v["code"], lambda c: _code_words(c, legend.codes))
    return (
        value if value is not None else empty,
        threshold if threshold is not None else empty,
        code if code is not None else empty,
    )


def encode_verdicts(ids: pd.Series, verdicts: pd.DataFrame | None, legend: Legend) -> dict[str, Any]:
    """A parcel's verdicts in popup order as a CSR table with one de-duplicated string table per field.

    ``n[i]`` verdicts per parcel, in order: fails, warns, missing data, exempt (the rules that set its colour),
    then the data notes that say something, then the rest (合规, 不适用, silent notes), each group in the rule
    set's order; ``visible`` lists the statuses shown before the rest. ``r``, ``s`` index ``rules``/``titles``
    and the legend statuses; ``x``, ``t``, ``k``, ``m``, ``c`` index ``X``, ``T``, ``K``, ``M``, ``C`` (value,
    threshold, code, message, citation, all in words). Index arrays are :func:`pack`-ed.
    """
    n = len(ids)
    visible = [i for i, s in enumerate(legend.statuses) if s in _GROUP_OF_STATUS]
    out: dict[str, Any] = {"visible": visible, "rules": [], "titles": [], "notes": []}
    fields = {"x": "X", "t": "T", "k": "K", "m": "M", "c": "C"}
    if verdicts is None or verdicts.empty:
        return {
            **out,
            "n": pack(np.zeros(n, dtype=np.int64)),
            "r": "",
            "s": "",
            **{f: "" for f in fields},
            **{t: [] for t in fields.values()},
        }
    v = _parcel_level(verdicts)
    row_pos, ok = _positions(ids, v["subject_id"])
    v = v.iloc[np.flatnonzero(ok)] if not ok.all() else v
    rule_codes_, rules = pd.factorize(v["rule"])
    entries = [legend.rule(str(r)) for r in rules]
    rule_order = np.array([legend.rules.index(e) if e else len(legend.rules) for e in entries] + [0], dtype=np.int64)
    is_note = np.array([bool(e and e["note"]) for e in entries] + [False], dtype=bool)
    s = status_codes(v["status"], legend)
    group_of_code = np.full(len(legend.statuses) + 1, GROUP_REST, dtype=np.int64)
    for i, st in enumerate(legend.statuses):
        group_of_code[i] = _GROUP_OF_STATUS.get(st, GROUP_REST)
    g = group_of_code[s]  # s = -1 picks the last entry: the rest
    g = np.where(is_note[rule_codes_], np.where(g < GROUP_REST, GROUP_NOTE, GROUP_REST), g)
    order = np.lexsort((rule_order[rule_codes_], s, g, row_pos))
    value, threshold, code = verdict_texts(v, legend)

    def column(name: str) -> pd.Series:
        return v[name] if name in v.columns else pd.Series("", index=v.index, dtype=object)

    texts = {"x": value, "t": threshold, "k": code, "m": column("message"), "c": column("citation")}
    for key, series in texts.items():
        codes, table = factor(series)
        out[key] = pack(codes[order])
        out[fields[key]] = table
    counts = np.bincount(row_pos, minlength=n)
    return {
        **out,
        "n": pack(counts),
        "rules": [str(r) for r in rules],
        "titles": [e["title"] if e else NO_VERDICT_TITLE for e in entries],
        "notes": is_note[:-1].tolist(),
        "r": pack(rule_codes_[order]),
        "s": pack(s[order]),
    }


def area_mu(parcels: gpd.GeoDataFrame) -> np.ndarray:
    """Parcel area in 亩: the ``area_mu`` column when present, else computed in the working CRS."""
    if "area_mu" in parcels.columns:
        vals = pd.to_numeric(parcels["area_mu"], errors="coerce").to_numpy(dtype=float)
        if np.isfinite(vals).all():
            return vals
    else:
        vals = np.full(len(parcels), np.nan)
    if parcels.crs is not None and parcels.crs.is_projected:
        computed = parcels.geometry.area.to_numpy() * _MU_PER_M2
    else:
        computed = parcels.geometry.to_crs(WORKING_CRS).area.to_numpy() * _MU_PER_M2
    return np.where(np.isfinite(vals), vals, computed)
