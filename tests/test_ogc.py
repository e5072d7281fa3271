"""OGC API – Features beyond Part 1's basics, on both stores through the real app: keyset paging by cursor,
Part 2 (CRS) and Part 3 (CQL2 filters, queryables), sortby and properties."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer

from tests.conftest import DATA_DIR

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture(scope="module")
def sample_gdf() -> gpd.GeoDataFrame:
    """The sample parcels as gis.io reads them (EPSG:4544), in file order: the order they were imported in."""
    from gis.io import read_parcels

    return read_parcels(DATA_DIR / "parcels.gpkg")[0]


def _items(client, ds: int, **params) -> str:
    return f"/datasets/{ds}/ogc/collections/parcels/items"


def _get(client, url: str, params: dict | None = None, status: int = 200) -> dict:
    r = client.get(url.replace("http://testserver", ""), params=params, headers=client.as_role("viewer"))
    assert r.status_code == status, r.text
    return r.json()


def _walk(client, url: str, params: dict) -> tuple[list[str], list[dict]]:
    """Every page from the first, following ``next`` links; the ids in the order served, and the pages."""
    pages = [_get(client, url, params)]
    while (nxt := next((lk["href"] for lk in pages[-1]["links"] if lk["rel"] == "next"), None)) is not None:
        assert "offset=" not in nxt and "cursor=" in nxt
        pages.append(_get(client, nxt))
        assert len(pages) < 1000
    return [f["id"] for p in pages for f in p["features"]], pages


# --- keyset paging ----------------------------------------------------------------------------------

def test_walk_returns_every_parcel_once_in_order(client, sample, sample_gdf):
    ids, pages = _walk(client, _items(client, sample["dataset"]), {"limit": 97})
    # 1800 parcels in pages of 97: 18 full pages and one of 1800 - 18·97 = 54.
    assert [p["numberReturned"] for p in pages] == [97] * 18 + [54]
    assert ids == sample_gdf["parcel_id"].tolist()  # import order, each once
    assert {p["numberMatched"] for p in pages} == {1800}
    assert "next" not in {lk["rel"] for lk in pages[-1]["links"]}


def test_cursor_combines_with_bbox_filters_and_sortby(client, sample, sample_gdf):
    url = _items(client, sample["dataset"])
    b = sample_gdf.to_crs("OGC:CRS84").geometry.bounds
    x, y = float(((b.minx + b.maxx) / 2).median()), float(((b.miny + b.maxy) / 2).median())
    box = ",".join(str(v) for v in (x - 0.08, y - 0.08, x + 0.08, y + 0.08))
    for params in ({"bbox": box, "status": "fail,warn"},
                   {"bbox": box, "filter": "floor_area_m2 > 5000"},
                   {"filter": "land_use IN ('100101', '1001')", "sortby": "-floor_area_m2,parcel_id"},
                   {"bbox": box, "sortby": "+transfer_date"},
                   {"sortby": "-retainable", "filter": "far < 3"}):
        whole = _get(client, url, {**params, "limit": 5000})
        expected = [f["id"] for f in whole["features"]]
        assert "next" not in {lk["rel"] for lk in whole["links"]} and len(expected) > 10, params
        ids, pages = _walk(client, url, {**params, "limit": 7})
        assert ids == expected, params  # the same rows in the same order, page after page
        assert {p["numberMatched"] for p in pages} == {len(expected)}, params
    # sortby puts NULLs last either way; check one order by hand from the file.
    got = _get(client, url, {"sortby": "-floor_area_m2,parcel_id", "limit": 5000})["features"]
    fa = sample_gdf.set_index("parcel_id")["floor_area_m2"]
    expected = fa.reset_index().assign(null=fa.isna().to_numpy()).sort_values(
        ["null", "floor_area_m2", "parcel_id"], ascending=[True, False, True])["parcel_id"].tolist()
    assert [f["id"] for f in got] == expected


def test_bad_cursor_is_400_with_a_clear_message(client, sample):
    url = _items(client, sample["dataset"])
    for cursor in ("garbage", "eyJrIjpbMV19", "x" * 30):
        body = _get(client, url, {"cursor": cursor}, status=400)
        assert body["code"] == "invalid_cursor" and "cursor" in body["message"] and "next" in body["message"]
    first = _get(client, url, {"limit": 5, "sortby": "-far"})
    nxt = next(lk["href"] for lk in first["links"] if lk["rel"] == "next")
    cursor = nxt.split("cursor=")[1].split("&")[0]
    other = _get(client, url, {"limit": 5, "cursor": cursor}, status=400)  # made for sortby=-far
    assert other["code"] == "invalid_cursor" and "sortby" in other["message"]


# --- Part 2: CRS ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(client, tmp_path_factory) -> int:
    from tests.conftest import tiny_parcels_gdf

    path = tmp_path_factory.mktemp("ogc-tiny") / "tiny.geojson"
    tiny_parcels_gdf().to_crs("OGC:CRS84").to_file(path, driver="GeoJSON")
    up = client.post("/datasets", headers=client.as_role("analyst"), files={"parcels": ("tiny.geojson",
                                                                                         path.read_bytes())})
    assert up.status_code in (200, 201), up.text
    return up.json()["id"]


def _corner(feature: dict, near: tuple[float, float] | None = None) -> list[float]:
    """The ring's vertex nearest ``near`` (default: its smallest, for an axis-aligned square)."""
    ring = feature["geometry"]["coordinates"][0][0]
    if near is None:
        return min(ring)
    return min(ring, key=lambda p: (p[0] - near[0]) ** 2 + (p[1] - near[1]) ** 2)


