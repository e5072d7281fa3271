"""CLI for maps: ``mujun map`` (compliance map + PNG) and ``mujun zones propose`` (red/blue lines)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console

from api.cli_core import _fail
from gis.errors import GisError

console = Console(stderr=True)
out_console = Console()

# The data contract's industrial codes, used only when the rule set cannot be loaded.
_CONTRACT_INDUSTRIAL = {"exact": ["1001", "M", "M1", "M2", "M3", "0601"], "prefixes": ["1001"]}
_DEFAULTS = {"block_gap_m": 30.0, "block_min_mu": 50.0, "park_adjacent_m": 50.0}



def _ruleset_parameters(ruleset: str) -> dict[str, Any]:
    """Zone-proposal parameters and industrial codes from the rule set (contract defaults if absent)."""
    try:
        from rules.errors import RuleSetError
        from rules.ruleset import load_ruleset
    except ImportError:
        return {**_DEFAULTS, "industrial_land_use": _CONTRACT_INDUSTRIAL}
    try:
        params = load_ruleset(ruleset).parameters
    except RuleSetError as exc:
        _fail(f"规则集 {ruleset} 无法加载 / cannot load the rule set: {exc}")
    out: dict[str, Any] = {k: float(getattr(params, k, v)) for k, v in _DEFAULTS.items()}
    codes = getattr(params, "industrial_land_use", None)
    out["industrial_land_use"] = (
        {"exact": list(codes.exact), "prefixes": list(codes.prefixes)} if codes is not None else _CONTRACT_INDUSTRIAL
    )
    return out


def is_industrial(land_use: pd.Series, codes: dict[str, list[str]]) -> np.ndarray:
    """True where a 用地分类 code is industrial (exact code or code prefix); False for empty codes."""
    text = land_use.astype("str").str.strip().fillna("")
    hit = text.isin(codes.get("exact", []))
    for prefix in codes.get("prefixes", []):
        hit |= text.str.startswith(prefix)
    return (hit & land_use.notna()).to_numpy(dtype=bool)


# --- what a map needs from a rule set (gis/ knows no rule ids: it is handed these) ---------------------------


def with_texts(frame: pd.DataFrame | None, legend: Mapping[str, Any]) -> pd.DataFrame | None:
    """Verdicts (or aggregates) with ``value_text``, ``threshold_text`` and ``code_text`` in the rule set's words.

    Uses ``rules.vocabulary`` (``value_text``/``threshold_text`` with each rule's unit, ``code_label``), each
    distinct (unit, value), (unit, threshold) and (rule, code) written once: no per-row formatting.
    """
    from gis.maps import map_distinct
    from rules.vocabulary import code_label, threshold_text, value_text

    if frame is None or frame.empty or "rule" not in frame.columns:
        return frame
    rule_idx, rules = pd.factorize(frame["rule"])
    unit_of = {str(r["id"]): str(r.get("unit") or "") for r in legend.get("rules") or []}
    units = np.array([unit_of.get(str(r), "") for r in rules] + [""], dtype=object)[rule_idx]
    rule_ids = np.array([str(r) for r in rules] + [""], dtype=object)[rule_idx]
    out = frame.copy()

    def per_distinct(key: np.ndarray, fn: Any) -> np.ndarray:
        """``fn(row)`` for the first row of each distinct (rule, key), spread to every row."""
        groups = pd.DataFrame({"r": rule_idx, "k": key}).groupby(["r", "k"], dropna=False, sort=False).ngroup()
        codes = groups.to_numpy()
        _, first = np.unique(codes, return_index=True)
        return np.array([fn(int(i)) for i in first], dtype=object)[codes]

    if "value" in frame.columns:
        nums = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
        out["value_text"] = per_distinct(nums, lambda i: value_text(nums[i], units[i]))
    if "threshold" in frame.columns:
        canon_codes, canon = pd.factorize(map_distinct(frame["threshold"], _canonical_threshold))
        canon_text = [str(c) for c in canon]
        out["threshold_text"] = per_distinct(
            canon_codes,
            lambda i: (
                threshold_text(json.loads(canon_text[canon_codes[i]]), units[i]) if canon_text[canon_codes[i]] else ""
            ),
        )
    if "code" in frame.columns:
        code_codes, codes = pd.factorize(frame["code"])
        code_text = [str(c) for c in codes]
        out["code_text"] = per_distinct(
            code_codes, lambda i: code_label(code_text[code_codes[i]] if code_codes[i] >= 0 else None, rule_ids[i])
        )
    return out


def _canonical_threshold(value: Any) -> str:
    """A threshold (dict, JSON text or none) as canonical JSON text; ``""`` for none."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, str):
        text = value.strip()
        if not text or text in ("null", "None", "nan"):
            return ""
        try:
            value = json.loads(text)
        except ValueError:
            return json.dumps(text, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)  # key order kept: it is the wording order


def map_args(result: Any, ruleset: Any) -> dict[str, Any]:
    """Positional data and ``legend`` for ``gis.maps.compliance_map`` from a result and its rule set.

    ``result`` has ``parcels``, ``verdicts``, ``zones``, ``aggregates`` (an ``EvaluationResult`` or the
    ``ResultLayers`` of a result file); ``ruleset`` is the ``RuleSet`` it was evaluated with.
    """
    legend = ruleset.legend()
    return {
        "parcels": result.parcels,
        "verdicts": with_texts(result.verdicts, legend),
        "zones": result.zones,
        "aggregates": with_texts(result.aggregates, legend),
        "legend": legend,
    }


def source_text(ruleset: Any, as_of: Any, origin: str) -> str:
    """The print map's 数据来源: where the result comes from, the rule set and the as-of date."""
    return f"{origin}；规则集 {ruleset.id} {ruleset.version}；评估基准日 {as_of}"


def stored_ruleset(engine: Any, header: Mapping[str, Any]) -> Any:
    """The rule set a stored run used (by its SHA-256 in the store), else the built-in one of that id."""
    from rules.ruleset import load_ruleset

    sha = header.get("sha256")
    if sha:
        from api.store import evaluations as ev

        try:
            with engine.connect() as conn:
                return ev.resolve_ruleset(conn, str(sha))[1]
        except Exception:  # removed from the store since: fall back to the built-in rule set
            pass
    return load_ruleset(str(header.get("id") or "chengdu-2023"))


def _result_ruleset(layers: Any, ruleset: str | None) -> Any:
    """The rule set to name a result file's map with: ``--ruleset`` or the one the result file records."""
    from rules.errors import RuleSetError
    from rules.ruleset import load_ruleset

    ref = ruleset or layers.ruleset_id
    if not ref:
        _fail("结果文件没有记录规则集，请用 --ruleset 指定 (the result names no rule set: pass --ruleset)")
    try:
        rs = load_ruleset(ref)
    except RuleSetError as exc:
        _fail(f"规则集 {ref} 无法加载，请用 --ruleset 指定规则集 YAML (cannot load the rule set): {exc}")
    sha = layers.meta.get("ruleset_sha256") or (layers.meta.get("ruleset") or {}).get("sha256")
    if sha and sha != rs.sha256:
        console.print(
            f"[yellow]注意[/]: 结果所用规则集与当前 {rs.id} {rs.version} 的内容不同，规则名称按当前版本显示",
            highlight=False,
        )
    return rs


def map_cmd(
    result: Annotated[Path, typer.Argument(help="评估结果 (.gpkg 或 .geojson，由 mujun evaluate 生成)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出地图：.html（交互地图）或 .pdf（打印地图）")],
    png: Annotated[Path | None, typer.Option("--png", help="同时输出静态 PNG 图（用于报告）")] = None,
    zones: Annotated[Path | None, typer.Option("--zones", help="分区 GeoPackage（结果中没有分区图层时使用）")] = None,
    basemap: Annotated[str, typer.Option(help="底图: none / osm / tianditu / gaode")] = "none",
    inline: Annotated[
        bool, typer.Option("--inline/--linked", help="单文件 HTML（可邮件发送）或链接 map_files/ 资源目录")
    ] = True,
    layer: Annotated[
        str, typer.Option("--layer", "--family", help="PNG/PDF 的着色图层：overall（总体）或规则编号，如 far.bounds")
    ] = "overall",
    title: Annotated[str, typer.Option(help="地图标题")] = "工业用地合规评估地图",
    ruleset: Annotated[
        str | None, typer.Option(help="规则集 id 或 YAML（默认取结果文件记录的规则集），用于规则名称和图例")
    ] = None,
    paper: Annotated[str, typer.Option(help="打印地图 (.pdf) 的纸张: A3 / A4")] = "A3",
    landscape: Annotated[bool, typer.Option("--landscape/--portrait", help="打印地图横向（默认纵向）")] = False,
    unit: Annotated[str, typer.Option(help="打印地图的制图单位（默认留空，手写填写）")] = "",
    source: Annotated[str | None, typer.Option(help="打印地图的数据来源（默认：结果文件、规则集和评估基准日）")] = None,
    max_inline: Annotated[
        int | None,
        typer.Option("--max-inline", min=1, help="单文件地图的宗地数上限（默认 MUJUN_MAP_MAX_INLINE_PARCELS，200000）；"
                     "超过时请用 mujun serve 的分块地图"),
    ] = None,
) -> None:
    """Render a compliance map (HTML, offline) or a print map (PDF, A3/A4), optionally a static PNG, from a result."""
    from api.settings import get_settings
    from gis import maps

    try:
        limit = max_inline or get_settings().map_max_inline_parcels
        count = maps.result_parcel_count(result)  # counted first: a result too large is never loaded
        if count > limit:
            _fail(too_large_for_one_file(result, count, limit))
        layers = maps.read_result_layers(result)
        rs = _result_ruleset(layers, ruleset)
        args = map_args(layers, rs)
        if zones is not None:
            from gis.io import read_zones

            extra, _ = read_zones(zones)
            args["zones"] = {**extra, **args["zones"]}
        if out.suffix.lower() == ".pdf":
            from gis.print_map import print_map_pdf, scale_text

            as_of = layers.meta.get("as_of") or ""
            printed = print_map_pdf(
                out, args["parcels"], args["verdicts"], args["zones"], legend=args["legend"], paper=paper,
                landscape=landscape, title=title, layer=layer, unit=unit,
                source=source if source is not None else source_text(rs, as_of, result.name),
            )
            w, h = printed.page_mm
            out_console.print(f"打印地图已写出 / print map written: {out}（{paper.upper()} {w:g}×{h:g} 毫米，"
                              f"比例尺 {scale_text(printed.scale)}，{len(layers.parcels)} 宗地）")
        else:
            path = maps.save_compliance_map(out, **args, basemap=basemap, inline=inline, title=title)
            out_console.print(
                f"地图已写出 / map written: {path} ({path.stat().st_size / 1e6:.2f} MB, {len(layers.parcels)} 宗地)"
            )
        if png is not None:
            maps.static_map_png(
                png,
                args["parcels"],
                args["verdicts"],
                args["zones"],
                legend=args["legend"],
                layer=layer,
                title=title,
            )
            out_console.print(f"静态图已写出 / PNG written: {png}")
    except GisError as exc:
        _fail(str(exc))
    except ValueError as exc:
        _fail(str(exc))


def too_large_for_one_file(result: Path, count: int, limit: int) -> str:
    """Why a result gets no single-file map, and how to see it: the tiled map of ``mujun serve``."""
    return (f"{result}: 共 {count} 宗地，超过单文件地图上限 {limit} 宗（浏览器打不开这么大的单页地图）"
            f"(too many parcels for a single-file map)。\n"
            "请用分块地图查看：mujun import 导入数据，mujun serve 启动服务，在网页“运行评估”后打开 "
            "http://<服务器>:8000/web/runs/<评估编号>/tiled-map（评估结果页的“合规地图”也会自动使用分块地图）；"
            "或用 --max-inline 提高上限。")


def zones_propose(
    parcels: Annotated[Path, typer.Option("--parcels", "-p", help="宗地图层")],
    zones: Annotated[Path, typer.Option("--zones", "-z", help="分区 GeoPackage（需含 urban_dev_boundary）")],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出 GeoPackage（red_line / blue_line 等图层）")],
    map_out: Annotated[Path | None, typer.Option("--map", help="同时输出对比地图 HTML")] = None,
    ruleset: Annotated[str, typer.Option(help="规则集 id 或 YAML（读取 block_gap_m、block_min_mu）")] = "chengdu-2023",
    block_gap_m: Annotated[float | None, typer.Option(help="成板块的最大间距（米），默认取规则集")] = None,
    block_min_mu: Annotated[float | None, typer.Option(help="成板块的最小面积（亩），默认取规则集")] = None,
    crs: Annotated[str | None, typer.Option(help="无坐标系图层使用的坐标系, 如 EPSG:4544")] = None,
    basemap: Annotated[str, typer.Option(help="地图底图: none / osm / tianditu / gaode")] = "none",
) -> None:
    """Propose 工业红线/蓝线 from parcels, parks and boundaries; write a GeoPackage and a comparison map."""
    from gis import maps
    from gis.io import read_parcels, read_zones, write_layer
    from gis.zone_proposal import compare_zones, propose_zones

    params = _ruleset_parameters(ruleset)
    gap = block_gap_m if block_gap_m is not None else params["block_gap_m"]
    min_mu = block_min_mu if block_min_mu is not None else params["block_min_mu"]
    try:
        parcel_gdf, _ = read_parcels(parcels, crs=crs)
        zone_layers, _ = read_zones(zones, crs=crs)
        if "land_use" not in parcel_gdf.columns or parcel_gdf["land_use"].isna().all():
            _fail(f"{parcels}: 缺少 land_use（用地分类）/ no land_use column: 无法判断哪些宗地是工业用地")
        flags = is_industrial(parcel_gdf["land_use"], params["industrial_land_use"])
        proposal = propose_zones(
            parcel_gdf,
            zone_layers.get("parks"),
            zone_layers.get("urban_dev_boundary"),
            zone_layers.get("planned_construction_area"),
            is_industrial=flags,
            block_gap_m=gap,
            block_min_mu=min_mu,
        )
        diff = compare_zones(proposal, zone_layers, parcel_gdf, flags)
        if out.exists():
            out.unlink()  # a fresh GeoPackage: no stale layers from an earlier run
        for name in ("red_line", "blue_line"):
            write_layer(proposal[name], out, layer=name)
        write_layer(proposal["parcels"], out, layer="proposal_parcels")
        for name, layer in diff.items():
            write_layer(layer, out, layer=name)
        red, blue = proposal["red_line"], proposal["blue_line"]
        out_console.print(
            f"建议红线区 {len(red)} 个 / {red['area_mu'].sum():,.1f} 亩；建议蓝线区 {len(blue)} 个 / "
            f"{blue['area_mu'].sum():,.1f} 亩（板块间距 {gap:g} 米，最小 {min_mu:g} 亩）"
        )
        out_console.print(
            f"建议划入但尚未保护 {len(diff['proposed_not_protected'])} 处；"
            f"已保护但已非工业用地 {len(diff['protected_not_industrial'])} 宗 → {out}"
        )
        if map_out is not None:
            existing = {k: zone_layers[k] for k in ("red_line", "blue_line") if k in zone_layers}
            context = {k: v for k, v in zone_layers.items() if k not in existing}
            m = maps.zone_map(proposal, existing, diff, parcel_gdf, flags, context, basemap=basemap, inline=True)
            maps.save_map(m, map_out)
            out_console.print(f"对比地图已写出 / map written: {map_out}")
    except GisError as exc:
        _fail(str(exc))


def register(app: typer.Typer) -> None:
    """Register ``mujun map`` and ``mujun zones propose`` on the ``mujun`` app."""
    app.command("map")(map_cmd)
    zones_app = typer.Typer(help="工业红线/蓝线 (zone proposal)", no_args_is_help=True)
    zones_app.command("propose")(zones_propose)
    app.add_typer(zones_app, name="zones")
