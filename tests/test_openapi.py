"""The OpenAPI document (``GET /api``, OpenAPI 3.0) is true of the real app, served by uvicorn over HTTP on a small
store of its own, on both backends.

- schemathesis drives every operation with generated requests, with the admin's token and without one
  (anonymous reads allowed): every answer must have a documented status code, a documented content type and a
  body matching the documented schema; no 5xx; a request the document calls valid is not refused as malformed
  (400/422), one it calls invalid is refused; a 405 lists every method of the path. The cases are bounded
  (``MAX_EXAMPLES`` fuzzed per operation plus the examples and coverage phases, ``SEED``): about a minute per
  backend on a 2-core machine.
- The fuzzer seldom guesses a collection, a feature or a file the store has, so each operation is also called
  once the way a client would, and its successful answer is checked against the document the same way.

The store is the module's own, not the session's ``store``: the fuzzer adds users, stores rule set versions,
revokes tokens; none of it may leak into other tests.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st

from tests.conftest import BACKENDS, _pg_database, serving, tiny_parcels_gdf

MAX_EXAMPLES = 20  # fuzzed cases per operation (the examples and coverage phases add their own, bounded, cases)
SEED = 20250630  # one fixed seed: a failure here is reproducible with the same cases
ADMIN, SPARE = "openapi-admin", "openapi-spare"
AS_OF = "2025-06-30"

# Request bodies whose validity JSON Schema cannot express: an uploaded file's content (a readable GeoPackage,
# a CSV with the contract's columns), a rule set's YAML, a polygon with an area inside the working CRS. The
# document answers them 422 with what the validation found; a schema-valid request getting that is the API
# working as documented, not a lie. Every other operation must accept what its schema calls valid.
CONTENT_CHECKED = "^/(datasets|rulesets|check)$"

# Items parameters whose validity depends on the store, not on a pattern: a CQL2 ``filter`` (its syntax and the
# collection's queryables), a ``cursor`` (made by the server for one query), ``sortby``/``properties`` (the
# collection's properties). A schema-valid value the store cannot answer is a documented 400 naming it.
STORE_CHECKED_ITEMS = r"^/collections/[^/]+/items$"
CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    "checks": {name: {"enabled": True} for name in (
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
        "response_headers_conformance", "positive_data_acceptance", "negative_data_rejection",
        "unsupported_method", "allow_header_conformance")},
    "operations": [{"include-path-regex": CONTENT_CHECKED, "include-method": "POST",
                    "checks": {"positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}}},
                   # (the GET entries select by path alone: a method filter beside the path widened an entry to
                   # every GET operation)
                   # Runs that exist but cannot be set side by side (one year twice, two datasets): a schema
                   # cannot say that, the answer is the documented 422
                   {"include-path-regex": r"^/(trends|evaluations/[^/]+/compare/)",
                    "checks": {"positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}}},
                   {"include-path-regex": STORE_CHECKED_ITEMS,
                    "checks": {"positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "403", "404"]}}},
                   # a tile's column and row are bounded by its zoom (0 … 2^z−1), which no schema can say: 400
                   {"include-path-regex": "/tiles/WebMercatorQuad/",
                    "checks": {"positive_data_acceptance": {
                        "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404"]}}}],
}


def _bbox_text() -> st.SearchStrategy[str]:
    """bbox values as ``api.ogc`` documents them: longitudes within ±180, latitudes within ±90, min ≤ max.

    The document gives the syntax as a pattern and the ranges and order in words (format ``bbox``): no pattern
    can say min ≤ max. This teaches the fuzzer the words; the pattern still drives the invalid cases.
    """
    lon = st.floats(-180, 180, allow_nan=False)
    lat = st.floats(-90, 90, allow_nan=False)
    return st.tuples(lon, lon, lat, lat).map(
        lambda c: f"{min(c[0], c[1])!r},{min(c[2], c[3])!r},{max(c[0], c[1])!r},{max(c[2], c[3])!r}")


schemathesis.openapi.format("bbox", _bbox_text())


def _tiny_dataset(folder: Path) -> dict[str, Path]:
    """The conftest's three tiny parcels (CRS84 GeoJSON), a park around T1/T2, two firms on T1 and T2."""
    import geopandas as gpd
    import shapely

    files = {"parcels": folder / "parcels.geojson", "zones": folder / "zones.gpkg",
             "enterprises": folder / "enterprises.csv", "occupancy": folder / "occupancy.csv"}
    tiny_parcels_gdf().to_crs("OGC:CRS84").to_file(files["parcels"], driver="GeoJSON")
    gpd.GeoDataFrame({"park_id": ["K1"], "name": ["测试园区"]},
                     geometry=[shapely.box(399900, 3389900, 400400, 3390200)], crs="EPSG:4544"
                     ).to_file(files["zones"], layer="parks", driver="GPKG")
    files["enterprises"].write_text(
        "enterprise_id,name,industry_code,revenue_10k,tax_10k,year\n"
        "E1,甲公司,C3981,30000,900,2024\nE2,乙公司,C3974,1500,40,2024\n", encoding="utf-8")
    files["occupancy"].write_text("enterprise_id,parcel_id\nE1,T1\nE2,T2\n", encoding="utf-8")
    return files


