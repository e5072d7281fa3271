"""Compliance map: legend, layers, popups in words, offline assets, result files, GCJ-02, static PNG, palette."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

from gis import _map_data as md
from gis import maps
from gis.errors import InputFileError

DATA_DIR = Path(__file__).parents[1] / "data" / "sample_parcels"
ARTIFACTS = Path(__file__).parent / "artifacts"
X0, Y0 = 410000.0, 3383000.0  # near 天府广场 in EPSG:4544
CITE = "《成都市支持制造业产业功能区提能升级行动计划》四（七）"
FAR = {"min": 2.0, "max": 4.0}
BLOCK = {"gap_m": 30.0, "min_block_mu": 50.0, "adjacent_m": 50.0}

# Rule layers of the fixture and what each draws, by status (hand-counted from the verdict rows below).
EXPECTED_LAYERS = {
    "far.bounds": {"fail": 1, "missing_data": 1, "pass": 2, "exempt": 1, "not_applicable": 1},
    "zone.park_management": {"warn": 1, "pass": 2, "not_applicable": 3},
    "per_mu.revenue": {"warn": 1, "pass": 1, "not_applicable": 4},
    "data.straddles": {"warn": 1, "pass": 2, "not_applicable": 1},  # no verdict for P5, P6: not drawn
}
OVERALL = ["fail", "pass", "warn", "missing_data", "exempt", "not_applicable"]  # P1 … P6


def legend() -> dict:
    from rules.ruleset import load_ruleset

    return load_ruleset("chengdu-2023").legend()


def make_fixture() -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, gpd.GeoDataFrame], pd.DataFrame]:
    """Six parcels, hand-made verdicts, zones and aggregates (the shapes of EvaluationResult, contract v2).

    P1..P4 and P6 are 100 m × 100 m squares = 10 000 m² = 15 亩; P5 is such a square with a 20 m × 20 m hole,
    10 000 − 400 = 9 600 m² = 14.4 亩. Overall (v2): P1 fail (FAR), P2 pass, P3 warn (park management),
    P4 missing_data, P5 exempt (FAR exempt, the rest n/a), P6 not_applicable (residential: every rule n/a).
    """
    sq = lambda x, y: box(X0 + x, Y0 + y, X0 + x + 100, Y0 + y + 100)  # noqa: E731
    hole = Polygon(
        [(X0 + 600, Y0), (X0 + 700, Y0), (X0 + 700, Y0 + 100), (X0 + 600, Y0 + 100)],
        [[(X0 + 640, Y0 + 40), (X0 + 660, Y0 + 40), (X0 + 660, Y0 + 60), (X0 + 640, Y0 + 60)]],
    )
    na = "not_applicable"
    parcels = gpd.GeoDataFrame(
        {
            "parcel_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "district": ["武侯区"] * 6,
            "park_id": ["PK1", "PK1", "PK1", None, None, "PK1"],
            "zone": ["red_line", "red_line", None, None, None, None],
            "far": [1.0, 2.5, 2.2, np.nan, 1.5, 1.2],
            "land_use": ["100102", "M1", "0601", "1001", "100101", "0701"],
            "inside_ring": [True, True, True, False, False, True],
            "status": OVERALL,
            "st_far_bounds": ["fail", "pass", "pass", "missing_data", "exempt", na],
            "st_zone_park_management": ["pass", "pass", "warn", na, na, na],
            "st_per_mu_revenue": ["warn", "pass", na, na, na, na],
        },
        geometry=[sq(0, 0), sq(110, 0), sq(0, 110), sq(400, 0), hole, sq(110, 110)],
        crs="EPSG:4544",
    )
    parcels["area_m2"] = parcels.area
    parcels["area_mu"] = parcels["area_m2"] * 15 / 10000
    nan = np.nan
    rows = [
        ("P1", "far.bounds", "fail", 1.0, "below_min", FAR, "容积率 1.00，低于绕城高速以内下限 2.0"),
        ("P1", "zone.park_management", "pass", nan, None, None, "位于园区内"),
        (
            "P1",
            "per_mu.revenue",
            "warn",
            500.0,
            "below_target",
            {"min": 650.0},
            "亩均营收 500.0 万元/亩，低于2025年全市目标 650 万元/亩，差 150.0",
        ),
        ("P1", "data.straddles", "warn", 0.3, "straddles", None, "跨越分区边界（30% 位于园区外）"),
        ("P2", "far.bounds", "pass", 2.5, None, FAR, "容积率 2.50，在 2.0–4.0 之间"),
        ("P2", "zone.park_management", "pass", nan, None, None, "位于园区内"),
        ("P2", "per_mu.revenue", "pass", 800.0, None, {"min": 650.0}, "亩均营收 800.0 万元/亩，达到目标"),
        ("P2", "data.straddles", "pass", nan, None, None, "未跨越分区边界"),
        ("P3", "far.bounds", "pass", 2.2, None, FAR, "容积率 2.20"),
        (
            "P3",
            "zone.park_management",
            "warn",
            60.0,
            "include_in_park",
            BLOCK,
            "园区外成板块工业用地，建议纳入园区管理",
        ),
        ("P3", "per_mu.revenue", "not_applicable", nan, "outside_park", None, "不在园区内"),
        ("P3", "data.straddles", "pass", nan, None, None, "未跨越分区边界"),
        ("P4", "far.bounds", "missing_data", nan, None, {"min": 1.2, "max": 3.0}, "缺少计容建筑面积，无法计算容积率"),
        ("P4", "zone.park_management", "not_applicable", nan, "not_block", None, "零散用地，不成板块"),
        ("P4", "per_mu.revenue", "not_applicable", nan, "no_occupant", None, "无入驻企业"),
        ("P4", "data.straddles", "not_applicable", nan, None, None, "非工业用地"),
        ("P5", "far.bounds", "exempt", 1.5, "special_process", None, "特殊工艺用地，容积率豁免"),
        ("P5", "zone.park_management", "not_applicable", nan, "not_block", None, "零散用地，不成板块"),
        ("P5", "per_mu.revenue", "not_applicable", nan, "no_occupant", None, "无入驻企业"),
        ("P6", "far.bounds", "not_applicable", nan, None, None, "非工业用地"),
        ("P6", "zone.park_management", "not_applicable", nan, None, None, "非工业用地"),
        ("P6", "per_mu.revenue", "not_applicable", nan, None, None, "非工业用地"),
    ]
    verdicts = pd.DataFrame(
        rows, columns=["subject_id", "rule", "status", "value", "code", "threshold", "message"]
    ).assign(level="parcel", citation=CITE)
    zones = {
        "red_line": gpd.GeoDataFrame(
            {"zone_id": ["R1"], "name": ["测试红线区"]},
            geometry=[box(X0 - 5, Y0 - 5, X0 + 215, Y0 + 105)],
            crs="EPSG:4544",
        ),
        "parks": gpd.GeoDataFrame(
            {"park_id": ["PK1"], "name": ["测试园区"]},
            geometry=[box(X0 - 10, Y0 - 10, X0 + 220, Y0 + 220)],
            crs="EPSG:4544",
        ),
        "districts": gpd.GeoDataFrame(
            {"name": ["武侯区"]}, geometry=[box(X0 - 500, Y0 - 500, X0 + 1200, Y0 + 800)], crs="EPSG:4544"
        ),
        "ring": gpd.GeoDataFrame(geometry=[box(X0 - 400, Y0 - 400, X0 + 1100, Y0 + 700).exterior], crs="EPSG:4544"),
    }
    aggregates = pd.DataFrame(
        [
            {
                "rule": "agg.park_per_mu",
                "scope": "park",
                "key": "PK1",
                "code": "revenue",
                "status": "pass",
                "value": 650.0,
                "threshold": {"min": 650.0},
                "message": "亩均营收 650.0 万元/亩，达到 650 万元/亩（规上企业 2 家，用地 30 亩）",
                "citation": "…",
            },
            {
                "rule": "agg.industrial_share",
                "scope": "district",
                "key": "武侯区",
                "code": None,
                "status": "fail",
                "value": 0.18,
                "threshold": {"min": 0.25},
                "message": "工业用地占城市建设用地 18.0%，低于 25%",
                "citation": "…",
            },
        ]
    )
    return parcels, verdicts, zones, aggregates


def map_inputs() -> dict:
    """The fixture as the api hands it to the map: verdict texts in the rule set's words, and the legend."""
    from types import SimpleNamespace

    from api.cli_maps import map_args
    from rules.ruleset import load_ruleset

    parcels, verdicts, zones, aggregates = make_fixture()
    result = SimpleNamespace(parcels=parcels, verdicts=verdicts, zones=zones, aggregates=aggregates)
    return map_args(result, load_ruleset("chengdu-2023"))


