"""Compliance-map scale benchmark: build time, HTML size, Chromium time to first paint and redraws.

Run: ``.venv/bin/python benchmarks/maps.py [--sizes 1000 10000 100000] [--verdicts 4]``; the tiled map:
``.venv/bin/python benchmarks/maps.py --tiled 100000 [--database-url postgresql+psycopg://…]``.
The map is built as the app builds it: legend from chengdu-2023, verdict texts in the rule set's words
(``api.cli_maps.with_texts``, timed apart as "texts s"), then ``save_compliance_map``.
Parcels come from ``data/sample_parcels/synthetic.py``'s ``make_synthetic(n)``, with verdict statuses drawn as
for ``grid_parcels`` (a grid of 80 m squares around 天府广场, also used by the map tests). Time to first paint =
``performance.now()`` two animation frames after the parcel layer was added (the canvas has been drawn), measured
in Debian's headless Chromium with the network blocked.

The tiled case (``--tiled N``) imports ``write_synthetic(N, seed=1)`` into a fresh store (SpatiaLite unless
``--database-url``), evaluates it with chengdu-2023 through the store, serves ``create_app`` with uvicorn (in a
process of its own) and opens ``/web/runs/{id}/tiled-map`` signed in: first paint = ``performance.now()`` two
animation frames after the parcel layer's first ``load`` (every visible tile fetched, decoded and drawn; from
navigation start); pan redraw = a 400 × 300 px pan until the uncovered tiles are drawn (the same); both with the
browser's cache cold for those tiles.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gis import maps  # noqa: E402
from tests.browser import launch, offline_context  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
STATUSES = np.array(["pass", "fail", "warn", "missing_data", "exempt", "not_applicable"])
RULES = [
    "far.bounds",
    "zone.red_line",
    "per_mu.revenue",
    "per_mu.tax",
    "idle.order53",
    "low_efficiency",
    "standard_land.required",
    "industry.restricted",
]


def grid_parcels(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    """``n`` 80 m × 80 m parcels (with a jittered corner) on a 100 m grid around 天府广场."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x0 = 410449 - side * 50 + (i % side) * 100.0
    y0 = 3383928 - side * 50 + (i // side) * 100.0
    j = rng.uniform(-8, 8, size=(n, 2))
    coords = np.stack(
        [
            np.column_stack([x0, y0]),
            np.column_stack([x0 + 80, y0]),
            np.column_stack([x0 + 80 + j[:, 0], y0 + 80 + j[:, 1]]),
            np.column_stack([x0, y0 + 80]),
            np.column_stack([x0, y0]),
        ],
        axis=1,
    )
    geoms = shapely.polygons(coords)
    status = STATUSES[rng.choice(4, size=n, p=[0.55, 0.2, 0.15, 0.1])]
    return gpd.GeoDataFrame(
        {"parcel_id": [f"P{k:06d}" for k in range(n)], "status": status}, geometry=geoms, crs="EPSG:4544"
    )


def synthetic(n: int, per_parcel: int) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Parcels and ``per_parcel`` verdicts each (values, thresholds and messages vary per parcel)."""
    from data.sample_parcels.synthetic import make_synthetic

    # make_synthetic's `status` is the land's (built / vacant …); the map colours the verdict status
    parcels = make_synthetic(n, seed=1)["parcels"].assign(status=grid_parcels(n)["status"].to_numpy())
    rng = np.random.default_rng(2)
    k = n * per_parcel
    rule_idx = np.tile(np.arange(per_parcel) % len(RULES), n)
    vals = np.round(rng.uniform(0.5, 900, size=k), 2)
    verdicts = pd.DataFrame(
        {
            "level": "parcel",
            "subject_id": np.repeat(parcels["parcel_id"].astype("str").to_numpy(), per_parcel),
            "rule": np.array(RULES)[rule_idx],
            "status": STATUSES[rng.choice(6, size=k, p=[0.5, 0.15, 0.1, 0.1, 0.05, 0.1])],
            "value": vals,
            "threshold": [{"min": 2.0, "max": 4.0}] * k,
            "code": None,
            "message": pd.Series(vals).map("测得数值 {:.2f}，与标准比较".format).to_numpy(),
            "citation": "成都市支持制造业产业功能区提能升级行动计划 四（七）",
        }
    )
    return parcels, verdicts


def first_paint_ms(html: Path, runs: int = 1) -> tuple[float, float, float, float]:
    """Chromium time to first paint, the page's build() call, a zoom+pan redraw and a rule-layer switch (ms)."""
    from playwright.sync_api import sync_playwright

    best, build, redraw, switch = float("inf"), float("nan"), float("nan"), float("nan")
    with sync_playwright() as p:
        browser = launch(p)
        for _ in range(runs):
            ctx, _blocked = offline_context(browser, "file://", viewport={"width": 1280, "height": 800})
            page = ctx.new_page()
            page.goto(html.resolve().as_uri(), timeout=120000)
            page.wait_for_function("window.mujunReady !== undefined", timeout=120000)
            ready = page.evaluate("window.mujunReady")
            build = page.evaluate("window.mujunMaps[0].buildMs")
            drawn = page.evaluate("window.mujunMaps[0].parcels.drawnCount")
            # responsiveness: time for a pan + zoom to be drawn
            redraw = page.evaluate(
                """() => new Promise(res => { const m = window.mujunMaps[0].map; const t0 = performance.now();
                m.setZoom(m.getZoom() + 1, {animate: false}); m.panBy([200, 100], {animate: false});
                requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t0))); })"""
            )
            # switching the colouring to one rule (decode its codes on first use, draw it alone)
            switch = page.evaluate(
                """() => new Promise(res => { const a = window.mujunMaps[0], key = a.data.layers[1].key;
                const t0 = performance.now(); a.setLayer(key);
                requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t0))); })"""
            )
            print(f"    drawn={drawn} zoom+pan redraw={redraw:.0f} ms rule-layer switch={switch:.0f} ms", flush=True)
            best = min(best, ready)
            ctx.close()
        browser.close()
    return best, build, redraw, switch


@contextlib.contextmanager
def _server_process(settings: object) -> Iterator[str]:
    """``create_app`` for ``settings`` served by uvicorn in a process of its own (as ``mujun serve`` runs), so the
    browser's driver and the server do not share one interpreter; yields its base URL."""
    import os
    import subprocess

    from tests.conftest import free_port

    port = free_port()
    env = {**os.environ, "MUJUN_DATABASE_URL": settings.database_url, "MUJUN_DATA_DIR": str(settings.data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/conformance", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def tiled(n: int, database_url: str | None) -> None:
    """Import, evaluate and serve ``n`` synthetic parcels; time the tiled map's first paint and a pan redraw."""
    import datetime as dt
    import tempfile

    from playwright.sync_api import sync_playwright

    from api.app import create_app
    from api.settings import Settings
    from api.store.evaluations import create_run, execute_run
    from api.store.importer import import_files
    from api.store.repository import add_user
    from data.sample_parcels.synthetic import write_synthetic

    work = Path(tempfile.mkdtemp(prefix="mujun-tiles-"))
    files = {p.stem: p for p in write_synthetic(n, work / "data", seed=1)}
    settings = Settings(database_url=database_url or f"sqlite:///{work / 'mujun.sqlite'}", data_dir=work)
    app = create_app(settings)
    t0 = time.perf_counter()
    outcome = import_files(app.state.engine, files["parcels"], files.get("enterprises"), files.get("occupancy"),
                           files.get("zones"), files.get("land_supply"), actor="benchmark")
    import_s = time.perf_counter() - t0
    with app.state.engine.begin() as conn:
        run_id = create_run(conn, outcome.dataset_id, "chengdu-2023", dt.date(2025, 6, 30), actor="benchmark")
        token = add_user(conn, "benchmark", "viewer")
    t0 = time.perf_counter()
    execute_run(app.state.engine, run_id)
    evaluate_s = time.perf_counter() - t0
    print(f"{n} parcels: import {import_s:.1f} s, evaluate and store {evaluate_s:.1f} s "
          f"({app.state.engine.dialect.name})", flush=True)
    settle = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    with _server_process(settings) as base, sync_playwright() as p:
        browser = launch(p)
        ctx, blocked = offline_context(browser, base, viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        # signed in by the form's POST alone (the dashboard it redirects to is not what is measured)
        ctx.request.post(f"{base}/web/login", form={"token": token}, max_redirects=0)
        page.goto(f"{base}/web/runs/{run_id}/tiled-map", timeout=120000)
        page.wait_for_function("window.mujunTiles && mujunTiles.firstLoadMs !== null", timeout=120000)
        paint = page.evaluate(f"async () => {{ await {settle}; return mujunTiles.firstLoadMs; }}")
        zoom = page.evaluate("mujunTiles.map.getZoom()")
        tiles, styled = page.evaluate("[mujunTiles.tilesLoaded, mujunTiles.styled]")
        pans = []
        for dx, dy in ((400, 300), (400, 300), (400, 300)):  # onward each time: new tiles, none kept from before
            pans.append(page.evaluate(f"""async () => {{ const t = mujunTiles, t0 = performance.now();
                const done = new Promise(r => {{ t.parcels.once('load', r); setTimeout(r, 30000); }});
                t.map.panBy([{dx}, {dy}], {{animate: false}}); await done; await {settle};
                return performance.now() - t0; }}"""))
        print(f"  tiled map at zoom {zoom}: first paint {paint:.0f} ms ({tiles} tiles, {styled} parcels drawn); "
              f"pan redraw {' / '.join(f'{v:.0f}' for v in pans)} ms; blocked requests: {len(blocked)}", flush=True)
        ctx.close()
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--tiled", type=int, nargs="+", help="the tiled map for these sizes (and not the inline map)")
    ap.add_argument("--database-url", help="the store of the tiled case (default: a fresh SpatiaLite file)")
    ap.add_argument("--verdicts", type=int, default=4, help="verdicts per parcel (0 = none)")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    if args.tiled:
        for n in args.tiled:
            tiled(n, args.database_url)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    from api.cli_maps import with_texts
    from rules.ruleset import load_ruleset

    legend = load_ruleset("chengdu-2023").legend()
    print(
        f"{'parcels':>8} {'verdicts':>9} {'texts s':>8} {'build s':>8} {'HTML MB':>8} {'paint ms':>9} "
        f"{'JS build ms':>11} {'redraw ms':>9} {'switch ms':>9}"
    )
    for n in args.sizes:
        parcels, verdicts = synthetic(n, args.verdicts)
        t0 = time.perf_counter()
        worded = with_texts(verdicts, legend) if args.verdicts else None
        texts_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        path = maps.save_compliance_map(OUT / f"map_{n}.html", parcels, worded, legend=legend, inline=True)
        build_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        nan = float("nan")
        paint, js_build, redraw, switch = (nan, nan, nan, nan) if args.no_browser else first_paint_ms(path)
        print(
            f"{n:>8} {len(verdicts):>9} {texts_s:>8.2f} {build_s:>8.2f} {size_mb:>8.2f} {paint:>9.0f} "
            f"{js_build:>11.0f} {redraw:>9.0f} {switch:>9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
