"""界址点坐标 text files (勘测定界 / 建设用地报批 部备案 format): read and write.

A surveyor's file looks like this (GBK or UTF-8)::

    [属性描述]
    坐标系=2000国家大地坐标系
    几度分带=3
    投影类型=高斯克吕格
    计量单位=米
    带号=35
    精度=0.001
    转换参数=,,,,,,
    [地块坐标]
    5,1.0000,CD-001,一号地块,面,H48G001001,工业用地,1001,@
    J1,1,3390000.000,35400000.000
    J2,1,3390000.000,35400100.000
    …
    J1,1,3390000.000,35400000.000

Each parcel starts with a header line (界址点数, 地块面积（公顷）, 地块编号, 地块名称, 记录图形属性, 图幅号, 地块用途,
地类编码, ``@``) followed by its point lines ``点号,圈号,X,Y``: X is the northing, Y the easting with the zone
number prefixed (35 400 000.000). A ring closes on its first point; each 圈号 is one ring, an outer ring or a
hole — which, is decided by containment (a ring inside another ring of the same parcel is its hole, a ring
inside a hole is a new part). 界址点数 counts the point lines (closing points included, or left out).

`read_survey_txt` gives the parcels in the file's zone without the prefix (taken off the eastings, exactly: zone 35,
EPSG:4523 in the file, is EPSG:4544, the working CRS, with nothing reprojected) plus notes; `gis.io.read_parcels`
reprojects other zones to the working CRS like any other layer. `write_survey_txt` writes
parcels back in CGCS2000 3° Gauss-Krüger with the zone prefix, the zone chosen from the data.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gis.crs import GEOGRAPHIC_CRS, cgcs2000_gk6_epsg, cgcs2000_gk_epsg, gk_zone
from gis.errors import CrsError, InputFileError, ValidationError, combine
from gis.textfile import decode_text_file
from gis.vocabulary import LAND_USE_NAMES, land_use_name

PathLike = str | os.PathLike[str]
Note = tuple[str, list[str]]

ATTRIBUTE_SECTION = "[属性描述]"
COORDINATE_SECTION = "[地块坐标]"
#: The fields of a parcel's header line, in order (the line ends with ``@``).
HEADER_FIELDS = ("界址点数", "地块面积（公顷）", "地块编号", "地块名称", "记录图形属性", "图幅号", "地块用途",
                 "地类编码")
#: Header fields kept as columns of their own (besides 地块编号 → parcel_id and 地类编码 → land_use).
KEPT_FIELDS = ("地块名称", "地块用途", "图幅号")
#: A header area that differs from the area of the coordinates by more than this share is warned about.
AREA_TOLERANCE = 0.01
M2_PER_HECTARE = 10000.0
_SECTION = re.compile(r"^\s*\[[^\]]+\]\s*$", re.M)
_SNIFF = re.compile(r"^\s*\[(属性描述|地块坐标)\]\s*$", re.M)


def is_survey_txt(path: PathLike) -> bool:
    """Whether a ``.txt`` file is a 界址点坐标 file (it has an ``[属性描述]`` or ``[地块坐标]`` section line)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    for encoding in ("utf-8-sig", "gb18030"):
        if _SNIFF.search(head.decode(encoding, errors="ignore")):
            return True
    return False


def _line_no(numbers: np.ndarray, lines: pd.Series, mask: np.ndarray) -> list[str]:
    return [f"第 {n} 行“{t[:60]}”" for n, t in zip(numbers[mask], lines.to_numpy()[mask], strict=True)]


def _attributes(lines: list[str], start: int, end: int, source: str, problems: list) -> dict[str, str]:
    attrs: dict[str, str] = {}
    bad = []
    for i in range(start, end):
        text = lines[i].strip()
        if not text:
            continue
        key, sep, value = text.replace("＝", "=").partition("=")
        if not sep:
            bad.append(f"第 {i + 1} 行“{text[:60]}”")
            continue
        attrs[key.strip()] = value.strip()
    if bad:
        problems.append(ValidationError(
            "[属性描述] 段的这些行不是“名称=值”的形式 (attribute lines are not key=value)", path=source, ids=bad,
            hint="每行写成 名称=值，如 带号=35 (one key=value per line)"))
    return attrs