URL = re.compile(r"https?://[^\s\"'<>)]*")
RULE_ID = re.compile(r"\b(?:far|zone|per_mu|data|idle|low_efficiency|standard_land|industry|mujun|agg)\.[a-z_0-9]+\b")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
REPR = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\bnan\b|\bNaN\b|\[|\]|\{|\}")


def offline_violations(html: str, allowed: list[str]) -> list[str]:
    """Every http(s) URL in the page that is not one of the configured tile URL templates."""
    for template in allowed:
        html = html.replace(template, "")
    return URL.findall(html)


def payload_of(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)
    assert m, "payload script missing"
    return json.loads(m.group(1))


def render(*args, **kwargs) -> dict:
    return payload_of(maps.compliance_map(*args, **kwargs).get_root().render())


def decode(g: dict) -> list[list[list[tuple[float, float]]]]:
    """Python twin of MujunMap.decode: features → parts → rings of (x, y)."""
    c = np.cumsum(np.asarray(g["c"]).reshape(-1, 2), axis=0) / g["scale"]
    out, ci, ri, pi = [], 0, 0, 0
    for np_ in g["pp"]:
        parts = []
        for _ in range(np_):
            rings = []
            for _ in range(g["pr"][pi]):
                n = g["rl"][ri]
                rings.append([tuple(p) for p in c[ci : ci + n]])
                ci += n
                ri += 1
            pi += 1
            parts.append(rings)
        out.append(parts)
    return out


def unpack(x: str | list[int]) -> list[int]:
    """Python twin of the page's unpacker: one ALPHABET character per code ("/" = -1), or plain ints."""
    return [-1 if ch == "/" else md.ALPHABET.index(ch) for ch in x] if isinstance(x, str) else list(x)


def statuses_of(data: dict, key: str) -> list[str | None]:
    """A layer's per-parcel statuses from the payload."""
    return [data["statuses"][c] if c >= 0 else None for c in unpack(data["parcels"]["st"][key])]


TEXT_FIELDS = {"x": "value", "t": "threshold", "k": "code", "m": "message", "c": "citation"}


