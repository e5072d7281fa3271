"""The one place where coordinate reference systems are decided: read, check, reproject to EPSG:4544.

Chengdu data arrives as CGCS2000 degrees (EPSG:4490), WGS84 degrees (EPSG:4326), Gauss-Krüger metres
without a zone prefix (EPSG:4544, CM 105°E) or with one (EPSG:4523, x = 35 xxx xxx), and sometimes with a
label that contradicts the numbers. A wrong label silently shifts parcels by hundreds of kilometres, so a
contradiction is refused with the CRS the numbers most likely are in.
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from pyproj import Transformer

from gis.errors import CrsError

WORKING_CRS = "EPSG:4544"
#: Square metres in one 亩 (mu): 1 亩 = 10000/15 m², exactly (the contract's unit of land).
M2_PER_MU = 10000.0 / 15.0
GEOGRAPHIC_CRS = "EPSG:4490"
#: Rough box around Sichuan (lon, lat); data outside it gets a warning, not an error.
SICHUAN_LON = (97.0, 109.0)
SICHUAN_LAT = (26.0, 35.0)
#: Swapped lon/lat for Chengdu: "x" looks like a latitude, "y" like a longitude.
_SWAP_X = (20.0, 35.0)
_SWAP_Y = (97.0, 110.0)

Note = tuple[str, list[str]]


def cgcs2000_gk_epsg(zone: int, *, prefixed: bool) -> int | None:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone ``zone`` (25–45), with or without the x prefix."""
    if not 25 <= zone <= 45:
        return None
    return (4513 if prefixed else 4534) + zone - 25


def cgcs2000_gk6_epsg(zone: int, *, prefixed: bool) -> int | None:
    """EPSG code of the CGCS2000 6-degree Gauss-Krüger zone ``zone`` (13–23), with or without the x prefix."""
    if not 13 <= zone <= 23:
        return None
    return (4491 if prefixed else 4502) + zone - 13


def gk_zone(longitude: float, width: int = 3) -> int:
    """The Gauss-Krüger zone of ``longitude`` for 3° (CM = 3·zone) or 6° zones (CM = 6·zone − 3).

    >>> gk_zone(104.07), gk_zone(104.07, 6)
    (35, 18)
    """
    return int(np.floor(longitude / 3.0 + 0.5)) if width == 3 else int(np.floor(longitude / 6.0)) + 1


def _false_easting(crs: pyproj.CRS) -> float | None:
    op = crs.coordinate_operation
    if op is None:
        return None
    for p in op.params:
        if p.name.lower() == "false easting":
            return float(p.value)
    return None


def _central_meridian(crs: pyproj.CRS) -> float | None:
    op = crs.coordinate_operation
    if op is None:
        return None
    for p in op.params:
        if p.name.lower() in ("longitude of natural origin", "central meridian"):
            return float(p.value)
    return None


def _feature_ids(gdf: gpd.GeoDataFrame, id_col: str | None, mask: np.ndarray) -> list[str]:
    if id_col and id_col in gdf.columns:
        return gdf.loc[mask, id_col].astype(str).tolist()
    return [f"#{i + 1}" for i in np.flatnonzero(mask)]


def _epsg_label(crs: pyproj.CRS) -> str:
    return _label_of_wkt(crs.to_wkt())


@functools.lru_cache(maxsize=256)
def _label_of_wkt(wkt: str) -> str:
    # CRS.to_epsg() searches PROJ's database: ~50–75 ms for a CRS without a code (CRS84), and a checked
    # parcel names its CRS three times. Once per distinct CRS is enough.
    crs = pyproj.CRS.from_wkt(wkt)
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.name