def _zone_crs(attrs: dict[str, str], easting: np.ndarray, northing: np.ndarray, source: str,
              notes: list[Note]) -> tuple[pyproj.CRS, float]:
    """The file's zone from 坐标系 / 几度分带 / 投影类型 / 计量单位 / 带号 and the eastings' prefix: the CRS of
    that zone without the prefix, and the prefix to take off the eastings (zone × 10⁶ m; 0 when they carry none)."""
    system = attrs.get("坐标系", "")
    if system and not re.search(r"2000|CGCS", system, re.I):
        raise CrsError(
            f"坐标系“{system}”不受支持，只能读取 2000 国家大地坐标系 (only CGCS2000 is supported)", path=source,
            hint="请让测绘单位提供 2000 国家大地坐标系的坐标（坐标系=2000国家大地坐标系）"
            "(ask the surveyor for CGCS2000 coordinates)")
    if not system:
        notes.append(("[属性描述] 未写坐标系，按 2000 国家大地坐标系读取 (no 坐标系 given; read as CGCS2000)", []))
    unit = attrs.get("计量单位", "")
    if unit and unit not in ("米", "m", "M", "metre", "meter"):
        raise CrsError(f"计量单位“{unit}”不受支持，坐标应以米为单位 (coordinates must be in metres)", path=source,
                       hint="请提供以米为单位的坐标（计量单位=米）(give the coordinates in metres)")
    projection = attrs.get("投影类型", "")
    if projection and not re.search(r"高斯|Gauss", projection, re.I):
        raise CrsError(f"投影类型“{projection}”不受支持，应为高斯克吕格投影 (only Gauss-Krüger is supported)",
                       path=source, hint="投影类型=高斯克吕格 (Gauss-Krüger projection)")
    if len(easting) and np.median(northing) >= 1e7 > np.median(easting):
        raise CrsError(
            "X、Y 坐标颠倒：X 应为纵坐标（北向，约 7 位整数），Y 应为带带号的横坐标（东向，如 35xxxxxx）"
            "(X and Y swapped: X is the northing, Y the zone-prefixed easting)", path=source,
            hint="请交换每个界址点的 X 与 Y 两列后重试 (swap the X and Y columns)")
    prefixes = np.unique(np.floor(easting[easting >= 1e7] / 1e6).astype(int))
    prefixed = bool((easting >= 1e7).any())
    if prefixed and (len(prefixes) > 1 or not (easting >= 1e7).all()):
        raise CrsError(
            f"横坐标 Y 的带号前缀不一致（{', '.join(map(str, prefixes)) or '无'}，部分点无前缀）"
            "(the eastings carry different zone prefixes)", path=source,
            hint="同一文件的坐标应属于同一投影带 (one file, one zone)")
    width_text = attrs.get("几度分带", "").replace("度", "").strip()
    zone_text = attrs.get("带号", "").strip()
    if zone_text:
        if not zone_text.isdigit():
            raise CrsError(f"带号“{zone_text}”不是整数 (zone number is not an integer)", path=source,
                           hint="带号应为整数，如 带号=35 (e.g. 带号=35)")
        zone = int(zone_text)
        if prefixed and int(prefixes[0]) != zone:
            raise CrsError(
                f"[属性描述] 的带号 {zone} 与坐标的带号前缀 {int(prefixes[0])} 不符 "
                f"(zone {zone} contradicts the coordinates' prefix {int(prefixes[0])})", path=source,
                hint="请核对带号或坐标 (check the zone number or the coordinates)")
    elif prefixed:
        zone = int(prefixes[0])
        notes.append((f"[属性描述] 未写带号，按坐标的带号前缀推定为 {zone} 带 "
                      f"(no 带号 given; zone {zone} taken from the coordinates' prefix)", []))
    else:
        raise CrsError(
            "无法确定投影带：[属性描述] 没有带号，横坐标 Y 也没有带号前缀 "
            "(no zone number and no zone prefix on the eastings)", path=source,
            hint="请在 [属性描述] 中写明带号（成都为 3 度带 35 带：带号=35）(add 带号=35 for Chengdu)")
    if width_text not in ("", "3", "6"):
        raise CrsError(f"几度分带“{width_text}”不受支持，应为 3 或 6 (zone width must be 3 or 6)", path=source)
    width = int(width_text) if width_text else (6 if 13 <= zone <= 23 else 3)
    code = (cgcs2000_gk_epsg if width == 3 else cgcs2000_gk6_epsg)(zone, prefixed=False)
    if code is None:
        span = "25–45" if width == 3 else "13–23"
        raise CrsError(f"{width} 度分带的带号 {zone} 超出范围 {span} (zone {zone} out of range)", path=source,
                       hint="请核对带号和几度分带 (check 带号 and 几度分带)")
    return pyproj.CRS.from_epsg(code), zone * 1e6 if prefixed else 0.0