def verdict_rows(enc: dict, statuses: list[str]) -> list[dict]:
    """The encoded verdict table back as rows in their stored order (parcel index, rule, status, texts)."""
    counts = unpack(enc["n"])
    parcel = [i for i, c in enumerate(counts) for _ in range(c)]
    cols = {f: unpack(enc[f]) for f in ("r", "s", "x", "t", "k", "m", "c")}
    return [
        {
            "parcel": parcel[j],
            "rule": enc["rules"][cols["r"][j]],
            "title": enc["titles"][cols["r"][j]],
            "note": enc["notes"][cols["r"][j]],
            "status": statuses[cols["s"][j]] if cols["s"][j] >= 0 else None,
            "shown": cols["s"][j] in enc["visible"],
            **{name: enc[f.upper()][cols[f][j]] for f, name in TEXT_FIELDS.items()},
        }
        for j in range(len(parcel))
    ]


def info_lines(data: dict) -> list[str]:
    """Each parcel's info line as the page joins it."""
    fields = [(f["label"], f["strs"], unpack(f["codes"])) for f in data["parcels"]["info"]]
    n = len(data["parcels"]["ids"])
    return [
        " · ".join(f"{label}：{strs[codes[i]]}" for label, strs, codes in fields if codes[i] >= 0 and strs[codes[i]])
        for i in range(n)
    ]


@pytest.fixture()
def fixture():
    return make_fixture()


def test_encode_polygons_round_trips_rings_and_holes(fixture):
    parcels = fixture[0]
    geoms = md.to_display(parcels.geometry)
    enc = md.encode_polygons(geoms, precision=6)
    feats = decode(enc)
    assert len(feats) == 6
    assert [len(f[0]) for f in feats] == [1, 1, 1, 1, 2, 1]  # P5 has an exterior and one hole
    # each square ring keeps 4 distinct corners (the closing point is dropped), equal to 1e-6 degrees
    ring = np.array(feats[0][0][0])
    expected = shapely.get_coordinates(geoms[0])[:-1]
    assert ring.shape == (4, 2)
    np.testing.assert_allclose(ring, np.round(expected, 6), atol=1.1e-6)


def test_area_mu_from_geometry_when_column_absent(fixture):
    parcels = fixture[0].drop(columns=["area_mu"])
    # 100 m × 100 m = 10 000 m² = 15 亩; P5: 10 000 − 20 × 20 = 9 600 m² = 14.4 亩
    np.testing.assert_allclose(md.area_mu(parcels), [15, 15, 15, 15, 14.4, 15])


def test_map_needs_a_legend_and_says_how_to_build_one(fixture):
    parcels = fixture[0]
    with pytest.raises(TypeError, match="legend"):
        maps.compliance_map(parcels)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"RuleSet.legend\(\)"):
        maps.compliance_map(parcels, legend=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="statuses"):
        maps.compliance_map(parcels, legend={"rules": []})


def test_gis_imports_no_rules_and_holds_no_rule_ids():
    for path in (Path(maps.__file__).parent).glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) (rules|api)\b", text, re.M), path
    quoted = re.compile(r"[\"']" + RULE_ID.pattern.removeprefix(r"\b").removesuffix(r"\b") + r"[\"']")
    for name in ("maps.py", "_map_data.py", "static/mujun-map.js"):
        text = (Path(maps.__file__).parent / name).read_text(encoding="utf-8")
        # docstring examples (>>> / ...) may show a rule set's data; the code itself names no rule
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith((">>>", "...")))
        assert quoted.findall(code) == [], name


def test_legend_status_order_is_the_contracts_overall_rank():
    """gis derives a missing overall status from the legend's order: it must be the contract's rank order."""
    from rules.vocabulary import OVERALL_RANK

    order = [s["id"] for s in legend()["statuses"]]
    assert order == sorted(OVERALL_RANK, key=OVERALL_RANK.__getitem__, reverse=True)


def test_rule_codes_from_st_columns_and_from_verdicts(fixture):
    parcels, verdicts, _, _ = fixture
    lg = md.read_legend(legend())
    codes = md.rule_codes(parcels, verdicts, lg)
    # the legend's rule order; data.straddles has no st_ column: from its verdicts, none for P5 and P6
    assert list(codes) == ["far.bounds", "zone.park_management", "per_mu.revenue", "data.straddles"]
    name = lambda arr: [lg.statuses[c] if c >= 0 else None for c in arr]  # noqa: E731
    assert name(codes["far.bounds"]) == ["fail", "pass", "pass", "missing_data", "exempt", "not_applicable"]
    assert name(codes["data.straddles"]) == ["warn", "pass", "pass", "not_applicable", None, None]
    # the same statuses from the verdicts alone as from the st_ columns
    from_verdicts = md.rule_codes(parcels.drop(columns=[c for c in parcels if c.startswith("st_")]), verdicts, lg)
    for rid in codes:
        np.testing.assert_array_equal(from_verdicts[rid], codes[rid])


