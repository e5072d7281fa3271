"""The store on SpatiaLite and PostGIS: migrations, import (all-or-nothing, de-duplicated), round trips."""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import func, inspect, select, text

from api.store import models as m
from api.store.errors import Conflict, ImportRejected
from api.store.evaluations import (
    load_inputs_from_store,
    query_verdicts,
    resolve_ruleset,
    result_from_store,
    store_ruleset,
    verdict_table,
)
from api.store.importer import import_files, import_inputs
from api.store.repository import add_user, list_audit, token_hash, user_for_token
from gis.errors import GisError
from rules.result import _clean
from tests.conftest import BACKENDS, DATA_DIR, SAMPLE_AS_OF, tiny_parcels_gdf

TABLES = {"users", "datasets", "parcels", "enterprises", "occupancy", "land_supply", "zone_features",
          "rulesets", "evaluation_runs", "parcel_results", "verdicts", "verdict_texts", "audit_log",
          "alembic_version"}


@pytest.fixture(scope="module")
def reference():
    """The sample files read directly with gis.io (what the store must give back)."""
    from gis.io import load_inputs

    return load_inputs(DATA_DIR / "parcels.gpkg", DATA_DIR / "enterprises.csv", DATA_DIR / "occupancy.csv",
                       DATA_DIR / "zones.gpkg", DATA_DIR / "land_supply.csv")


@pytest.fixture(scope="module")
def direct_evaluation(reference):
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset

    return evaluate(reference, load_ruleset("chengdu-2023"), SAMPLE_AS_OF)


@pytest.fixture(scope="module")
def direct_result(direct_evaluation):
    return direct_evaluation.to_dict()


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model.__table__))


def _counts(engine) -> dict[str, int]:
    return {t.__tablename__: _count(engine, t) for t in (m.Dataset, m.Parcel, m.Enterprise, m.Occupancy,
                                                          m.ZoneFeature, m.LandSupply)}


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from api.store.engine import MIGRATIONS_DIR

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def test_migrations_create_tables_and_spatial_indexes(store):
    with store.engine.connect() as conn:
        assert TABLES <= set(inspect(conn).get_table_names())
        # at the newest migration in api/migrations/versions (one head)
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == _head_revision()
        if store.backend == "spatialite":
            rows = conn.execute(text("SELECT f_table_name, srid, spatial_index_enabled "
                                     "FROM geometry_columns"))
            cols = {r[0]: (r[1], r[2]) for r in rows}
            idx = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'idx_%'"))}
            assert "idx_parcels_geom" in idx
        else:
            rows = conn.execute(text("SELECT f_table_name, srid, 1 FROM geometry_columns"))
            cols = {r[0]: (r[1], r[2]) for r in rows}
            sql = "SELECT indexname FROM pg_indexes WHERE tablename='parcels'"
            idx = {r[0] for r in conn.execute(text(sql))}
            assert "idx_parcels_geom" in idx
    assert cols["parcels"] == (4544, 1) and cols["zone_features"][0] == 4544


def test_sample_import_counts_and_dedup(store, sample, reference):
    # Counts straight from the sample files: one row per parcel/enterprise/occupancy/land-supply row.
    ref = reference
    before = _counts(store.engine)
    again = import_files(store.engine, DATA_DIR / "parcels.gpkg", DATA_DIR / "enterprises.csv",
                         DATA_DIR / "occupancy.csv", DATA_DIR / "zones.gpkg", DATA_DIR / "land_supply.csv")
    assert not again.created and again.dataset_id == sample["dataset"]
    assert _counts(store.engine) == before  # nothing duplicated
    assert again.counts["parcels"] == len(ref.parcels)
    assert again.counts["enterprises"] == len(ref.enterprises)
    assert again.counts["occupancy"] == len(ref.occupancy)
    assert again.counts["land_supply"] == len(ref.land_supply)
    assert {k: v for k, v in again.counts.items() if k.startswith("zone_")} == \
        {f"zone_{k}": len(v) for k, v in ref.zones.items()}