def parse_survey_txt(text: str, source: str) -> tuple[gpd.GeoDataFrame, list[Note]]:
    """Parcels from the text of a 界址点坐标 file, in the file's zone (prefix taken off), and notes about it.

    Raises one `GisError` listing every malformed line (by line number) and every other problem.
    """
    lines = text.splitlines()
    sections = [(i, ln.strip()) for i, ln in enumerate(lines) if _SECTION.match(ln)]
    names = [s for _, s in sections]
    if COORDINATE_SECTION not in names:
        raise InputFileError("界址点文件缺少 [地块坐标] 段 (no [地块坐标] section)", path=source,
                             hint="坐标应写在 [地块坐标] 一行之后 (coordinates follow a [地块坐标] line)")
    bounds = {s: (i + 1, next((j for j, _ in sections if j > i), len(lines))) for i, s in sections}
    problems: list = []
    attrs = _attributes(lines, *bounds[ATTRIBUTE_SECTION], source, problems) if ATTRIBUTE_SECTION in bounds else {}
    start, end = bounds[COORDINATE_SECTION]
    body = pd.Series(lines[start:end], dtype=object).str.strip()
    numbers = np.arange(start + 1, end + 1)
    keep = (body != "").to_numpy()
    body, numbers = body[keep].reset_index(drop=True), numbers[keep]
    if body.empty:
        raise InputFileError("[地块坐标] 段没有任何地块 (no parcels in [地块坐标])", path=source)
    body = body.str.replace("，", ",", regex=False)
    is_header = body.str.endswith("@").to_numpy()
    parcel = np.cumsum(is_header) - 1
    orphan = (parcel < 0) & ~is_header
    if orphan.any():
        problems.append(ValidationError(
            "这些界址点之前没有地块头行（…,@）(point lines before the first parcel header)", path=source,
            ids=_line_no(numbers, body, orphan),
            hint="每个地块以“界址点数,地块面积,地块编号,…,@”开头 (each parcel starts with a header line)"))

    # parcel header lines
    head = body[is_header].str.replace(r",?\s*@$", "", regex=True).str.split(",", expand=True)
    head = head.reindex(columns=range(len(HEADER_FIELDS))).fillna("")
    head.columns = list(HEADER_FIELDS)
    head = head.apply(lambda c: c.astype(str).str.strip())
    head_no = numbers[is_header]
    count = pd.to_numeric(head["界址点数"], errors="coerce").to_numpy()
    hectares = pd.to_numeric(head["地块面积（公顷）"].replace("", np.nan), errors="coerce").to_numpy()
    bad_count = ~(np.isfinite(count) & (count == np.floor(count)) & (count > 0))
    bad_area = head["地块面积（公顷）"].ne("").to_numpy() & ~np.isfinite(hectares)
    no_id = head["地块编号"].eq("").to_numpy()
    not_area = ~head["记录图形属性"].isin(["", "面"]).to_numpy()
    for mask, what in ((bad_count, "界址点数不是正整数 (point count is not a positive integer)"),
                       (bad_area, "地块面积（公顷）不是数字 (area is not a number)"),
                       (no_id, "地块编号为空 (empty 地块编号)"),
                       (not_area, "记录图形属性不是“面”，宗地必须是面 (the record is a line or point, not an area)")):
        if mask.any():
            problems.append(ValidationError(f"地块头行的{what}", path=source,
                                            ids=_line_no(head_no, body[is_header], mask),
                                            hint="地块头行：界址点数,地块面积（公顷）,地块编号,地块名称,记录图形属性,"
                                            "图幅号,地块用途,地类编码,@"))
    dup = head["地块编号"].duplicated(keep=False).to_numpy() & ~no_id
    if dup.any():
        problems.append(ValidationError("地块编号重复 (duplicate 地块编号)", path=source,
                                        ids=_line_no(head_no, body[is_header], dup),
                                        hint="每个地块的编号必须唯一 (ids must be unique)"))

    # point lines: 点号,圈号,X,Y
    pts_mask = ~is_header & ~orphan
    pts = body[pts_mask].str.split(",", expand=True).reindex(columns=range(4)).fillna("")
    pts = pts.apply(lambda c: c.astype(str).str.strip())
    pt_no, pt_text = numbers[pts_mask], body[pts_mask]
    ring_no = pd.to_numeric(pts[1], errors="coerce").to_numpy()
    north = pd.to_numeric(pts[2], errors="coerce").to_numpy()
    east = pd.to_numeric(pts[3], errors="coerce").to_numpy()
    fields = body[pts_mask].str.count(",").to_numpy() + 1
    short = fields < 4
    bad_ring = ~short & ~(np.isfinite(ring_no) & (ring_no == np.floor(ring_no)) & (ring_no > 0))
    bad_xy = ~short & ~(np.isfinite(north) & np.isfinite(east))
    for mask, what in ((short, "界址点行应有 4 项：点号,圈号,X,Y (a point line needs 点号,圈号,X,Y)"),
                       (bad_ring, "圈号不是正整数 (圈号 is not a positive integer)"),
                       (bad_xy, "X 或 Y 坐标不是数字 (X or Y is not a number)")):
        if mask.any():
            problems.append(ValidationError(what, path=source, ids=_line_no(pt_no, pt_text, mask),
                                            hint="界址点行形如 J1,1,3390000.000,35400000.000 (e.g. J1,1,X,Y)"))
    if problems:
        raise combine(problems, path=source)

    if not pts_mask.any():
        raise ValidationError("[地块坐标] 段只有地块头行，没有界址点 (no point lines)", path=source,
                              hint="每个地块头行之后列出它的界址点 J1,1,X,Y … (list each parcel's points)")
    pid = head["地块编号"].to_numpy(dtype=object)
    owner = parcel[pts_mask]
    # rings: a run of points of one parcel with one 圈号; its closing point repeats the first
    new_ring = np.r_[True, (owner[1:] != owner[:-1]) | (ring_no[1:] != ring_no[:-1])]
    ring = np.cumsum(new_ring) - 1
    first = np.flatnonzero(new_ring)
    at_first = (east == east[first][ring]) & (north == north[first][ring]) & ~new_ring
    # 界址点数 counts the point lines; some surveyors leave out the closing points: both are accepted
    counted = np.bincount(owner, minlength=len(head))
    closings = np.bincount(owner[at_first], minlength=len(head))
    wrong = (counted != count) & (counted - closings != count)
    if wrong.any():
        problems.append(ValidationError(
            "地块头行的界址点数与其后的界址点行数不符 (point count differs from the point lines that follow)",
            path=source,
            ids=[f"第 {n} 行 地块 {p}：写 {int(c)} 个，实有 {k} 个" for n, p, c, k in
                 zip(head_no[wrong], pid[wrong], count[wrong], counted[wrong], strict=True)],
            hint="请核对界址点数或补全界址点 (check the count or the points)"))
    last = np.r_[first[1:] - 1, len(ring) - 1]
    early = at_first & ~np.isin(np.arange(len(ring)), last)
    if early.any():
        problems.append(ValidationError(
            "圈在回到起点后仍有界址点（同一圈号下有多个圈）(a ring goes on after closing on its first point)",
            path=source, ids=_line_no(pt_no, pt_text, early),
            hint="每个圈（外圈、内圈/洞、另一部分）使用各自的圈号 (give each ring its own 圈号)"))
    vertex = ~at_first
    distinct = np.bincount(ring[vertex], minlength=len(first))
    few = distinct < 3
    if few.any():
        problems.append(ValidationError(
            "这些圈少于 3 个不同的界址点，不能构成面 (rings with fewer than 3 distinct points)", path=source,
            ids=[f"第 {pt_no[f]} 行起 地块 {pid[owner[f]]} 圈 {int(ring_no[f])}" for f in first[few]],
            hint="请补全界址点 (add the missing points)"))
    if problems:
        raise combine(problems, path=source)
    notes: list[Note] = []
    unclosed = ~at_first[last]
    if unclosed.any():
        notes.append(("这些圈的最后一个界址点未回到起点，已自动闭合 (rings not closed on their first point were "
                      "closed)", [f"{pid[owner[f]]} 圈 {int(ring_no[f])}" for f in first[unclosed]]))
    crs, prefix = _zone_crs(attrs, east, north, source, notes)

    rings = shapely.linearrings(np.c_[east[vertex] - prefix, north[vertex]], indices=ring[vertex])
    ring_parcel = owner[first]
    shells = shapely.polygons(rings)
    tree = shapely.STRtree(shells)
    outer, inner = tree.query(shells, predicate="contains")  # a hole may touch its outer ring at a point
    same = (ring_parcel[outer] == ring_parcel[inner]) & (outer != inner)
    outer, inner = outer[same], inner[same]
    depth = np.bincount(inner, minlength=len(rings))
    # each hole belongs to its immediate container: the one containing ring one level up
    shell_of = np.arange(len(rings))
    direct = depth[outer] == depth[inner] - 1
    hole = depth % 2 == 1
    pick = direct & hole[inner]
    shell_of[inner[pick]] = outer[pick]
    order = np.lexsort((hole, shell_of))
    _, poly_index = np.unique(shell_of[order], return_inverse=True)
    polygons = shapely.polygons(rings[order], indices=poly_index)
    poly_parcel = ring_parcel[order][np.r_[0, np.flatnonzero(np.diff(poly_index)) + 1]]
    geoms = shapely.multipolygons(polygons, indices=poly_parcel)

    area_m2 = shapely.area(geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.abs(hectares * M2_PER_HECTARE - area_m2) / area_m2
    differs = np.isfinite(off) & (off > AREA_TOLERANCE)
    if differs.any():
        notes.append((
            f"地块头行的面积与界址点坐标计算的面积相差超过 {AREA_TOLERANCE:.0%} "
            "(header area differs from the area of the coordinates by more than 1 %)",
            [f"{p}（头行 {h:.4f} 公顷，坐标计算 {a / M2_PER_HECTARE:.4f} 公顷）" for p, h, a in
             zip(pid[differs], hectares[differs], area_m2[differs], strict=True)]))
    code = head["地类编码"].replace("", np.nan)
    named = head["地块用途"].where(head["地块用途"].isin(list(LAND_USE_NAMES)))
    data = {"parcel_id": pid, "land_use": code.fillna(named).to_numpy(dtype=object)}
    data.update({f: head[f].replace("", np.nan).to_numpy(dtype=object) for f in KEPT_FIELDS})
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs), notes


