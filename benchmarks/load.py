"""Load test: many concurrent clients on the OGC bbox items and on ``POST /check``, over real HTTP.

Usage: .venv/bin/python benchmarks/load.py [--postgis] [--seconds 60] [--clients 1,8,24,50,200]
                                           [--check-clients 50] [--threads N] [--server-log FILE]

What it does, bounded and on 127.0.0.1 only:
1. a fresh store in a temporary folder: a SpatiaLite file, or with ``--postgis`` a throw-away database on the
   local PostGIS (127.0.0.1:5432, trust auth; created here and dropped at the end, as ``tests/conftest.py`` does);
2. ``mujun import`` of the 1,800-parcel sample, ``mujun users add`` (analyst) for a token,
   ``mujun serve`` on a free port (a separate process), one evaluation (``POST /evaluations``, ``wait``);
3. for each N in ``--clients``: N independent clients (each its own keep-alive connection), each sending
   requests one after another with the token, for ``--seconds``, on
   ``/collections/parcels/items?bbox=…&limit=100`` (random 200 m – 3 km boxes centred on the sample's
   parcels, so inside its extent); then ``--check-clients`` clients on ``POST /check`` (one
   proposed 1-ha parcel inside the ring with a firm to grade); before each phase it waits (at most 3 min)
   until the server answers promptly again, so one phase's backlog does not count against the next;
4. prints, per phase: requests/s, p50/p95/p99 latency, the CPU time per request of the server process and of
   this generator (both share the machine's cores), errors per HTTP status (or exception name), and the ratio
   of the largest client count's throughput to the 8-client figure; the server is stopped at the end.

A request still unanswered after ``--timeout`` seconds (default 60) counts as an error ``timeout``; requests in
flight when a phase ends are awaited (so a phase lasts at most ``--seconds`` + ``--timeout``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_parcels"
MUJUN = ROOT / ".venv" / "bin" / "mujun"
PG_ADMIN_DSN = os.environ.get("MUJUN_TEST_PG_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
AS_OF = "2025-06-30"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the store and the server ------------------------------------------------------------------------

def pg_database() -> tuple[str, str]:
    """A throw-away PostGIS database on 127.0.0.1: (name, SQLAlchemy URL)."""
    import psycopg

    name = f"mujun_load_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    return name, (f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:"
                  f"{params.get('port', '5432')}/{name}")


def drop_pg(name: str) -> None:
    """Drop the throw-away database."""
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_cli(env: dict[str, str], *args: str) -> str:
    """Run ``mujun ARGS`` with the store's environment; its stdout (exits on failure with its stderr)."""
    proc = subprocess.run([str(MUJUN), *args], env=env, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        sys.exit(f"mujun {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def start_server(env: dict[str, str], port: int, log: Path, threads: int | None = None) -> subprocess.Popen:
    """``mujun serve`` on 127.0.0.1:port in its own process group; waits until it answers."""
    import httpx

    extra = ["--threads", str(threads)] if threads else []
    with log.open("wb") as fh:
        proc = subprocess.Popen([str(MUJUN), "serve", "--host", "127.0.0.1", "--port", str(port), *extra], env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/conformance", timeout=2).status_code in (200, 401):
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    sys.exit("mujun serve did not start:\n" + log.read_text(errors="replace")[-3000:])


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL after 20 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


# --- what the clients send ---------------------------------------------------------------------------

def random_boxes(count: int, seed: int = 9) -> list[str]:
    """CRS84 boxes 200 m – 3 km a side centred on random sample parcels (so inside the sample's extent)."""
    import geopandas as gpd
    from pyproj import Transformer

    parcels = gpd.read_file(SAMPLE / "parcels.gpkg", columns=["parcel_id"]).to_crs("EPSG:4544")
    rng = np.random.default_rng(seed)
    pick = parcels.geometry.iloc[rng.integers(0, len(parcels), count)].representative_point()
    half = rng.uniform(100, 1500, count)
    to84 = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True)
    x0, y0 = to84.transform(pick.x.to_numpy() - half, pick.y.to_numpy() - half)
    x1, y1 = to84.transform(pick.x.to_numpy() + half, pick.y.to_numpy() + half)
    return [",".join(f"{v:.7f}" for v in b) for b in zip(x0, y0, x1, y1, strict=True)]


def check_body(dataset: int) -> dict:
    """A 100 m × 100 m industrial parcel well inside the ring (FAR 0.5) with a proposed firm to grade."""
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    ring = gpd.read_file(SAMPLE / "zones.gpkg", layer="ring").to_crs("EPSG:4544").geometry.union_all()
    c = ring.representative_point()
    to84 = Transformer.from_crs("EPSG:4544", "OGC:CRS84", always_xy=True)
    box = shapely.box(c.x - 50, c.y - 50, c.x + 50, c.y + 50)
    geom = shapely.transform(box, lambda xy: np.column_stack(to84.transform(xy[:, 0], xy[:, 1])))
    feature = {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)),
               "properties": {"parcel_id": "LOAD-1", "land_use": "1001", "floor_area_m2": 5000,
                              "status": "built"}}
    return {"feature": feature, "as_of": AS_OF, "dataset": dataset,
            "enterprise": {"enterprise_id": "LOAD-FIRM", "revenue_10k": 12000, "tax_10k": 600,
                           "employees": 80, "energy_tce": 900}}