def test_inputs_round_trip(store, sample, reference):
    ref = reference
    with store.engine.connect() as conn:
        got = load_inputs_from_store(conn, sample["dataset"])
    a = ref.parcels.sort_values("parcel_id").reset_index(drop=True)
    b = got.parcels.sort_values("parcel_id").reset_index(drop=True)
    assert list(b.columns) == list(a.columns) or set(b.columns) == set(a.columns)
    pd.testing.assert_frame_equal(pd.DataFrame(b[a.columns].drop(columns="geometry")),
                                  pd.DataFrame(a.drop(columns="geometry")), check_dtype=True)
    assert b.geometry.geom_equals_exact(a.geometry, tolerance=1e-6).all()
    assert b.attrs["missing_columns"] == a.attrs.get("missing_columns", [])
    for name in ("enterprises", "occupancy", "land_supply"):
        x, y = getattr(ref, name), getattr(got, name)
        pd.testing.assert_frame_equal(y[x.columns].reset_index(drop=True), x.reset_index(drop=True))
    assert set(got.zones) == set(ref.zones)


def test_stored_run_rebuilds_the_same_contract_json(store, sample, direct_result):
    direct = direct_result
    with store.engine.connect() as conn:
        stored = result_from_store(conn, sample["run"]).to_dict()
    assert stored["summary"] == direct["summary"]
    assert stored["parcels"] == direct["parcels"]
    assert stored["enterprises"] == direct["enterprises"]
    assert stored["aggregates"] == direct["aggregates"]


def test_stored_run_keeps_rule_names_units_and_occupants(store, sample, direct_evaluation):
    # Reports of a stored run name rules, format values and list the firms on a parcel as a fresh run does.
    with store.engine.connect() as conn:
        stored = result_from_store(conn, sample["run"])
    assert stored.rule_titles == direct_evaluation.rule_titles and stored.rule_units == direct_evaluation.rule_units

    def pairs(result):
        return {tuple(r) for r in result.occupants[["parcel_id", "enterprise_id"]].astype(str).to_numpy()}

    assert pairs(stored) == pairs(direct_evaluation) and len(pairs(stored)) > 1000


def test_bad_file_leaves_store_unchanged(store, tmp_path):
    bad = tiny_parcels_gdf()
    bad.loc[1, "parcel_id"] = "T1"  # duplicate id → gis.io refuses, naming it
    path = tmp_path / "dup.gpkg"
    bad.to_file(path, layer="parcels")
    before = _counts(store.engine)
    with pytest.raises(GisError) as err:
        import_files(store.engine, path)
    assert "T1" in str(err.value)
    assert _counts(store.engine) == before


def test_import_rejected_midway_rolls_back(store):
    """A failure after the dataset row was written (bad zone layer) must roll everything back."""
    from gis.io import Inputs, SourceFile

    parcels = tiny_parcels_gdf()
    zones = {"parks": gpd.GeoDataFrame({"park_id": ["K1"]}, geometry=[None], crs="EPSG:4544")}
    inputs = Inputs(parcels=parcels, zones=zones, sources={"parcels": SourceFile("x.gpkg", "f" * 64, 1)})
    before = _counts(store.engine)
    with pytest.raises(ImportRejected) as err:
        import_inputs(store.engine, inputs, name="half")
    assert err.value.details[0]["layer"] == "parks" and err.value.details[0]["rows"] == [1]
    assert _counts(store.engine) == before


def test_tiny_import_values(store):
    from gis.io import Inputs, SourceFile

    inputs = Inputs(parcels=tiny_parcels_gdf(), sources={"parcels": SourceFile("t.gpkg", "e" * 64, 1)})
    out = import_inputs(store.engine, inputs, name="tiny")
    assert out.counts == {"parcels": 3}
    with store.engine.connect() as conn:
        rows = conn.execute(select(m.Parcel.parcel_id, m.Parcel.area_m2, m.Parcel.extra)
                            .where(m.Parcel.dataset_id == out.dataset_id).order_by(m.Parcel.parcel_id)).all()
        back = load_inputs_from_store(conn, out.dataset_id)
    # 100 m × 100 m squares → 10 000 m² each; the non-contract column "note" is kept as JSON.
    assert [(r[0], r[1]) for r in rows] == [("T1", 10000.0), ("T2", 10000.0), ("T3", 10000.0)]
    assert [r[2] for r in rows] == [{"note": "甲"}, {"note": "乙"}, {"note": None}]
    assert back.parcels["floor_area_m2"].tolist() == [20000.0, 5000.0, 9000.0]
    assert back.parcels.geometry.geom_type.tolist() == ["MultiPolygon"] * 3
    assert import_inputs(store.engine, inputs, name="tiny").dataset_id == out.dataset_id