def test_overall_status_is_the_parcels_own_and_na_land_is_never_green(fixture):
    parcels, verdicts, _, _ = fixture
    lg = md.read_legend(legend())
    by_rule = md.rule_codes(parcels, verdicts, lg)
    # the parcel's own status is drawn as given, even where the rules alone would say otherwise
    own = parcels.assign(status=["fail", "warn", "warn", "missing_data", "exempt", "not_applicable"])
    got = [lg.statuses[c] for c in md.overall_codes(own, by_rule, lg)]
    assert got == ["fail", "warn", "warn", "missing_data", "exempt", "not_applicable"]
    # without a status column (contract v2 by hand): P1 fail, P2 pass, P3 warn, P4 missing, P5 only exempt
    # besides n/a → exempt, P6 all n/a → not_applicable (light grey), never pass
    computed = [lg.statuses[c] for c in md.overall_codes(parcels.drop(columns=["status"]), by_rule, lg)]
    assert computed == OVERALL
    # a data note alone never sets the status: P1 with only its straddles warning is not_applicable
    note_only = verdicts[(verdicts["subject_id"] != "P1") | (verdicts["rule"] == "data.straddles")]
    bare = parcels.drop(columns=["status", "st_far_bounds", "st_zone_park_management", "st_per_mu_revenue"])
    codes = md.overall_codes(bare, md.rule_codes(bare, note_only, lg), lg)
    assert lg.statuses[codes[0]] == "not_applicable"


def test_popup_verdicts_ordered_fails_warns_notes_then_the_rest(fixture):
    parcels, verdicts, _, _ = fixture
    lg = md.read_legend(legend())
    enc = md.encode_verdicts(parcels["parcel_id"], verdicts, lg)
    assert unpack(enc["n"]) == [4, 4, 4, 4, 3, 3]  # P1..P4 four verdicts each, P5 and P6 three
    rows = verdict_rows(enc, list(lg.statuses))
    p1 = [r for r in rows if r["parcel"] == 0]
    # fail, warn, the data note that says something, then the pass (collapsed: not a shown status)
    assert [(r["rule"], r["status"], r["note"], r["shown"]) for r in p1] == [
        ("far.bounds", "fail", False, True),
        ("per_mu.revenue", "warn", False, True),
        ("data.straddles", "warn", True, True),
        ("zone.park_management", "pass", False, False),
    ]
    assert [r["title"] for r in p1][:2] == ["工业用地容积率", "园内规上工业企业亩均营收"]
    # P5: the exemption is shown, its two n/a verdicts collapsed
    assert [(r["status"], r["shown"]) for r in rows if r["parcel"] == 4] == [
        ("exempt", True),
        ("not_applicable", False),
        ("not_applicable", False),
    ]
    for table in ("X", "T", "K", "M", "C"):
        assert len(enc[table]) == len(set(enc[table])), table
    assert enc["C"] == [CITE]  # one citation, stored once for 22 verdicts


def test_verdict_texts_in_the_rule_sets_words():
    inputs = map_inputs()
    lg = md.read_legend(inputs["legend"])
    rows = verdict_rows(md.encode_verdicts(inputs["parcels"]["parcel_id"], inputs["verdicts"], lg), list(lg.statuses))
    words = lambda r: (r["value"], r["threshold"], r["code"])  # noqa: E731
    # P1: far.bounds 1.0 against {"min": 2.0, "max": 4.0} (FAR: two decimals, no unit), code below_min
    assert words(rows[0]) == ("1.00", "2.00–4.00", "低于下限")
    # per_mu.revenue 500 against its 650 target, in 万元/亩 (value_text/threshold_text of rules.vocabulary)
    assert words(rows[1]) == ("500.0 万元/亩", "≥ 650.0 万元/亩", "低于2025年全市目标")
    assert words(rows[2]) == ("30.0%", "", "跨越分区边界")  # data.straddles: a share
    p3 = next(r for r in rows if r["parcel"] == 2 and r["rule"] == "zone.park_management")
    assert words(p3) == ("60.0 亩", "间距 ≤ 30 米，成片 ≥ 50 亩，紧邻 ≤ 50 米", "纳入园区管理")
    assert rows[0]["citation"] == CITE and rows[0]["message"] == "容积率 1.00，低于绕城高速以内下限 2.0"


def test_verdict_texts_without_the_rule_sets_words_still_read_as_words(fixture):
    parcels, verdicts, _, _ = fixture
    enc = md.encode_verdicts(parcels["parcel_id"], verdicts, md.read_legend(legend()))
    strs = set(enc["X"] + enc["T"] + enc["K"])
    assert {"2–4", "≥ 650", "500 万元/亩", "30.0%", "低于下限", "纳入园区管理"} <= strs
    assert not any(REPR.search(s) or SNAKE.search(s) for s in strs), strs


def test_threshold_words_written_once_per_distinct_threshold(monkeypatch):
    """Thresholds are worded per distinct (unit, threshold), not per verdict (10 000 rows, 3 distinct)."""
    import rules.vocabulary as voc
    from api.cli_maps import with_texts

    calls: list[object] = []
    real = voc.threshold_text
    monkeypatch.setattr(voc, "threshold_text", lambda t, u="": calls.append(t) or real(t, u))
    n = 10_000
    frame = pd.DataFrame(
        {
            "rule": np.where(np.arange(n) % 2 == 0, "far.bounds", "per_mu.revenue"),
            # fresh dict objects per row, and JSON text: keyed by content, not identity
            "threshold": [{"min": 2.0, "max": 4.0} if i % 2 == 0 else '{"min": 650.0}' for i in range(n)],
            "value": np.arange(n) % 7,
        }
    )
    frame.loc[n - 1, "threshold"] = None
    out = with_texts(frame, legend())
    assert len(calls) == 2  # {"min":2,"max":4} for far.bounds, {"min":650} for per_mu.revenue; None not worded
    assert out["threshold_text"].iloc[0] == "2.00–4.00" and out["threshold_text"].iloc[1] == "≥ 650.0 万元/亩"
    assert out["threshold_text"].iloc[-1] == ""


