"""Benchmark: mujun (read + every rule) against the strong geopandas baseline, side by side, files read included.

For each size the synthetic data (``make_synthetic(n, seed=1)``) is written once as GeoParquet parcels, a zones
GeoPackage and CSV tables; then mujun (``load_inputs`` + ``evaluate``) and the strong baseline
(``benchmarks/strong_baseline.py``: FAR by ring, red/blue membership, per-mu — three of our rules) each run in
their own process, so that each peak RSS is that side's alone. Prints read / rules / total seconds (wall clock),
the process CPU time (read + rules; steadier than wall clock on a busy machine, and above it where Arrow or
GEOS work on both cores) and peak RSS for both, and the ratios (goal: total ≤ 1.5×, read ≤ 1.5×, RSS ≤ 2×).

    .venv/bin/python benchmarks/evaluate.py                 # 10k, 100k, 1M
    .venv/bin/python benchmarks/evaluate.py 100000          # one size
    .venv/bin/python benchmarks/evaluate.py --keep /tmp/b 100000   # keep (and reuse) the written files
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (10_000, 100_000, 1_000_000)


def write_files(n: int, folder: Path) -> None:
    """``make_synthetic(n, seed=1)`` as the files both sides read."""
    import pyogrio

    from data.sample_parcels.synthetic import make_synthetic

    data = make_synthetic(n, seed=1)
    folder.mkdir(parents=True, exist_ok=True)
    data["parcels"].to_parquet(folder / "parcels.parquet")
    for name, layer in data["zones"].items():
        pyogrio.write_dataframe(layer, folder / "zones.gpkg", layer=name, driver="GPKG")
    for name in ("enterprises", "occupancy", "land_supply"):
        data[name].to_csv(folder / f"{name}.csv", index=False)


def run_mujun(folder: Path) -> dict:
    """Read and evaluate with mujun as ``mujun evaluate`` does; figures of this process."""
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset

    rs = load_ruleset("chengdu-2023")
    c0 = time.process_time()
    t0 = time.perf_counter()
    inputs = load_inputs(
        folder / "parcels.parquet",
        folder / "enterprises.csv",
        folder / "occupancy.csv",
        folder / "zones.gpkg",
        folder / "land_supply.csv",
    )
    t1 = time.perf_counter()
    result = evaluate(inputs, rs, "2025-06-30")
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    return {"read_s": t1 - t0, "rules_s": t2 - t1, "cpu_s": cpu, "verdicts": int(len(result.verdicts))}


def _child(side: str, folder: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, f"--{side}", str(folder)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{side} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    """Write the files for each size, run both sides in child processes, print the table."""
    if argv and argv[0] in ("--mujun", "--baseline", "--write"):
        folder = Path(argv[1])
        if argv[0] == "--write":
            write_files(int(argv[2]), folder)
            return
        if argv[0] == "--mujun":
            out = run_mujun(folder)
        else:
            sys.path.insert(0, str(HERE))
            import strong_baseline

            c0 = time.process_time()
            out = strong_baseline.main(folder)
            out["cpu_s"] = time.process_time() - c0
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return
    keep = None
    if argv and argv[0] == "--keep":
        keep, argv = Path(argv[1]), argv[2:]
    sizes = [int(a) for a in argv] or list(SIZES)
    head = (
        f"{'parcels':>10} | {'mujun read':>10} {'rules':>7} {'total':>7} {'cpu':>7} {'RSS MB':>7} | "
        f"{'base read':>9} {'rules':>7} {'total':>7} {'cpu':>7} {'RSS MB':>7} | "
        f"{'ratio':>5} {'read×':>5} {'cpu×':>5} {'RSS×':>5}"
    )
    print(head)
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="mujun-bench-") as tmp:
            folder = (keep / str(n)) if keep else Path(tmp)
            if not (folder / "parcels.parquet").exists():
                subprocess.run([sys.executable, __file__, "--write", str(folder), str(n)], check=True)
            m, b = _child("mujun", folder), _child("baseline", folder)
        mt, bt = m["read_s"] + m["rules_s"], b["read_s"] + b["rules_s"]
        print(
            f"{n:>10,} | {m['read_s']:>10.2f} {m['rules_s']:>7.2f} {mt:>7.2f} {m['cpu_s']:>7.2f} "
            f"{m['peak_rss_mb']:>7,.0f} | {b['read_s']:>9.2f} {b['rules_s']:>7.2f} {bt:>7.2f} {b['cpu_s']:>7.2f} "
            f"{b['peak_rss_mb']:>7,.0f} | {mt / bt:>5.2f} {m['read_s'] / b['read_s']:>5.2f} "
            f"{m['cpu_s'] / b['cpu_s']:>5.2f} {m['peak_rss_mb'] / b['peak_rss_mb']:>5.2f}",
            flush=True,
        )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    main(sys.argv[1:])
