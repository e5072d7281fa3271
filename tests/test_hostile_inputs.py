"""Hostile and broken uploads through every way in: the JSON API, the web import page and the CLI.

Each must end in a 4xx (or a CLI exit code) with a message naming the file, never a traceback or a 500, and
must leave the store and the staging folder as they were.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.services import datasets
from api.store import models as m
from tests.test_api import _zip

# 60 MB of zeros deflate to ~60 KB: a ratio of ~1000:1, five times the 200:1 limit (a real zipped shapefile
# compresses 2–10:1).
BOMB_BYTES = 60 * 1024 * 1024


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "宗地.zip"
    path.write_bytes(_zip({"p.shp": b"\0" * BOMB_BYTES, "p.shx": b"\0" * 100, "p.dbf": b"\0" * 100}))
    return path


def _datasets(engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(m.Dataset.__table__)))


def _staging(store) -> list[str]:
    root = datasets.staging_root(store.settings.data_dir)
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_bomb_through_the_api_is_refused_and_leaves_nothing(client, store, bomb):
    before, staged = _datasets(store.engine), _staging(store)
    r = client.post("/datasets", files={"parcels": (bomb.name, bomb.read_bytes())},
                    headers=client.as_role("analyst"))
    assert r.status_code == 422 and r.json()["code"] == "unsafe_archive"
    assert r.json()["details"][0]["file"] == bomb.name and "压缩比" in r.json()["details"][0]["ids"][0]
    assert _datasets(store.engine) == before and _staging(store) == staged


def test_bomb_through_the_web_import_is_refused_and_leaves_nothing(client, store, tokens, bomb):
    signed = client.post("/web/login", data={"token": tokens["analyst"]}, follow_redirects=False)
    cookie = {"Cookie": f"mujun_session={signed.cookies['mujun_session']}"}
    client.cookies.clear()
    before, staged = _datasets(store.engine), _staging(store)
    r = client.post("/web/import", files={"parcels": (bomb.name, bomb.read_bytes())}, headers=cookie)
    assert r.status_code == 422
    assert "压缩包不安全或过大" in r.text and bomb.name in r.text
    assert _datasets(store.engine) == before and _staging(store) == staged


def test_a_csv_renamed_xlsx_is_an_error_every_time(client, store, tiny_files, tmp_path):
    # Validation comes before de-duplication: the second identical upload is the same error, not "already imported".
    fake = tmp_path / "企业.xlsx"
    fake.write_text("enterprise_id,name\nE1,甲\n", encoding="utf-8")
    files = {"parcels": ("p.geojson", tiny_files["parcels"].read_bytes()),
             "enterprises": (fake.name, fake.read_bytes())}
    for _ in range(2):
        r = client.post("/datasets", files=files, headers=client.as_role("analyst"))
        assert r.status_code == 422, r.text
        assert "改了扩展名的 CSV" in r.json()["details"][0]["message"]


def test_identical_concurrent_uploads_give_one_dataset(client, store, tiny_files):
    # Two threads import the same files at once: one stores it (201), the other finds it (200), never a 500.
    from concurrent.futures import ThreadPoolExecutor

    body = tiny_files["parcels"].read_bytes().replace(b'"T1"', b'"T1-concurrent"')
    files = {"parcels": ("concurrent.geojson", body)}

    def post(_: int) -> int:
        return client.post("/datasets", files=files, headers=client.as_role("analyst")).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(post, range(2)))
    assert codes == [200, 201]


def _mujun(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MUJUN_DATA_DIR": str(data_dir)}
    env.pop("MUJUN_DATABASE_URL", None)
    exe = str(Path(sys.executable).with_name("mujun"))
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("command", ["import", "evaluate"])
def test_bomb_through_the_cli_exits_with_a_message(command, bomb, tmp_path):
    args = ["--parcels", str(bomb)] + (["--out", str(tmp_path / "r.json")] if command == "evaluate" else [])
    res = _mujun(command, *args, data_dir=tmp_path / "var")
    assert res.returncode == 2, res.stderr
    assert "压缩包不安全或过大" in res.stderr and bomb.name in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "r.json").exists()


def test_stale_staging_folders_are_swept(tmp_path):
    root = datasets.staging_root(tmp_path)
    old, new = root / ("a" * 32), root / ("b" * 32)
    for folder in (old, new):
        (folder / "parcels").mkdir(parents=True)
    stale = time.time() - datasets.STAGING_MAX_AGE_S - 60
    os.utime(old, (stale, stale))
    assert datasets.sweep(tmp_path) == 1
    assert not old.exists() and new.exists()


# --- numbers and coordinates that are not measurements ----------------------------------------------------
def _nan_parcels(path: Path) -> Path:
    import geopandas as gpd
    import shapely

    x, y = 400_000.0, 3_390_000.0  # EPSG:4544, near 天府广场
    polys = [
        shapely.box(x, y, x + 100, y + 100),
        shapely.Polygon([(x + 200, y), (x + 300, float("nan")), (x + 300, y + 100), (x + 200, y)]),
        shapely.Polygon([(x + 400, y), (x + 500, float("inf")), (x + 500, y + 100), (x + 400, y)]),
    ]
    gdf = gpd.GeoDataFrame({"parcel_id": ["A", "B", "C"], "land_use": ["1001"] * 3}, geometry=polys, crs="EPSG:4544")
    gdf.to_file(path, layer="parcels")
    return path


def test_nan_and_infinite_coordinates_are_refused_by_feature(client, store, tmp_path):
    path = _nan_parcels(tmp_path / "nan.gpkg")
    before = _datasets(store.engine)
    r = client.post("/datasets", files={"parcels": (path.name, path.read_bytes())}, headers=client.as_role("analyst"))
    assert r.status_code == 422, r.text
    problem = next(p for p in r.json()["details"] if "NaN" in p["message"])
    assert problem["file"] == "nan.gpkg" and problem["ids"] == ["B", "C"]
    assert _datasets(store.engine) == before
    res = _mujun("evaluate", "--parcels", str(path), "--out", str(tmp_path / "r.json"), data_dir=tmp_path / "var")
    assert res.returncode == 2 and "NaN 或无穷大" in res.stderr and "Traceback" not in res.stderr


def test_infinite_and_implausible_numbers(tmp_path):
    import geopandas as gpd
    import shapely

    from gis.errors import GisError
    from gis.io import load_inputs, read_table

    # 1e400 overflows to infinity: refused by row (E2), like any value that is not a number
    bad = tmp_path / "ent.csv"
    bad.write_text("enterprise_id,name,industry_code,revenue_10k,tax_10k\nE1,甲,C3981,100,1\nE2,乙,C3981,1e400,1\n",
                   encoding="utf-8")
    with pytest.raises(GisError) as err:
        read_table(bad, "enterprises")
    assert "有限的数字" in str(err.value) and "E2" in str(err.value) and "E1" not in str(err.value).split("—")[0]
    # Implausible but finite figures load with a warning naming the row: P2's floor area of 10¹² m² on 1 公顷
    # (FAR 10⁸ > 50), and E1's revenue of 10¹⁰ 万元 on 15 亩 (6.7·10⁸ 万元/亩 > 10⁶).
    x, y = 400_000.0, 3_390_000.0
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["P1", "P2"], "land_use": ["1001", "1001"], "floor_area_m2": [20_000.0, 1e12],
         "enterprise_id": ["E1", "E2"]},
        geometry=[shapely.box(x, y, x + 100, y + 100), shapely.box(x + 200, y, x + 300, y + 100)], crs="EPSG:4544")
    parcels.to_file(tmp_path / "p.gpkg", layer="parcels")
    ent = tmp_path / "e.csv"
    ent.write_text("enterprise_id,name,industry_code,revenue_10k,tax_10k\nE1,甲,C3981,1e10,1\nE2,乙,C3981,5000,1\n",
                   encoding="utf-8")
    inputs = load_inputs(tmp_path / "p.gpkg", enterprises=ent)
    warnings = {w.message.split("(")[0]: w.ids for w in inputs.report.warnings}
    assert next(ids for msg, ids in warnings.items() if "容积率超过 50" in msg) == ["P2"]
    assert next(ids for msg, ids in warnings.items() if "亩均营收超过" in msg) == ["E1"]


def test_merged_cells_in_the_data_rows_are_refused(tmp_path):
    import openpyxl

    from gis.errors import InputFileError
    from gis.io import read_table

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "enterprises"
    ws.append(["2024年规上工业企业名单"])
    ws.merge_cells("A1:E1")  # a merged title above the header is fine
    ws.append(["企业编号", "企业名称", "行业代码", "营业收入（万元）", "实缴税金（万元）"])
    for row in (["E1", "甲", "C3981", 12000, 600], ["E2", "乙", "C3981", None, 20]):
        ws.append(row)
    ws.merge_cells("D3:D4")  # E1's revenue spread over E2's row: E2 would read as blank
    wb.save(tmp_path / "企业.xlsx")
    with pytest.raises(InputFileError) as err:
        read_table(tmp_path / "企业.xlsx", "enterprises")
    assert err.value.ids == ["D3:D4"] and "合并单元格" in err.value.message
    ws.unmerge_cells("D3:D4")
    ws["D4"] = 1500
    wb.save(tmp_path / "企业.xlsx")
    df, _ = read_table(tmp_path / "企业.xlsx", "enterprises")
    assert df["revenue_10k"].tolist() == [12000.0, 1500.0]


def test_error_messages_name_the_file_never_the_servers_folders(client, store, tmp_path):
    # GDAL's own text names the full path of the staged upload; the answer names only the file.
    r = client.post("/datasets", files={"parcels": ("p.geojson", b"this is not geojson")},
                    headers=client.as_role("analyst"))
    assert r.status_code == 422
    text = r.text
    assert "p.geojson" in text and "staging" not in text and str(store.settings.data_dir) not in text
    assert "/tmp" not in text


def test_an_unclosed_ring_is_a_clear_error(client, tmp_path):
    # The ring's last point (104.0 30.601) is not its first: GEOS cannot build the polygon.
    doc = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"parcel_id": "U1"}, '
           '"geometry": {"type": "Polygon", "coordinates": [[[104.0, 30.6], [104.001, 30.6], [104.001, 30.601], '
           '[104.0, 30.601]]]}}]}')
    r = client.post("/datasets", files={"parcels": ("open.geojson", doc.encode())}, headers=client.as_role("analyst"))
    assert r.status_code == 422 and "未闭合" in r.text, r.text
    path = tmp_path / "open.geojson"
    path.write_text(doc, encoding="utf-8")
    res = _mujun("evaluate", "--parcels", str(path), "--out", str(tmp_path / "r.json"), data_dir=tmp_path / "var")
    assert res.returncode == 2 and "未闭合" in res.stderr and "Traceback" not in res.stderr


def test_an_unknown_crs_is_a_clear_error(client, tiny_files, tmp_path):
    square = [[[104.0, 30.6], [104.001, 30.6], [104.001, 30.601], [104.0, 30.601], [104.0, 30.6]]]
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": square}}
    r = client.post("/check", json={"feature": feature, "crs": "EPSG:999999"}, headers=client.as_role("viewer"))
    assert r.status_code == 422 and "无法识别的坐标系 EPSG:999999" in r.text, r.text
    res = _mujun("evaluate", "--parcels", str(tiny_files["parcels"]), "--crs", "EPSG:999999",
                 "--out", str(tmp_path / "r.json"), data_dir=tmp_path / "var")
    assert res.returncode == 2 and "无法识别的坐标系" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("path", ["/datasets", "/check", "/web/import"])
def test_a_chunked_upload_over_the_limit_is_413_and_leaves_nothing(store, tokens, path):
    """A body sent chunked (no Content-Length) is counted while it arrives: 413, not the body parser's 400."""
    import httpx

    from api.app import create_app
    from tests.conftest import serving

    # 0.05 MB = 52,428 bytes; the body below is 20 × 5,000 = 100,000 bytes of file plus the multipart framing.
    settings = store.settings.model_copy(update={"max_upload_mb": 0.05})

    def body():
        yield (b'--XX\r\nContent-Disposition: form-data; name="parcels"; filename="p.gpkg"\r\n'
               b"Content-Type: application/octet-stream\r\n\r\n")
        for _ in range(20):
            yield b"\0" * 5000
        yield b"\r\n--XX--\r\n"

    before, staged = _datasets(store.engine), _staging(store)
    with serving(create_app(settings)) as url:
        if path.startswith("/web/"):  # the pages take the session cookie of a sign-in, not a bearer header
            login = httpx.post(url + "/web/login", data={"token": tokens["analyst"]})
            auth = {"Cookie": f"mujun_session={login.cookies['mujun_session']}"}
        else:
            auth = {"Authorization": f"Bearer {tokens['analyst']}"}
        r = httpx.post(url + path, content=body(), timeout=30,
                       headers={"Content-Type": "multipart/form-data; boundary=XX", **auth})
    assert r.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.request.headers
    assert r.status_code == 413
    message = (re.search(r'id="error-message">([^<]*)<', r.text).group(1) if path.startswith("/web/")
               else r.json()["message"])
    assert "0.05 MB" in message and "MUJUN_MAX_UPLOAD_MB" in message
    assert r.headers["content-type"].startswith("text/html" if path.startswith("/web/") else "application/json")
    assert _datasets(store.engine) == before and _staging(store) == staged