def test_crs_of_items_with_axis_order(client, tiny):
    url = f"/datasets/{tiny}/ogc/collections/parcels/items/T1"
    h = client.as_role("viewer")
    # T1 is the square 400000–400100 E, 3390000–3390100 N in EPSG:4544. Its south-west corner (400000,
    # 3390000) after the GeoJSON round trip through CRS84 (7 decimals, ~1 cm):
    to84 = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True)
    lon, lat = to84.transform(400000, 3390000)
    r = client.get(url, headers=h)
    assert r.headers["content-crs"] == f"<{CRS84}>"
    assert _corner(r.json(), (lon, lat)) == pytest.approx([lon, lat], abs=1e-6)
    # EPSG:4544 as EPSG defines it: northing first. Hand value: (3390000, 400000).
    r = client.get(url, params={"crs": f"{EPSG}4544"}, headers=h)
    assert r.headers["content-crs"] == f"<{EPSG}4544>"
    assert _corner(r.json()) == pytest.approx([3390000.0, 400000.0], abs=0.02)
    # EPSG:4523 is the same 105°E zone with the zone number 35 before x: easting + 35 000 000.
    r = client.get(url, params={"crs": f"{EPSG}4523"}, headers=h)
    assert _corner(r.json()) == pytest.approx([3390000.0, 35400000.0], abs=0.02)
    # EPSG:4490 (CGCS2000 geographic): latitude first. CGCS2000 and CRS84 agree here to well under 1e-6°.
    r = client.get(url, params={"crs": "[EPSG:4490]"}, headers=h)
    assert r.headers["content-crs"] == f"<{EPSG}4490>"
    lat_lon = Transformer.from_crs("EPSG:4544", "EPSG:4490").transform(3390000, 400000)  # pyproj, EPSG axis order
    assert _corner(r.json(), lat_lon) == pytest.approx(list(lat_lon), abs=1e-6)
    assert lat_lon[0] == pytest.approx(lat, abs=1e-6) and lat_lon[1] == pytest.approx(lon, abs=1e-6)


