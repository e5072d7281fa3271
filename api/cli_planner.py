"""CLI commands of the planner's year: ``mujun warnings`` (the 预警清单), ``mujun notices`` (Word notices),
``mujun compare`` (the policy sandbox: two results of one dataset) and ``mujun trend`` (several statistics years).

Both read an evaluation result file and the inputs it was evaluated from (``--parcels`` files or a stored
``--dataset``): the result gives the verdicts, the inputs the dates (供地, 动工, 中止, 达产) and the occupants.
The use cases live in ``rules.timeline``, ``rules.export.write_warnings_xlsx`` and ``rules.notices``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from api.cli_core import _fail, _inputs_from_store, console, out_console
from gis.errors import GisError
from rules.errors import RuleSetError

ResultArg = Annotated[Path, typer.Argument(help="评估结果文件 (mujun evaluate 输出的 .gpkg 或 .geojson)")]
ParcelsOpt = Annotated[
    Path | None, typer.Option("--parcels", "-p", help="评估所用的宗地图层（提供供地、动工、达产等日期）")
]
OccupancyOpt = Annotated[Path | None, typer.Option(help="企业占用表 (csv/xlsx)，用于写出宗地的入驻企业")]
DatasetOpt = Annotated[int | None, typer.Option("--dataset", help="评估所用的数据库数据集编号（代替 --parcels）")]
RulesetOpt = Annotated[str | None, typer.Option(help="规则集 id 或 YAML 文件（默认：结果记录的规则集）")]


def load_for_planner(result_path: Path, parcels: Path | None, occupancy: Path | None, dataset: int | None,
                     ruleset: str | None) -> tuple[Any, Any, Any]:
    """``(result, rule set, timeline events)`` of a result file and the inputs it was evaluated from."""
    from gis.io import load_inputs
    from rules.context import Context
    from rules.export import read_result
    from rules.ruleset import load_ruleset
    from rules.timeline import timeline

    if (parcels is None) == (dataset is None):
        _fail("请给出评估所用的 --parcels 文件或 --dataset 数据集编号（二选一），日期与入驻企业取自输入数据 "
              "(give the inputs of the evaluation: --parcels or --dataset)")
    try:
        result = read_result(result_path)
        rs = load_ruleset(ruleset or result.ruleset.get("id") or "chengdu-2023")
        if dataset is not None:
            inputs = _inputs_from_store(dataset)
        else:
            inputs = load_inputs(parcels, None, occupancy)
    except (GisError, RuleSetError) as exc:
        _fail(str(exc))
    sha = result.ruleset.get("sha256")
    if sha and sha != rs.sha256:
        console.print(f"[yellow]提示[/] 结果记录的规则集 (sha256 {sha[:12]}) 与所用规则集 {rs.id} {rs.version} 不同；"
                      "日期按所用规则集的参数计算", highlight=False)
    known = set(result.parcels["parcel_id"].astype(str))
    own = inputs.parcels["parcel_id"].astype(str)
    if not own.isin(known).any():
        _fail(f"{parcels or f'数据集 {dataset}'}: 输入宗地与结果 {result_path.name} 的宗地编号无一相同 "
              "(the inputs are not the ones this result was evaluated from)")
    ctx = Context(parcels=inputs.parcels, ruleset=rs, as_of=result.as_of, enterprises=inputs.enterprises,
                  occupancy=inputs.occupancy)
    result.occupants = ctx.occupant_pairs()
    return result, rs, timeline(inputs.parcels, rs, result.as_of, result)


def warnings_cmd(
    result: ResultArg,
    parcels: ParcelsOpt = None,
    occupancy: OccupancyOpt = None,
    dataset: DatasetOpt = None,
    within: Annotated[int, typer.Option("--within", min=0, help="预警天数：基准日起多少天内到期")] = 90,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="写出预警清单 XLSX")] = None,
    ruleset: RulesetOpt = None,
) -> None:
    """到期预警清单：基准日起 N 天内到期的动工、闲置、达产节点 (upcoming deadlines within N days)."""
    from rules.export import warning_table, write_warnings_xlsx
    from rules.timeline import warning_list

    if out is not None and out.suffix.lower() != ".xlsx":
        _fail(f"{out.name}: 预警清单只能写出为 .xlsx (the warning list is written as .xlsx)")
    res, _rs, events = load_for_planner(result, parcels, occupancy, dataset, ruleset)
    warnings = warning_list(events, within)
    if out is not None:
        write_warnings_xlsx(res, warnings, out, within)
        out_console.print(f"已写出 (written) {out}：{within} 天内到期 {len(warnings)} 项", highlight=False)
        return
    rows = warning_table(res, warnings)
    table = Table(title=f"{within} 天内到期事项（基准日 {res.as_of}，共 {len(rows)} 项）", box=box.SIMPLE_HEAD)
    for col in ("到期日期", "剩余天数", "宗地编号", "事项", "说明", "入驻企业"):
        table.add_column(col)
    for r in rows.itertuples(index=False):
        table.add_row(str(r.date.date()), str(r.days), r.parcel_id, r.label, r.detail or "",
                      (r.enterprises or "").replace("\n", "、"))
    Console(width=max(out_console.width, 140)).print(table)


def notices_cmd(
    result: ResultArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="告知书输出文件夹")],
    parcels: ParcelsOpt = None,
    occupancy: OccupancyOpt = None,
    dataset: DatasetOpt = None,
    kind: Annotated[
        str, typer.Option("--kind", help="idle（闲置）| low_efficiency（低效）| standard_land（标准地）| all")
    ] = "all",
    templates: Annotated[Path | None, typer.Option("--templates", help="自定义模板文件夹（idle.docx 等）")] = None,
    ruleset: RulesetOpt = None,
) -> None:
    """为每宗问题宗地写出 Word 告知书 (one .docx notice per flagged parcel)."""
    from rules.notices import KIND_CHOICES, NOTICE_KINDS, write_notices

    if kind not in KIND_CHOICES:
        _fail(f"--kind {kind}: 未知的告知书类型 (unknown kind)；可选 {', '.join(KIND_CHOICES)}")
    if templates is not None and not templates.is_dir():
        _fail(f"{templates}: 模板文件夹不存在 (no such folder)")
    res, rs, events = load_for_planner(result, parcels, occupancy, dataset, ruleset)
    try:
        paths = write_notices(res, events, rs, out, kind=kind, templates=templates)
    except GisError as exc:
        _fail(str(exc))
    counts = {NOTICE_KINDS[k].title: 0 for k in NOTICE_KINDS}
    for p in paths:
        counts[p.name.split("_", 1)[0]] += 1
    text = "，".join(f"{t} {n} 份" for t, n in counts.items() if n or kind == "all")
    out_console.print(f"已写出 (written) {len(paths)} 份告知书到 {out}：{text}", highlight=False)


def _read_results(paths: list[Path]) -> list[Any]:
    from rules.export import read_result

    try:
        return [read_result(p) for p in paths]
    except GisError as exc:
        _fail(str(exc))
        raise  # not reached: _fail exits


def _xlsx_out(out: Path) -> None:
    if out.suffix.lower() != ".xlsx":
        _fail(f"{out.name}: 请输出 .xlsx 文件 (the output is an Excel workbook)")


def compare_cmd(
    result_a: Annotated[Path, typer.Argument(help="结果 A（原规则集），mujun evaluate 输出的 .gpkg 或 .geojson")],
    result_b: Annotated[Path, typer.Argument(help="结果 B（新规则集），同一数据集的另一次评估")],
    out: Annotated[Path, typer.Option("--out", "-o", help="对比报表 (.xlsx)")],
) -> None:
    """对比同一数据集的两次评估：哪些宗地和企业的结论或等级变了 (the policy sandbox)."""
    from rules.compare import CompareError, compare, write_comparison_xlsx

    _xlsx_out(out)
    a, b = _read_results([result_a, result_b])
    try:
        comparison = compare(a, b)
    except CompareError as exc:
        _fail(exc.message)
    write_comparison_xlsx(comparison, out)
    worse, better = (int((comparison.parcels["direction"] == d).sum()) for d in ("worse", "better"))
    out_console.print(
        f"对比 {comparison.compared:,} 宗：总体结论变化 {len(comparison.parcels):,} 宗"
        f"（趋严 {worse:,}，趋宽 {better:,}），规则结论变化 {len(comparison.changes):,} 条，"
        f"等级变化企业 {len(comparison.firms):,} 家；已写出 {out}", highlight=False)
    for row in comparison.by_rule.head(10).itertuples():
        out_console.print(f"  {row.title}：{row.changed:,}（新增不合规 {row.to_fail:,}，不再不合规 {row.from_fail:,}）",
                          highlight=False)


def trend_cmd(
    results: Annotated[list[Path], typer.Argument(help="各统计年度的评估结果 (.gpkg/.geojson)，两个以上")],
    out: Annotated[Path, typer.Option("--out", "-o", help="趋势报表 (.xlsx)")],
) -> None:
    """多个统计年度的亩均效益趋势：园区、区县和企业逐年对比，等级变动 (trend across years)."""
    from rules.trend import TrendError, trend, write_trend_xlsx

    _xlsx_out(out)
    try:
        t = trend(_read_results(results))
    except TrendError as exc:
        _fail(exc.message)
    write_trend_xlsx(t, out)
    if t.mixed_rulesets:
        console.print(f"[yellow]提示[/]: {t.mixed_rulesets}", highlight=False)
    up, down = (int((t.grade_moves["move"] == m).sum()) for m in ("up", "down"))
    out_console.print(
        f"统计年度 {'、'.join(map(str, t.years))}：等级变动 {len(t.grade_moves):,} 次（升级 {up:,}，降级 {down:,}），"
        f"园区达标变化 {len(t.park_moves):,} 次；已写出 {out}",
        highlight=False)


def register(app: typer.Typer) -> None:
    """Register ``mujun warnings``, ``mujun notices``, ``mujun compare`` and ``mujun trend``."""
    app.command("warnings")(warnings_cmd)
    app.command("notices")(notices_cmd)
    app.command("compare")(compare_cmd)
    app.command("trend")(trend_cmd)