def test_gcj02_matches_reference_vector_and_offset_size_in_chengdu():
    # reference pair from the eviltransform test suite: WGS84 (31.1774276, 121.5272106) → GCJ-02
    lon, lat = md.wgs84_to_gcj02(np.array([121.5272106]), np.array([31.1774276]))
    assert lon[0] == pytest.approx(121.531541859215, abs=1e-9)
    assert lat[0] == pytest.approx(31.17530398364597, abs=1e-9)
    # at 天府广场 the shift is a few hundred metres (1° lon ≈ 95.8 km, 1° lat ≈ 110.9 km at 30.66°N)
    lon, lat = md.wgs84_to_gcj02(np.array([104.066]), np.array([30.657]))
    shift_m = np.hypot((lon[0] - 104.066) * 95_800, (lat[0] - 30.657) * 110_900)
    assert 100 < shift_m < 700


@pytest.mark.parametrize("mode", ["inline", "folder", "static_url"])
def test_map_html_is_offline_in_every_asset_mode(tmp_path, mode):
    kwargs = {"inline": mode == "inline", "static_url": "/static/vendor" if mode == "static_url" else None}
    path = maps.save_compliance_map(tmp_path / "map.html", **map_inputs(), **kwargs)
    html = path.read_text(encoding="utf-8")
    assert offline_violations(html, maps.tile_url_templates()) == []
    refs = re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"', html)
    if mode == "inline":
        assert refs == []
        assert "L.Map" in html or "L.map" in html
    elif mode == "folder":
        assert refs and all((tmp_path / r).is_file() for r in refs), refs
    else:
        assert refs and all(r.startswith("/static/vendor/") for r in refs)
        # the prefix maps onto asset_dirs(): /static/vendor/<root>/<file>
        for r in refs:
            root, _, rest = r.removeprefix("/static/vendor/").partition("/")
            assert (maps.asset_dirs()[root] / rest).is_file()


def test_payload_layers_named_from_the_legend_with_statuses_per_rule():
    data = render(**map_inputs(), inline=True)
    assert data["parcels"]["ids"] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert data["parcels"]["mu"] == [15.0, 15.0, 15.0, 15.0, 14.4, 15.0]
    layers = [(x["key"], x["title"], x["group"]) for x in data["layers"]]
    assert layers == [
        ("overall", "总体合规状态", "overall"),
        ("far.bounds", "工业用地容积率", "rule"),
        ("zone.park_management", "园区外成板块工业用地纳入园区管理", "rule"),
        ("per_mu.revenue", "园内规上工业企业亩均营收", "rule"),
        ("data.straddles", "跨界宗地", "note"),
    ]
    assert statuses_of(data, "overall") == OVERALL
    for key, expected in EXPECTED_LAYERS.items():
        got = pd.Series([s for s in statuses_of(data, key) if s]).value_counts().to_dict()
        assert got == expected, key
    assert data["labels"]["not_applicable"] == "不适用" and data["noteLabel"] == "数据提示"
    assert data["colors"] == {s["id"]: s["color"] for s in legend()["statuses"]}
    kinds = {z["kind"]: z for z in data["zones"]}
    assert set(kinds) == {"red_line", "parks", "districts", "ring"}
    assert kinds["red_line"]["label"] == "工业红线区" and kinds["ring"]["lines"] is True
    # the red line is a dashed dark outline over a ticked edge: no fill to be mistaken for a red parcel
    red = kinds["red_line"]["style"]
    assert red["dash"] and red["hatch"] and not red.get("fillOpacity")
    # P1: its own data in words (park name, 工业红线区, 是, the land-use class by name)
    info = info_lines(data)
    assert info[0] == (
        "行政区：武侯区 · 园区：测试园区 · 保护线：工业红线区 · 容积率：1.00 · "
        "用地分类：二类工业用地（100102） · 绕城高速以内：是"
    )
    assert "绕城高速以内：否" in info[3] and "城镇住宅用地（0701）" in info[5]
    assert "园区" not in info[3]  # P4 is in no park: the field is left out, not written as an empty value


def test_parks_and_districts_coloured_by_their_aggregate_verdicts():
    data = render(**map_inputs(), inline=True)
    by_title = {c["title"]: c for c in data["choropleths"]}
    park = by_title["园区：园区规上工业亩均效益（亩均营收）"]
    assert park["names"] == ["测试园区"] and [data["statuses"][c] for c in park["st"]] == ["pass"]
    assert park["value"] == ["650.0 万元/亩"] and park["threshold"] == ["≥ 650.0 万元/亩"]
    district = by_title["区（市）县：工业用地占城市建设用地比重"]
    assert [data["statuses"][c] for c in district["st"]] == ["fail"]
    assert district["value"] == ["18.0%"] and district["threshold"] == ["≥ 25.0%"]


def test_payload_words_have_no_ids_keys_or_reprs():
    """Everything the page shows as text comes from the payload: scan it all (ids only in their own fields)."""
    data = render(**map_inputs(), inline=True)
    shown: list[str] = [data["title"], *data["labels"].values(), data["noteLabel"]]
    shown += [x["title"] for x in data["layers"]] + info_lines(data)
    shown += data["verdicts"]["titles"] + [s for t in ("X", "T", "K", "M", "C") for s in data["verdicts"][t]]
    shown += [z["label"] for z in data["zones"]] + [n for z in data["zones"] for n in z["names"]]
    for c in data["choropleths"]:
        shown += [c["title"], *c["names"], *c["value"], *c["threshold"], *c["message"]]
    bad = [s for s in shown if RULE_ID.search(s) or SNAKE.search(s) or REPR.search(s)]
    assert bad == []