@pytest.fixture(scope="module", params=BACKENDS)
def openapi_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A store of its own with the tiny dataset evaluated, served by uvicorn (anonymous reads allowed)."""
    from api.app import create_app
    from api.settings import Settings
    from api.store.engine import dispose_engine, get_engine
    from api.store.evaluations import create_run, execute_run
    from api.store.importer import import_files
    from api.store.repository import add_user

    folder = tmp_path_factory.mktemp(f"openapi-{request.param}")
    pg = _pg_database() if request.param == "postgis" else None
    url = next(pg) if pg is not None else f"sqlite:///{folder / 'mujun.sqlite'}"
    settings = Settings(database_url=url, data_dir=folder, allow_anonymous_read=True)
    engine = get_engine(settings)
    files = _tiny_dataset(folder)
    outcome = import_files(engine, actor="pytest", **files)
    with engine.begin() as conn:
        run_id = create_run(conn, outcome.dataset_id, "chengdu-2023", dt.date.fromisoformat(AS_OF), actor="pytest")
        token = add_user(conn, ADMIN, "admin")
        add_user(conn, SPARE, "viewer")
    execute_run(engine, run_id)
    with serving(create_app(settings)) as base:
        yield {"url": base, "token": token, "dataset": outcome.dataset_id, "run": run_id, "files": files}
    dispose_engine(settings)
    if pg is not None:
        pg.close()


def _document() -> dict:
    """The document as ``create_app`` builds it (the function that serves ``GET /api``), on a throw-away store.

    Built at collection, so that schemathesis can make one test per operation.
    """
    import tempfile

    from api.app import create_app
    from api.settings import Settings
    from api.store.engine import dispose_engine

    with tempfile.TemporaryDirectory(prefix="mujun-openapi-") as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/doc.sqlite", data_dir=folder)
        doc = create_app(settings).openapi()
        dispose_engine(settings)
    return doc


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture(scope="module", params=["admin", "anonymous"])
def credentials(request: pytest.FixtureRequest, openapi_server: dict) -> dict[str, str]:
    """The admin's bearer token, or nothing (anonymous reads are allowed; writes answer 401)."""
    return {"Authorization": f"Bearer {openapi_server['token']}"} if request.param == "admin" else {}


@schema.parametrize()
def test_generated_requests_get_documented_answers(case: schemathesis.Case, openapi_server: dict,
                                                   credentials: dict) -> None:
    if case.path_parameters and case.path_parameters.get("name") == ADMIN:
        # Revoking or rotating the token the run itself uses would turn every later answer into a 401.
        case.path_parameters["name"] = SPARE
    case.call_and_validate(base_url=openapi_server["url"], headers=credentials)


# --- each operation's success, checked against the document ----------------------------------------------

def _checked(method: str, template: str, at: dict, response: httpx.Response, status: int) -> httpx.Response:
    """``response`` has ``status`` and passes schemathesis's checks against ``template``'s operation."""
    assert response.status_code == status, (method, template, response.status_code, response.text[:500])
    response.request.read()  # a multipart upload is streamed; the checks read the request too
    schema[template][method].Case(path_parameters=at).validate_response(response)
    return response


