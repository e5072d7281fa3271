"""CLI commands of the core: ``mujun evaluate``, ``mujun rules validate``, ``mujun rules show``."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gis.errors import GisError
from gis.io import shp_encoding as shp_encoding_key
from rules.errors import RuleSetError
from rules.export import SUFFIXES
from rules.result import EvaluationResult
from rules.vocabulary import (
    NOTE_LABEL,
    STATUS_LABELS,
    STATUS_ORDER,
    code_label,
    is_note,
    threshold_text,
    value_text,
)

console = Console(stderr=True)
out_console = Console()


def _fail(message: str, code: int = 2) -> None:
    """Print ``错误: message`` on stderr (the message verbatim: brackets in user data are not markup) and exit."""
    from rich.markup import escape

    console.print(f"[bold red]错误[/]: {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _parse_date(text: str | None) -> date:
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"--as-of '{text}' 不是 ISO 日期 (not an ISO date); 例如 2025-06-30")
        raise  # unreachable


def print_summary(result: EvaluationResult, target: Console = out_console) -> None:
    """A short Chinese summary of a run: counts by status and rule, data notes, city figures against targets."""
    s = result.summary
    target.print(
        f"[bold]规则集[/] {result.ruleset['id']} {result.ruleset['version']}  [bold]基准日[/] {result.as_of}"
        f"  [bold]宗地[/] {s['parcels']} 宗 / {s['area_mu']:,.1f} 亩  [bold]企业[/] {s['enterprises']} 家",
        highlight=False,
    )
    status = "  ".join(f"{STATUS_LABELS[k]} {s['by_status'].get(k, 0)}" for k in STATUS_ORDER)
    target.print(f"[bold]总体结论[/] {status}", highlight=False)

    levels = {"parcel": "宗地", "enterprise": "企业", "aggregate": "汇总"}
    counts = pd.concat(
        [
            result.verdicts[["level", "rule", "status"]].astype(str),
            result.aggregates[["rule", "status"]].astype(str).assign(level="aggregate"),
        ]
    )
    counts = counts[~counts["rule"].map(is_note)].groupby(["rule", "level", "status"], sort=False).size()
    table = Table(title="按规则统计", show_lines=False, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("规则", min_width=12)
    table.add_column("对象", no_wrap=True)
    for k in STATUS_ORDER:
        table.add_column(STATUS_LABELS[k], justify="right", no_wrap=True)
    with_ids = target.width >= 110  # the ids only where they fit beside the counts
    if with_ids:
        table.add_column("规则编号", style="dim", no_wrap=True)
    for (rule, level), by_status in counts.groupby(level=["rule", "level"], sort=False):
        n = by_status.droplevel(["rule", "level"])
        counts_txt = [str(n.get(k, 0)) for k in STATUS_ORDER]
        cells = [result.rule_titles.get(rule, rule), levels.get(level, level), *counts_txt]
        table.add_row(*cells, *([rule] if with_ids else []))
    target.print(table)
    for rule, by_status in s["by_rule"].items():
        if is_note(rule):
            title = result.rule_titles.get(rule, rule)
            target.print(
                f"[bold]{NOTE_LABEL}[/] {title}：{by_status.get('warn', 0)} 宗需核实（不影响总体结论） [dim]{rule}[/]",
                highlight=False,
            )
    for name, row in s.get("city", {}).items():
        # summary["city"] keys are rule ids, with the metric code appended where a rule judges two (…park_per_mu.tax)
        rule, code = (name, "") if name in result.rule_titles else name.rsplit(".", 1)
        label = "全市" + (code_label(code, rule) or result.rule_titles.get(rule, rule))
        value, unit = row.get("value"), result.rule_units.get(rule, "")
        if value is None:
            target.print(f"  {label}：数据缺失", highlight=False)
            continue
        thr = threshold_text(row.get("threshold"), unit) or "—"
        verdict = STATUS_LABELS.get(row["status"], row["status"])
        target.print(f"  {label}：{value_text(value, unit)}（目标 {thr}）{verdict}", highlight=False)


def _inputs_from_store(dataset_id: int):
    """The inputs of a dataset imported with ``mujun import`` into the configured store."""
    from api.store.engine import get_engine
    from api.store.errors import StoreError
    from api.store.evaluations import load_inputs_from_store

    try:
        with get_engine().connect() as conn:
            return load_inputs_from_store(conn, dataset_id)
    except StoreError as exc:
        _fail(str(exc))


def evaluate_cmd(
    out: Annotated[
        list[Path], typer.Option("--out", "-o", help=f"输出文件 ({'/'.join(SUFFIXES)})；可重复给出多个 (repeatable)")
    ],
    parcels: Annotated[
        Path | None,
        typer.Option("--parcels", "-p", help="宗地图层 (gpkg/geojson/shp/zip/fgb/parquet，或界址点坐标 txt)"),
    ] = None,
    dataset: Annotated[
        int | None, typer.Option("--dataset", help="从数据库读取已导入的数据集 (mujun import 给出的编号)")
    ] = None,
    enterprises: Annotated[Path | None, typer.Option(help="企业表 (csv/xlsx/xls)")] = None,
    occupancy: Annotated[Path | None, typer.Option(help="企业占用表 (csv/xlsx/xls)")] = None,
    zones: Annotated[Path | None, typer.Option(help="分区 GeoPackage")] = None,
    land_supply: Annotated[Path | None, typer.Option("--land-supply", help="年度土地供应表")] = None,
    ruleset: Annotated[str, typer.Option(help="规则集 id 或 YAML 文件")] = "chengdu-2023",
    as_of: Annotated[str | None, typer.Option("--as-of", help="评估基准日 (默认今天)")] = None,
    crs: Annotated[str | None, typer.Option(help="无坐标系图层使用的坐标系, 如 EPSG:4544")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="不显示进度和汇总")] = False,
    year: Annotated[
        int | None,
        typer.Option("--year", min=1990, max=2100, help="统计年度，默认取企业表的 year 列 (statistics year)"),
    ] = None,
    shp_encoding: Annotated[
        str, typer.Option("--shp-encoding", help="Shapefile 输出的文字编码：UTF-8（默认）或 GBK（旧版 ArcGIS）")
    ] = "utf-8",
) -> None:
    """评估宗地、企业和汇总指标，写出结果 (evaluate parcels against a rule set)."""
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.export import write_result
    from rules.ruleset import load_ruleset

    for target in out:
        if target.suffix.lower() not in SUFFIXES:
            _fail(f"{target.name}: 不支持的输出格式 (unsupported output format); 请使用 {', '.join(SUFFIXES)}")
    try:
        shp_encoding = shp_encoding_key(shp_encoding)
    except GisError as exc:
        _fail(str(exc))
    day = _parse_date(as_of)
    t0 = time.perf_counter()
    try:
        rs = load_ruleset(ruleset)
        if (parcels is None) == (dataset is None):
            _fail("请给出 --parcels 文件或 --dataset 数据集编号（二选一） (give either --parcels or --dataset)")
        if dataset is not None:
            inputs = _inputs_from_store(dataset)
        else:
            if not quiet:
                console.print(f"读取数据 (reading inputs) {parcels} …")
            inputs = load_inputs(
                parcels,
                enterprises,
                occupancy,
                zones,
                land_supply,
                crs=crs,
                above_scale_revenue_10k=rs.parameters.above_scale_revenue_10k,
            )
    except (GisError, RuleSetError) as exc:
        _fail(str(exc))
    for issue in inputs.report.warnings:
        if not quiet:
            console.print(
                f"[yellow]提示[/] {issue.file}: {issue.message}"
                + (f": {', '.join(issue.ids[:10])}" if issue.ids else ""),
                highlight=False,
            )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("评估规则", total=len([r for r in rs.rules if r.enabled]))

        def tick(done: int, total: int, rule_id: str) -> None:
            bar.update(task, completed=done, description=f"评估规则 {rule_id}")

        result = evaluate(inputs, rs, day, progress=tick, year=year)
    for target in out:
        write_result(result, target, shp_encoding=shp_encoding)
    if not quiet:
        print_summary(result)
        written = "、".join(str(t) for t in out)
        out_console.print(f"已写出 (written) {written}  用时 {time.perf_counter() - t0:.1f} 秒")


def rules_validate(file: Annotated[Path, typer.Argument(help="规则集 YAML 文件")]) -> None:
    """检查规则集文件，列出每一处问题 (validate a rule-set file)."""
    from rules.ruleset import parse_ruleset

    if not file.is_file():
        _fail(f"{file}: 文件不存在 (no such file)")
    try:
        rs = parse_ruleset(file.read_text(encoding="utf-8"), source=str(file))
    except RuleSetError as exc:
        console.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(1) from None
    out_console.print(
        f"{file}: 规则集 {rs.id} {rs.version} 有效，{len(rs.rules)} 条规则 (valid) sha256={rs.sha256[:12]}"
    )


def rules_show(ruleset: Annotated[str, typer.Argument(help="规则集 id 或 YAML 文件")] = "chengdu-2023") -> None:
    """以表格显示规则集 (show a rule set as a table)."""
    from rules.ruleset import load_ruleset

    try:
        rs = load_ruleset(ruleset)
    except RuleSetError as exc:
        _fail(str(exc))
    table = Table(title=f"{rs.id} {rs.version} — {rs.title}", show_lines=True)
    for col in ("规则 id", "名称", "层级", "类型", "参数", "依据"):
        table.add_column(col, overflow="fold")
    for r in rs.rules:
        params = ", ".join(f"{k}={v}" for k, v in r.params.items()) or "—"
        table.add_row(r.id, r.title, r.level, r.kind, params, rs.citation_text(r))
    Console(width=max(out_console.width, 160)).print(table)


def register(app: typer.Typer) -> None:
    """Register the core commands on the ``mujun`` app."""
    app.command("evaluate")(evaluate_cmd)
    rules_app = typer.Typer(help="规则集 (rule sets)", no_args_is_help=True)
    rules_app.command("validate")(rules_validate)
    rules_app.command("show")(rules_show)
    app.add_typer(rules_app, name="rules")


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the `mujun` command")