def check_coordinates(
    gdf: gpd.GeoDataFrame, *, source: str, id_col: str | None = None
) -> list[CrsError]:
    """Problems where the coordinates contradict ``gdf.crs`` (each naming the likely right CRS)."""
    crs = pyproj.CRS(gdf.crs)
    bounds = shapely.bounds(np.asarray(gdf.geometry.array))
    has = ~np.isnan(bounds).any(axis=1)
    if not has.any():
        return []
    minx, miny, maxx, maxy = (bounds[:, i] for i in range(4))
    label = _epsg_label(crs)
    problems: list[CrsError] = []
    in_degree_range = has & (np.abs(minx) <= 180) & (np.abs(maxx) <= 180) & (np.abs(miny) <= 90) & (
        np.abs(maxy) <= 90
    )
    if crs.is_geographic:
        metres = has & ~in_degree_range
        if metres.any():
            x = np.nanmedian(np.abs(np.r_[minx[metres], maxx[metres]]))
            if x >= 1e7:
                zone = int(x // 1e6)
                code = cgcs2000_gk_epsg(zone, prefixed=True)
                guess = (f"EPSG:{code}（x 带 {zone} 带号前缀 / zone-prefixed x）" if code
                         else "带号前缀的高斯投影")
            else:
                guess = "EPSG:4544（或 x 为 8 位时 EPSG:4523 / or EPSG:4523 if x has 8 digits）"
            problems.append(CrsError(
                f"坐标看起来是米，但坐标系 {label} 是经纬度 (coordinates look like metres but the CRS is "
                f"geographic {label}); looks like {guess}",
                path=source, ids=_feature_ids(gdf, id_col, metres),
                hint="请更正文件的坐标系（.prj）或用 crs= / --crs 指定正确的坐标系 "
                "(fix the file's CRS or pass crs=)",
            ))
        swapped = (
            has & (minx >= _SWAP_X[0]) & (maxx <= _SWAP_X[1]) & (miny >= _SWAP_Y[0]) & (maxy <= _SWAP_Y[1])
        )
        if swapped.any():
            problems.append(CrsError(
                "经纬度颠倒：x 像纬度、y 像经度 (longitude and latitude swapped: x looks like a latitude "
                "near 30°N and y like a longitude near 104°E)",
                path=source, ids=_feature_ids(gdf, id_col, swapped),
                hint="请按 x=经度、y=纬度 的顺序重新导出 (re-export with x = longitude, y = latitude)",
            ))
        return problems

    degrees = in_degree_range
    if degrees.any():
        problems.append(CrsError(
            f"坐标看起来是经纬度（度），但坐标系 {label} 是投影坐标（米）(coordinates look like degrees but "
            f"the CRS {label} is projected, in metres); looks like EPSG:4490",
            path=source, ids=_feature_ids(gdf, id_col, degrees),
            hint="请把坐标系标注为 EPSG:4490（或 EPSG:4326）"
            "(label the layer EPSG:4490 or pass crs='EPSG:4490')",
        ))
    fe = _false_easting(crs)
    if fe is not None and crs.is_projected:
        x = np.where(has & ~degrees, (minx + maxx) / 2, np.nan)
        if fe < 1e6:
            # a CRS without the zone prefix cannot hold an 8-digit x: the number 35 in front is the zone
            prefixed = (x >= 1e7) & (x < 1e8)
            if prefixed.any():
                zones = (x[prefixed] // 1e6).astype(int)
                zone = int(np.bincount(zones).argmax())
                code = cgcs2000_gk_epsg(zone, prefixed=True)
                guess = f"EPSG:{code}" if code else f"带号 {zone} 的带前缀高斯投影 (zone {zone} with prefix)"
                problems.append(CrsError(
                    f"x 坐标为 8 位、以带号 {zone} 开头，但坐标系 {label} 不带带号 (8-digit x starting with "
                    f"zone number {zone}, but {label} has no zone prefix); looks like {guess}",
                    path=source, ids=_feature_ids(gdf, id_col, prefixed),
                    hint=f"请把坐标系标注为 {guess}，或去掉 x 的带号前缀 "
                    f"(label it {guess} or strip the prefix)",
                ))
        elif fe >= 1e6:
            unprefixed = has & ~degrees & (np.abs(x) < 1e6)
            if unprefixed.any():
                cm = _central_meridian(crs)
                cm_zone = round(cm / 3) if cm is not None else None
                code = cgcs2000_gk_epsg(cm_zone, prefixed=False) if cm_zone is not None else None
                guess = f"EPSG:{code}" if code else "不带带号的高斯投影 (the same projection without prefix)"
                problems.append(CrsError(
                    f"坐标系 {label} 的 x 应带带号前缀（8 位），但数据的 x 只有 6 位 (CRS {label} expects an "
                    f"8-digit zone-prefixed x but x has 6 digits); looks like {guess}",
                    path=source, ids=_feature_ids(gdf, id_col, unprefixed),
                    hint=f"请把坐标系标注为 {guess} (label it {guess})",
                ))
            # x = zone number × 1 000 000 + easting: another zone's prefix means another zone's CRS
            own_zone = int(fe // 1e6)
            x_zone = np.where((x >= 1e7) & (x < 1e8), x // 1e6, -1).astype(int)
            other = (x_zone >= 0) & (x_zone != own_zone)
            if other.any():
                zone = int(np.bincount(x_zone[other]).argmax())
                code = cgcs2000_gk_epsg(zone, prefixed=True)
                guess = f"EPSG:{code}" if code else f"带号 {zone} 的高斯投影 (GK zone {zone})"
                problems.append(CrsError(
                    f"x 的带号前缀是 {zone}，但坐标系 {label} 是第 {own_zone} 带 "
                    f"(x carries zone prefix {zone} but {label} is zone {own_zone}); looks like {guess}",
                    path=source, ids=_feature_ids(gdf, id_col, other),
                    hint=f"请把坐标系标注为 {guess} (label it {guess})",
                ))
    return problems


def _sichuan_note(gdf: gpd.GeoDataFrame, *, source: str, id_col: str | None) -> Note | None:
    bounds = shapely.bounds(np.asarray(gdf.geometry.array))
    has = ~np.isnan(bounds).any(axis=1)
    if not has.any():
        return None
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    to_geo = Transformer.from_crs(gdf.crs, GEOGRAPHIC_CRS, always_xy=True)
    lon, lat = to_geo.transform(np.where(has, cx, 0.0), np.where(has, cy, 0.0))
    outside = has & ~(
        (lon >= SICHUAN_LON[0]) & (lon <= SICHUAN_LON[1]) & (lat >= SICHUAN_LAT[0]) & (lat <= SICHUAN_LAT[1])
    )
    if not outside.any():
        return None
    return (
        f"{int(outside.sum())} 个要素不在四川范围内（97–109°E, 26–35°N），请核对坐标系 "
        f"({int(outside.sum())} features lie outside Sichuan; check the CRS)",
        _feature_ids(gdf, id_col, outside),
    )


def parse_crs(value: str | int | pyproj.CRS, *, source: str | None = None) -> pyproj.CRS:
    """A CRS the user named (``EPSG:4490``, ``4544``, ``OGC:CRS84``, WKT), or a :class:`CrsError` saying so.

    Examples
    --------
    >>> parse_crs("EPSG:4544").to_epsg()
    4544
    >>> try:
    ...     parse_crs("EPSG:999999", source="--crs")
    ... except CrsError as exc:
    ...     print(exc.message)
    无法识别的坐标系 EPSG:999999 (unknown CRS)
    """
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as exc:
        raise CrsError(
            f"无法识别的坐标系 {value} (unknown CRS)", path=source,
            hint="请使用 EPSG 编号，如 EPSG:4544（CGCS2000 3 度带 105°E）、EPSG:4490（经纬度）或 OGC:CRS84 "
            "(use an EPSG code such as EPSG:4544 or EPSG:4490, or OGC:CRS84)",
        ) from exc


def to_working_crs(
    gdf: gpd.GeoDataFrame,
    *,
    source: str,
    crs: str | int | pyproj.CRS | None = None,
    id_col: str | None = None,
    notes: list[Note] | None = None,
) -> gpd.GeoDataFrame:
    """Check ``gdf``'s coordinates against its CRS and reproject it to EPSG:4544.

    Parameters
    ----------
    gdf : GeoDataFrame
        The layer as read from ``source``.
    source : str
        File name used in messages.
    crs : str, int or pyproj.CRS, optional
        CRS named by the caller: used for a layer that has none, and instead of a layer's own label only
        when that label contradicts the coordinates and the named CRS fits them (so one ``--crs`` for
        several files never spoils a file that is labelled correctly).
    id_col : str, optional
        Column whose values name offending features in messages (row numbers otherwise).
    notes : list, optional
        Receives ``(message, ids)`` warnings: reprojection done, CRS overridden, data outside Sichuan.

    Returns
    -------
    GeoDataFrame
        A copy in EPSG:4544.

    Raises
    ------
    CrsError
        No CRS and none given, or coordinates that contradict the CRS (the message names the likely one).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.Point(104.066, 30.657)], crs="EPSG:4490")
    >>> round(to_working_crs(g, source="x.gpkg").geometry.x.iloc[0])
    410479
    """
    notes = notes if notes is not None else []
    given = parse_crs(crs, source=source) if crs is not None else None
    if gdf.crs is None:
        if given is None:
            raise CrsError(
                "图层没有坐标参考系 (layer has no CRS)",
                path=source,
                hint="请在文件中定义坐标系，或用 crs= / --crs 指定，例如 EPSG:4544（CGCS2000 3 度带 105°E）"
                "或 EPSG:4490（经纬度）"
                "(define the CRS in the file or pass crs=, e.g. EPSG:4544 or EPSG:4490)",
            )
        gdf = gdf.set_crs(given)
        notes.append((f"文件没有坐标系，按指定的 {_epsg_label(given)} 读取 (no CRS in the file; "
                      f"read as the given {_epsg_label(given)})", []))
    problems = check_coordinates(gdf, source=source, id_col=id_col)
    if problems and given is not None and not pyproj.CRS(gdf.crs).equals(given):
        # the caller named a CRS for a file whose own label contradicts its coordinates: use it if it fits
        relabelled = gdf.set_crs(given, allow_override=True)
        if not check_coordinates(relabelled, source=source, id_col=id_col):
            notes.append((
                f"文件标注的 {_epsg_label(pyproj.CRS(gdf.crs))} 与坐标不符，"
                f"按指定的 {_epsg_label(given)} 读取 "
                "(the file's CRS contradicts its coordinates; read as the given CRS)", []))
            gdf, problems = relabelled, []
    if problems:
        if len(problems) == 1:
            raise problems[0]
        raise CrsError("坐标与坐标系不符 (coordinates contradict the CRS)", path=source, problems=problems)
    src = pyproj.CRS(gdf.crs)
    if not src.equals(pyproj.CRS(WORKING_CRS)):
        before = np.isnan(shapely.bounds(np.asarray(gdf.geometry.array))).any(axis=1)
        gdf = gdf.to_crs(WORKING_CRS)
        after = shapely.bounds(np.asarray(gdf.geometry.array))
        broken = ~before & ~np.isfinite(after).all(axis=1)
        if broken.any():
            raise CrsError(
                f"从 {_epsg_label(src)} 重投影到 {WORKING_CRS} 失败，坐标超出范围 (reprojection failed: "
                "coordinates out of the CRS's domain)",
                path=source, ids=_feature_ids(gdf, id_col, broken),
                hint="请核对坐标系 (check the CRS)",
            )
        notes.append((f"已从 {_epsg_label(src)} 重投影到 {WORKING_CRS} "
                      f"(reprojected from {_epsg_label(src)} to {WORKING_CRS})", []))
    else:
        gdf = gdf.copy()
    note = _sichuan_note(gdf, source=source, id_col=id_col)
    if note:
        notes.append(note)
    return gdf


def to_map_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject a working-CRS layer to EPSG:4326 for maps and the API boundary."""
    return gdf.to_crs("EPSG:4326")


__all__ = [
    "WORKING_CRS",
    "CrsError",
    "check_coordinates",
    "cgcs2000_gk6_epsg",
    "cgcs2000_gk_epsg",
    "gk_zone",
    "to_map_crs",
    "to_working_crs",
]