def _feature_84(minx: float, miny: float, maxx: float, maxy: float, **props: object) -> dict:
    """A rectangle given in EPSG:4544 metres as a GeoJSON Feature in CRS84."""
    import numpy as np
    import shapely
    from pyproj import Transformer

    to84 = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True)
    box = shapely.transform(shapely.box(minx, miny, maxx, maxy),
                            lambda xy: np.column_stack(to84.transform(xy[:, 0], xy[:, 1])))
    return {"type": "Feature", "geometry": json.loads(shapely.to_geojson(box)), "properties": props}


def test_every_operation_succeeds_as_documented(openapi_server: dict) -> None:
    base, ds, run = openapi_server["url"], openapi_server["dataset"], openapi_server["run"]
    admin = {"Authorization": f"Bearer {openapi_server['token']}"}
    done: set[tuple[str, str]] = set()

    def call(method: str, template: str, status: int, at: dict | None = None, **kwargs) -> httpx.Response:
        """``method`` on ``template`` with the path parameters ``at``; the answer checked against the document."""
        response = httpx.request(method, base + template.format(**(at or {})), timeout=120,
                                 headers={**admin, **kwargs.pop("headers", {})}, **kwargs)
        done.add((method.lower(), template))
        return _checked(method, template, at or {}, response, status)

    # OGC API: the tiny dataset has T1, T2, T3 (parcels), E1 on T1 and E2 on T2, the park K1 (conftest).
    links = {link["rel"] for link in call("GET", "/", 200).json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= links
    assert call("GET", "/conformance", 200).json()["conformsTo"]
    ids = [c["id"] for c in call("GET", "/collections", 200).json()["collections"]]
    assert ids == ["parcels", "enterprises", "zone_parks"]
    assert call("GET", "/collections/{collection_id}", 200, {"collection_id": "parcels"}).json()["mujun:count"] == 3
    page = call("GET", "/collections/parcels/items", 200, params={"bbox": "103,30,105,31", "limit": 2})
    assert page.headers["content-type"] == "application/geo+json"
    assert (page.json()["numberMatched"], page.json()["numberReturned"]) == (3, 2)  # all three, a page of two
    # E2 makes 1 500 万元 on T2's 15 亩 (100 m × 100 m): 100 万元/亩, a low-efficiency firm, so T2 fails; T1 and T3
    # miss the ring layer far.bounds needs (missing_data).
    failing = call("GET", "/collections/parcels/items", 200, params={"status": "fail", "park_id": "K1"}).json()
    assert [f["id"] for f in failing["features"]] == ["T2"]
    firms = call("GET", "/collections/enterprises/items", 200, params={"rule": "per_mu.revenue"}).json()
    assert firms["numberMatched"] == 2
    items = "/collections/{collection_id}/items"
    assert call("GET", items, 200, {"collection_id": "zone_parks"}).json()["numberMatched"] == 1
    t1 = call("GET", items + "/{feature_id}", 200, {"collection_id": "parcels", "feature_id": "T1"}).json()
    assert t1["properties"]["far"] == pytest.approx(2.0)  # 20 000 m² on 100 m × 100 m
    queryables = call("GET", "/collections/{collection_id}/queryables", 200, {"collection_id": "parcels"}).json()
    assert queryables["properties"]["far"]["type"] == "number"
    assert queryables["properties"]["transfer_date"]["format"] == "date"
    schema = call("GET", "/collections/{collection_id}/schema", 200, {"collection_id": "parcels"}).json()
    assert schema["properties"]["properties"]["properties"]["retainable"]["type"] == "boolean"

    # Datasets: the same files again are recognised (200); T1 renamed makes a new dataset (201).
    assert ds in [d["id"] for d in call("GET", "/datasets", 200).json()["datasets"]]
    assert call("GET", "/datasets/{dataset_id}", 200, {"dataset_id": ds}).json()["counts"]["parcels"] == 3
    files = openapi_server["files"]
    upload = {kind: (path.name, path.read_bytes()) for kind, path in files.items()}
    again = call("POST", "/datasets", 200, files=upload).json()
    assert (again["id"], again["created"]) == (ds, False)
    upload["parcels"] = ("renamed.geojson", upload["parcels"][1].replace(b'"T1"', b'"T1-renamed"'))
    new = call("POST", "/datasets", 201, files=upload, data={"name": "改名的宗地"}).json()
    assert new["created"] is True and new["name"] == "改名的宗地" and new["id"] != ds

    # Rule sets: read as JSON and as YAML; a new version stored (201), the same text again (200).
    assert "chengdu-2023" in [r["ruleset_id"] for r in call("GET", "/rulesets", 200).json()["rulesets"]]
    one = call("GET", "/rulesets/{ref}", 200, {"ref": "chengdu-2023"}).json()
    yaml_text = call("GET", "/rulesets/{ref}", 200, {"ref": "chengdu-2023"}, params={"format": "yaml"}).text
    assert yaml_text == one["yaml_text"]
    version = f"openapi-{ds}"
    changed = re.sub(r"(?m)^version:.*$", f"version: {version}", yaml_text, count=1)
    stored = call("POST", "/rulesets", 201, content=changed.encode(), headers={"Content-Type": "application/yaml"})
    assert (stored.json()["version"], stored.json()["created"]) == (version, True)
    assert call("POST", "/rulesets", 200, json={"yaml": changed}).json()["created"] is False

    # Evaluations: with wait 201 and done, without 202 and queued (or already running); results and files.
    finished = call("POST", "/evaluations", 201, json={"dataset": ds, "as_of": AS_OF, "wait": True}).json()
    assert finished["status"] == "done" and finished["summary"]["parcels"] == 3
    queued = call("POST", "/evaluations", 202, json={"dataset": new["id"], "ruleset": f"chengdu-2023@{version}"})
    assert queued.headers["location"].endswith(f"/evaluations/{queued.json()['id']}")
    assert run in [r["id"] for r in call("GET", "/evaluations", 200, params={"dataset": ds}).json()["evaluations"]]
    assert call("GET", "/evaluations/{run_id}", 200, {"run_id": run}).json()["status"] == "done"
    far = call("GET", "/evaluations/{run_id}/verdicts", 200, {"run_id": run},
               params={"rule": "far.bounds"}).json()
    assert far["numberMatched"] == 3  # far.bounds gives one verdict per parcel
    # A parcel's timeline: the tiny parcels carry no dates, so T1 has its firm's grade of the statistics year
    # (the tiny firms' 2024, shown at the year's end) and the as-of date (today)
    timeline = call("GET", "/evaluations/{run_id}/parcels/{parcel_id}/timeline", 200,
                    {"run_id": run, "parcel_id": "T1"}).json()
    assert [(e["event"], e["date"], e["phase"]) for e in timeline["events"]] == [
        ("grade", "2024-12-31", "past"), ("evaluation", str(AS_OF), "today")]
    # No dates, so no deadlines; T2 is low-efficiency land (see above), so one notice in the zip
    warned = call("GET", "/evaluations/{run_id}/warnings", 200, {"run_id": run}, params={"within": 365}).json()
    assert (warned["within"], warned["numberMatched"], warned["warnings"]) == (365, 0, [])
    notices = call("GET", "/evaluations/{run_id}/notices.zip", 200, {"run_id": run})
    assert zipfile.ZipFile(io.BytesIO(notices.content)).namelist() == ["低效用地整改告知书_T2.docx"]
    # The sandbox: the same dataset, rule set and date judged twice changes nothing; both files download
    pair = {"run_id": run, "other_id": finished["id"]}
    same = call("GET", "/evaluations/{run_id}/compare/{other_id}", 200, pair).json()
    assert (same["compared"], same["changed_parcels"], same["changes"]) == (3, 0, [])
    for fmt in ("xlsx", "html"):
        call("GET", "/evaluations/{run_id}/compare/{other_id}/export.{fmt}", 200, {**pair, "fmt": fmt})
    # Two runs of the same year (the tiny firms' 2024) are no trend: the documented 422, in words
    runs = {"runs": f"{run},{finished['id']}"}
    assert "2024 出现了不止一次" in call("GET", "/trends", 422, params=runs).json()["message"]
    call("GET", "/trends/export.xlsx", 422, params=runs)
    assert call("GET", "/evaluations/{run_id}/lists.xlsx", 200, {"run_id": run}).content[:2] == b"PK"
    for fmt, media in {"json": "application/json", "geojson": "application/geo+json",
                       "gpkg": "application/geopackage+sqlite3", "csv": "text/csv",
                       "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}.items():
        got = call("GET", "/evaluations/{run_id}/export.{fmt}", 200, {"run_id": run, "fmt": fmt})
        assert got.headers["content-type"].split(";")[0] == media, fmt
    assert "<html" in call("GET", "/evaluations/{run_id}/map", 200, {"run_id": run}).text.lower()
    # A vector tile over T1 (its centre 400050, 3390050 in CRS84, then the tile formula of tests/test_tiles.py)
    from pyproj import Transformer

    from tests.test_tiles import tile_of

    lon, lat = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True).transform(400050, 3390050)
    x, y, _, _ = tile_of(lon, lat, 14)
    tile = call("GET", "/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{x}/{y}", 200,
                {"collection_id": "parcels", "z": 14, "x": x, "y": y}, params={"run": run})
    assert tile.headers["content-type"] == "application/vnd.mapbox-vector-tile" and tile.headers["etag"]

    # Check: T1's square again, in the park, with a firm like E1 (30 000 万元 revenue on 15 亩).
    proposed = _feature_84(400000, 3390000, 400100, 3390100, parcel_id="NEW", land_use="1001",
                           floor_area_m2=20000, status="built")
    checked = call("POST", "/check", 200, json={"feature": proposed, "as_of": AS_OF, "dataset": ds,
                                                "enterprise": {"revenue_10k": 30000, "tax_10k": 900}}).json()
    assert checked["parcel"]["park_id"] == "K1" and checked["zones_dataset"] == ds
    assert [g["enterprise_id"] for g in checked["grading"]] == ["proposed-firm"]

    # Users and the audit log.
    assert {ADMIN, SPARE} <= {u["name"] for u in call("GET", "/users", 200).json()["users"]}
    added = call("POST", "/users", 201, json={"name": f"新 用户 {ds}", "role": "analyst", "expires_days": 30})
    assert added.headers["cache-control"] == "no-store" and added.json()["token"]
    name = added.json()["name"]
    assert call("POST", "/users/{name}/revoke", 200, {"name": name}).json()["state"] == "revoked"
    assert call("POST", "/users/{name}/rotate", 200, {"name": name}).json()["state"] == "active"
    assert call("GET", "/audit", 200, params={"limit": 5}).json()["audit"][0]["entity"] == "user"

    documented = {(method, path) for path, operations in DOCUMENT["paths"].items() for method in operations}
    assert documented == done, documented ^ done


# --- the document itself ---------------------------------------------------------------------------------

def test_served_document_is_the_one_tested(openapi_server: dict) -> None:
    assert httpx.get(f"{openapi_server['url']}/api", timeout=30).json() == DOCUMENT


def test_errors_are_documented_as_the_app_answers_them() -> None:
    """A malformed request gets 400 ``invalid_parameter`` (api/errors.py), never FastAPI's 422; every error is
    ``ErrorBody`` as JSON, also on the GeoJSON routes; every operation may answer 401 (a bad token)."""
    assert DOCUMENT["openapi"] == "3.0.3"
    assert "HTTPValidationError" not in json.dumps(DOCUMENT)
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "401" in responses, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in responses, (method, path)
            for status, response in responses.items():
                if status >= "400":
                    assert response["content"] == {"application/json": {"schema": {
                        "$ref": "#/components/schemas/ErrorBody"}}}, (method, path, status)


def test_user_name_pattern_admits_only_printable_names() -> None:
    """The documented user-name pattern must not admit a name the store refuses (it wants printable text)."""
    import sys

    from api.routes_admin import USER_NAME_PATTERN

    allowed = re.compile(USER_NAME_PATTERN)
    admitted = [chr(c) for c in range(sys.maxunicode + 1) if allowed.match(chr(c))]
    assert len(admitted) > 20000  # ASCII, Latin letters, CJK: a class, not a handful
    assert all(c.isprintable() and not c.isspace() for c in admitted)
    assert allowed.match(" 张 三 ") and not allowed.match("   ") and not allowed.match("a\u200bb")
