"""Reading the planners' files: parcels, enterprise tables, occupancy, land supply and zone layers.

Every reader checks a whole file before raising, so one error lists every problem in it; `load_inputs`
reads every file before raising, so one error lists every file's problems (all-or-nothing). What passes
comes back normalised: EPSG:4544, MultiPolygons, contract columns with fixed dtypes.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import io as _io
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gis import _validate as v
from gis.archive import check_zip
from gis.columns import alias_renames, canonical_name
from gis.crs import M2_PER_MU, WORKING_CRS, to_working_crs
from gis.errors import CrsError, GisError, InputFileError, ValidationError, combine
from gis.survey_txt import is_survey_txt, read_survey_txt
from gis.textfile import decode_text_file
from gis.vocabulary import ZONE_LAYER_LABELS, column_label

PathLike = str | os.PathLike[str]

#: Parcel contract columns and their kinds (data-contract.md, "Parcels").
PARCEL_COLUMNS: dict[str, str] = {
    "parcel_id": "id",
    "land_use": "code",
    "floor_area_m2": "number",
    "footprint_m2": "number",
    "special_process": "bool",
    "status": "status",
    "planned_use": "code",
    "retainable": "bool",
    "transfer_date": "date",
    "agreed_start_date": "date",
    "actual_start_date": "date",
    "planned_dev_area_m2": "number",
    "developed_area_m2": "number",
    "total_investment_10k": "number",
    "invested_10k": "number",
    "halted_since": "date",
    "delay_cause": "delay_cause",
    "standard_land": "bool",
    "committed_investment_per_mu_10k": "number",
    "committed_revenue_per_mu_10k": "number",
    "committed_tax_per_mu_10k": "number",
    "production_due_date": "date",
    "enterprise_id": "id",
}

#: Table contracts: kind → (columns and kinds, required columns, id column(s) naming rows in messages).
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "enterprises": {
        "enterprise_id": "id",
        "name": "text",
        "industry_code": "code",
        "revenue_10k": "number",
        "tax_10k": "number",
        "year": "int",
        "above_scale": "bool",
        "value_added_10k": "number",
        "energy_tce": "number",
        "rd_expense_10k": "number",
        "employees": "number",
        "emission_eq": "number",
    },
    "occupancy": {"enterprise_id": "id", "parcel_id": "id", "floor_area_m2": "number"},
    "land_supply": {"year": "int", "land_use": "code", "area_m2": "number"},
}
TABLE_REQUIRED: dict[str, tuple[str, ...]] = {
    "enterprises": ("enterprise_id", "revenue_10k", "tax_10k"),
    "occupancy": ("enterprise_id", "parcel_id"),
    "land_supply": ("year", "land_use", "area_m2"),
}
TABLE_KINDS = tuple(TABLE_COLUMNS)
_KIND_ZH = {"enterprises": "企业表", "occupancy": "用地企业对应表", "land_supply": "土地供应表"}

#: Zone layers and their columns (data-contract.md, "Zones"); `id` columns are filled in when absent.
ZONE_COLUMNS: dict[str, dict[str, str]] = {
    "red_line": {"zone_id": "id", "name": "text"},
    "blue_line": {"zone_id": "id", "name": "text"},
    "ring": {},
    "parks": {"park_id": "id", "name": "text"},
    "urban_dev_boundary": {},
    "planned_construction_area": {},
    "districts": {"name": "text", "construction_land_m2": "number"},
}
ZONE_LAYERS = tuple(ZONE_COLUMNS)
_ZONE_ID = {"red_line": "zone_id", "blue_line": "zone_id", "parks": "park_id", "districts": "name"}

#: ``.txt`` is a 界址点坐标 file (勘测定界 / 部备案, `gis.survey_txt`) when it has its section lines, else a table.
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".parquet", ".geoparquet", ".txt")
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".gpkg")


# --- report ------------------------------------------------------------------------------------------


@dataclass
class LoadIssue:
    """One finding of a load: an error (nothing is loaded) or a warning (loaded, but look at this)."""

    severity: Literal["error", "warning"]
    file: str
    message: str
    ids: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    """Everything found while loading, in order; errors mean nothing was loaded."""

    issues: list[LoadIssue] = field(default_factory=list)

    def warn(self, file: str, message: str, ids: Iterable[str] = ()) -> None:
        """Add a warning."""
        self.issues.append(LoadIssue("warning", file, message, [str(i) for i in ids]))

    def error(self, file: str, message: str, ids: Iterable[str] = ()) -> None:
        """Add an error."""
        self.issues.append(LoadIssue("error", file, message, [str(i) for i in ids]))

    def extend(self, other: LoadReport) -> None:
        """Append another report's issues."""
        self.issues.extend(other.issues)

    @property
    def errors(self) -> list[LoadIssue]:
        """The error issues."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[LoadIssue]:
        """The warning issues."""
        return [i for i in self.issues if i.severity == "warning"]

    def to_text(self) -> str:
        """Human-readable list, one issue per line (Chinese first)."""
        from gis.errors import format_ids

        lines = []
        for i in self.issues:
            tag = "错误" if i.severity == "error" else "提示"
            line = f"[{tag}] {i.file}: {i.message}"
            if i.ids:
                line += f": {format_ids(i.ids)}"
            lines.append(line)
        return "\n".join(lines)


@dataclass(frozen=True)
class SourceFile:
    """An input file as read: its path, SHA-256 and size in bytes (for provenance of a run)."""

    path: str
    sha256: str
    size: int


@dataclass
class Inputs:
    """Everything one evaluation reads, normalised (see docs/ARCHITECTURE.md)."""

    parcels: gpd.GeoDataFrame
    enterprises: pd.DataFrame | None = None
    occupancy: pd.DataFrame | None = None
    zones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    land_supply: pd.DataFrame | None = None
    report: LoadReport = field(default_factory=LoadReport)
    sources: dict[str, SourceFile] = field(default_factory=dict)


# --- helpers -----------------------------------------------------------------------------------------


def _name(path: PathLike) -> str:
    return Path(path).name


def _row_labels(index_len: int, offset: int = 1) -> np.ndarray:
    return np.char.add("#", np.arange(offset, index_len + offset).astype(str)).astype(object)


class Labels:
    """Per-row names for messages (``labels[mask]``), built the first time a message needs them.

    A clean file never names a row, so a million-row file does not pay for a million label strings.
    """

    def __init__(self, make: Callable[[], np.ndarray]) -> None:
        self._make = make
        self._array: np.ndarray | None = None

    def __getitem__(self, key: Any) -> Any:
        if self._array is None:
            self._array = self._make()
        return self._array[key]


def _rows(n: int, offset: int = 1) -> Labels:
    """Lazy ``#row`` labels."""
    return Labels(lambda: _row_labels(n, offset))


def _labels(ids: pd.Series | None, n: int, offset: int = 1) -> Labels:
    """Per-row names for messages: the id where there is one, else ``#row`` (built when first used)."""

    def make() -> np.ndarray:
        rows = _row_labels(n, offset)
        if ids is None:
            return rows
        vals = ids.to_numpy(dtype=object, na_value=None)
        out = np.where(pd.isna(vals), rows, vals).astype(object)
        # a duplicated id alone would not say which feature is meant
        dup = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
        if dup.any():
            out[dup] = np.char.add(np.char.add(out[dup].astype(str), " "), rows[dup].astype(str)).astype(object)
        return out

    return Labels(make)


#: Beyond these a figure is a typing or unit error, not a fact: warned about by row, never silently used.
PLAUSIBLE_FAR_MAX = 50.0
PLAUSIBLE_PER_MU_10K_MAX = 1e6


