"""Benchmark: full evaluation vs a minimal hand-written geopandas baseline, on synthetic parcels.

Prints, for each size, the full evaluation's wall time and the process's peak memory, and the time of a
baseline doing only FAR-by-ring, red/blue overlay and per-mu on the same data, with the ratio.
Each size runs in its own process so peak memory is that size's alone.

    .venv/bin/python benchmarks/evaluate.py            # 10k, 100k, 1M
    .venv/bin/python benchmarks/evaluate.py 10000      # one size
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

SIZES = (10_000, 100_000, 1_000_000)


def baseline(data: dict) -> float:
    """What an analyst would write by hand in geopandas: FAR by ring, red/blue membership, per-mu."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    parcels = data["parcels"]
    area = parcels.geometry.area
    ring = data["zones"]["ring"].geometry.union_all()
    inside = parcels.geometry.intersection(ring).area / area >= 0.5
    far = pd.to_numeric(parcels["floor_area_m2"], errors="coerce") / area
    lo = np.where(inside, 2.0, 1.2)
    hi = np.where(inside, 4.0, 3.0)
    _far_ok = (far >= lo) & (far <= hi)
    for name in ("red_line", "blue_line"):
        zone = data["zones"][name]
        pairs = parcels[["geometry"]].sjoin(zone[["geometry"]], predicate="intersects")
        other = gpd.GeoSeries(zone.geometry.loc[pairs["index_right"]].values, index=pairs.index, crs=zone.crs)
        inter = pairs.geometry.intersection(other, align=False).area
        share = (inter / area.loc[pairs.index]).groupby(level=0).sum()
        _member = share.reindex(parcels.index).fillna(0) >= 0.5
    occ = data["occupancy"].merge(parcels[["parcel_id"]].assign(area_mu=area / (10000 / 15)), on="parcel_id")
    occ["land_mu"] = occ["area_mu"] / occ.groupby("parcel_id")["parcel_id"].transform("size")
    land = occ.groupby("enterprise_id")["land_mu"].sum()
    ent = data["enterprises"].set_index("enterprise_id")
    _per_mu = ent["revenue_10k"] / land.reindex(ent.index)
    return time.perf_counter() - t0


def one(n: int) -> dict:
    """Run one size in this process and return the figures."""
    from gis.io import Inputs
    from gis.sample_data import make_synthetic
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset

    t0 = time.perf_counter()
    data = make_synthetic(n, seed=1)
    gen = time.perf_counter() - t0
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    inputs = Inputs(
        parcels=data["parcels"],
        enterprises=data["enterprises"],
        occupancy=data["occupancy"],
        zones=data["zones"],
        land_supply=data["land_supply"],
    )
    rs = load_ruleset("chengdu-2023")
    t0 = time.perf_counter()
    result = evaluate(inputs, rs, "2025-06-30")
    full = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    base = baseline(data)
    return {
        "n": n,
        "generate_s": gen,
        "evaluate_s": full,
        "baseline_s": base,
        "peak_rss_mb": peak,
        "rss_after_data_mb": rss_data,
        "verdicts": int(len(result.verdicts)),
    }


def main(argv: list[str]) -> None:
    """Run every size in a child process and print a table."""
    if argv and argv[0] == "--one":
        print(json.dumps(one(int(argv[1]))))
        return
    sizes = [int(a) for a in argv] or list(SIZES)
    print(
        f"{'parcels':>10} {'evaluate s':>11} {'baseline s':>11} {'ratio':>6} {'peak RSS MB':>12} "
        f"{'RSS data MB':>12} {'verdicts':>10} {'generate s':>11}"
    )
    for n in sizes:
        proc = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{n:>10} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        ratio = r["evaluate_s"] / r["baseline_s"]
        print(
            f"{r['n']:>10,} {r['evaluate_s']:>11.2f} {r['baseline_s']:>11.2f} {ratio:>6.2f} {r['peak_rss_mb']:>12,.0f} "
            f"{r['rss_after_data_mb']:>12,.0f} {r['verdicts']:>10,} {r['generate_s']:>11.2f}",
            flush=True,
        )


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    main(sys.argv[1:])