def test_ruleset_versions_are_immutable(store):
    from rules.ruleset import load_ruleset, parse_ruleset

    base = load_ruleset("chengdu-2023")
    with store.engine.begin() as conn:
        pk = store_ruleset(conn, base, builtin=True)  # stored once, or found by its sha256
        assert store_ruleset(conn, base) == pk  # same text → same row
        assert resolve_ruleset(conn, f"chengdu-2023@{base.version}")[0] == pk
    changed = parse_ruleset(base.yaml_text + "\n# 修改\n", source="t")
    assert changed.sha256 != base.sha256 and changed.version == base.version
    with pytest.raises(Conflict), store.engine.begin() as conn:
        store_ruleset(conn, changed)


def test_users_tokens_hashed_and_audit(store):
    with store.engine.begin() as conn:
        token = add_user(conn, "audit-check", "analyst", actor="pytest")
    with store.engine.connect() as conn:
        stored = conn.scalar(select(m.User.token_sha256).where(m.User.name == "audit-check"))
        assert stored == token_hash(token) and token not in stored
        assert user_for_token(conn, token)["role"] == "analyst"
        assert user_for_token(conn, token + "x") is None
        entries = list_audit(conn, 50)
    assert any(e["action"] == "add" and e["entity"] == "user" and e["actor"] == "pytest" for e in entries)
    assert any(e["action"] == "import" and e["entity"] == "dataset" for e in entries)
    with pytest.raises(Conflict), store.engine.begin() as conn:
        add_user(conn, "audit-check", "viewer")


def test_run_records_summary_and_ruleset(store, sample):
    from api.store.evaluations import get_run

    with store.engine.connect() as conn:
        run = get_run(conn, sample["run"])
    assert run["status"] == "done" and run["progress"] == 1.0
    assert run["ruleset"]["id"] == "chengdu-2023" and len(run["ruleset"]["sha256"]) == 64
    assert run["as_of"] == SAMPLE_AS_OF
    assert sum(run["summary"]["by_status"].values()) == run["summary"]["parcels"]
    assert isinstance(run["finished_at"], dt.datetime)


def _mujun(store, *args: str):
    import os
    import subprocess
    from pathlib import Path

    env = {**os.environ, "MUJUN_DATABASE_URL": store.settings.resolved_database_url,
           "MUJUN_DATA_DIR": str(store.settings.data_dir), "COLUMNS": "200"}
    exe = Path(__file__).parents[1] / ".venv" / "bin" / "mujun"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_import_users_and_dedup(store, tiny_files, tmp_path):
    first = _mujun(store, "import", "--parcels", str(tiny_files["parcels"]), "--zones", str(tiny_files["zones"]),
                   "--name", "cli-tiny")
    assert first.returncode == 0, first.stderr
    assert "parcels=3" in first.stdout and "zone_parks=1" in first.stdout
    again = _mujun(store, "import", "--parcels", str(tiny_files["parcels"]), "--zones", str(tiny_files["zones"]))
    assert again.returncode == 0 and "未重复导入" in again.stdout
    bad = tiny_parcels_gdf()
    bad.loc[0, "land_use"] = None
    bad.loc[2, "parcel_id"] = "T2"
    path = tmp_path / "bad.gpkg"
    bad.to_file(path, layer="parcels")
    before = _counts(store.engine)
    failed = _mujun(store, "import", "--parcels", str(path))
    assert failed.returncode == 2 and "T2" in failed.stderr and "数据库未改动" in failed.stderr
    assert _counts(store.engine) == before
    made = _mujun(store, "users", "add", "cli-user", "--role", "analyst")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    with store.engine.connect() as conn:
        assert user_for_token(conn, token) == {"id": user_for_token(conn, token)["id"], "name": "cli-user",
                                               "role": "analyst"}


def test_runs_cut_off_by_a_restart_are_marked_failed(store, sample):
    from api.store.evaluations import create_run, fail_interrupted_runs, get_run

    t = m.EvaluationRun.__table__
    with store.engine.begin() as conn:
        run_id = create_run(conn, sample["dataset"], "chengdu-2023", dt.date(2025, 6, 30))
        done_before = conn.scalar(select(func.count()).select_from(t).where(t.c.status == "done"))
    assert run_id in fail_interrupted_runs(store.engine)
    with store.engine.connect() as conn:
        run = get_run(conn, run_id)
        done_after = conn.scalar(select(func.count()).select_from(t).where(t.c.status == "done"))
    assert run["status"] == "failed" and run["error"]["code"] == "interrupted" and "重新运行" in run["error"]["message"]
    assert done_after == done_before  # finished runs are left alone
    assert fail_interrupted_runs(store.engine) == []  # nothing left to mark