def read_survey_txt(path: PathLike) -> tuple[gpd.GeoDataFrame, list[Note]]:
    """Read a 界址点坐标 file (GBK or UTF-8): parcels in the file's CRS, and notes about the file.

    The CRS is the file's zone without the prefix (EPSG:4544 for Chengdu's zone 35). Columns: ``parcel_id``
    (地块编号), ``land_use`` (地类编码, or 地块用途 when that is a code), 地块名称, 地块用途, 图幅号. A header
    area more than 1 % off the coordinates' area, a 带号 inferred from the prefix and rings closed automatically
    are notes; everything else wrong is one error naming the lines.
    """
    p = Path(path)
    text, _encoding = decode_text_file(p)
    return parse_survey_txt(text, p.name)


def _field(values: pd.Series) -> np.ndarray:
    """Text for one header field: no commas (the separator), no line breaks, empty for NA."""
    text = values.astype("string").fillna("").str.replace(",", "，", regex=False)
    return text.str.replace(r"[\r\n@]", " ", regex=True).to_numpy(dtype=object).astype(str)


def write_survey_txt(gdf: gpd.GeoDataFrame, path: PathLike, *, encoding: str = "gb18030") -> Path:
    """Write parcels as a 界址点坐标 file in CGCS2000 3° Gauss-Krüger with the zone prefix.

    The zone is the one of the centre of the data; X (northing) and Y (prefixed easting) with 3 decimals, the
    area in 公顷 with 4; each ring closed on its first point (its 点号 repeated); 圈号 numbers the rings of a
    parcel (outer ring of each part, then its holes). Columns used: ``parcel_id``, ``land_use`` (地类编码) and,
    when present, 地块名称, 地块用途 (else the land-use class name), 图幅号. Written as GBK (GB18030), the encoding
    the ministry's system reads; ``encoding="utf-8"`` for UTF-8.
    """
    if gdf.crs is None:
        raise CrsError("图层没有坐标参考系，无法写出界址点坐标 (layer has no CRS)", path=Path(path).name)
    geoms = np.asarray(gdf.geometry.array)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise ValidationError("这些宗地没有几何，无法写出界址点坐标 (parcels without geometry)",
                              path=Path(path).name, ids=gdf["parcel_id"].astype(str)[missing].tolist())
    centre = gpd.GeoSeries([shapely.box(*gdf.total_bounds).centroid], crs=gdf.crs).to_crs(GEOGRAPHIC_CRS)
    zone = gk_zone(float(centre.x.iloc[0]))
    code = cgcs2000_gk_epsg(zone, prefixed=False)
    if code is None:
        raise CrsError(f"数据中心经度 {float(centre.x.iloc[0]):.2f}° 不在我国 3 度带 25–45 带范围内 "
                       "(the data lie outside China's 3-degree zones)", path=Path(path).name)
    # the zone without the prefix (the working CRS itself for Chengdu's zone 35), then the prefix added to Y
    projected = np.asarray(gdf.to_crs(epsg=code).geometry.array)
    polygons = shapely.get_parts(projected)
    _, part_owner = shapely.get_parts(projected, return_index=True)
    rings, ring_part = shapely.get_rings(polygons, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    ring_parcel = part_owner[ring_part]
    coord_parcel = ring_parcel[coord_ring]
    n = len(gdf)
    # 圈号: 1, 2, … within a parcel, in ring order (each part's outer ring, then its holes)
    ring_first = np.r_[True, ring_parcel[1:] != ring_parcel[:-1]]
    ring_start = np.flatnonzero(ring_first)
    ring_no = np.arange(len(rings)) - np.repeat(ring_start, np.diff(np.r_[ring_start, len(rings)])) + 1
    # 点号: J1, J2, … within a parcel; the closing point of a ring repeats the number of its first point
    closing = np.r_[coord_ring[1:] != coord_ring[:-1], True]
    counted = np.where(closing, 0, 1)
    parcel_first = np.r_[True, coord_parcel[1:] != coord_parcel[:-1]]
    cum = np.cumsum(counted)
    start = np.flatnonzero(parcel_first)
    before = np.repeat(cum[start] - counted[start], np.diff(np.r_[start, len(cum)]))
    number = cum - before
    ring_begin = np.r_[True, coord_ring[1:] != coord_ring[:-1]]
    number = np.where(closing, number[np.flatnonzero(ring_begin)][coord_ring], number)
    point_lines = np.char.add(np.char.add(np.char.add(np.char.add(
        np.char.add("J", number.astype(str)), ","), ring_no[coord_ring].astype(str)), ","),
        np.char.add(np.char.add(np.char.mod("%.3f", coords[:, 1]), ","),
                    np.char.mod("%.3f", coords[:, 0] + zone * 1e6)))

    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    land_use = frame["land_use"] if "land_use" in frame else pd.Series(pd.NA, index=frame.index, dtype="string")
    if "地块用途" in frame:
        use = frame["地块用途"]
    else:  # the class name of each code, looked up once per distinct code
        use = land_use.map({c: land_use_name(c) for c in pd.unique(land_use.dropna())})
    points_per_parcel = np.bincount(coord_parcel, minlength=n)
    hectares = shapely.area(projected) / M2_PER_HECTARE
    fields = [points_per_parcel.astype(str), np.char.mod("%.4f", hectares), _field(frame["parcel_id"]),
              _field(frame.get("地块名称", pd.Series("", index=frame.index))), np.full(n, "面"),
              _field(frame.get("图幅号", pd.Series("", index=frame.index))), _field(use), _field(land_use),
              np.full(n, "@")]
    headers = fields[0]
    for f in fields[1:]:
        headers = np.char.add(np.char.add(headers, ","), f)
    # header line of parcel i, then its points: sort all lines by (parcel, header first, point order)
    keys = np.r_[np.arange(n), coord_parcel]
    order = np.lexsort((np.r_[np.full(n, -1), np.arange(len(coords))], keys))
    body = np.r_[headers.astype(object), point_lines.astype(object)][order]
    today = dt.date.today().isoformat()
    attributes = [ATTRIBUTE_SECTION, "格式版本号=1.01版本", "数据产生单位=", f"数据产生日期={today}",
                  "坐标系=2000国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}",
                  "精度=0.001", "转换参数=,,,,,,", COORDINATE_SECTION]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\r\n".join([*attributes, *body.tolist()]) + "\r\n", encoding=encoding, newline="")
    return out


__all__ = ["is_survey_txt", "parse_survey_txt", "read_survey_txt", "write_survey_txt"]