def test_text_with_script_and_template_markup_is_inert():
    inputs = map_inputs()
    inputs["verdicts"].loc[0, "message"] = "</script><b>{{ x }}{# y #}{% z %}"
    html = maps.compliance_map(**inputs, inline=True).get_root().render()
    assert "</script><b>" not in html
    assert "</script><b>{{ x }}{# y #}{% z %}" in payload_of(html)["verdicts"]["M"]


def test_tianditu_only_with_a_key(fixture, monkeypatch):
    parcels = fixture[0]
    monkeypatch.delenv("MUJUN_TIANDITU_KEY", raising=False)
    html = maps.compliance_map(parcels, legend=legend()).get_root().render()
    assert "tianditu" not in html
    with pytest.raises(ValueError, match="MUJUN_TIANDITU_KEY"):
        maps.compliance_map(parcels, legend=legend(), basemap="tianditu")
    monkeypatch.setenv("MUJUN_TIANDITU_KEY", "abc123")
    html = maps.compliance_map(parcels, legend=legend(), basemap="tianditu").get_root().render()
    assert "tk=abc123" in html
    assert offline_violations(html, maps.tile_url_templates()) == []
    active = [b["label"] for b in payload_of(html)["basemaps"] if b["active"]]
    assert active == ["天地图"]


def test_gaode_shifts_display_geometry_to_gcj02(fixture):
    parcels = fixture[0]
    wgs = render(parcels, legend=legend())["bounds"]
    gcj = render(parcels, legend=legend(), basemap="gaode")
    lon, lat = md.wgs84_to_gcj02(np.array([wgs[0][1]]), np.array([wgs[0][0]]))
    assert gcj["bounds"][0][1] == pytest.approx(lon[0], abs=1e-7)
    assert gcj["bounds"][0][0] == pytest.approx(lat[0], abs=1e-7)
    assert [b["label"] for b in gcj["basemaps"]] == ["无底图（离线）", "高德地图（GCJ-02）"]
    assert "GCJ-02" in gcj["note"]


def test_unknown_basemap_and_missing_crs_are_refused(fixture):
    parcels = fixture[0]
    with pytest.raises(ValueError, match="未知底图"):
        maps.compliance_map(parcels, legend=legend(), basemap="google")
    with pytest.raises(ValueError, match="没有坐标系"):
        maps.compliance_map(parcels.set_crs(None, allow_override=True), legend=legend())


def _write_geojson_result(path: Path, parcels, verdicts, aggregates) -> None:
    wgs = parcels.to_crs(4326)
    feats = []
    for pid, geom, status in zip(wgs["parcel_id"], wgs.geometry, wgs["status"], strict=True):
        vs = verdicts[verdicts["subject_id"] == pid].drop(columns=["subject_id", "level"])
        feats.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {
                    "parcel_id": pid,
                    "status": status,
                    "area_mu": 15.0,
                    "verdicts": json.loads(vs.to_json(orient="records")),
                },
            }
        )
    doc = {
        "type": "FeatureCollection",
        "features": feats,
        "ruleset": {"id": "chengdu-2023"},
        "as_of": "2025-06-30",
        "aggregates": json.loads(aggregates.to_json(orient="records")),
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def test_read_result_layers_geojson(fixture, tmp_path):
    parcels, verdicts, _, aggregates = fixture
    _write_geojson_result(tmp_path / "r.geojson", parcels, verdicts, aggregates)
    got = maps.read_result_layers(tmp_path / "r.geojson")
    assert got.parcels.crs.to_epsg() == 4544
    assert got.parcels["parcel_id"].tolist() == ["P1", "P2", "P3", "P4", "P5", "P6"]
    np.testing.assert_allclose(got.parcels.area.iloc[:4], 10000, rtol=1e-6)
    assert len(got.verdicts) == 22
    assert got.verdicts["subject_id"].tolist()[:4] == ["P1"] * 4
    assert got.aggregates["key"].tolist() == ["PK1", "武侯区"]
    assert got.meta["as_of"] == "2025-06-30" and got.ruleset_id == "chengdu-2023"


def _write_gpkg_result(path: Path, parcels, verdicts, zones, run: bool = True) -> None:
    import pyogrio

    pyogrio.write_dataframe(parcels, path, layer="parcels")
    v = verdicts.assign(threshold=verdicts["threshold"].map(lambda t: json.dumps(t) if t else None))
    pyogrio.write_dataframe(v, path, layer="verdicts", append=True)
    if run:
        pyogrio.write_dataframe(
            pd.DataFrame([{"ruleset_id": "chengdu-2023", "as_of": "2025-06-30"}]), path, layer="run", append=True
        )
    pyogrio.write_dataframe(zones["red_line"], path, layer="zone_red_line", append=True)


def test_read_result_layers_gpkg(fixture, tmp_path):
    parcels, verdicts, zones, _ = fixture
    path = tmp_path / "r.gpkg"
    _write_gpkg_result(path, parcels, verdicts, zones)
    got = maps.read_result_layers(path)
    assert got.parcels["st_far_bounds"].tolist()[0] == "fail"
    assert len(got.verdicts) == 22
    assert list(got.zones) == ["red_line"]
    assert got.ruleset_id == "chengdu-2023"
    # JSON thresholds from the table are worded like dicts
    enc = md.encode_verdicts(got.parcels["parcel_id"], got.verdicts, md.read_legend(legend()))
    assert enc["T"][unpack(enc["t"])[0]] == "2–4"


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.gpkg", None, "结果文件不存在"),
        ("r.csv", "a,b\n", "不支持的结果格式"),
        ("r.geojson", "{not json", "不是有效的 GeoJSON"),
        ("r.geojson", '{"type": "FeatureCollection"}', "缺少 features"),
    ],
)
def test_read_result_layers_errors_are_specific(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError, match=match) as info:
        maps.read_result_layers(path)
    assert info.value.path == str(path)