def test_bbox_crs_in_each_axis_order(client, tiny):
    url = f"/datasets/{tiny}/ogc/collections/parcels/items"
    to84 = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True)
    (x0, x1), (y0, y1) = to84.transform([400010, 400090], [3390010, 3390090])  # inside T1 only

    def ids(**params) -> list[str]:
        return sorted(f["id"] for f in _get(client, url, params)["features"])

    assert ids(bbox=f"{x0},{y0},{x1},{y1}") == ["T1"]
    assert ids(bbox=f"{y0},{x0},{y1},{x1}", **{"bbox-crs": f"{EPSG}4490"}) == ["T1"]  # lat, lon
    assert ids(bbox="3390010,400010,3390090,400090", **{"bbox-crs": f"{EPSG}4544"}) == ["T1"]  # N, E
    assert ids(bbox="3389950,35399950,3390050,35400250", **{"bbox-crs": f"{EPSG}4523"}) == ["T1", "T2"]
    assert ids(bbox=f"{x0},{y0},{x1},{y1}", **{"bbox-crs": CRS84}) == ["T1"]
    # lon-first numbers under EPSG:4490 put 103° as a latitude: refused, not silently empty.
    wrong = _get(client, url, {"bbox": f"{x0},{y0},{x1},{y1}", "bbox-crs": f"{EPSG}4490"}, status=400)
    assert wrong["code"] == "invalid_bbox"
    for bad in (f"{EPSG}3857", "EPSG:999999", "nonsense"):
        body = _get(client, url, {"crs": bad}, status=400)
        assert body["code"] == "invalid_crs" and body["details"][0]["parameter"] == "crs"


def test_collections_declare_crs_and_conformance(client, tiny):
    h = client.as_role("viewer")
    c = client.get(f"/datasets/{tiny}/ogc/collections/parcels", headers=h).json()
    assert c["crs"][0] == CRS84 and {f"{EPSG}4490", f"{EPSG}4544", f"{EPSG}4523"} <= set(c["crs"])
    assert c["storageCrs"] == f"{EPSG}4544"
    rels = {lk["rel"] for lk in c["links"]}
    assert {"http://www.opengis.net/def/rel/ogc/1.0/queryables", "describedby"} <= rels
    conf = client.get("/conformance", headers=h).json()["conformsTo"]
    for cls in ("ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter",
                "ogcapi-features-3/1.0/conf/features-filter", "ogcapi-features-3/1.0/conf/queryables",
                "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2"):
        assert f"http://www.opengis.net/spec/{cls}" in conf


# --- Part 3: filters, queryables, sortby, properties ----------------------------------------------------

def _ids(client, url: str, **params) -> set[str]:
    body = _get(client, url, {**params, "limit": 5000})
    assert body["numberMatched"] == body["numberReturned"]
    return {f["id"] for f in body["features"]}


def test_cql2_text_and_json_equal_geopandas(client, sample, sample_gdf):
    url = _items(client, sample["dataset"])
    g = sample_gdf
    cases = [
        ("floor_area_m2 > 20000 AND land_use = '1001'", (g.floor_area_m2 > 20000) & (g.land_use == "1001")),
        ("land_use IN ('M1','0601') OR floor_area_m2 IS NULL",
         g.land_use.isin(["M1", "0601"]) | g.floor_area_m2.isna()),
        ("transfer_date >= DATE('2018-01-01') AND NOT (retainable = true)",
         (g.transfer_date >= "2018-01-01") & ~(g.retainable.fillna(False).astype(bool)) & g.retainable.notna()),
        ("committed_revenue_per_mu_10k BETWEEN 300 AND 600", g.committed_revenue_per_mu_10k.between(300, 600)),
        ("parcel_id LIKE 'CD-CH-00%'", g.parcel_id.str.startswith("CD-CH-00")),
    ]
    for text, mask in cases:
        expected = set(g.loc[mask.fillna(False).astype(bool), "parcel_id"])
        assert expected, text
        assert _ids(client, url, filter=text) == expected, text
    as_json = {"op": "and", "args": [{"op": ">", "args": [{"property": "floor_area_m2"}, 20000]},
                                     {"op": "=", "args": [{"property": "land_use"}, "1001"]}]}
    assert _ids(client, url, filter=json.dumps(as_json), **{"filter-lang": "cql2-json"}) == \
        set(g.loc[(g.floor_area_m2 > 20000) & (g.land_use == "1001"), "parcel_id"])
    # A spatial predicate gives what bbox gives.
    b = g.to_crs("OGC:CRS84").total_bounds
    box = [b[0], b[1], (b[0] + b[2]) / 2, (b[1] + b[3]) / 2]
    expected = set(g.loc[g.to_crs("OGC:CRS84").intersects(shapely.box(*box)), "parcel_id"])
    assert _ids(client, url, filter=f"S_INTERSECTS(geometry, BBOX({','.join(map(str, box))}))") == expected
    assert _ids(client, url, bbox=",".join(map(str, box))) == expected