def _long_id_files(tmp_path: Path) -> Path:
    """The tiny parcels with T2's id made 120 characters long (the store's parcel_id holds 100)."""
    from tests.conftest import tiny_parcels_gdf

    gdf = tiny_parcels_gdf()
    gdf.loc[1, "parcel_id"] = "长" * 120
    path = tmp_path / "长编号.geojson"
    gdf.to_crs("OGC:CRS84").to_file(path, driver="GeoJSON")
    return path


def test_an_over_long_parcel_id_is_refused_by_the_api_on_both_stores(client, store, tmp_path):
    # PostgreSQL used to answer a VARCHAR(100) overflow with a 500 half-way through the load; SpatiaLite stored it.
    path = _long_id_files(tmp_path)
    before = _datasets(store.engine)
    r = client.post("/datasets", files={"parcels": (path.name, path.read_bytes())},
                    headers=client.as_role("analyst"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "import_rejected" and "parcel_id" in body["message"] and "未写入任何内容" in body["message"]
    detail = body["details"][0]
    # T2 is the second feature: row 2; 120 characters against the limit of 100.
    assert (detail["file"], detail["field"], detail["limit"], detail["length"], detail["rows"]) == \
        ("parcels", "parcel_id", 100, 120, [2])
    assert _datasets(store.engine) == before


def test_an_over_long_dataset_name_is_refused_by_the_cli_on_both_stores(store, tiny_files, tmp_path):
    env = {**os.environ, "MUJUN_DATA_DIR": str(store.settings.data_dir),
           "MUJUN_DATABASE_URL": store.settings.database_url}
    exe = str(Path(sys.executable).with_name("mujun"))
    before = _datasets(store.engine)
    for args in (["--parcels", str(_long_id_files(tmp_path))],
                 ["--parcels", str(tiny_files["parcels"]), "--name", "名" * 201]):
        res = subprocess.run([exe, "import", *args], capture_output=True, text=True, timeout=300, env=env)
        assert res.returncode == 2, res.stdout + res.stderr
        assert "超过入库长度上限" in res.stderr and "未写入任何内容" in res.stderr
        for leak in ("Traceback", "INSERT", "psycopg", "sqlalchemy"):
            assert leak not in res.stderr
    assert "数据集 name" in res.stderr and "超过 200 个字符上限" in res.stderr
    assert _datasets(store.engine) == before


def test_an_over_long_parcel_id_is_shown_on_the_web_import_before_confirming(client, store, tokens, tmp_path):
    path = _long_id_files(tmp_path)
    signed = client.post("/web/login", data={"token": tokens["analyst"]}, follow_redirects=False)
    cookie = {"Cookie": f"mujun_session={signed.cookies['mujun_session']}"}
    client.cookies.clear()
    before, staged = _datasets(store.engine), _staging(store)
    r = client.post("/web/import", files={"parcels": (path.name, path.read_bytes())}, headers=cookie)
    assert r.status_code == 422 and "import-preview" not in r.text  # refused at the check, not after 确认
    # the page names the column in words (宗地编号 for parcel_id) and shows the first 40 characters of the id
    assert "宗地图层 宗地编号 有 1 个值超过 100 个字符" in r.text and "长" * 40 + "…" in r.text
    assert _datasets(store.engine) == before and _staging(store) == staged
