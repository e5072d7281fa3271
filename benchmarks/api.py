"""Benchmark: import 100k synthetic parcels into each store, then time the OGC items bbox query over HTTP.

Usage: .venv/bin/python benchmarks/api.py [--n 100000] [--queries 300] [--backends spatialite,postgis]

For each backend: the import time (files → validated ``Inputs`` → store), then p50/p95 latency of
``/collections/parcels/items?bbox=…&limit=100`` for random city-block-sized boxes (200–500 m a side)
centred on random parcels, served by ``mujun serve`` (uvicorn, a separate process) over real HTTP.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN_DSN = os.environ.get("MUJUN_TEST_PG_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


def write_inputs(n: int, folder: Path) -> dict[str, Path]:
    """Synthetic data as real files (GeoPackage + CSV), the way planners deliver them."""
    from data.sample_parcels.synthetic import make_synthetic

    t = time.perf_counter()
    data = make_synthetic(n, seed=7)
    paths = {"parcels": folder / "parcels.gpkg", "zones": folder / "zones.gpkg"}
    data["parcels"].to_file(paths["parcels"], layer="parcels", driver="GPKG")
    for layer, gdf in data["zones"].items():
        gdf.to_file(paths["zones"], layer=layer, driver="GPKG")
    for kind in ("enterprises", "occupancy", "land_supply"):
        if data.get(kind) is not None:
            paths[kind] = folder / f"{kind}.csv"
            data[kind].to_csv(paths[kind], index=False, encoding="utf-8-sig")
    print(f"generated {n} parcels + tables in {time.perf_counter() - t:.1f} s")
    return paths


def import_into(url: str, paths: dict[str, Path], data_dir: Path) -> tuple[float, float]:
    """Validate the files with gis.io and store them; returns (read+validate s, store write s)."""
    from api.settings import Settings
    from api.store.engine import dispose_engine, get_engine
    from api.store.importer import content_hash, file_sha256, import_inputs
    from gis.io import load_inputs

    settings = Settings(database_url=url, data_dir=data_dir)
    engine = get_engine(settings)
    t0 = time.perf_counter()
    inputs = load_inputs(paths["parcels"], paths.get("enterprises"), paths.get("occupancy"), paths.get("zones"),
                         paths.get("land_supply"))
    t1 = time.perf_counter()
    digest = content_hash({k: file_sha256(p) for k, p in paths.items()})
    outcome = import_inputs(engine, inputs, name="benchmark", actor="benchmark", content_sha256=digest)
    t2 = time.perf_counter()
    assert outcome.created and outcome.counts["parcels"] == len(inputs.parcels)
    dispose_engine(settings)
    return t1 - t0, t2 - t1


def random_boxes(paths: dict[str, Path], count: int, seed: int = 3) -> list[tuple[float, ...]]:
    """City-block-sized CRS84 boxes (200–500 m a side) centred on random parcels."""
    import geopandas as gpd
    from pyproj import Transformer

    parcels = gpd.read_file(paths["parcels"], columns=["parcel_id"])
    rng = np.random.default_rng(seed)
    pick = parcels.geometry.iloc[rng.integers(0, len(parcels), count)].representative_point()
    half = rng.uniform(100, 250, count)
    to84 = Transformer.from_crs(parcels.crs, "OGC:CRS84", always_xy=True)
    x0, y0 = to84.transform(pick.x.to_numpy() - half, pick.y.to_numpy() - half)
    x1, y1 = to84.transform(pick.x.to_numpy() + half, pick.y.to_numpy() + half)
    return [tuple(round(v, 7) for v in b) for b in zip(x0, y0, x1, y1, strict=True)]


def serve(url: str, data_dir: Path, port: int) -> subprocess.Popen:
    """``mujun serve`` in its own process, reads open to anonymous users, running this tree's code (the
    console script alone would import the package wherever the venv's editable install points)."""
    env = {**os.environ, "MUJUN_DATABASE_URL": url, "MUJUN_DATA_DIR": str(data_dir),
           "MUJUN_ALLOW_ANONYMOUS_READ": "true",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "mujun"), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/conformance", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode()[-2000:])


def time_queries(port: int, boxes: list[tuple[float, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Latency (ms) and features returned per bbox request, one keep-alive HTTP client."""
    import httpx

    lat, counts = [], []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for b in boxes[:10]:  # warm-up (connection, caches)
            client.get("/collections/parcels/items", params={"bbox": ",".join(map(str, b)), "limit": 100})
        for b in boxes:
            t = time.perf_counter()
            r = client.get("/collections/parcels/items", params={"bbox": ",".join(map(str, b)), "limit": 100})
            lat.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
            counts.append(r.json()["numberReturned"])
    return np.array(lat), np.array(counts)


def pg_database() -> tuple[str, str]:
    """A throw-away PostGIS database (name, URL)."""
    import psycopg

    name = f"mujun_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_pg(name: str) -> None:
    """Drop a benchmark database."""
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def served_store(backend: str, folder: Path, paths: dict, port: int) -> Iterator[tuple[float, float]]:
    """A fresh store of ``backend`` (``spatialite`` or ``postgis``) under ``folder`` with ``paths`` imported,
    served by ``mujun serve`` on ``port``; yields the import's (read, write) seconds. The server is stopped and a
    PostGIS database dropped afterwards."""
    pg_name = None
    data_dir = folder / backend
    data_dir.mkdir()
    if backend == "postgis":
        pg_name, url = pg_database()
    else:
        url = f"sqlite:///{data_dir / 'mujun.sqlite'}"
    try:
        times = import_into(url, paths, data_dir)
        proc = serve(url, data_dir, port)
        try:
            yield times
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    finally:
        if pg_name:
            drop_pg(pg_name)


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--backends", default="spatialite,postgis")
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mujun-bench-") as tmp:
        folder = Path(tmp)
        paths = write_inputs(args.n, folder)
        boxes = random_boxes(paths, args.queries)
        rows = []
        for backend in args.backends.split(","):
            with served_store(backend, folder, paths, args.port) as (read_s, write_s):
                lat, counts = time_queries(args.port, boxes)
            rows.append((backend, read_s, write_s, np.percentile(lat, 50), np.percentile(lat, 95),
                         lat.max(), counts.mean()))
            print(f"{backend}: import read+validate {read_s:.1f} s, store write {write_s:.1f} s; "
                  f"bbox p50 {rows[-1][3]:.1f} ms, p95 {rows[-1][4]:.1f} ms", flush=True)
    print(f"\n{args.n} parcels, {args.queries} bbox queries (limit=100, mean features/page shown)")
    print(f"{'backend':<11}{'read+validate s':>16}{'store write s':>14}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
          f"{'feat/page':>10}")
    for r in rows:
        print(f"{r[0]:<11}{r[1]:>16.1f}{r[2]:>14.1f}{r[3]:>9.1f}{r[4]:>9.1f}{r[5]:>9.1f}{r[6]:>10.1f}")


if __name__ == "__main__":
    main()