def test_a_second_server_leaves_a_live_servers_runs_alone(store, sample):
    """A server starting on the same store fails only runs whose lease expired (a killed server's), never the
    queued or running runs of a server that still holds its lease."""
    from api.services.runs import LEASE_S, Runs
    from api.store.evaluations import create_run, fail_interrupted_runs, get_run, renew_leases

    live = Runs(store.engine, store.settings)  # the first server: its claim is renewed while it works
    t = m.EvaluationRun.__table__
    with store.engine.begin() as conn:
        held = create_run(conn, sample["dataset"], "chengdu-2023", dt.date(2025, 6, 30), owner=live.owner,
                          lease_s=LEASE_S)
        lapsed = create_run(conn, sample["dataset"], "chengdu-2023", dt.date(2025, 6, 30), owner="killed:1:x",
                            lease_s=LEASE_S)
        conn.execute(t.update().where(t.c.id == lapsed).values(lease_expires_at=m._now() - dt.timedelta(seconds=1)))
    assert fail_interrupted_runs(store.engine) == [lapsed]  # what `mujun serve` does when the second one starts
    with store.engine.connect() as conn:
        assert get_run(conn, held)["status"] == "queued" and get_run(conn, lapsed)["status"] == "failed"
    # renewing moves the held lease forward; another owner cannot renew it
    with store.engine.connect() as conn:
        before = conn.scalar(select(t.c.lease_expires_at).where(t.c.id == held))
    renew_leases(store.engine, "someone-else", [held], 10 * LEASE_S)
    renew_leases(store.engine, live.owner, [held], 2 * LEASE_S)
    with store.engine.connect() as conn:
        after = conn.scalar(select(t.c.lease_expires_at).where(t.c.id == held))
    assert after > before and (after - before) < dt.timedelta(seconds=2 * LEASE_S)
    with store.engine.begin() as conn:  # tidy: the held run would otherwise stay queued in the shared store
        conn.execute(t.update().where(t.c.id == held).values(lease_expires_at=m._now() - dt.timedelta(seconds=1)))
    assert fail_interrupted_runs(store.engine) == [held]
    live.shutdown()