def test_gpkg_without_parcels_layer_names_its_layers(fixture, tmp_path):
    path = tmp_path / "z.gpkg"
    fixture[2]["red_line"].to_file(path, layer="red_line")
    with pytest.raises(InputFileError, match="缺少 parcels 图层.*red_line"):
        maps.read_result_layers(path)
    with pytest.raises(InputFileError, match="缺少 parcels 图层.*red_line"):  # counting first says the same
        maps.result_parcel_count(path)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255


def test_static_png_has_status_colours_per_layer_and_cjk_font(tmp_path):
    import matplotlib.image as mpimg

    inputs = map_inputs()
    colors = {s["id"]: s["color"] for s in inputs["legend"]["statuses"]}
    path = maps.static_map_png(tmp_path / "map.png", **inputs_for_png(inputs), dpi=80)
    img = mpimg.imread(path)[..., :3]
    assert img.shape[0] > 300 and img.shape[1] > 300

    def has(hex_colour: str, image: np.ndarray) -> bool:
        return bool((np.abs(image - _rgb(hex_colour)).max(axis=2) < 0.03).any())

    # every overall status of the six parcels is drawn in its legend colour
    assert all(has(colors[s], img) for s in OVERALL)
    # by park management: P3's warning is drawn, no parcel is red (P1 passes that rule)
    path = maps.static_map_png(tmp_path / "zone.png", **inputs_for_png(inputs), layer="zone.park_management", dpi=80)
    img = mpimg.imread(path)[..., :3]
    assert has(colors["warn"], img) and not has(colors["fail"], img)
    assert "Noto Sans CJK SC" in maps._cjk_font()
    with pytest.raises(ValueError, match="未知图层.*far.bounds（工业用地容积率）"):
        maps.static_map_png(tmp_path / "x.png", **inputs_for_png(inputs), layer="nope")
    ARTIFACTS.mkdir(exist_ok=True)
    maps.static_map_png(ARTIFACTS / "static_map.png", **inputs_for_png(inputs), layer="far.bounds")


def inputs_for_png(inputs: dict) -> dict:
    return {k: inputs[k] for k in ("parcels", "verdicts", "zones", "legend")}


# ---- the palette under colour-vision deficiency ---------------------------------------------------------
# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color vision
# deficiency", IEEE TVCG 15(6): the severity-1.0 matrices, applied to linear RGB.
MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
# ΔE00 ≈ 1 is a just-noticeable difference between large patches side by side; map fills are small, scattered
# and judged against a remembered legend swatch, so categories need many JNDs. 12 keeps every pair at least as
# far apart as dark grey and mid grey; the old palette's red/green pair fell to 8.9 under deuteranopia.
MIN_DELTA_E00 = 12.0
MAP_BACKGROUND = "#f4f3ef"  # .leaflet-container in mujun-map.css, behind the translucent parcel fills