# --- the load ----------------------------------------------------------------------------------------

@dataclass
class Phase:
    """What one phase measured."""

    name: str
    clients: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests (any status)
    statuses: Counter = field(default_factory=Counter)  # HTTP status or exception name -> count
    server_cpu: float = 0.0  # CPU seconds the server process used during the phase
    client_cpu: float = 0.0  # CPU seconds this load generator used during the phase

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> Counter:
        return Counter({k: v for k, v in self.statuses.items() if k != 200})

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) * 1000 if self.latencies else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_phase(base: str, token: str, name: str, clients: int, seconds: float, timeout: float,
                    request: object, server_pid: int) -> Phase:
    """``clients`` independent clients (each its own connection) sending ``request(client, rng)`` back to
    back until ``seconds`` pass; requests in flight then are awaited."""
    import httpx

    phase = Phase(name, clients)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    # One TLS context for all (plain HTTP never uses it): httpx makes one per client otherwise, ~28 ms of CPU
    # each, which at 200 clients was most of this generator's CPU and starved the server it measures.
    tls = ssl.create_default_context()
    cpu0, own0 = cpu_seconds(server_pid), time.process_time()
    start = time.perf_counter()
    stop_at = start + seconds

    async def worker(i: int) -> None:
        rng = random.Random(i)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=timeout,
                                     verify=tls) as client:
            while time.perf_counter() < stop_at:
                t = time.perf_counter()
                try:
                    r = await request(client, rng)
                    key: object = r.status_code
                except httpx.TimeoutException:
                    key = "timeout"
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                phase.latencies.append(time.perf_counter() - t)
                phase.statuses[key] += 1

    await asyncio.gather(*(worker(i) for i in range(clients)))
    phase.elapsed = time.perf_counter() - start
    phase.server_cpu = cpu_seconds(server_pid) - cpu0
    phase.client_cpu = time.process_time() - own0
    return phase


async def settle(base: str, token: str, limit_s: float = 180.0) -> float:
    """Wait until the server answers a light request within a second (work left over from the previous
    phase's abandoned requests must not be counted against the next phase); the seconds waited."""
    import httpx

    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=1.0) as c:
        while time.perf_counter() - start < limit_s:
            try:
                if (await c.get("/conformance")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    return time.perf_counter() - start


def print_row(p: Phase) -> None:
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(p.errors.items(), key=str)) or "0"
    per_req = 1000 / p.requests if p.requests else float("nan")
    print(f"{p.name:<12}{p.clients:>8}{p.requests:>9}{p.rps:>9.1f}{p.pct(50):>9.0f}{p.pct(95):>9.0f}"
          f"{p.pct(99):>9.0f}{p.server_cpu * per_req:>11.1f}{p.client_cpu * per_req:>11.1f}  {errors}", flush=True)


HEADER = (f"{'endpoint':<12}{'clients':>8}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'server cpu':>11}{'client cpu':>11}  errors\n{'':<62}{'ms/req':>11}{'ms/req':>11}")


