"""Shared fixtures: a store per backend (SpatiaLite file, throw-away PostGIS database), an app client with
tokens per role, the sample dataset imported and evaluated, a tiny hand-built dataset, a live HTTP server."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"
PG_ADMIN_DSN = os.environ.get("MUJUN_TEST_PG_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
SAMPLE_AS_OF = dt.date(2025, 6, 30)

BACKENDS = ["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)]


@dataclass
class Store:
    """One store under test: its settings, engine and backend name."""

    backend: str
    settings: object
    engine: object


def _pg_database() -> Iterator[str]:
    import psycopg

    name = f"mujun_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    try:
        yield f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:" \
              f"{params.get('port', '5432')}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A migrated, initially empty store on each backend (shared by the session's tests)."""
    from api.settings import Settings
    from api.store.engine import dispose_engine, get_engine

    data_dir = tmp_path_factory.mktemp(f"store-{request.param}")
    gen = None
    if request.param == "postgis":
        gen = _pg_database()
        url = next(gen)
    else:
        url = f"sqlite:///{data_dir / 'mujun.sqlite'}"
    settings = Settings(database_url=url, data_dir=data_dir, allow_anonymous_read=False)
    yield Store(request.param, settings, get_engine(settings))
    dispose_engine(settings)
    if gen is not None:
        gen.close()


@pytest.fixture(scope="session")
def tokens(store: Store) -> dict[str, str]:
    """A bearer token per role in ``store``."""
    from api.store.repository import add_user

    with store.engine.begin() as conn:
        return {role: add_user(conn, f"test-{role}-{secrets.token_hex(3)}", role) for role in
                ("viewer", "analyst", "admin")}


@pytest.fixture(scope="session")
def sample(store: Store) -> dict[str, int]:
    """The sample data imported into ``store`` and evaluated with chengdu-2023 as of 2025-06-30."""
    from api.store.evaluations import create_run, execute_run
    from api.store.importer import import_files

    outcome = import_files(store.engine, DATA_DIR / "parcels.gpkg", DATA_DIR / "enterprises.csv",
                           DATA_DIR / "occupancy.csv", DATA_DIR / "zones.gpkg", DATA_DIR / "land_supply.csv",
                           actor="pytest")
    with store.engine.begin() as conn:
        run_id = create_run(conn, outcome.dataset_id, "chengdu-2023", SAMPLE_AS_OF, actor="pytest")
    execute_run(store.engine, run_id)
    return {"dataset": outcome.dataset_id, "run": run_id}


@pytest.fixture(scope="session")
def client(store: Store, tokens: dict[str, str]):
    """A TestClient on ``create_app`` for ``store``; ``client.as_role(role)`` gives the header for a role."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(store.settings)) as c:
        c.as_role = lambda role: {"Authorization": f"Bearer {tokens[role]}"}  # type: ignore[attr-defined]
        yield c


def tiny_parcels_gdf():
    """Three 100 m × 100 m parcels near 103.96°E 30.63°N (EPSG:4544), hand-made so answers are known.

    T1 (400000–400100, 3390000–3390100): industrial 1001, floor area 20000 m² → FAR 2.0
    T2 (400200–400300, 3390000–3390100): industrial M1, floor area 5000 m² → FAR 0.5
    T3 (401000–401100, 3391000–3391100): residential 0701, 1 km away from the others
    """
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"parcel_id": ["T1", "T2", "T3"], "land_use": ["1001", "M1", "0701"],
         "floor_area_m2": [20000.0, 5000.0, 9000.0], "status": ["built", "built", "built"],
         "note": ["甲", "乙", None]},
        geometry=[shapely.box(400000, 3390000, 400100, 3390100),
                  shapely.box(400200, 3390000, 400300, 3390100),
                  shapely.box(401000, 3391000, 401100, 3391100)],
        crs="EPSG:4544",
    )


@pytest.fixture
def tiny_files(tmp_path: Path) -> dict[str, Path]:
    """The tiny parcels as a real GeoJSON file (CRS84) and a zones GeoPackage with one park around T1/T2."""
    import geopandas as gpd
    import shapely

    parcels = tmp_path / "tiny_parcels.geojson"
    tiny_parcels_gdf().to_crs("OGC:CRS84").to_file(parcels, driver="GeoJSON")
    zones = tmp_path / "tiny_zones.gpkg"
    gpd.GeoDataFrame({"park_id": ["K1"], "name": ["测试园区"]},
                     geometry=[shapely.box(399900, 3389900, 400400, 3390200)], crs="EPSG:4544"
                     ).to_file(zones, layer="parks", driver="GPKG")
    return {"parcels": parcels, "zones": zones}


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port of 127.0.0.1; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(store: Store, sample: dict[str, int]) -> Iterator[str]:
    """``create_app`` served by uvicorn on a free port (anonymous reads allowed), for independent clients."""
    from api.app import create_app

    with serving(create_app(store.settings.model_copy(update={"allow_anonymous_read": True}))) as url:
        yield url