def _linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB (…, 3) → CIELAB (D65)."""
    m = np.array(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
    )
    xyz = linear_rgb @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e00(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), vectorised over the leading axes."""
    l1, a1, b1 = np.moveaxis(lab1, -1, 0)
    l2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    d_l, d_c = l2 - l1, c2p - c1p
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(
        c1p * c2p == 0,
        h_sum,
        np.where(np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_bar**7 / (cp_bar**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (d_c / s_c) * (d_h / s_h))


def test_delta_e00_matches_sharmas_reference_pairs():
    # pairs 1, 7 and 17 of Sharma et al.'s 34 test pairs, with their published ΔE00
    lab1 = np.array([[50.0, 2.6772, -79.7751], [50.0, 0.0, 0.0], [50.0, 2.5, 0.0]])
    lab2 = np.array([[50.0, 0.0, -82.7485], [50.0, -1.0, 2.0], [73.0, 25.0, -18.0]])
    np.testing.assert_allclose(delta_e00(lab1, lab2), [2.0425, 2.3669, 27.1492], atol=1e-4)


@pytest.mark.parametrize("alpha", [1.0, 0.78], ids=["legend-swatch", "map-fill"])
def test_status_colours_stay_apart_for_colour_blind_readers(alpha):
    from rules.vocabulary import STATUS_COLORS

    assert alpha == 1.0 or alpha == maps._FILL_OPACITY
    names = list(STATUS_COLORS)
    srgb = np.array([_rgb(STATUS_COLORS[s]) for s in names])
    srgb = alpha * srgb + (1 - alpha) * _rgb(MAP_BACKGROUND)  # the canvas blends in sRGB
    worst = []
    for vision, matrix in {"normal": np.eye(3).tolist(), **MACHADO}.items():
        lab = _lab(np.clip(_linear(srgb) @ np.array(matrix).T, 0, 1))
        for i, j in itertools.combinations(range(len(names)), 2):
            worst.append((float(delta_e00(lab[i], lab[j])), vision, names[i], names[j]))
    worst.sort()
    assert worst[0][0] >= MIN_DELTA_E00, worst[:3]


def test_cli_map_names_layers_from_the_results_rule_set(fixture, tmp_path):
    from typer.testing import CliRunner

    from api.cli import _load_commands, app

    _load_commands()
    parcels, verdicts, zones, _ = fixture
    result = tmp_path / "r.gpkg"
    _write_gpkg_result(result, parcels, verdicts, zones)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "map",
            str(result),
            "--out",
            str(tmp_path / "m.html"),
            "--png",
            str(tmp_path / "m.png"),
            "--layer",
            "far.bounds",
        ],
    )
    assert res.exit_code == 0, res.output
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert offline_violations(html, maps.tile_url_templates()) == []
    data = payload_of(html)
    assert data["parcels"]["ids"] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert [x["title"] for x in data["layers"]][1] == "工业用地容积率"
    assert "2.00–4.00" in data["verdicts"]["T"]  # worded by the rule set, not the plain fallback
    assert (tmp_path / "m.png").stat().st_size > 10_000
    res = runner.invoke(app, ["map", str(tmp_path / "nope.gpkg"), "--out", str(tmp_path / "x.html")])
    assert res.exit_code == 2 and "结果文件不存在" in res.output
    bare = tmp_path / "bare.gpkg"  # no run table: the rule set must be named
    _write_gpkg_result(bare, parcels, verdicts, zones, run=False)
    res = runner.invoke(app, ["map", str(bare), "--out", str(tmp_path / "b.html")])
    assert res.exit_code == 2 and "--ruleset" in res.output
    res = runner.invoke(app, ["map", str(bare), "--out", str(tmp_path / "b.html"), "--ruleset", "chengdu-2023"])
    assert res.exit_code == 0, res.output


def test_cli_map_above_the_inline_limit_stops_and_names_the_tiled_map(fixture, tmp_path):
    from typer.testing import CliRunner

    from api.cli import _load_commands, app

    _load_commands()
    parcels, verdicts, zones, _ = fixture
    result = tmp_path / "r.gpkg"
    _write_gpkg_result(result, parcels, verdicts, zones)  # the fixture's 6 parcels
    out = tmp_path / "m.html"
    res = CliRunner().invoke(app, ["map", str(result), "--out", str(out), "--max-inline", "5"])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "共 6 宗地" in text and "上限 5 宗" in text and "/web/runs/<评估编号>/tiled-map" in text
    assert "mujun serve" in text and not out.exists()
    res = CliRunner().invoke(app, ["map", str(result), "--out", str(out), "--max-inline", "6"])
    assert res.exit_code == 0, res.output
    assert out.is_file()
    assert maps.result_parcel_count(result) == 6


def test_cli_zones_propose_writes_layers_and_an_offline_map(tmp_path):
    import pyogrio
    from typer.testing import CliRunner

    from api.cli import _load_commands, app

    if not (DATA_DIR / "parcels.gpkg").exists():
        pytest.skip("sample data not generated")
    _load_commands()
    out = tmp_path / "proposal.gpkg"
    res = CliRunner().invoke(
        app,
        [
            "zones",
            "propose",
            "-p",
            str(DATA_DIR / "parcels.gpkg"),
            "-z",
            str(DATA_DIR / "zones.gpkg"),
            "-o",
            str(out),
            "--map",
            str(tmp_path / "z.html"),
        ],
    )
    assert res.exit_code == 0, res.output
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {
        "red_line",
        "blue_line",
        "proposal_parcels",
        "proposed_not_protected",
        "protected_not_industrial",
    } <= layers
    red = gpd.read_file(out, layer="red_line")
    assert red["zone_id"].is_unique and (red["parcel_count"] > 0).all()
    html = (tmp_path / "z.html").read_text(encoding="utf-8")
    assert offline_violations(html, maps.tile_url_templates()) == []


def test_stored_runs_map_over_http_names_layers_from_its_rule_set_and_tells_the_truth(client, sample):
    """The real app, store and sample run: the map's overall colours count exactly the run's statuses."""
    h = client.as_role("viewer")
    run = client.get(f"/evaluations/{sample['run']}", headers=h).json()
    r = client.get(f"/evaluations/{sample['run']}/map", headers=h)
    assert r.status_code == 200
    data = payload_of(r.text)
    titles = {x["key"]: x["title"] for x in data["layers"]}
    assert titles["far.bounds"] == "工业用地容积率" and titles["data.straddles"] == "跨界宗地"
    drawn = pd.Series(statuses_of(data, "overall")).value_counts().to_dict()
    assert drawn == {s: n for s, n in run["summary"]["by_status"].items() if n}
    assert drawn.get("not_applicable", 0) > 0  # land no rule speaks of is drawn as such, not as 合规
    # thresholds from the store (JSON per row) worded by the stored rule set, once each
    assert {"2.00–4.00", "间距 ≤ 30 米，成片 ≥ 50 亩，紧邻 ≤ 50 米"} <= set(data["verdicts"]["T"])
    shown = data["verdicts"]["titles"] + info_lines(data)
    shown += [s for t in ("X", "T", "K", "M", "C") for s in data["verdicts"][t]]
    assert [s for s in shown if RULE_ID.search(s) or SNAKE.search(s) or REPR.search(s)] == []
