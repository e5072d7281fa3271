"""The HTTP API over both stores: auth, OGC API Features, datasets, evaluations, exports, check, rule sets."""

from __future__ import annotations

import io
import json
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from tests.conftest import DATA_DIR, SAMPLE_AS_OF, tiny_parcels_gdf

TO84 = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True)


def _box84(minx: float, miny: float, maxx: float, maxy: float) -> str:
    a, b = TO84.transform(minx, miny)
    c, d = TO84.transform(maxx, maxy)
    return f"{a},{b},{c},{d}"


def _error_shape(resp) -> dict:
    body = resp.json()
    assert set(body) == {"code", "message", "details"}, body
    assert isinstance(body["details"], list) and body["message"]
    return body


# --- auth ------------------------------------------------------------------------------------------


def test_auth_roles(client, sample):
    assert _error_shape(client.get("/collections"))["code"] == "unauthorized"
    r = client.get("/collections", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and _error_shape(r)["code"] == "invalid_token"
    assert client.get("/collections", headers=client.as_role("viewer")).status_code == 200
    r = client.post("/evaluations", json={"dataset": sample["dataset"]}, headers=client.as_role("viewer"))
    assert r.status_code == 403 and _error_shape(r)["details"][0]["required_role"] == "analyst"
    r = client.post("/rulesets", content="id: x", headers={**client.as_role("analyst"),
                                                            "Content-Type": "application/yaml"})
    assert r.status_code == 403
    assert client.get("/users", headers=client.as_role("analyst")).status_code == 403
    assert client.get("/users", headers=client.as_role("admin")).status_code == 200


def test_anonymous_read_setting(store, sample):
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = store.settings.model_copy(update={"allow_anonymous_read": True})
    with TestClient(create_app(settings)) as anon:
        assert anon.get("/collections/parcels/items?limit=1").status_code == 200
        r = anon.post("/evaluations", json={"dataset": sample["dataset"]})
        assert r.status_code == 401  # writes never anonymous
        assert anon.post("/users", json={"name": "x"}).status_code == 401


# --- OGC API Features ------------------------------------------------------------------------------


def test_landing_conformance_openapi(client):
    h = client.as_role("viewer")
    links = {link["rel"]: link for link in client.get("/", headers=h).json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    conf = client.get("/conformance", headers=h).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in conf
    doc = client.get("/api").json()
    assert doc["openapi"].startswith("3.0")
    assert "/collections/{collection_id}/items" in doc["paths"]
    assert "anyOf" not in json.dumps(doc) or '"type": "null"' not in json.dumps(doc)


def test_collections_of_sample(client, sample):
    body = client.get(f"/collections?dataset={sample['dataset']}", headers=client.as_role("viewer")).json()
    ids = [c["id"] for c in body["collections"]]
    assert ids[:2] == ["parcels", "enterprises"]
    assert {"zone_red_line", "zone_parks", "zone_ring", "zone_districts"} <= set(ids)
    parcels = next(c for c in body["collections"] if c["id"] == "parcels")
    minx, miny, maxx, maxy = parcels["extent"]["spatial"]["bbox"][0]
    assert 103 < minx < maxx < 105 and 30 < miny < maxy < 31.5  # Chengdu, in CRS84
    # The same collections under the dataset's own OGC root, with links that stay under it.
    own = client.get(f"/datasets/{sample['dataset']}/ogc/collections", headers=client.as_role("viewer")).json()
    assert [c["id"] for c in own["collections"]] == ids
    items_href = own["collections"][0]["links"][1]["href"]
    assert items_href.endswith(f"/datasets/{sample['dataset']}/ogc/collections/parcels/items")


def test_items_paging_and_links(client, sample):
    h = client.as_role("viewer")
    ds = sample["dataset"]
    first = client.get(f"/collections/parcels/items?limit=7&dataset={ds}", headers=h)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/geo+json")
    body = first.json()
    assert body["numberMatched"] == 1800 and body["numberReturned"] == 7
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert "next" in rels and "prev" not in rels
    second = client.get(rels["next"].replace("http://testserver", ""), headers=h).json()
    assert second["numberReturned"] == 7
    assert not {f["id"] for f in body["features"]} & {f["id"] for f in second["features"]}
    # Pages follow each other by a cursor (keyset paging): no "prev" link (the standard makes it optional).
    assert "prev" not in {link["rel"] for link in second["links"]} and "cursor=" in rels["next"]
    last = client.get(f"/collections/parcels/items?limit=7&offset=1799&dataset={ds}", headers=h).json()
    assert last["numberReturned"] == 1 and "next" not in {link["rel"] for link in last["links"]}
    feat = body["features"][0]
    lon, lat = feat["geometry"]["coordinates"][0][0][0]
    assert 103 < lon < 105 and 30 < lat < 31.5  # CRS84 axis order: lon, lat
    props = feat["properties"]
    assert props["run_id"] == sample["run"] and props["status"] in {"pass", "warn", "fail", "missing_data"}
    assert props["st_far_bounds"] in {"pass", "fail", "warn", "exempt", "not_applicable", "missing_data"}


def test_items_filters_match_stored_verdicts(client, sample, store):
    from api.store.evaluations import query_verdicts

    h = client.as_role("viewer")
    ds = sample["dataset"]
    with store.engine.connect() as conn:
        _, n_fail = query_verdicts(conn, sample["run"], rule=["far.bounds"], status=["fail"], level="parcel")
        summary = client.get(f"/evaluations/{sample['run']}", headers=h).json()["summary"]
    r = client.get(f"/collections/parcels/items?rule=far.bounds&status=fail&limit=1&dataset={ds}", headers=h)
    assert r.json()["numberMatched"] == n_fail > 0
    r = client.get(f"/collections/parcels/items?status=fail&limit=1000&dataset={ds}", headers=h).json()
    assert r["numberMatched"] == summary["by_status"]["fail"]
    assert {f["properties"]["status"] for f in r["features"]} == {"fail"}
    both = client.get(f"/collections/parcels/items?status=fail,warn&limit=1&dataset={ds}", headers=h).json()
    assert both["numberMatched"] == summary["by_status"]["fail"] + summary["by_status"]["warn"]
    d = client.get(f"/collections/parcels/items?district=成华区&limit=500&dataset={ds}", headers=h).json()
    assert d["numberMatched"] > 0 and {f["properties"]["district"] for f in d["features"]} == {"成华区"}
    z = client.get(f"/collections/parcels/items?zone=red_line&park_id=P03&limit=500&dataset={ds}",
                   headers=h).json()
    assert all(f["properties"]["zone"] == "red_line" and f["properties"]["park_id"] == "P03"
               for f in z["features"])


def test_bbox_on_tiny_dataset(client, tiny_files):
    """Hand-made: T1 and T2 are 100 m apart, T3 is 1 km away; a box around T1 only must return T1 only."""
    up = client.post("/datasets", headers=client.as_role("analyst"),
                     files={"parcels": ("tiny.geojson", tiny_files["parcels"].read_bytes())})
    assert up.status_code in (200, 201), up.text
    ds = up.json()["id"]
    h = client.as_role("viewer")

    def ids(bbox: str) -> list[str]:
        body = client.get(f"/collections/parcels/items?dataset={ds}&bbox={bbox}&limit=100", headers=h).json()
        assert body["numberMatched"] == body["numberReturned"]
        return sorted(f["id"] for f in body["features"])

    assert ids(_box84(400010, 3390010, 400090, 3390090)) == ["T1"]             # inside T1
    assert ids(_box84(399950, 3389950, 400250, 3390050)) == ["T1", "T2"]        # spans T1 and T2
    assert ids(_box84(400120, 3390020, 400180, 3390080)) == []                  # the gap between them
    assert ids(_box84(399000, 3389000, 402000, 3392000)) == ["T1", "T2", "T3"]  # all
    one = client.get(f"/collections/parcels/items/T3?dataset={ds}", headers=h).json()
    assert one["properties"]["land_use"] == "0701" and one["properties"]["note"] is None
    # 100 m square → area 10 000 m²; floor area 9000 m² as given.
    assert one["properties"]["area_m2"] == pytest.approx(10000.0)
    assert one["properties"]["floor_area_m2"] == 9000.0


@pytest.mark.parametrize("url, code", [
    ("/collections/parcels/items?bbox=1,2,3", "invalid_bbox"),
    ("/collections/parcels/items?bbox=a,b,c,d", "invalid_bbox"),
    ("/collections/parcels/items?bbox=104,30,103,31", "invalid_bbox"),
    ("/collections/parcels/items?bbox=200,30,201,31", "invalid_bbox"),
    ("/collections/parcels/items?limit=0", "invalid_parameter"),
    ("/collections/parcels/items?limit=abc", "invalid_parameter"),
    ("/collections/parcels/items?offset=-1", "invalid_parameter"),
    ("/collections/parcels/items?colour=red", "unknown_parameter"),
    ("/collections/zone_parks/items?status=fail", "unknown_parameter"),
    ("/collections/parcels/items?dataset=999999", "not_found"),
    ("/collections/nothing/items", "not_found"),
    ("/collections/parcels/items/NO-SUCH-PARCEL", "not_found"),
    ("/datasets/999999", "not_found"),
    ("/evaluations/999999", "not_found"),
    ("/evaluations/999999/export.csv", "not_found"),
    ("/rulesets/no-such-ruleset", "not_found"),
    ("/no/such/path", "not_found"),
    ("/datasets/99999999999999999999999", "invalid_parameter"),  # beyond a database integer
    ("/collections/parcels/items?offset=99999999999999999999", "invalid_parameter"),
    ("/collections/parcels/items?run=99999999999999999999", "invalid_parameter"),
])
def test_bad_requests_get_4xx_json(client, sample, url, code):
    r = client.get(url, headers=client.as_role("viewer"))
    assert 400 <= r.status_code < 500, r.text
    assert _error_shape(r)["code"] == code


def test_zone_and_enterprise_collections(client, sample):
    h = client.as_role("viewer")
    parks = client.get(f"/collections/zone_parks/items?limit=100&dataset={sample['dataset']}", headers=h).json()
    with_ids = {f["properties"]["park_id"] for f in parks["features"]}
    assert parks["numberMatched"] == len(gpd.read_file(DATA_DIR / "zones.gpkg", layer="parks")) == len(with_ids)
    ent = client.get(f"/collections/enterprises/items?limit=5&dataset={sample['dataset']}", headers=h).json()
    assert ent["numberReturned"] == 5
    assert ent["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert ent["features"][0]["properties"]["grade"] in {"A", "B", "C", "D", None}


# --- datasets --------------------------------------------------------------------------------------


def _sample_files() -> dict:
    return {"parcels": ("parcels.gpkg", (DATA_DIR / "parcels.gpkg").read_bytes()),
            "enterprises": ("enterprises.csv", (DATA_DIR / "enterprises.csv").read_bytes()),
            "occupancy": ("occupancy.csv", (DATA_DIR / "occupancy.csv").read_bytes()),
            "zones": ("zones.gpkg", (DATA_DIR / "zones.gpkg").read_bytes()),
            "land_supply": ("land_supply.csv", (DATA_DIR / "land_supply.csv").read_bytes())}


def test_upload_same_files_is_recognised(client, sample):
    r = client.post("/datasets", files=_sample_files(), headers=client.as_role("analyst"))
    assert r.status_code == 200, r.text  # already imported by the sample fixture → not duplicated
    body = r.json()
    assert body["id"] == sample["dataset"] and body["created"] is False
    assert body["sources"]["parcels"]["name"] == "parcels.gpkg" and len(body["sources"]["parcels"]["sha256"]) == 64
    listed = client.get("/datasets", headers=client.as_role("viewer")).json()["datasets"]
    assert [d["id"] for d in listed].count(sample["dataset"]) == 1
    one = client.get(f"/datasets/{sample['dataset']}", headers=client.as_role("viewer")).json()
    assert one["counts"]["parcels"] == 1800 and one["runs"][-1]["id"] <= sample["run"]


def test_bad_upload_names_rows_and_changes_nothing(client, tmp_path):
    bad = tiny_parcels_gdf()
    bad.loc[2, "parcel_id"] = "T1"
    bad.loc[1, "geometry"] = None
    path = tmp_path / "bad.gpkg"
    bad.to_file(path, layer="parcels")
    before = client.get("/datasets", headers=client.as_role("viewer")).json()["datasets"]
    r = client.post("/datasets", files={"parcels": ("bad.gpkg", path.read_bytes())},
                    headers=client.as_role("analyst"))
    assert r.status_code == 422
    body = _error_shape(r)
    assert body["code"] == "invalid_input"
    text = json.dumps(body, ensure_ascii=False)
    assert "T1" in text and "bad.gpkg" in text
    assert client.get("/datasets", headers=client.as_role("viewer")).json()["datasets"] == before


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_traversal_and_bomb_refused(client):
    h = client.as_role("analyst")
    r = client.post("/datasets", files={"parcels": ("p.zip", _zip({"../evil.shp": b"x"}))}, headers=h)
    assert r.status_code == 422 and _error_shape(r)["code"] == "unsafe_archive"
    # details: one problem per file, naming the archive and each refused entry
    assert r.json()["details"][0]["file"] == "p.zip"
    assert r.json()["details"][0]["ids"] == ["../evil.shp 路径不安全 (unsafe path)"]
    r = client.post("/datasets", files={"parcels": ("p.zip", _zip({"/etc/x.shp": b"x"}))}, headers=h)
    assert r.status_code == 422 and r.json()["details"][0]["ids"] == ["/etc/x.shp 路径不安全 (unsafe path)"]
    bomb = _zip({"big.shp": b"\0" * (50 * 1024 * 1024)})  # 50 MB of zeros compress ~1000:1
    r = client.post("/datasets", files={"parcels": ("p.zip", bomb)}, headers=h)
    assert r.status_code == 422 and "compression ratio too high" in r.json()["details"][0]["ids"][0]
    r = client.post("/datasets", files={"parcels": ("p.zip", b"not a zip")}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_archive"


def test_upload_size_limit(store, tokens):
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = store.settings.model_copy(update={"max_upload_mb": 0.01})  # ~10 KB
    with TestClient(create_app(settings)) as small:
        r = small.post("/datasets", files={"parcels": ("p.gpkg", b"\0" * 50_000)},
                       headers={"Authorization": f"Bearer {tokens['analyst']}"})
    assert r.status_code == 413 and _error_shape(r)["code"] == "payload_too_large"


def test_missing_parcels_field(client):
    r = client.post("/datasets", files={"enterprises": ("e.csv", b"enterprise_id\nE1\n")},
                    headers=client.as_role("analyst"))
    assert r.status_code in (400, 422) and "parcels" in json.dumps(_error_shape(r))


# --- evaluations -----------------------------------------------------------------------------------


def test_evaluation_async_then_done(client, sample):
    h = client.as_role("analyst")
    r = client.post("/evaluations", json={"dataset": sample["dataset"], "ruleset": "chengdu-2020",
                                          "as_of": "2024-12-31"}, headers=h)
    assert r.status_code == 202 and r.json()["status"] in {"queued", "running", "done"}
    run_id = r.json()["id"]
    import time

    deadline = time.monotonic() + 120
    while True:
        run = client.get(f"/evaluations/{run_id}", headers=h).json()
        assert 0.0 <= run["progress"] <= 1.0
        if run["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert run["status"] == "done", run.get("error")
    assert run["ruleset"]["id"] == "chengdu-2020" and run["as_of"] == "2024-12-31"
    assert run["summary"]["parcels"] == 1800


def test_evaluation_bad_inputs(client, sample):
    h = client.as_role("analyst")
    assert client.post("/evaluations", json={"dataset": 999999}, headers=h).status_code == 404
    r = client.post("/evaluations", json={"dataset": sample["dataset"], "ruleset": "nope"}, headers=h)
    assert r.status_code == 404 and _error_shape(r)["code"] == "not_found"
    r = client.post("/evaluations", json={"dataset": sample["dataset"], "as_of": "2024-13-45"}, headers=h)
    assert r.status_code == 400 and r.json()["details"][0]["field"] == "as_of"
    r = client.post("/evaluations", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400
    r = client.post("/evaluations", content=b'{"dataset": 1e309}', headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["details"][0]["input"] == "inf"


def test_verdict_filters(client, sample, store):
    h = client.as_role("viewer")
    run = sample["run"]
    body = client.get(f"/evaluations/{run}/verdicts?rule=zone.red_line&status=fail&limit=1000", headers=h).json()
    assert body["numberMatched"] == len(body["verdicts"]) > 0
    assert {(v["rule"], v["status"]) for v in body["verdicts"]} == {("zone.red_line", "fail")}
    summary = client.get(f"/evaluations/{run}", headers=h).json()["summary"]
    assert body["numberMatched"] == summary["by_rule"]["zone.red_line"]["fail"]
    d = client.get(f"/evaluations/{run}/verdicts?district=成华区&rule=far.bounds&limit=1", headers=h).json()
    parcels = client.get(f"/collections/parcels/items?district=成华区&limit=1&run={run}"
                         f"&dataset={sample['dataset']}", headers=h).json()
    assert d["numberMatched"] == parcels["numberMatched"]  # one far.bounds verdict per parcel
    e = client.get(f"/evaluations/{run}/verdicts?level=enterprise&rule=mujun.grade&limit=5", headers=h).json()
    assert e["numberReturned"] == 5 and all(v["level"] == "enterprise" for v in e["verdicts"])


def test_exports(client, sample, tmp_path):
    import pandas as pd
    import pyogrio
    from openpyxl import load_workbook

    h = client.as_role("viewer")
    run = sample["run"]
    summary = client.get(f"/evaluations/{run}", headers=h).json()["summary"]
    r = client.get(f"/evaluations/{run}/export.json", headers=h)
    assert r.status_code == 200 and r.json()["summary"] == summary
    assert r.json()["as_of"] == SAMPLE_AS_OF.isoformat()
    gj = client.get(f"/evaluations/{run}/export.geojson", headers=h).json()
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 1800
    gpkg = tmp_path / "r.gpkg"
    gpkg.write_bytes(client.get(f"/evaluations/{run}/export.gpkg", headers=h).content)
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"parcels", "verdicts"} <= layers
    assert len(pyogrio.read_dataframe(gpkg, layer="parcels")) == 1800
    csv = client.get(f"/evaluations/{run}/export.csv", headers=h).content
    assert csv.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    frame = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
    assert len(frame) == sum(sum(v.values()) for k, v in summary["by_rule"].items() if not k.startswith("agg."))
    xlsx = tmp_path / "r.xlsx"
    xlsx.write_bytes(client.get(f"/evaluations/{run}/export.xlsx", headers=h).content)
    book = load_workbook(xlsx, read_only=True)
    assert {"汇总", "宗地"} <= set(book.sheetnames)
    headers = [c.value for c in next(book["宗地"].iter_rows(max_row=1))]
    assert "宗地编号" in headers or any("宗地" in str(v) for v in headers)
    assert book["宗地"].max_row == 1801  # header + one row per parcel
    r = client.get(f"/evaluations/{run}/export.shp", headers=h)
    assert r.status_code == 400 and _error_shape(r)["code"] == "unsupported_format"


def test_compliance_map_html(client, sample):
    r = client.get(f"/evaluations/{sample['run']}/map", headers=client.as_role("viewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<html" in html.lower() and "leaflet" in html.lower()
    assert "http://" not in html.split("<body")[0].replace("http://www.w3.org", "")  # assets inlined: offline


# --- check -----------------------------------------------------------------------------------------


def _feature(props: dict, bounds=(400000, 3390000, 400100, 3390100)) -> dict:
    geom = shapely.transform(shapely.box(*bounds), lambda c: __import__("numpy").column_stack(
        TO84.transform(c[:, 0], c[:, 1])))
    return {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)), "properties": props}


def test_check_one_parcel(client, sample):
    """A 1-ha parcel inside the ring with 5000 m² floor area: FAR 0.5 < 2.0 → far.bounds fails."""
    from gis.io import load_inputs

    zones = load_inputs(DATA_DIR / "parcels.gpkg", zones=DATA_DIR / "zones.gpkg").zones
    ring = zones["ring"].geometry.union_all()
    c = ring.representative_point()
    bounds = (c.x - 50, c.y - 50, c.x + 50, c.y + 50)  # 100 m × 100 m = 10 000 m², well inside the ring
    feat = _feature({"parcel_id": "NEW-1", "land_use": "1001", "floor_area_m2": 5000, "status": "built"}, bounds)
    r = client.post("/check", json={"feature": feat, "as_of": "2025-06-30", "dataset": sample["dataset"]},
                    headers=client.as_role("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    far = next(v for v in body["parcel"]["verdicts"] if v["rule"] == "far.bounds")
    assert body["parcel"]["inside_ring"] is True
    assert far["value"] == pytest.approx(0.5, rel=1e-3) and far["status"] == "fail"
    assert body["status"] == "fail" and body["acceptable"] is False and "far.bounds" in body["failing_rules"]
    ok = _feature({"parcel_id": "NEW-2", "land_use": "1001", "floor_area_m2": 25000, "status": "built"}, bounds)
    body = client.post("/check", json={"feature": ok, "as_of": "2025-06-30", "dataset": sample["dataset"]},
                       headers=client.as_role("viewer")).json()
    assert next(v for v in body["parcel"]["verdicts"] if v["rule"] == "far.bounds")["status"] == "pass"


@pytest.mark.parametrize("feature, code", [
    ({"type": "Point"}, "invalid_feature"),
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [104, 30.6]}, "properties": {}},
     "invalid_geometry"),
    ({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},
      "properties": {"parcel_id": "X"}}, "invalid_input"),
])
def test_check_bad_feature(client, feature, code):
    r = client.post("/check", json={"feature": feature}, headers=client.as_role("viewer"))
    assert 400 <= r.status_code < 500, r.text
    assert _error_shape(r)["code"] == code


# --- rule sets -------------------------------------------------------------------------------------


def test_rulesets_list_read_upload(client):
    from rules.ruleset import load_ruleset

    h = client.as_role("viewer")
    listed = client.get("/rulesets", headers=h).json()["rulesets"]
    assert {"chengdu-2023", "chengdu-2020"} <= {r["ruleset_id"] for r in listed}
    one = client.get("/rulesets/chengdu-2023", headers=h).json()
    assert "far.bounds" in one["rules"] and len(one["sha256"]) == 64
    assert client.get("/rulesets/chengdu-2023?format=yaml", headers=h).text == load_ruleset("chengdu-2023").yaml_text
    admin = {**client.as_role("admin"), "Content-Type": "application/yaml"}
    text = load_ruleset("chengdu-2023").yaml_text
    import re

    version = f"test-{__import__('secrets').token_hex(3)}"
    new = re.sub(r"(?m)^version:.*$", f"version: {version}", text, count=1)
    r = client.post("/rulesets", content=new.encode(), headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == version and r.json()["created"] is True
    assert client.post("/rulesets", content=new.encode(), headers=admin).status_code == 200  # same text
    changed = new + "\n# 改动\n"
    r = client.post("/rulesets", content=changed.encode(), headers=admin)
    assert r.status_code == 409 and _error_shape(r)["code"] == "conflict"
    r = client.post("/rulesets", json={"yaml": "id: broken\nrules: 5\n"}, headers=client.as_role("admin"))
    assert r.status_code == 422 and _error_shape(r)["code"] == "invalid_ruleset"
    assert all("path" in d and d["message"] for d in r.json()["details"])
    r = client.post("/rulesets", content=b"a: [unclosed", headers=admin)
    assert r.status_code == 422


def test_users_endpoint(client):
    r = client.post("/users", json={"name": f"u-{__import__('secrets').token_hex(3)}", "role": "viewer"},
                    headers=client.as_role("admin"))
    assert r.status_code == 201
    token = r.json()["token"]
    assert client.get("/collections", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    r = client.post("/users", json={"name": "x", "role": "boss"}, headers=client.as_role("admin"))
    assert r.status_code == 400
    audit = client.get("/audit", headers=client.as_role("admin")).json()["audit"]
    assert audit[0]["action"] == "add" and audit[0]["entity"] == "user"


def test_check_reads_only_the_parcels_firm_and_gives_the_full_tables_answer(store, sample):
    """A check of a stored parcel by its enterprise_id reads that firm's row by id; the result equals the one
    computed from the dataset's whole enterprise table filtered to the firm (what the check did before)."""
    from api.services import checks
    from api.store.evaluations import enterprise_rows, load_inputs_from_store
    from gis.io import Inputs, normalise_parcels
    from rules.engine import evaluate

    with store.engine.connect() as conn:
        stored = load_inputs_from_store(conn, sample["dataset"])
    owned = stored.parcels[stored.parcels["enterprise_id"].notna()]
    parcel = owned.iloc[[0]][["parcel_id", "land_use", "floor_area_m2", "status", "enterprise_id", "geometry"]]
    firm_id = str(parcel["enterprise_id"].iloc[0])
    outcome = checks.check(store.engine, parcel.reset_index(drop=True), as_of=SAMPLE_AS_OF,
                           dataset=sample["dataset"])
    full = stored.enterprises[stored.enterprises["enterprise_id"].isin([firm_id])].reset_index(drop=True)
    pd.testing.assert_frame_equal(outcome.enterprises, full)
    with store.engine.connect() as conn:
        assert enterprise_rows(conn, sample["dataset"], ["no-such-firm"]) is None
    proposed, report = normalise_parcels(parcel.reset_index(drop=True), source="提交的宗地")
    want = evaluate(Inputs(parcels=proposed, zones=checks.zones(store.engine, sample["dataset"]), enterprises=full,
                           report=report), outcome.ruleset, SAMPLE_AS_OF)
    pd.testing.assert_frame_equal(outcome.result.verdicts, want.verdicts)
    assert outcome.result.enterprises["enterprise_id"].tolist() == [firm_id]
