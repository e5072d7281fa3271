"""Hostile and broken uploads through every way in: the JSON API, the web import page and the CLI.

Each must end in a 4xx (or a CLI exit code) with a message naming the file, never a traceback or a 500, and
must leave the store and the staging folder as they were.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.services import datasets
from api.store import models as m

# 60 MB of zeros deflate to ~60 KB: a ratio of ~1000:1, five times the 200:1 limit (a real zipped shapefile
# compresses 2–10:1).
BOMB_BYTES = 60 * 1024 * 1024


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


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