def test_filter_errors_name_the_problem(client, sample):
    url = _items(client, sample["dataset"])
    unknown = _get(client, url, {"filter": "colour = 'red'"}, status=400)
    assert unknown["code"] == "invalid_filter" and "colour" in unknown["message"]
    syntax = _get(client, url, {"filter": "far >> 2"}, status=400)
    assert syntax["code"] == "invalid_filter" and "语法" in syntax["message"] and "column" in syntax["message"]
    wrong_type = _get(client, url, {"filter": "far = 'high'"}, status=400)
    assert "far" in wrong_type["message"]
    lang = _get(client, url, {"filter": "far > 1", "filter-lang": "sql"}, status=400)
    assert lang["details"][0]["parameter"] == "filter-lang"
    bad_json = _get(client, url, {"filter": "{not json", "filter-lang": "cql2-json"}, status=400)
    assert bad_json["code"] == "invalid_filter"
    assert "sortby" in _get(client, url, {"sortby": "-colour"}, status=400)["message"]
    assert "colour" in _get(client, url, {"properties": "parcel_id,colour"}, status=400)["message"]


def test_sql_injection_in_filter_is_refused_or_harmless(client, sample):
    url = _items(client, sample["dataset"])
    for attack in ("far > 1; DROP TABLE parcels", "far > 1 --", "1=1) OR (1=1",
                   "parcel_id = 'x' UNION SELECT * FROM users"):
        assert _get(client, url, {"filter": attack}, status=400)["code"] == "invalid_filter", attack
    # Doubled quotes (CQL2's escape inside a literal, which pygeofilter 0.4's grammar does not read): refused
    # as a syntax error or, if read, the quotes stay inside the value and no parcel has that id.
    for attack in ("parcel_id = 'x'' OR ''1''=''1'", "parcel_id = 'CD-CH-0001'' --'"):
        r = client.get(url, params={"filter": attack, "limit": 10}, headers=client.as_role("viewer"))
        assert (r.status_code, r.json().get("code")) == (400, "invalid_filter") or \
            (r.status_code == 200 and r.json()["features"] == []), attack
    # Text that looks like SQL inside a literal is only a value.
    assert _ids(client, url, filter="parcel_id = 'CD-CH-0001; DROP TABLE parcels; --'") == set()
    assert _get(client, url, {"limit": 1})["numberMatched"] == 1800  # the table is all there


def test_queryables_sortby_and_properties(client, sample):
    h = client.as_role("viewer")
    q = client.get(f"/datasets/{sample['dataset']}/ogc/collections/parcels/queryables", headers=h)
    assert q.status_code == 200
    props = q.json()["properties"]
    assert props["far"]["type"] == "number" and props["retainable"]["type"] == "boolean"
    assert props["production_due_date"] == {"title": props["production_due_date"]["title"], "type": "string",
                                            "format": "date"}
    url = _items(client, sample["dataset"])
    page = _get(client, url, {"properties": "parcel_id,far", "sortby": "-far", "limit": 20})
    assert all(set(f["properties"]) == {"parcel_id", "far"} for f in page["features"])
    fars = [f["properties"]["far"] for f in page["features"]]
    assert fars == sorted(fars, reverse=True) and fars[0] is not None


def test_items_keep_their_types(client, sample):
    """Numbers as numbers, dates as ISO dates, booleans as booleans: the first parcel with each set."""
    url = _items(client, sample["dataset"])
    for prop, kind in (("committed_revenue_per_mu_10k", float), ("retainable", bool)):
        f = _get(client, url, {"filter": f"{prop} IS NOT NULL", "limit": 1})["features"][0]
        assert isinstance(f["properties"][prop], kind), prop
    f = _get(client, url, {"filter": "production_due_date IS NOT NULL", "limit": 1})["features"][0]
    value = f["properties"]["production_due_date"]
    assert len(value) == 10 and value[4] == value[7] == "-"
