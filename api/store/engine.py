"""Engines for the store: SpatiaLite (default, a file created on first use) or PostGIS; schema via Alembic."""

from __future__ import annotations

import atexit
import json
import os
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from api.settings import StoreSettings, get_settings

os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"

_engines: dict[str, Engine] = {}
_schema_ready: set[str] = set()
_lock = threading.Lock()

# Pool sizes. ``mujun serve`` runs request handlers in SERVER_THREADS worker threads and each holds at most
# one connection at a time (taken inside the handler; the caller's lookup gives its own back first).
# SpatiaLite in WAL mode: every reader can have its own connection and readers do not block each other; a
# connection costs ~15 ms and ~2 MB to open (mod_spatialite loads per connection), so the pool keeps one per
# thread plus the evaluation workers' and never churns overflow connections under load.
# PostGIS: connections are server processes shared by every client of the database (max_connections,
# 100 by default): 20 (+10 at peaks) per server process; threads beyond that wait a few milliseconds.
SERVER_THREADS = 40
SQLITE_POOL_SIZE = SERVER_THREADS + 8
PG_POOL_SIZE = 20
PG_MAX_OVERFLOW = 10
POOL_TIMEOUT_S = 30


def _on_sqlite_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    dbapi_conn.enable_load_extension(True)
    dbapi_conn.load_extension(os.environ["SPATIALITE_LIBRARY_PATH"])
    dbapi_conn.enable_load_extension(False)
    cur = dbapi_conn.cursor()
    # WAL lets the API read while an import or an evaluation writes; busy_timeout waits instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _json_dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _load_bundled_proj_first() -> None:
    """Load pyproj's and pyogrio's bundled PROJ/GDAL before SQLite loads mod_spatialite.

    SQLite dlopens extensions with RTLD_GLOBAL, so the system libproj that mod_spatialite pulls in becomes
    global; a wheel-bundled PROJ loaded *after* it binds its C++ globals to the system copy and both
    libraries destroy them at exit ("double free or corruption"). Loaded before, each keeps its own.
    """
    import pyogrio  # noqa: F401
    import pyproj._transformer  # noqa: F401


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` (``sqlite:///…`` → SpatiaLite via pysqlite3; ``postgresql+psycopg://…``)."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        import pysqlite3.dbapi2 as sqlite_module  # the stdlib sqlite3 here cannot load extensions

        _load_bundled_proj_first()

        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            sa_url,
            module=sqlite_module,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=_json_dumps,
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=0,
            pool_timeout=POOL_TIMEOUT_S,
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    if sa_url.get_backend_name() == "postgresql":
        return create_engine(sa_url, pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW,
                             pool_timeout=POOL_TIMEOUT_S, pool_pre_ping=True, json_serializer=_json_dumps)
    raise ValueError(
        f"不支持的数据库 (unsupported database) '{sa_url.get_backend_name()}': "
        "请使用 sqlite:///… (SpatiaLite) 或 postgresql+psycopg://… (PostGIS)"
    )


_memos: weakref.WeakKeyDictionary[Engine, dict[Any, Any]] = weakref.WeakKeyDictionary()


def memo(engine: Engine) -> dict[Any, Any]:
    """A dict kept with ``engine`` for what never changes once stored (a dataset's collections and zone layers,
    a rule set version's parsed text): readers compute such things once per server, not once per request.

    Tied to the engine object, so a disposed and re-created store (tests) starts empty. Keys are tuples whose
    first item names the kind of thing kept.
    """
    with _lock:
        found = _memos.get(engine)
        if found is None:
            found = _memos[engine] = {}
    return found


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SpatiaLite."""
    return engine.dialect.name == "sqlite"


def _init_spatial_metadata(engine: Engine) -> None:
    with engine.begin() as conn:
        if is_sqlite(engine):
            if not inspect(conn).has_table("spatial_ref_sys"):
                conn.execute(text("SELECT InitSpatialMetadata(1)"))
        else:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``engine`` (works from the installed package)."""
    from alembic import command
    from alembic.config import Config

    _init_spatial_metadata(engine)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def get_engine(settings: StoreSettings | None = None, *, migrate: bool = True) -> Engine:
    """The shared engine for the configured store, migrated to the latest schema on first use."""
    url = (settings or get_settings()).resolved_database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        if migrate and url not in _schema_ready:
            upgrade_schema(engine)
            _schema_ready.add(url)
    return engine


def dispose_engine(settings: StoreSettings | None = None) -> None:
    """Close and forget the shared engine for the configured store (tests, before dropping a database)."""
    url = (settings or get_settings()).resolved_database_url
    with _lock:
        engine = _engines.pop(url, None)
        _schema_ready.discard(url)
    if engine is not None:
        engine.dispose()


@atexit.register
def _dispose_all() -> None:
    # SpatiaLite connections left to the garbage collector at interpreter exit can crash in
    # mod_spatialite's cleanup ("double free"); close them in an orderly way first.
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()
