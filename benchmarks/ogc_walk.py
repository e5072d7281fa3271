"""Benchmark: walk a whole OGC API collection page by page, following ``next`` links, as GDAL and QGIS do.

Usage: .venv/bin/python benchmarks/ogc_walk.py [--n 100000] [--limit 1000] [--backends spatialite,postgis]

For each backend: the synthetic data (``benchmarks/api.py``'s files, ``make_synthetic(n, seed=7)``) imported,
``mujun serve`` started (a separate process, real HTTP), then ``/collections/parcels/items?limit=…`` walked to
the end along the ``next`` links (urllib, one request per page). Prints items/s for the whole walk (the
server's time per page, request to last byte; the client's JSON parsing not counted), the first and last page's
time and the slowest page, and checks that every parcel came exactly once. A walk that slows page by page (``OFFSET``
paging, a ``count(*)`` per page) shows as a last page much slower than the first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.api import served_store, write_inputs  # noqa: E402


def walk(port: int, limit: int) -> tuple[float, np.ndarray, list[str], set[int]]:
    """Seconds the server took for the whole walk (each page from request to its last byte; the client's JSON
    parsing of a page is not counted), each page's ms, the ids in order, the numberMatched values seen."""
    import json
    import urllib.request

    ids: list[str] = []
    page_ms: list[float] = []
    matched: set[int] = set()
    base = f"http://127.0.0.1:{port}"

    def fetch(url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.read()

    fetch(f"{base}/collections/parcels/items?limit=1")  # warm-up (caches)
    url: str | None = f"{base}/collections/parcels/items?limit={limit}"
    while url is not None:
        t = time.perf_counter()
        raw = fetch(url)
        page_ms.append((time.perf_counter() - t) * 1000)
        body = json.loads(raw)
        ids += [f["id"] for f in body["features"]]
        if body.get("numberMatched") is not None:
            matched.add(body["numberMatched"])
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return sum(page_ms) / 1000, np.array(page_ms), ids, matched


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--backends", default="spatialite,postgis")
    parser.add_argument("--port", type=int, default=8792)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mujun-walk-") as tmp:
        folder = Path(tmp)
        paths = write_inputs(args.n, folder)
        for backend in args.backends.split(","):
            with served_store(backend, folder, paths, args.port):
                total, ms, ids, matched = walk(args.port, args.limit)
            complete = len(ids) == len(set(ids)) == args.n
            rows.append((backend, len(ids) / total, ms[0], ms[-1], float(np.median(ms)), ms.max(), len(ms),
                         complete, sorted(matched)))
            print(f"{backend}: {rows[-1][1]:,.0f} items/s, first page {ms[0]:.0f} ms, last {ms[-1]:.0f} ms, "
                  f"every id once: {complete}", flush=True)
    print(f"\n{args.n} parcels walked in pages of {args.limit} along the next links")
    print(f"{'backend':<11}{'items/s':>9}{'first ms':>10}{'last ms':>9}{'median ms':>11}{'max ms':>8}{'pages':>7}"
          f"  every id once  numberMatched")
    for r in rows:
        print(f"{r[0]:<11}{r[1]:>9,.0f}{r[2]:>10.0f}{r[3]:>9.0f}{r[4]:>11.0f}{r[5]:>8.0f}{r[6]:>7}  {str(r[7]):<14} "
              f"{r[8]}")


if __name__ == "__main__":
    main()