def _warn_implausible_per_mu(
    parcels: gpd.GeoDataFrame, ent: pd.DataFrame, occ: pd.DataFrame | None, source: str, report: LoadReport
) -> None:
    """Warn about firms whose revenue per 亩 is above 10⁶ 万元 even over all the land of their parcels.

    A firm's apportioned land is at most the area of the parcels it occupies, so revenue ÷ that area is a lower
    bound of its per-mu figure whatever the apportioning: above the limit, the revenue is surely mistyped.
    """
    pairs = pd.DataFrame({"enterprise_id": parcels["enterprise_id"], "parcel_id": parcels["parcel_id"]})
    if occ is not None:
        pairs = pd.concat([pairs, occ[["enterprise_id", "parcel_id"]]], ignore_index=True)
    pairs = pairs.dropna().drop_duplicates()
    area = pd.Series(shapely.area(parcels.geometry.to_numpy()), index=parcels["parcel_id"].to_numpy())
    land_mu = (area.reindex(pairs["parcel_id"].to_numpy()).to_numpy() / M2_PER_MU)
    most_mu = pd.Series(land_mu).groupby(pairs["enterprise_id"].to_numpy()).sum()
    revenue = pd.Series(ent["revenue_10k"].to_numpy(dtype=float, na_value=np.nan),
                        index=ent["enterprise_id"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        per_mu = revenue / most_mu.reindex(revenue.index).to_numpy()
    huge = np.nan_to_num(per_mu.to_numpy(), posinf=0.0) > PLAUSIBLE_PER_MU_10K_MAX
    if huge.any():
        report.warn(source, f"{int(huge.sum())} 家企业的亩均营收超过 {PLAUSIBLE_PER_MU_10K_MAX:,.0f} 万元/亩，"
                    "营业收入可能录入有误（单位应为万元）(revenue per mu implausible)",
                    revenue.index[huge].astype(str).tolist())


def source_file(path: PathLike) -> SourceFile:
    """SHA-256 and size of ``path`` (a shapefile is identified by its .shp)."""
    p = Path(path)
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return SourceFile(str(p), h.hexdigest(), p.stat().st_size)


def _require_file(path: PathLike, suffixes: tuple[str, ...], what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputFileError("文件不存在 (file not found)", path=str(p),
                             hint=f"请检查{what}文件路径 (check the path)")
    if p.suffix.lower() not in suffixes:
        raise InputFileError(
            f"不支持的文件格式 {p.suffix or '(无后缀)'} (unsupported format)", path=p.name,
            hint=f"{what}请使用 {' / '.join(suffixes)} (use one of these formats)")
    return p


def _shp_encoding(dbf: bytes, has_cpg: bool) -> str | None:
    """Encoding for a shapefile: GDAL's own when there is a .cpg, else UTF-8 or GB18030 by content."""
    if has_cpg or len(dbf) < 32:
        return None
    header_len = int.from_bytes(dbf[8:10], "little")
    body = dbf[header_len:]
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


def _scrub(error: BaseException, path: Path) -> str:
    """A library's error text with the file's folder taken out: messages name the file, never the server's
    folders (an upload's staging path, a temp directory)."""
    text = str(error)
    for full in (str(path.resolve()), str(path)):
        text = text.replace(full, path.name)
    for folder in (str(path.resolve().parent), str(path.parent)):
        if folder not in ("", ".", "/"):
            text = text.replace(folder + "/", "").replace(folder, "")
    return text


def _zip_shapefile(p: Path, layer: str | None) -> tuple[str, str | None]:
    """GDAL path of the shapefile inside a zip (any folder depth) and its text encoding."""
    check_zip(p)  # unsafe paths, links and bombs are refused before GDAL unpacks anything
    try:
        zf = zipfile.ZipFile(p)
    except zipfile.BadZipFile as e:
        raise InputFileError(f"不是有效的 zip 文件 (not a valid zip file: {_scrub(e, p)})", path=p.name) from e
    with zf:
        names = [n for n in zf.namelist() if not n.startswith("__MACOSX/")]
        shps = [n for n in names if n.lower().endswith(".shp")]
        if layer:
            shps = [n for n in shps if Path(n).stem == layer] or shps
        if not shps:
            raise InputFileError("zip 中没有 .shp 文件 (the zip holds no .shp file)", path=p.name,
                                 hint="请把 .shp 及 .shx/.dbf/.prj 一起压缩 (zip the .shp with its siblings)")
        if len(shps) > 1:
            raise InputFileError(
                "zip 中有多个 .shp 文件，无法确定用哪一个 (the zip holds several .shp files)", path=p.name,
                ids=shps, hint="每个 zip 只放一个图层，或指定 layer= (one layer per zip, or pass layer=)")
        shp = shps[0]
        stem = shp[:-4]
        lower = {n.lower(): n for n in names}
        missing = [ext for ext in (".shx", ".dbf") if (stem + ext).lower() not in lower]
        if missing:
            raise InputFileError(
                f"zip 中的 {shp} 缺少配套文件 {', '.join(missing)} (missing sibling files)", path=p.name,
                hint="请把 .shp/.shx/.dbf/.prj 一起压缩 (zip all the shapefile's files)")
        dbf = zf.read(lower[(stem + ".dbf").lower()])
        enc = _shp_encoding(dbf, (stem + ".cpg").lower() in lower)
    return f"/vsizip/{p.resolve()}/{shp}", enc


def _gpkg_layer(p: Path, layer: str | None, preferred: str, *, spatial: bool) -> str:
    layers = pyogrio.list_layers(p)
    names = [str(n) for n, _ in layers]
    geo = [str(n) for n, t in layers if t is not None]
    if layer is not None:
        if layer not in names:
            raise InputFileError(f"GeoPackage 中没有图层 {layer} (no layer {layer!r})", path=p.name,
                                 ids=names, hint="可用图层如上 (available layers listed)")
        return layer
    if preferred in names:
        return preferred
    pool = geo if spatial else names
    if len(pool) == 1:
        return pool[0]
    raise InputFileError(
        f"GeoPackage 中有多个图层，且没有名为 {preferred} 的图层 (several layers, none named {preferred!r})",
        path=p.name, ids=pool, hint=f"请把图层命名为 {preferred} 或指定 layer= (name it or pass layer=)")


def _read_raw_vector(
    path: PathLike, layer: str | None = None, preferred: str = "parcels"
) -> gpd.GeoDataFrame:
    """Read a vector file by suffix, without CRS handling (errors → InputFileError)."""
    p = _require_file(path, VECTOR_SUFFIXES, "图层")
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".geoparquet"):
            try:
                return gpd.read_parquet(p)
            except ValueError as e:
                raise InputFileError(f"不是 GeoParquet 文件或缺少几何列 (not GeoParquet: {_scrub(e, p)})", path=p.name,
                                     hint="请用 GeoPandas/QGIS 导出 GeoParquet (export as GeoParquet)") from e
        if suffix == ".zip":
            src, enc = _zip_shapefile(p, layer)
            return pyogrio.read_dataframe(src, encoding=enc)
        if suffix == ".shp":
            dbf = p.with_suffix(".dbf")
            enc = None
            if dbf.exists():
                enc = _shp_encoding(dbf.read_bytes(), p.with_suffix(".cpg").exists())
            return pyogrio.read_dataframe(p, encoding=enc)
        if suffix == ".gpkg":
            return pyogrio.read_dataframe(p, layer=_gpkg_layer(p, layer, preferred, spatial=True))
        if suffix == ".txt":
            if not is_survey_txt(p):
                raise InputFileError(
                    "该 .txt 文件不是界址点坐标文件：没有 [属性描述] / [地块坐标] 段 (not a 界址点 coordinate file)",
                    path=p.name,
                    hint="宗地请用界址点坐标文件（勘测定界/部备案格式）、GeoPackage、GeoJSON 或 Shapefile；"
                    "表格请作为企业表等给出 (tables belong to the enterprise/occupancy inputs)")
            gdf, notes = read_survey_txt(p)
            gdf.attrs["notes"] = notes
            return gdf
        return pyogrio.read_dataframe(p, layer=layer)
    except GisError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as e:
        raise InputFileError(f"无法读取文件 (cannot read the file: {_scrub(e, p)})", path=p.name,
                             hint="请确认文件完整且格式正确 (check that the file is complete)") from e
    except shapely.errors.GEOSException as e:  # e.g. a GeoJSON ring that does not close on its first point
        raise InputFileError(f"几何无法解析，例如面的边界未闭合 (geometry cannot be read: {_scrub(e, p)})",
                             path=p.name,
                             hint="请在 GIS 软件中检查并修复几何后重新导出 (repair and export again)") from e


def _restore_truncated(
    df: pd.DataFrame, columns: Iterable[str], source: str, report: LoadReport
) -> pd.DataFrame:
    """Map Chinese headers and shapefile-truncated (10-character) names back to contract names."""
    df = df.rename(columns=lambda c: str(c).strip())
    columns = list(columns)
    aliases = alias_renames(df.columns, columns)
    if aliases:
        report.warn(source, "按中文表头识别了这些列 (recognised these headers as contract columns)",
                    [f"{a}→{c}" for a, c in aliases.items()])
        df = df.rename(columns=aliases)
        # errors later name a column by the user's own header (营业收入（万元）), not by our name for it
        df.attrs["headers"] = {c: str(a) for a, c in aliases.items()}
    wanted = [c for c in columns if len(c) > 10 and c not in df.columns]
    by_short: dict[str, list[str]] = {}
    for c in wanted:
        by_short.setdefault(c[:10], []).append(c)
    renames = {short: full[0] for short, full in by_short.items() if len(full) == 1 and short in df.columns}
    ambiguous = sorted(c for short, full in by_short.items() if len(full) > 1 for c in full)
    if renames:
        report.warn(source, "Shapefile 字段名被截断为 10 个字符，已按合同列名还原 "
                    "(shapefile field names truncated to 10 characters were mapped back)",
                    [f"{s}→{f}" for s, f in renames.items()])
    if ambiguous and any(c[:10] in df.columns for c in ambiguous):
        report.warn(source, "这些列名截断后无法区分，未读取；请改用 GeoPackage "
                    "(these truncated names are ambiguous and were not read; use GeoPackage)", ambiguous)
    return df.rename(columns=renames)


def _normalise_columns(
    df: pd.DataFrame,
    schema: Mapping[str, str],
    *,
    source: str,
    labels: Labels,
    excel: bool,
    problems: list[GisError],
) -> tuple[pd.DataFrame, list[str]]:
    """Convert contract columns in place of the raw ones; add absent ones as NA; collect value problems.

    Problems name a column by the header the file used (``df.attrs["headers"]``), else by its Chinese name
    and contract name, e.g. ``营业收入（万元）`` or ``计容建筑面积（平方米）floor_area_m2``.
    """
    out = df.copy()
    missing: list[str] = []
    headers = df.attrs.get("headers", {})
    for col, kind in schema.items():
        if col not in df.columns:
            missing.append(col)
            out[col] = v.empty_column(kind, df.index)
            continue
        header = headers.get(col) or f"{column_label(col)}（{col}）"
        c = v.convert(df[col], kind, excel=excel)
        if c.bad.any():
            raw = v.clean_text(df[col], excel=excel)[c.bad]
            example = str(raw.iloc[0])
            problems.append(ValidationError(
                f"{int(c.bad.sum())} 行的“{header}”无法识别，应为{c.expected}，例如“{example}” "
                f"({int(c.bad.sum())} values of {col} not understood)",
                path=source, ids=labels[c.bad].tolist(),
                hint="请更正这些值或留空 (fix these values or leave empty)"))
        if c.negative is not None and c.negative.any():
            problems.append(ValidationError(
                f"{int(c.negative.sum())} 行的“{header}”为负数 ({col} must not be negative)",
                path=source, ids=labels[c.negative].tolist(),
                hint="面积和金额不能为负 (areas and money are ≥ 0)"))
        out[col] = c.values
    return out, missing


def _check_ids(ids: pd.Series, col: str, source: str, labels: Labels, problems: list[GisError]) -> None:
    empty = ids.isna().to_numpy()
    if empty.any():
        problems.append(ValidationError(
            f"{int(empty.sum())} 行的{column_label(col)}为空 (empty {col})", path=source, ids=labels[empty].tolist(),
            hint=f"每一行都需要{column_label(col)} (every row needs a {col}; # = 行号 / row number)"))
    dup = ids.duplicated(keep=False).to_numpy() & ~empty
    if dup.any():
        problems.append(ValidationError(
            f"{column_label(col)}重复 (duplicate {col})", path=source, ids=pd.unique(ids[dup]).tolist(),
            hint=f"{column_label(col)}必须唯一 (must be unique)"))


# --- parcels -----------------------------------------------------------------------------------------


def read_layer(path: PathLike, layer: str | None = None, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read any vector layer and reproject it to EPSG:4544 (CRS checks as `gis.crs.to_working_crs`).

    Parameters
    ----------
    path : str or PathLike
        ``.gpkg``, ``.geojson``/``.json``, ``.shp``, ``.zip`` (one shapefile, any folder), ``.fgb``,
        ``.parquet``, 界址点坐标 ``.txt``.
    layer : str, optional
        Layer of a GeoPackage (or stem of the shapefile inside a zip).
    crs : str or int, optional
        CRS for a layer that has none, or to override a wrong label.

    Examples
    --------
    >>> gdf = read_layer("data/sample_parcels/zones.gpkg", layer="parks")
    >>> gdf.crs.to_epsg()
    4544
    """
    raw = _read_raw_vector(path, layer, preferred=layer or "")
    return to_working_crs(raw, source=_name(path), crs=crs)


def _finish_geometries(
    gdf: gpd.GeoDataFrame, labels: Labels, source: str, report: LoadReport, problems: list[GisError],
    *, allow_types: tuple = v.POLYGON_TYPES,
) -> v.GeometryCheck:
    chk = v.check_polygons(np.asarray(gdf.geometry.array), allow_types=allow_types)
    if chk.null.any():
        problems.append(ValidationError(
            f"{int(chk.null.sum())} 个要素没有几何或几何为空 "
            f"({int(chk.null.sum())} features have no geometry)",
            path=source, ids=labels[chk.null].tolist(), hint="请补画或删除这些要素 (draw or delete them)"))
    if chk.wrong_type.any():
        names = v.type_names(np.asarray(gdf.geometry.array)[chk.wrong_type])
        kinds = ", ".join(sorted(set(names)))
        problems.append(ValidationError(
            f"{int(chk.wrong_type.sum())} 个要素不是面（{kinds}）(features are not polygons: {kinds})",
            path=source, ids=labels[chk.wrong_type].tolist(),
            hint="宗地必须是面 Polygon/MultiPolygon (parcels must be polygons)"))
    if chk.nonfinite.any():
        problems.append(ValidationError(
            f"{int(chk.nonfinite.sum())} 个要素的坐标含 NaN 或无穷大 "
            f"({int(chk.nonfinite.sum())} features have NaN or infinite coordinates)",
            path=source, ids=labels[chk.nonfinite].tolist(),
            hint="请在 GIS 软件中修正或重新绘制这些要素 (fix or redraw them in a GIS)"))
    if chk.collapsed.any():
        problems.append(ValidationError(
            f"{int(chk.collapsed.sum())} 个要素修复后不剩任何面 "
            "(invalid features collapse to no area when repaired)",
            path=source, ids=labels[chk.collapsed].tolist(), hint="请重新绘制 (redraw them)"))
    fixed = chk.repaired & ~chk.collapsed
    if fixed.any():
        reasons = chk.reasons[fixed]
        report.warn(source, f"{int(fixed.sum())} 个要素几何无效，已用 make_valid 修复 "
                    f"({int(fixed.sum())} invalid geometries repaired)",
                    [f"{i}（{r}）" for i, r in zip(labels[fixed], reasons, strict=True)])
    if chk.dropped_parts.any():
        report.warn(source, "修复后产生的非面部分（线、点）已丢弃 (non-polygon parts left by the repair were "
                    "dropped)", labels[chk.dropped_parts].tolist())
    return chk


def read_parcels(
    path: PathLike, crs: str | int | None = None, *, layer: str | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Read and validate a parcel layer: EPSG:4544 MultiPolygons plus every contract column, typed.

    Every problem in the file is collected first; then one `GisError` lists them all (the file name, the
    offending ``parcel_id`` s, what is wrong and what to do). Warnings (repairs, reprojection) go to the
    report.

    Parameters
    ----------
    path : str or PathLike
        GeoPackage (layer ``parcels`` or its only layer), GeoJSON, Shapefile or a zip of one, FlatGeobuf,
        GeoParquet, or a 界址点坐标 ``.txt`` (勘测定界 / 部备案 format, `gis.survey_txt`; its notes — header
        areas that disagree, an inferred zone — come first in the report).
    crs : str or int, optional
        CRS for a file without one (``"EPSG:4544"``), or to override a wrong label.
    layer : str, optional
        GeoPackage layer name.

    Returns
    -------
    (GeoDataFrame, LoadReport)
        Parcels with ``parcel_id`` str, dates ``datetime64[ns]``, bools ``boolean``, numbers ``float64``;
        ``gdf.attrs["missing_columns"]`` lists contract columns absent from the file (added as NA).

    Examples
    --------
    >>> parcels, report = read_parcels("data/sample_parcels/parcels.gpkg")
    >>> parcels.crs.to_epsg(), parcels["parcel_id"].is_unique
    (4544, True)
    """
    raw = _read_raw_vector(path, layer, preferred="parcels")
    notes = raw.attrs.pop("notes", [])  # what a 界址点 file's reader found (header areas, inferred zone)
    gdf, report = normalise_parcels(raw, source=_name(path), crs=crs)
    report.issues[:0] = [LoadIssue("warning", _name(path), msg, [str(i) for i in ids]) for msg, ids in notes]
    return gdf, report


def normalise_parcels(
    raw: gpd.GeoDataFrame, *, source: str, crs: str | int | None = None
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Check and normalise parcels however they arrived — a file, features posted to the API, store rows.

    The same checks and typing as :func:`read_parcels` (which reads a file and calls this): contract columns by
    their Chinese or English headers, typed; ids unique; geometries repaired to MultiPolygons; the working CRS.
    ``source`` names the input in messages (a file name, "提交的宗地").

    Examples
    --------
    >>> import shapely
    >>> feature = gpd.GeoDataFrame({"宗地编号": ["A"], "用地分类": ["100102"]},
    ...                            geometry=[shapely.box(104.0, 30.6, 104.001, 30.601)], crs="EPSG:4490")
    >>> parcels, _ = normalise_parcels(feature, source="提交的宗地")
    >>> parcels.loc[0, "parcel_id"], parcels.crs.to_epsg(), round(float(parcels.area.iloc[0]))
    ('A', 4544, 10634)
    """
    report = LoadReport()
    raw = _restore_truncated(raw, PARCEL_COLUMNS, source, report)
    problems: list[GisError] = []
    if "parcel_id" not in raw.columns:
        problems.append(InputFileError(
            "缺少宗地编号列 parcel_id (missing column parcel_id)", path=source,
            ids=[str(c) for c in raw.columns if c != raw.geometry.name],
            hint="宗地编号列必须命名为 parcel_id；现有列如上 "
            "(name the 宗地编号 column parcel_id; columns found listed)"))
    n = len(raw)
    if n == 0:
        raise InputFileError("图层中没有要素 (the layer has no features)", path=source)
    ids = v.clean_text(raw["parcel_id"]) if "parcel_id" in raw.columns else None
    labels = _labels(ids, n)
    if ids is not None:
        _check_ids(ids, "parcel_id", source, labels, problems)
    geom_name = raw.geometry.name
    attrs, missing = _normalise_columns(
        raw.drop(columns=geom_name), PARCEL_COLUMNS, source=source, labels=labels, excel=False,
        problems=problems)
    gdf = gpd.GeoDataFrame(attrs, geometry=raw.geometry.rename("geometry").to_numpy(), crs=raw.crs)
    if ids is not None:
        gdf["parcel_id"] = ids
    notes: list[tuple[str, list[str]]] = []
    try:
        gdf = to_working_crs(gdf, source=source, crs=crs, id_col="parcel_id" if ids is not None else None,
                             notes=notes)
    except CrsError as e:
        problems.append(e)
    chk = _finish_geometries(gdf, labels, source, report, problems)
    if problems:
        raise combine(problems, path=source)
    for msg, note_ids in notes:
        report.warn(source, msg, note_ids)
    gdf = gdf.set_geometry(gpd.GeoSeries(chk.geoms, index=gdf.index, crs=gdf.crs))
    with np.errstate(divide="ignore", invalid="ignore"):
        far = gdf["floor_area_m2"].to_numpy(dtype=float, na_value=np.nan) / shapely.area(chk.geoms.astype(object))
    huge = np.nan_to_num(far) > PLAUSIBLE_FAR_MAX
    if huge.any():
        report.warn(source, f"{int(huge.sum())} 个宗地的容积率超过 {PLAUSIBLE_FAR_MAX:g}，计容建筑面积可能录入有误"
                    f"（单位应为平方米）(floor area implausible: FAR above {PLAUSIBLE_FAR_MAX:g})",
                    labels[huge].tolist())
    ordered = list(PARCEL_COLUMNS) + [c for c in gdf.columns if c not in PARCEL_COLUMNS and c != "geometry"]
    gdf = gdf[ordered + ["geometry"]]
    gdf.attrs["missing_columns"] = missing
    gdf.attrs["source"] = source
    if missing:
        report.warn(source, "缺少以下列，按未知处理（相关规则给出“数据缺失”）"
                    "(absent columns treated as unknown)",
                    [f"{column_label(c)}（{c}）" for c in missing])
    return gdf, report


# --- tables ------------------------------------------------------------------------------------------


def _find_header(df: pd.DataFrame, required: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """Re-head a table whose real header sits below title rows (表头上方有标题行); returns rows skipped."""
    def named(value: object) -> str:
        return canonical_name(value, required) or str(value).strip()

    if all(c in {named(h) for h in df.columns} for c in required):
        return df, 0
    head = df.head(10).astype("str").apply(lambda col: col.map(named))
    hit = head.isin(list(required)).sum(axis=1).to_numpy()
    rows = np.flatnonzero(hit == len(required))
    if len(rows) == 0:
        return df, 0
    r = int(rows[0])
    body = df.iloc[r + 1:].reset_index(drop=True)
    body.columns = [str(h).strip() for h in df.iloc[r].tolist()]
    return body, r + 1


_ARROW_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' "str"


def _read_csv_arrow(text: str | bytes, sep: str) -> pd.DataFrame | None:
    """A CSV with a plain header, every cell as text, parsed by Arrow (many times faster than pandas).

    ``text`` is the file's text, or its bytes when they are UTF-8 (Arrow checks every cell is valid UTF-8).
    Gives exactly what ``pd.read_csv(dtype=str, keep_default_na=False)`` gives for such a file: the header's
    names as written, empty cells as "", pandas' ``str`` columns. Returns None where pandas' own rules would
    matter (a quoted, empty or repeated header name, a multi-byte separator, rows of unequal length, bytes
    that are not UTF-8, …): the caller then reads the file as before.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if len(sep) != 1 or not sep.isascii():
        return None
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    try:
        first = data.split(b"\n", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        return None
    first = first[:-1] if first.endswith("\r") else first
    names = first.split(sep)
    if '"' in first or "\r" in first or any(not n for n in names) or len(set(names)) != len(names):
        return None
    try:
        table = pacsv.read_csv(
            _io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=b'"' in data),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    return table.to_pandas(types_mapper={pa.large_string(): _ARROW_STR}.get)


def _sniff_separator(first: str) -> str:
    sep = "\t" if "\t" in first and "," not in first else ("；" if "；" in first else ",")
    if sep == "," and ";" in first and "," not in first:
        sep = ";"
    return sep


def _merged_cells(p: Path, sheet: str) -> list[tuple[str, int]]:
    """Merged ranges of one worksheet as ``(ref, last row)``, read from the workbook's XML (openpyxl's read-only
    mode does not report them)."""
    import re as _re

    with zipfile.ZipFile(p) as zf:
        workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        rid = None
        for attrs in _re.findall(r"<(?:\w+:)?sheet\b([^>]*)/?>", workbook):
            name = _re.search(r'\bname="([^"]*)"', attrs)
            if name and _xml_text(name.group(1)) == sheet:
                found = _re.search(r'\br:id="([^"]*)"|\bid="([^"]*)"', attrs)
                rid = found and (found.group(1) or found.group(2))
        target = None
        for attrs in _re.findall(r"<Relationship\b([^>]*)/?>", rels):
            if rid and _re.search(rf'\bId="{_re.escape(rid)}"', attrs):
                target = _re.search(r'\bTarget="([^"]*)"', attrs)
        if target is None:
            return []
        path = target.group(1).lstrip("/")
        path = path if path.startswith("xl/") else f"xl/{path}"
        if path not in zf.namelist():
            return []
        xml = zf.read(path)
    refs = [r.decode() for r in _re.findall(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"', xml)]
    return [(ref, int(_re.sub(r"^[A-Z]+", "", ref.split(":")[1]))) for ref in refs]


def _column_letters(index: int) -> str:
    """Spreadsheet column letters of a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_xls(p: Path, kind: str, layer: str | None) -> pd.DataFrame:
    """An Excel 97–2003 workbook (xlrd): the sheet named like ``kind`` (or ``layer``, or the first), with its
    merged ranges as ``df.attrs["merged_cells"]`` like an .xlsx."""
    import xlrd

    head = p.read_bytes()[:512]
    if head.lstrip().lower().startswith((b"<html", b"<!doctype", b"<?xml", b"<table")):
        raise InputFileError(
            "该 .xls 文件实为网页（HTML/XML）格式，不是 Excel 工作簿（一些系统导出的“xls”如此）"
            "(the .xls is a web page, not an Excel 97–2003 workbook)", path=p.name,
            hint="请用 Excel 或 WPS 打开后另存为 .xlsx 或 CSV (open it in Excel/WPS and save as .xlsx or CSV)")
    try:
        book = xlrd.open_workbook(p, formatting_info=True, on_demand=True)
    except Exception as e:  # xlrd raises XLRDError, CompDocError, struct errors … for a broken or foreign file
        raise InputFileError(f"无法读取 Excel 97–2003 文件 (cannot read the .xls workbook: {_scrub(e, p)})",
                             path=p.name, hint="请用 Excel 另存为 .xlsx (re-save as .xlsx)") from e
    with book:
        sheets = book.sheet_names()
        sheet = layer if layer is not None else (kind if kind in sheets else sheets[0])
        if sheet not in sheets:
            raise InputFileError(f"工作簿中没有工作表 {sheet} (no sheet {sheet!r})", path=p.name, ids=sheets)
        ws = book.sheet_by_name(sheet)
        merged = [(f"{_column_letters(c0)}{r0 + 1}:{_column_letters(c1 - 1)}{r1}", r1)
                  for r0, r1, c0, c1 in ws.merged_cells]
        columns = [_xls_column(ws.col_types(c), ws.col_values(c), book.datemode) for c in range(ws.ncols)]
    if not columns or ws.nrows == 0:
        return pd.DataFrame()
    header = [str(col[0]).strip() if pd.notna(col[0]) and str(col[0]).strip() else f"Unnamed: {i}"
              for i, col in enumerate(columns)]
    df = pd.DataFrame({i: col[1:] for i, col in enumerate(columns)}, dtype=object)
    df.columns = header
    df.attrs["merged_cells"] = merged
    return df


def _xls_column(types: list[int], values: list[Any], datemode: int) -> np.ndarray:
    """One .xls column as Python values, the way a .xlsx column reads: text, numbers (whole ones as int), dates
    as timestamps, booleans; empty, blank and error cells as NA."""
    kinds = np.asarray(types, dtype=np.int8)
    raw = np.asarray(values, dtype=object)
    out = np.full(len(raw), np.nan, dtype=object)
    text = kinds == 1
    out[text] = raw[text]
    number = kinds == 2
    if number.any():
        nums = raw[number].astype(float)
        whole = np.isfinite(nums) & (nums == np.round(nums)) & (np.abs(nums) < 2**53)
        out[np.flatnonzero(number)[whole]] = nums[whole].astype(np.int64).tolist()
        out[np.flatnonzero(number)[~whole]] = nums[~whole].tolist()
    date = kinds == 3
    if date.any():  # serial days from 1899-12-30 (the 1900 system) or 1904-01-01
        origin = pd.Timestamp("1904-01-01" if datemode else "1899-12-30")
        out[date] = list(origin + pd.to_timedelta(raw[date].astype(float), unit="D").round("s"))
    boolean = kinds == 4
    out[boolean] = raw[boolean].astype(bool).tolist()
    return out


def _xml_text(value: str) -> str:
    import html

    return html.unescape(value)


def _read_raw_table(p: Path, kind: str, layer: str | None) -> tuple[pd.DataFrame, bool]:
    suffix = p.suffix.lower()
    if suffix == ".txt" and is_survey_txt(p):
        raise InputFileError(
            f"这是界址点坐标文件（宗地范围），不是{_KIND_ZH[kind]} (a 界址点 coordinate file, not a table)",
            path=p.name, hint="请把它作为宗地图层给出（--parcels / 宗地图层）(give it as the parcels file)")
    if suffix in (".csv", ".txt"):
        raw = p.read_bytes()
        if not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            # UTF-8 (the common case): Arrow reads the bytes as they are, no decoding into Python text
            utf8 = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
            try:
                first = utf8.split(b"\n", 1)[0].decode("utf-8")
            except UnicodeDecodeError:
                first = None
            df = _read_csv_arrow(utf8, _sniff_separator(first)) if first is not None else None
            if df is not None:
                return df, False
        del raw
        text, _enc = decode_text_file(p)
        sep = _sniff_separator(text.split("\n", 1)[0])
        df = _read_csv_arrow(text, sep)
        if df is None:
            try:
                df = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
            except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
                raise InputFileError(f"CSV 格式错误 (malformed CSV: {_scrub(e, p)})", path=p.name) from e
        return df, False
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        check_zip(p)  # a workbook is a zip: a renamed CSV or a bomb is refused before openpyxl opens it

        try:
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many types for a broken workbook
            raise InputFileError(f"无法读取 Excel 文件 (cannot read the workbook: {_scrub(e, p)})", path=p.name,
                                 hint="请用 Excel 另存为 .xlsx (re-save as .xlsx)") from e
        sheets = wb.sheetnames
        wb.close()
        sheet = layer if layer is not None else (kind if kind in sheets else sheets[0])
        if sheet not in sheets:
            raise InputFileError(f"工作簿中没有工作表 {sheet} (no sheet {sheet!r})", path=p.name, ids=sheets)
        df = pd.read_excel(p, sheet_name=sheet, dtype=object, engine="openpyxl")
        df.attrs["merged_cells"] = _merged_cells(p, sheet)
        return df, True
    if suffix == ".xls":
        return _read_xls(p, kind, layer), True
    if suffix == ".gpkg":
        name = _gpkg_layer(p, layer, kind, spatial=False)
        try:
            return pd.DataFrame(pyogrio.read_dataframe(p, layer=name, read_geometry=False)), False
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
            raise InputFileError(f"无法读取图层 {name} (cannot read layer: {_scrub(e, p)})", path=p.name) from e
    raise InputFileError(f"不支持的表格格式 {suffix} (unsupported table format)", path=p.name,
                         hint="请使用 CSV、XLSX 或 XLS (use CSV, XLSX or XLS)")


def read_table(
    path: PathLike,
    kind: str,
    *,
    layer: str | None = None,
    above_scale_revenue_10k: float = 2000.0,
) -> tuple[pd.DataFrame, LoadReport]:
    """Read and validate an enterprises / occupancy / land-supply table (CSV, XLSX or a GeoPackage table).

    CSV encodings UTF-8, UTF-8 with BOM, UTF-16 and GBK/GB18030 are detected. Ids are read as text (leading
    zeros kept). Every problem in the file is collected before one `GisError` is raised.

    Parameters
    ----------
    path : str or PathLike
        ``.csv``, ``.xlsx`` or ``.xls`` (Excel 97–2003; sheet named like ``kind`` or the first sheet) or
        ``.gpkg`` (layer named like ``kind`` or its only layer).
    kind : {"enterprises", "occupancy", "land_supply"}
        Which contract table this is.
    layer : str, optional
        Sheet or layer name.
    above_scale_revenue_10k : float
        规上 threshold: ``above_scale`` is derived as ``revenue_10k >= this`` where absent or empty.

    Examples
    --------
    >>> ent, report = read_table("data/sample_parcels/enterprises.csv", "enterprises")
    >>> ent["enterprise_id"].dtype
    <StringDtype(na_value=nan)>
    """
    if kind not in TABLE_COLUMNS:
        raise ValueError(f"kind must be one of {TABLE_KINDS}, not {kind!r}")
    p = _require_file(path, TABLE_SUFFIXES, _KIND_ZH[kind])
    source = p.name
    report = LoadReport()
    raw, excel = _read_raw_table(p, kind, layer)
    merged = raw.attrs.get("merged_cells", [])
    raw, skipped = _find_header(raw, TABLE_REQUIRED[kind])
    first_row = 2 + skipped  # spreadsheet row of the first data row (the header is row 1 + skipped)
    # A merged range below the header reads as one value and blanks: refuse it rather than guess (a merged
    # title above the header is fine).
    in_data = [ref for ref, last_row in merged if last_row >= first_row]
    if in_data:
        raise InputFileError(
            f"{len(in_data)} 处合并单元格位于数据区，合并区域内除左上角外的单元格会被读成空值 "
            "(merged cells in the data rows would read as blanks)", path=source, ids=in_data,
            hint="请取消合并并在每个单元格填入值后重新保存 (unmerge and fill every cell, then save again)")
    schema = TABLE_COLUMNS[kind]
    raw = _restore_truncated(raw, schema, source, report)
    problems: list[GisError] = []
    absent = [c for c in TABLE_REQUIRED[kind] if c not in raw.columns]
    if absent:
        raise InputFileError(
            f"{_KIND_ZH[kind]}缺少必需的列 (missing required columns): "
            f"{'、'.join(f'{column_label(c)}（{c}）' for c in absent)}", path=source,
            ids=[str(c) for c in raw.columns],
            hint=f"必需列为 {', '.join(TABLE_REQUIRED[kind])}；现有列如上 "
            "(required columns; columns found listed)")
    n = len(raw)
    if n == 0:
        report.warn(source, f"{_KIND_ZH[kind]}没有数据行 (the table has no rows)")
    # row labels: the enterprise id where unique ids exist; pairs for occupancy; spreadsheet rows otherwise
    if kind == "enterprises":
        ids = v.clean_text(raw["enterprise_id"], excel=excel)
        labels = _labels(ids, n, offset=first_row)
        _check_ids(ids, "enterprise_id", source, labels, problems)
    elif kind == "occupancy":
        e = v.clean_text(raw["enterprise_id"], excel=excel)
        pid = v.clean_text(raw["parcel_id"], excel=excel)
        rows = _rows(n, first_row)
        for col, s in (("enterprise_id", e), ("parcel_id", pid)):
            empty = s.isna().to_numpy()
            if empty.any():
                problems.append(ValidationError(
                    f"{int(empty.sum())} 行的{column_label(col)}为空 (empty {col}; # = 表格行号 / spreadsheet row)",
                    path=source, ids=rows[empty].tolist(),
                    hint="请补全或删除这些行 (fill in or delete the rows)"))
        pair = e.fillna("") + "/" + pid.fillna("")
        both = e.notna().to_numpy() & pid.notna().to_numpy()
        dup = pair.duplicated(keep=False).to_numpy() & both
        if dup.any():
            problems.append(ValidationError(
                "企业/宗地 对应关系重复 (duplicate enterprise_id/parcel_id pairs)", path=source,
                ids=pd.unique(pair[dup].to_numpy(dtype=object)).tolist(),
                hint="每对企业和宗地只保留一行 (one row per pair)"))
        labels = Labels(lambda: np.where(both, pair.to_numpy(dtype=object), rows[:]).astype(object))
    else:
        labels = _rows(n, first_row)
    df, missing = _normalise_columns(
        raw, schema, source=source, labels=labels, excel=excel, problems=problems)
    if kind == "land_supply":
        for col in TABLE_REQUIRED[kind]:
            empty = df[col].isna().to_numpy()
            if empty.any():
                problems.append(ValidationError(
                    f"{int(empty.sum())} 行的{column_label(col)}为空 (empty {col}; # = 表格行号 / spreadsheet row)",
                    path=source, ids=labels[empty].tolist(),
                    hint="请补全或删除这些行 (fill in or delete them)"))
    if problems:
        raise combine(problems, path=source)
    if kind == "enterprises":
        derived = df["above_scale"].isna() & df["revenue_10k"].notna()
        if derived.any():
            df["above_scale"] = df["above_scale"].mask(derived, df["revenue_10k"] >= above_scale_revenue_10k)
            how = ("没有“规上企业”列" if "above_scale" in missing
                   else f"{int(derived.sum())} 行“规上企业”为空")
            report.warn(source, f"{how}，按营业收入 ≥ {above_scale_revenue_10k:g} 万元 认定规上企业 "
                        f"(above_scale derived as revenue_10k >= {above_scale_revenue_10k:g})")
            missing = [c for c in missing if c != "above_scale"]
    optional_missing = [c for c in missing if c not in TABLE_REQUIRED[kind]]
    if optional_missing:
        report.warn(source, "缺少以下可选列，按未知处理 (absent optional columns treated as unknown)",
                    [f"{column_label(c)}（{c}）" for c in optional_missing])
    ordered = list(schema) + [c for c in df.columns if c not in schema]
    df = df[ordered]
    df.attrs["missing_columns"] = missing
    df.attrs["source"] = source
    return df, report


# --- zones -------------------------------------------------------------------------------------------


def _polygonise_ring(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """绕城高速 given as a closed line (or pieces of one): the area it encloses, one MultiPolygon."""
    geoms = np.asarray(gdf.geometry.array)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    tid = shapely.get_type_id(geoms)
    is_line = np.isin(tid, [int(t) for t in v.LINE_TYPES])
    if not is_line.any():
        return gdf
    noded = shapely.union_all(geoms[is_line])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if len(faces) == 0:
        ends = shapely.get_coordinates(shapely.line_merge(noded))
        gap = float(np.hypot(*(ends[0] - ends[-1]))) if len(ends) > 1 else float("nan")
        raise ValidationError(
            f"ring 图层的线没有闭合，无法构成绕城高速以内范围（首尾相距约 {gap:.0f} 米）"
            f"(the ring line is not closed; ends are about {gap:.0f} m apart)",
            path=f"{source}:ring", hint="请闭合该线或直接提供面 (close the line or give a polygon)")
    area = shapely.union_all(np.r_[faces, geoms[~is_line]])
    return gpd.GeoDataFrame({"name": ["绕城高速以内"]}, geometry=[area], crs=gdf.crs)


def read_zones(
    path: PathLike, crs: str | int | None = None
) -> tuple[dict[str, gpd.GeoDataFrame], LoadReport]:
    """Read the zone GeoPackage: each known layer (all optional) checked, repaired and in EPSG:4544.

    Layers: ``red_line``, ``blue_line`` (``zone_id``, ``name``), ``ring`` (a polygon or a closed line,
    polygonised), ``parks`` (``park_id``, ``name``), ``urban_dev_boundary``, ``planned_construction_area``,
    ``districts`` (``name``, ``construction_land_m2``). Unknown layers are ignored with a warning.

    Examples
    --------
    >>> zones, report = read_zones("data/sample_parcels/zones.gpkg")
    >>> sorted(zones)
    ['blue_line', 'districts', 'parks', 'planned_construction_area', 'red_line', 'ring', 'urban_dev_boundary']
    """
    p = _require_file(path, (".gpkg",), "分区")
    source = p.name
    report = LoadReport()
    try:
        layers = pyogrio.list_layers(p)
    except (pyogrio.errors.DataSourceError, OSError) as e:
        raise InputFileError(f"无法读取文件 (cannot read the file: {_scrub(e, p)})", path=source) from e
    problems: list[GisError] = []
    zones: dict[str, gpd.GeoDataFrame] = {}
    for name, gtype in layers:
        name = str(name)
        if name not in ZONE_COLUMNS:
            known = "、".join(f"{ZONE_LAYER_LABELS[z]} {z}" for z in ZONE_LAYERS)
            report.warn(source, f"未知图层 {name} 已忽略（可用：{known}）"
                        f"(unknown layer {name!r} ignored)")
            continue
        where = f"{source}:{name}"
        if gtype is None:
            problems.append(InputFileError("该图层没有几何 (layer has no geometry)", path=where))
            continue
        raw = _restore_truncated(pyogrio.read_dataframe(p, layer=name), ZONE_COLUMNS[name], where, report)
        geoms = np.asarray(raw.geometry.array)
        blank = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if blank.any():
            report.warn(where, f"{int(blank.sum())} 个要素没有几何，已忽略 "
                        "(features without geometry ignored)",
                        _row_labels(len(raw))[blank].tolist())
            raw = raw[~blank]
        if raw.empty:
            report.warn(where, "图层为空，已忽略 (empty layer ignored)")
            continue
        labels = _rows(len(raw))
        attrs, missing = _normalise_columns(
            raw.drop(columns=raw.geometry.name), ZONE_COLUMNS[name], source=where, labels=labels,
            excel=False, problems=problems)
        id_col = _ZONE_ID.get(name)
        if id_col:
            empty = attrs[id_col].isna()
            if empty.any():
                numbered = f"{name}_" + pd.Series(np.arange(1, len(raw) + 1), index=attrs.index).astype("str")
                attrs[id_col] = attrs[id_col].mask(empty, numbered)
                report.warn(where, f"{column_label(id_col)}缺失，已按行号编号 ({id_col} absent; numbered by row)",
                            labels[empty.to_numpy()].tolist())
        gdf = gpd.GeoDataFrame(attrs, geometry=raw.geometry.rename("geometry").to_numpy(), crs=raw.crs)
        notes: list[tuple[str, list[str]]] = []
        try:
            gdf = to_working_crs(gdf, source=where, crs=crs, notes=notes)
        except CrsError as e:
            problems.append(e)
            continue
        for msg, note_ids in notes:
            report.warn(where, msg, note_ids)
        if name == "ring":
            try:
                gdf = _polygonise_ring(gdf, source)
            except GisError as e:
                problems.append(e)
                continue
            labels = _rows(len(gdf))
        chk = _finish_geometries(gdf, labels, where, report, problems)
        if chk.null.any() or chk.wrong_type.any() or chk.collapsed.any():
            continue
        zones[name] = gdf.set_geometry(gpd.GeoSeries(chk.geoms, index=gdf.index, crs=gdf.crs))
        zones[name].attrs["missing_columns"] = missing
    if problems:
        raise combine(problems, path=source)
    if not zones:
        report.warn(source, f"没有可用的分区图层（应为 {', '.join(ZONE_LAYERS)}）(no zone layers found)")
    return zones, report


# --- everything --------------------------------------------------------------------------------------


def _problems_of(err: GisError) -> list[GisError]:
    return [q for p in (err.problems or [err]) for q in _problems_of(p)] if err.problems else [err]


def _read_table_kind(path: PathLike, *, kind: str, above_scale: float) -> tuple[pd.DataFrame, LoadReport]:
    return read_table(path, kind, above_scale_revenue_10k=above_scale)


def load_inputs(
    parcels: PathLike,
    enterprises: PathLike | None = None,
    occupancy: PathLike | None = None,
    zones: PathLike | None = None,
    land_supply: PathLike | None = None,
    crs: str | int | None = None,
    *,
    above_scale_revenue_10k: float = 2000.0,
) -> Inputs:
    """Read every input of an evaluation, all-or-nothing.

    Each file is read and checked in full; if any file has errors, one `GisError` lists every problem of
    every file (``.problems``) and nothing is returned. Otherwise the `Inputs` carry one `LoadReport` with all
    warnings (repairs, reprojections, ignored layers, occupancy rows pointing at unknown parcels/enterprises)
    and a `SourceFile` (path, SHA-256, size) per file.

    Parameters
    ----------
    parcels : path
        The parcel layer (see `read_parcels`).
    enterprises, occupancy, land_supply : path, optional
        Tables (see `read_table`).
    zones : path, optional
        The zone GeoPackage (see `read_zones`).
    crs : str or int, optional
        CRS for vector files that have none.
    above_scale_revenue_10k : float
        规上 threshold used to derive ``above_scale`` (pass the rule set's number).

    Examples
    --------
    >>> from pathlib import Path
    >>> d = Path("data/sample_parcels")
    >>> inputs = load_inputs(d / "parcels.gpkg", enterprises=d / "enterprises.csv",
    ...                      occupancy=d / "occupancy.csv", zones=d / "zones.gpkg")
    >>> inputs.parcels.crs.to_epsg(), len(inputs.report.errors)
    (4544, 0)
    """
    report = LoadReport()
    failures: list[GisError] = []
    sources: dict[str, SourceFile] = {}
    result: dict[str, object] = {}

    def attempt(reader: Callable[[PathLike], tuple[Any, LoadReport]], path: PathLike) -> tuple[Any, Any]:
        try:
            return reader(path), None
        except GisError as e:
            return None, e

    readers: list[tuple[str, PathLike | None, Callable[[PathLike], tuple[Any, LoadReport]]]] = [
        ("parcels", parcels, lambda p: read_parcels(p, crs=crs)),
        *(
            (key, path, functools.partial(_read_table_kind, kind=key, above_scale=above_scale_revenue_10k))
            for key, path in (("enterprises", enterprises), ("occupancy", occupancy), ("land_supply", land_supply))
        ),
        ("zones", zones, lambda p: read_zones(p, crs=crs)),
    ]
    # The files are read (and hashed) side by side: Arrow, GDAL, GEOS and hashlib work outside the GIL. The
    # outcomes are then taken in the fixed order above, so reports and errors read the same as one by one.
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        jobs = [
            (key, path, pool.submit(attempt, reader, path), pool.submit(source_file, path))
            for key, path, reader in readers
            if path is not None
        ]
        for key, path, job, digest in jobs:
            outcome, err = job.result()
            if err is not None:
                failures.extend(_problems_of(err))
                for prob in _problems_of(err):
                    report.error(prob.path or _name(path), prob.message, prob.ids)
                continue
            value, rep = outcome
            report.extend(rep)
            result[key] = value
            sources[key] = digest.result()

    if failures:
        files = sorted({f.path.split(":")[0] for f in failures if f.path})
        raise GisError(
            f"{len(files)} 个文件有错误，未载入任何数据；请一并修正后重试 "
            f"({len(failures)} problems in {len(files)} files; nothing was loaded)",
            ids=files, problems=failures)

    parcel_gdf: gpd.GeoDataFrame = result["parcels"]  # type: ignore[assignment]
    ent: pd.DataFrame | None = result.get("enterprises")  # type: ignore[assignment]
    occ: pd.DataFrame | None = result.get("occupancy")  # type: ignore[assignment]
    if occ is not None:
        occ_src = _name(occupancy)  # type: ignore[arg-type]
        unknown_p = ~v.isin(occ["parcel_id"], parcel_gdf["parcel_id"])
        if unknown_p.any():
            report.warn(occ_src, f"{int(unknown_p.sum())} 行的宗地编号在宗地图层中不存在 "
                        "(occupancy rows with unknown parcel_id)",
                        pd.unique(occ.loc[unknown_p, "parcel_id"]).tolist())
        if ent is not None:
            unknown_e = ~v.isin(occ["enterprise_id"], ent["enterprise_id"])
            if unknown_e.any():
                report.warn(occ_src, f"{int(unknown_e.sum())} 行的企业编号在企业表中不存在 "
                            "(occupancy rows with unknown enterprise_id)",
                            pd.unique(occ.loc[unknown_e, "enterprise_id"]).tolist())
    if ent is not None:
        _warn_implausible_per_mu(parcel_gdf, ent, occ, _name(enterprises), report)  # type: ignore[arg-type]
        pe = parcel_gdf["enterprise_id"]
        unknown = pe.notna().to_numpy() & ~v.isin(pe, ent["enterprise_id"])
        if unknown.any():
            report.warn(_name(parcels), f"{int(unknown.sum())} 个宗地的企业编号在企业表中不存在 "
                        "(parcels naming an unknown enterprise_id)",
                        parcel_gdf.loc[unknown, "parcel_id"].tolist())
    return Inputs(
        parcels=parcel_gdf,
        enterprises=ent,
        occupancy=occ,
        zones=result.get("zones", {}),  # type: ignore[arg-type]
        land_supply=result.get("land_supply"),  # type: ignore[arg-type]
        report=report,
        sources=sources,
    )


# --- writing -----------------------------------------------------------------------------------------

_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".fgb": "FlatGeobuf",
            ".shp": "ESRI Shapefile"}
#: Shapefile text encodings a user can choose: name → (GDAL's encoding, what the .cpg says, the .dbf's LDID).
#: GBK's .cpg is the code page number 936, the form ArcGIS writes and GDAL/QGIS read; LDID 0x4D is CP936.
SHP_ENCODINGS: dict[str, tuple[str, str, int]] = {"utf-8": ("UTF-8", "UTF-8", 0x00), "gbk": ("CP936", "936", 0x4D)}


# The GeoPackage version new files get. pyogrio's GDAL writes 1.4 (user_version 10400), which GDAL 3.6 (Debian 12's
# ogrinfo, QGIS 3.22) opens with "may only be partially supported"; 1.3 reads everywhere and has all we write.
GPKG_VERSION = "1.3"


def shp_encoding(name: str) -> str:
    """The key of :data:`SHP_ENCODINGS` for a user's spelling (``UTF-8``, ``utf8``, ``GBK``, ``cp936``), or an error."""
    key = {"utf8": "utf-8", "cp936": "gbk", "936": "gbk", "gb2312": "gbk", "gb18030": "gbk"}.get(
        name.strip().lower(), name.strip().lower())
    if key not in SHP_ENCODINGS:
        raise InputFileError(f"不支持的 Shapefile 编码 {name} (unsupported shapefile encoding)",
                             path="--shp-encoding", hint="请使用 UTF-8 或 GBK (use UTF-8 or GBK)")
    return key


def write_layer(gdf: gpd.GeoDataFrame | pd.DataFrame, path: PathLike, layer: str | None = None, *,
                encoding: str = "utf-8", append: bool = False) -> Path:
    """Write a layer (or a geometry-less table into a GeoPackage) by suffix: gpkg, geojson, fgb, shp, parquet.

    A GeoPackage keeps its other layers (``layer`` is added or replaced, or with ``append`` the rows are added to
    it: large tables go in parts); other formats are overwritten. A new GeoPackage is version
    :data:`GPKG_VERSION`. A shapefile's text is written in ``encoding`` (``utf-8`` or
    ``gbk``, see :data:`SHP_ENCODINGS`) with a ``.cpg`` naming it, so Chinese attributes open right in ArcGIS
    and QGIS.

    Examples
    --------
    >>> import tempfile
    >>> parcels, _ = read_parcels("data/sample_parcels/parcels.gpkg")
    >>> out = write_layer(parcels, Path(tempfile.mkdtemp()) / "parcels.gpkg", layer="parcels")
    >>> out.name, len(read_layer(out, layer="parcels"))
    ('parcels.gpkg', 1800)
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".geoparquet"):
        gdf.to_parquet(p)
        return p
    driver = _DRIVERS.get(suffix)
    if driver is None:
        raise InputFileError(f"不支持写出格式 {suffix} (unsupported output format)", path=p.name,
                             hint=f"请使用 {' / '.join([*_DRIVERS, '.parquet'])}")
    p.parent.mkdir(parents=True, exist_ok=True)
    layer = layer or p.stem
    if driver == "ESRI Shapefile":
        gdal_encoding, cpg, ldid = SHP_ENCODINGS[shp_encoding(encoding)]
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            p.with_suffix(ext).unlink(missing_ok=True)
        pyogrio.write_dataframe(gdf, p, layer=layer, driver=driver, encoding=gdal_encoding)
        p.with_suffix(".cpg").write_text(cpg, encoding="ascii")
        with p.with_suffix(".dbf").open("r+b") as dbf:  # the language driver id, for readers without the .cpg
            dbf.seek(29)
            dbf.write(bytes([ldid]))
        return p
    if driver != "GPKG":
        p.unlink(missing_ok=True)
    options = {}
    if driver == "GPKG" and not p.exists():
        options["VERSION"] = GPKG_VERSION
    # GeoPackages through Arrow: columnar, no per-feature Python (a million parcels, 17M verdict rows)
    pyogrio.write_dataframe(gdf, p, layer=layer, driver=driver, use_arrow=driver == "GPKG",
                            append=append and driver == "GPKG", **options)
    return p


__all__ = [
    "PARCEL_COLUMNS",
    "SHP_ENCODINGS",
    "TABLE_COLUMNS",
    "WORKING_CRS",
    "ZONE_LAYERS",
    "Inputs",
    "LoadIssue",
    "LoadReport",
    "SourceFile",
    "load_inputs",
    "read_layer",
    "read_parcels",
    "read_table",
    "read_zones",
    "shp_encoding",
    "source_file",
    "write_layer",
]
