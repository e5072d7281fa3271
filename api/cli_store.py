"""CLI commands of the store and server: ``mujun import``, ``mujun serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.cli_core import _fail

console = Console(stderr=True)
out = Console(soft_wrap=True)

PathOpt = Annotated[Path | None, typer.Option(exists=False, dir_okay=False)]



def import_command(
    parcels: Annotated[Path, typer.Option(help="宗地图层 (GPKG/GeoJSON/Shapefile/zip/FGB/Parquet/界址点坐标 TXT)")],
    enterprises: Annotated[Path | None, typer.Option(help="企业表 (CSV/XLSX/XLS)")] = None,
    occupancy: Annotated[Path | None, typer.Option(help="用地企业对应表 (CSV/XLSX/XLS)")] = None,
    zones: Annotated[Path | None, typer.Option(help="分区 GeoPackage (red_line, parks, …)")] = None,
    land_supply: Annotated[Path | None, typer.Option("--land-supply", help="土地供应表")] = None,
    crs: Annotated[str | None, typer.Option(help="无坐标系图层使用的坐标系，如 EPSG:4544")] = None,
    name: Annotated[str | None, typer.Option(help="数据集名称 (default: the parcels file name)")] = None,
) -> None:
    """导入数据到数据库 (import the contract's files into the configured store; all-or-nothing)."""
    from api.services import datasets
    from api.settings import get_settings
    from api.store.engine import get_engine
    from api.store.errors import StoreError
    from gis.errors import GisError

    files = {"parcels": parcels, "enterprises": enterprises, "occupancy": occupancy, "zones": zones,
             "land_supply": land_supply}
    try:
        outcome = datasets.import_paths(get_engine(), files, crs=crs, name=name, actor="cli",
                                        limits=datasets.limits_of(get_settings()))
    except GisError as exc:
        _fail(f"导入失败，数据库未改动 (import failed; the store is unchanged)\n{exc}")
    except StoreError as exc:
        _fail(str(exc))
    counts = ", ".join(f"{k}={v}" for k, v in outcome.counts.items())
    if outcome.created:
        out.print(f"已导入数据集 {outcome.dataset_id} (imported dataset {outcome.dataset_id}): {counts}")
    else:
        out.print(f"相同文件已导入过：数据集 {outcome.dataset_id}，未重复导入 "
                  f"(already imported as dataset {outcome.dataset_id}; nothing duplicated): {counts}")
    for w in outcome.warnings:
        console.print(f"[yellow]提示[/]: {w['file']}: {w['message']}", highlight=False)


def serve_command(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    threads: Annotated[int | None, typer.Option(min=1, max=200, help="处理请求的线程数，默认 40 (worker threads)")]
    = None,
) -> None:
    """启动 HTTP 服务 (start the API and web pages with uvicorn).

    One process, one event loop taking the connections, and ``threads`` worker threads running the handlers
    (each holds at most one store connection at a time; the store's pool is sized for them, see
    ``api.store.engine``). One process because it is also the evaluation worker and keeps what it has read
    (results, rule sets, zone layers) for every request; on the sample, 200 concurrent readers get ~90 % of
    the throughput of 8 (benchmarks/load.py). More threads than the default only queue for connections.
    """
    import asyncio

    import anyio.to_thread
    import uvicorn

    from api.app import create_app
    from api.store.engine import SERVER_THREADS
    from api.store.evaluations import fail_interrupted_runs

    app = create_app()
    # This process is the only evaluation worker: runs it finds queued or running were cut off by a restart.
    stale = fail_interrupted_runs(app.state.engine)
    if stale:
        typer.echo(f"上次服务停止时未完成的评估已标记为失败，请重新运行 (interrupted runs marked failed): {stale}")
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, workers=1))

    async def serve() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads or SERVER_THREADS
        await server.serve()

    asyncio.run(serve())


def register(app: typer.Typer) -> None:
    """Register ``import`` and ``serve`` on the ``mujun`` app (``users`` lives in ``api.cli_users``)."""
    app.command("import")(import_command)
    app.command("serve")(serve_command)