async def load(base: str, token: str, dataset: int, args: argparse.Namespace, server_pid: int) -> list[Phase]:
    """Every phase, one after another (bbox items per client count, then /check)."""
    boxes = random_boxes(4000)
    body = check_body(dataset)

    async def bbox_request(client, rng):  # noqa: ANN001, ANN202
        return await client.get("/collections/parcels/items", params={"bbox": rng.choice(boxes), "limit": 100})

    async def check_request(client, _rng):  # noqa: ANN001, ANN202
        return await client.post("/check", json=body)

    plan = [("bbox items", n, bbox_request) for n in args.clients]
    if args.check_clients:
        plan.append(("POST /check", args.check_clients, check_request))
    phases = []
    print(HEADER, flush=True)
    for name, n, request in plan:
        waited = await settle(base, token)
        if waited > 2:
            print(f"(server busy with the previous phase's abandoned requests: waited {waited:.0f} s)", flush=True)
        phases.append(await run_phase(base, token, name, n, args.seconds, args.timeout, request, server_pid))
        print_row(phases[-1])
    return phases


def main() -> None:
    """Set up the store and server, run the phases, print the table, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgis", action="store_true", help="a throw-away PostGIS database on 127.0.0.1:5432")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of each phase (default 60)")
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",") if x.strip()],
                        default=[1, 8, 24, 50, 200],
                        help="concurrent clients on bbox items (default 1,8,24,50,200)")
    parser.add_argument("--check-clients", type=int, default=50, help="concurrent clients on /check (0: skip)")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request timeout, seconds")
    parser.add_argument("--server-log", type=Path, help="keep the server's output in this file")
    parser.add_argument("--threads", type=int, help="mujun serve --threads (default: its own)")
    args = parser.parse_args()
    if max(args.clients + [args.check_clients]) > 500 or args.seconds > 600:
        sys.exit("bounded: at most 500 clients and 600 s per phase")

    pg_name = None
    with tempfile.TemporaryDirectory(prefix="mujun-load-") as tmp:
        data_dir = Path(tmp)
        if args.postgis:
            pg_name, url = pg_database()
        else:
            url = f"sqlite:///{data_dir / 'mujun.sqlite'}"
        env = {**os.environ, "MUJUN_DATABASE_URL": url, "MUJUN_DATA_DIR": str(data_dir),
               "MUJUN_ALLOW_ANONYMOUS_READ": "false"}
        proc = None
        try:
            t = time.perf_counter()
            run_cli(env, "import", "--parcels", str(SAMPLE / "parcels.gpkg"),
                    "--enterprises", str(SAMPLE / "enterprises.csv"), "--occupancy", str(SAMPLE / "occupancy.csv"),
                    "--zones", str(SAMPLE / "zones.gpkg"), "--land-supply", str(SAMPLE / "land_supply.csv"))
            token = run_cli(env, "users", "add", f"load-{secrets.token_hex(3)}", "--role", "analyst").strip()
            port = free_port()
            proc = start_server(env, port, data_dir / "serve.log", args.threads)
            base = f"http://127.0.0.1:{port}"
            import httpx

            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600) as c:
                dataset = c.get("/datasets").json()["datasets"][0]["id"]
                r = c.post("/evaluations", json={"dataset": dataset, "as_of": AS_OF, "wait": True})
                if r.status_code != 201:
                    sys.exit(f"evaluation failed: {r.status_code} {r.text[:2000]}")
            print(f"{'PostGIS' if args.postgis else 'SpatiaLite'} store: sample imported, dataset {dataset}, "
                  f"run {r.json()['id']}, server on {base} ({time.perf_counter() - t:.0f} s); "
                  f"{args.seconds:g} s per phase", flush=True)
            phases = asyncio.run(load(base, token, dataset, args, proc.pid))
        finally:
            if proc is not None:
                stop_server(proc)
                log = (data_dir / "serve.log").read_text(errors="replace")
                if args.server_log:
                    args.server_log.write_text(log)
                tracebacks = log.count("Traceback")
                if tracebacks:
                    print(f"server log: {tracebacks} tracebacks; last lines:\n{log[-1500:]}")
            if pg_name:
                drop_pg(pg_name)
    bbox = {p.clients: p for p in phases if p.name == "bbox items"}
    if 8 in bbox and len(bbox) > 1:
        top = max(bbox)
        print(f"\nthroughput at {top} clients / at 8 clients: {bbox[top].rps / bbox[8].rps:.0%} "
              f"(goal ≥ 80 %); errors in all phases: {sum(sum(p.errors.values()) for p in phases)} (goal 0)")


if __name__ == "__main__":
    main()