def test_stored_verdicts_are_the_in_memory_table(store, sample, direct_evaluation):
    # The stored run gives back the engine's very verdict table: same rows in the same order, same dtypes
    # (categories included), messages, citations and thresholds looked up from the run's texts.
    with store.engine.connect() as conn:
        stored = result_from_store(conn, sample["run"]).verdicts
        n_rows = conn.scalar(select(func.count()).where(m.Verdict.run_id == sample["run"]))
        n_texts = conn.scalar(select(func.count()).where(m.VerdictText.run_id == sample["run"]))
        columns = {c["name"] for c in inspect(conn).get_columns("verdicts")}
    direct = direct_evaluation.verdicts
    pd.testing.assert_frame_equal(stored.drop(columns="threshold"), direct.drop(columns="threshold"))
    # thresholds are dicts; an unknown bound is NaN in memory and null once stored: compared in JSON-safe form
    assert [_clean(t) for t in stored["threshold"]] == [_clean(t) for t in direct["threshold"]]
    assert n_rows == len(direct_evaluation.verdicts)
    # each distinct message, citation and threshold once: the sample's texts, counted from the in-memory table
    v = direct_evaluation.verdicts
    thresholds = {json.dumps(_clean(t)) for t in v["threshold"] if isinstance(t, dict) and t}
    assert n_texts == len(set(v["message"].dropna()) | set(v["citation"].dropna()) | thresholds)
    assert n_texts < n_rows / 5
    assert not columns & {"message", "citation", "threshold"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0004_keys_the_verdicts_of_an_old_store(backend, tmp_path):
    """A store at revision 0003 holding a run stored the old way (texts on every verdict row) reads back the
    same verdicts after the upgrade to the compact schema, and the downgrade puts the texts back."""
    from api.store.engine import make_engine, upgrade_schema
    from tests.conftest import _pg_database

    gen = _pg_database() if backend == "postgis" else None
    url = next(gen) if gen is not None else f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url)
    try:
        upgrade_schema(engine, "0003_run_leases")
        # Three verdicts written in the 0003 shape: two share a message and a threshold, one has neither.
        old = [
            {"level": "parcel", "subject_id": "P1", "rule": "far.bounds", "status": "fail", "value": 0.5,
             "code": "low", "threshold": {"min": 1.2, "max": 3.0}, "message": "容积率 0.50，低于下限 1.2",
             "citation": "《办法》第五条"},
            {"level": "parcel", "subject_id": "P2", "rule": "far.bounds", "status": "fail", "value": 0.5,
             "code": "low", "threshold": {"min": 1.2, "max": 3.0}, "message": "容积率 0.50，低于下限 1.2",
             "citation": "《办法》第五条"},
            {"level": "enterprise", "subject_id": "E1", "rule": "per_mu.revenue", "status": "missing_data",
             "value": None, "code": None, "threshold": None, "message": None, "citation": "《办法》第七条"},
        ]
        with engine.begin() as conn:
            ds = conn.execute(text("INSERT INTO datasets (name, content_sha256, sources, counts, extents, "
                                   "warnings, missing_columns, created_at) VALUES ('old', :h, '{}', '{}', '{}', "
                                   "'[]', '[]', CURRENT_TIMESTAMP) RETURNING id"), {"h": "a" * 64}).scalar()
            rs = conn.execute(text("INSERT INTO rulesets (ruleset_id, version, sha256, yaml_text, builtin, "
                                   "created_at) VALUES ('x', '1', :h, 'x', false, CURRENT_TIMESTAMP) "
                                   "RETURNING id"), {"h": "b" * 64}).scalar()
            run = conn.execute(text("INSERT INTO evaluation_runs (dataset_id, ruleset_pk, ruleset_sha256, as_of, "
                                    "status, progress, created_at) VALUES (:d, :r, :h, '2025-06-30', 'done', 1, "
                                    "CURRENT_TIMESTAMP) RETURNING id"), {"d": ds, "r": rs, "h": "b" * 64}).scalar()
            conn.execute(text("INSERT INTO verdicts (run_id, level, subject_id, rule, status, value, code, "
                              "threshold, message, citation) VALUES (:run_id, :level, :subject_id, :rule, :status, "
                              ":value, :code, :threshold, :message, :citation)"),
                         [{**v, "run_id": run, "threshold": json.dumps(v["threshold"], ensure_ascii=False)
                           if v["threshold"] is not None else None} for v in old])
        upgrade_schema(engine, "0004_compact_verdicts")
        with engine.connect() as conn:
            rows, total = query_verdicts(conn, run, limit=10)
            n_texts = conn.scalar(text("SELECT count(*) FROM verdict_texts"))
            table = verdict_table(conn, run)
        assert total == 3 and rows == old
        assert n_texts == 4  # one message, two citations, one threshold
        assert table["message"].tolist() == [v["message"] for v in old]
        assert table["threshold"].tolist() == [v["threshold"] for v in old]
        from alembic import command
        from alembic.config import Config

        from api.store.engine import MIGRATIONS_DIR

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003_run_leases")
        with engine.connect() as conn:
            back = conn.execute(text("SELECT message, citation FROM verdicts ORDER BY id")).all()
        assert [tuple(r) for r in back] == [(v["message"], v["citation"]) for v in old]
    finally:
        engine.dispose()
        if gen is not None:
            gen.close()


def _parcel_indexes(conn) -> set[str]:
    if conn.dialect.name == "postgresql":
        return {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'parcels'"))}
    names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE tbl_name = 'parcels' "
                                             "OR name = 'idx_parcels_geom'"))}
    enabled = conn.scalar(text("SELECT spatial_index_enabled FROM geometry_columns WHERE f_table_name = 'parcels'"))
    return names | ({"spatial index enabled"} if enabled else set())


