"""Benchmark the store at n parcels: import, storing a run's results, and the GPKG export, on both stores.

Usage: .venv/bin/python benchmarks/store.py [--n 100000] [--backends spatialite,postgis] [--steps import,store,gpkg]

The data are ``make_synthetic(n, seed=1)`` written as ``benchmarks/evaluate.py`` writes them (GeoParquet parcels,
a zones GeoPackage, CSV tables). Each step runs in a fresh process, so its peak RSS is its own:
- ``import``: ``import_files`` (read + validate + store), the time of the store write apart;
- ``store``: the dataset evaluated as a run does (inputs from the store), then ``store_result`` timed alone;
- ``gpkg``: ``mujun evaluate --dataset … --out result.gpkg`` end to end, and the file's size.
Peak RSS is this process's (the PostgreSQL server's memory is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN_DSN = os.environ.get("MUJUN_TEST_PG_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
AS_OF = "2025-06-30"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _engine(url: str):
    from api.settings import Settings
    from api.store.engine import get_engine

    return get_engine(Settings(database_url=url, data_dir=Path(tempfile.gettempdir())))


def step_import(url: str, folder: Path) -> dict:
    from api.store import importer
    from gis.io import load_inputs

    engine = _engine(url)
    names = ("parcels", "enterprises", "occupancy", "zones", "land_supply")
    paths = {k: folder / (f"{k}.parquet" if k == "parcels" else f"{k}.gpkg" if k == "zones" else f"{k}.csv")
             for k in names}
    t0 = time.perf_counter()
    inputs = load_inputs(**{k: str(v) for k, v in paths.items()})
    t1 = time.perf_counter()
    hashes = {k: importer.file_sha256(p) for k, p in paths.items()}
    sources = {k: {"name": p.name, "sha256": hashes[k], "size": p.stat().st_size} for k, p in paths.items()}
    out = importer.import_inputs(engine, inputs, name="bench", content_sha256=importer.content_hash(hashes),
                                 sources=sources)
    t2 = time.perf_counter()
    return {"dataset": out.dataset_id, "read_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0}


def step_store(url: str, dataset: int) -> dict:
    from api.store.evaluations import create_run, load_inputs_from_store, store_result
    from rules.engine import evaluate

    engine = _engine(url)
    with engine.begin() as conn:
        run_id = create_run(conn, dataset, "chengdu-2023", __import__("datetime").date(2025, 6, 30))
    with engine.connect() as conn:
        from api.store.evaluations import resolve_ruleset

        _, ruleset = resolve_ruleset(conn, "chengdu-2023")
        t0 = time.perf_counter()
        inputs = load_inputs_from_store(conn, dataset)
    t1 = time.perf_counter()
    result = evaluate(inputs, ruleset, AS_OF)
    t2 = time.perf_counter()
    with engine.begin() as conn:
        store_result(conn, run_id, result, ruleset)
    t3 = time.perf_counter()
    return {"run": run_id, "load_s": t1 - t0, "evaluate_s": t2 - t1, "store_s": t3 - t2,
            "verdicts": len(result.verdicts)}


def step_gpkg(url: str, dataset: int, out: Path) -> dict:
    env = {**os.environ, "MUJUN_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "import resource, sys; from api.cli import main; "
                           "sys.argv = ['mujun'] + sys.argv[1:]\n"
                           "try:\n    main()\nfinally:\n"
                           "    print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
                           "file=sys.stderr)",
                           "evaluate", "--dataset", str(dataset), "--out", str(out), "--as-of", AS_OF, "-q"],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    t1 = time.perf_counter()
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    rss = float(proc.stderr.strip().rsplit("RSS", 1)[1])
    return {"total_s": t1 - t0, "gpkg_mb": out.stat().st_size / 2**20, "child_rss_mb": rss}


def _child(args: argparse.Namespace) -> None:
    if args.step == "import":
        res = step_import(args.url, Path(args.folder))
    elif args.step == "store":
        res = step_store(args.url, args.dataset)
    else:
        res = step_gpkg(args.url, args.dataset, Path(args.folder) / "result.gpkg")
    res["rss_mb"] = _rss_mb()
    print("RESULT " + json.dumps(res))


def _run_child(step: str, url: str, folder: Path, dataset: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", step, "--url", url, "--folder", str(folder)]
    if dataset is not None:
        cmd += ["--dataset", str(dataset)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[7:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--backends", default="spatialite,postgis")
    ap.add_argument("--steps", default="import,store,gpkg")
    ap.add_argument("--child")
    ap.add_argument("--url")
    ap.add_argument("--folder")
    ap.add_argument("--dataset", type=int)
    args = ap.parse_args()
    if args.child:
        args.step = args.child
        return _child(args)

    from benchmarks.evaluate import write_files

    steps = args.steps.split(",")
    with tempfile.TemporaryDirectory(prefix="mujun-store-bench-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        write_files(args.n, folder)
        print(f"n={args.n}: files written in {time.perf_counter() - t:.1f} s")
        for backend in args.backends.split(","):
            pg_name = None
            if backend == "postgis":
                import psycopg

                pg_name = f"mujun_bench_{secrets.token_hex(4)}"
                with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{pg_name}"')
                url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name}"
            else:
                url = f"sqlite:///{folder / 'bench.sqlite'}"
            try:
                imp = _run_child("import", url, folder)
                print(f"{backend:>10} import        {imp['total_s']:7.1f} s (read {imp['read_s']:.1f} + store "
                      f"{imp['write_s']:.1f})  peak RSS {imp['rss_mb']:7.0f} MB")
                if "store" in steps:
                    st = _run_child("store", url, folder, imp["dataset"])
                    print(f"{backend:>10} store results {st['store_s']:7.1f} s ({st['verdicts']} verdicts; load "
                          f"{st['load_s']:.1f}, evaluate {st['evaluate_s']:.1f})  peak RSS {st['rss_mb']:7.0f} MB")
                if "gpkg" in steps:
                    gp = _run_child("gpkg", url, folder, imp["dataset"])
                    print(f"{backend:>10} evaluate→gpkg {gp['total_s']:7.1f} s  GPKG {gp['gpkg_mb']:7.0f} MB  "
                          f"peak RSS {gp['child_rss_mb']:7.0f} MB")
            finally:
                if pg_name:
                    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