def test_large_load_rebuilds_the_indexes_and_stays_all_or_nothing(store, monkeypatch):
    """The bulk path (indexes dropped for the load, built after) on the tiny parcels: the indexes are back after
    a good import and after a failed one, the unique id still holds, the spatial index finds the parcels."""
    from api.store import importer
    from gis.io import Inputs, SourceFile

    monkeypatch.setattr(importer, "REBUILD_INDEXES_FROM", 0)
    monkeypatch.setattr(importer, "REBUILD_WHEN_HELD_UNDER", float("inf"))  # rebuild whatever the table holds
    with store.engine.connect() as conn:
        indexes = _parcel_indexes(conn)
    assert "idx_parcels_geom" in indexes
    bad_zones = {"parks": gpd.GeoDataFrame({"park_id": ["K1"]}, geometry=[None], crs="EPSG:4544")}
    before = _counts(store.engine)
    with pytest.raises(ImportRejected):
        import_inputs(store.engine, Inputs(parcels=tiny_parcels_gdf(), zones=bad_zones,
                                           sources={"parcels": SourceFile("b.gpkg", "9" * 64, 1)}), name="bad")
    assert _counts(store.engine) == before
    out = import_inputs(store.engine, Inputs(parcels=tiny_parcels_gdf(),
                                             sources={"parcels": SourceFile("r.gpkg", "8" * 64, 1)}), name="big")
    with store.engine.connect() as conn:
        assert _parcel_indexes(conn) == indexes
        # T1 covers 400000–400100 × 3390000–3390100: a CRS84 box around its centre (±10 m) finds T1 only,
        # through the rebuilt spatial index; its stored extra column and area come back as imported
        from pyproj import Transformer

        from api.store.features import FeatureQuery, get_collection, query_collection

        to84 = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True)
        (x0, x1), (y0, y1) = to84.transform([400040, 400060], [3390040, 3390060])
        page = query_collection(conn, get_collection(conn, "parcels", out.dataset_id),
                                FeatureQuery(bbox=(x0, y0, x1, y1)))
    assert [f["id"] for f in page.features] == ["T1"]
    assert page.features[0]["properties"]["note"] == "甲"
    from sqlalchemy.exc import IntegrityError

    with store.engine.begin() as conn, pytest.raises(IntegrityError):  # the rebuilt unique (dataset, parcel_id)
        conn.execute(text("INSERT INTO parcels (dataset_id, parcel_id, area_m2, geom) SELECT dataset_id, "
                          "parcel_id, area_m2, geom FROM parcels WHERE dataset_id = :d"), {"d": out.dataset_id})


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_large_store_of_results_builds_the_indexes_after(backend, tmp_path, monkeypatch):
    """Results stored into an empty verdicts table drop its indexes for the load and build them after (the
    threshold lowered so the tiny set takes that path): the indexes are back and the run reads back whole."""
    from api.store import bulk
    from api.store.engine import make_engine, upgrade_schema
    from api.store.evaluations import create_run, execute_run
    from gis.io import Inputs, SourceFile
    from tests.conftest import _pg_database

    monkeypatch.setattr(bulk, "DEFER_INDEXES_FROM", 0)
    gen = _pg_database() if backend == "postgis" else None
    engine = make_engine(next(gen) if gen is not None else f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    try:
        upgrade_schema(engine)
        with engine.connect() as conn:
            before = {i["name"] for t in ("verdicts", "parcel_results") for i in inspect(conn).get_indexes(t)}
        out = import_inputs(engine, Inputs(parcels=tiny_parcels_gdf(),
                                           sources={"parcels": SourceFile("t.gpkg", "7" * 64, 1)}), name="tiny")
        with engine.begin() as conn:
            run = create_run(conn, out.dataset_id, "chengdu-2023", SAMPLE_AS_OF)
        execute_run(engine, run)
        with engine.connect() as conn:
            after = {i["name"] for t in ("verdicts", "parcel_results") for i in inspect(conn).get_indexes(t)}
            rows, total = query_verdicts(conn, run, subject="T2", rule=["far.bounds"])
            result = result_from_store(conn, run)
        assert {"ix_verdicts_run_rule_status", "ix_verdicts_run_subject", "ix_parcel_results_run_status"} <= before
        assert after == before
        # T2: 5000 m² of floor on 10 000 m² → FAR 0.5; no ring layer imported, so which bounds apply is unknown
        assert total == 1 and rows[0]["value"] == pytest.approx(0.5) and rows[0]["status"] == "missing_data"
        assert sorted(result.parcels["parcel_id"]) == ["T1", "T2", "T3"] and len(result.verdicts) > 3
    finally:
        engine.dispose()
        if gen is not None:
            gen.close()
