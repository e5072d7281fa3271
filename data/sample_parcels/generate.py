"""Regenerate the committed sample files in this folder: ``python data/sample_parcels/generate.py [seed]``.

Writes the files with ``_sample.write_sample`` (the generator beside this script, with the example cases of
``cases.yaml``) and refreshes the generated blocks of README.md: the example table, the park table (public area
beside the drawn area) and the verdict counts of the real engine (rule set chengdu-2023, as of 2025-06-30).
The generator is not part of the installed library; benchmarks take their data from ``synthetic.py`` here.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run from anywhere, even without `pip install -e .`

import pandas as pd  # noqa: E402
import pyogrio  # noqa: E402
import shapely  # noqa: E402

from data.sample_parcels._sample import SAMPLE_SEED, write_sample  # noqa: E402

AS_OF = "2025-06-30"
RULESET = "chengdu-2023"


def _block(text: str, name: str, body: str) -> str:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def examples_markdown(examples: pd.DataFrame, titles: dict[str, str], labels: dict[str, str]) -> str:
    """The example table as Markdown: rule (Chinese title and id), expected status and code, parcel, case."""
    lines = [
        "| 规则 rule | 预期 expected | 代码 code | 总体 overall | 宗地 parcel | 情形 case | 说明 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in examples.fillna("").itertuples():
        overall = f"{labels.get(r.overall, r.overall)} `{r.overall}`" if r.overall else ""
        code = f"`{r.code}`" if r.code else ""
        lines.append(
            f"| {titles.get(r.rule, r.rule)} `{r.rule}` | {labels.get(r.expected, r.expected)} `{r.expected}` "
            f"| {code} | {overall} | `{r.parcel_id}` | `{r.case}` | {r.note} |"
        )
    return "\n".join(lines)


def parks_markdown(folder: Path) -> str:
    """parks.csv with the drawn area and the number of sample parcels inside each park."""
    parks = pd.read_csv(folder / "parks.csv", dtype=str)
    layer = pyogrio.read_dataframe(folder / "zones.gpkg", layer="parks").set_index("park_id")
    parcels = pyogrio.read_dataframe(folder / "parcels.gpkg", columns=["parcel_id"])
    cent = parcels.geometry.centroid
    lines = [
        "| park_id | 园区 name | 区 district | 公开面积 km² | 绘制面积 km² | 园内样例宗地 | 宗地面积占园区 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in parks.itertuples():
        g = layer.geometry[r.park_id]
        inside = shapely.contains_xy(g, cent.x.to_numpy(), cent.y.to_numpy())
        share = parcels.geometry.area[inside].sum() / g.area
        lines.append(
            f"| {r.park_id} | {r.name} | {r.district} | {float(r.area_km2):g} | {g.area / 1e6:.1f} "
            f"| {int(inside.sum())} | {share:.0%} |"
        )
    return "\n".join(lines)


def counts_markdown(folder: Path) -> str:
    """Verdict counts of the sample from the real engine: overall status, then per rule."""
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset
    from rules.vocabulary import STATUS_LABELS, STATUS_ORDER

    names = ("parcels.gpkg", "enterprises.csv", "occupancy.csv", "zones.gpkg", "land_supply.csv")
    ruleset = load_ruleset(RULESET)
    res = evaluate(load_inputs(*(folder / n for n in names)), ruleset, AS_OF)
    by_status = res.summary["by_status"]
    head = "| | " + " | ".join(f"{STATUS_LABELS[s]} `{s}`" for s in STATUS_ORDER) + " |"
    sep = "|---" * (len(STATUS_ORDER) + 1) + "|"
    lines = [head, sep, "| **总体 overall** | " + " | ".join(str(by_status.get(s, 0)) for s in STATUS_ORDER) + " |"]
    v = res.verdicts[res.verdicts["level"] == "parcel"]
    table = v.groupby(["rule", "status"], observed=True).size().unstack(fill_value=0)
    titles = {r.id: r.title for r in ruleset.rules}
    for rule in (r.id for r in ruleset.rules if r.id in table.index):
        row = table.loc[rule]
        lines.append(f"| {titles[rule]} `{rule}` | " + " | ".join(str(int(row.get(s, 0))) for s in STATUS_ORDER) + " |")
    # the parks' and the city's per-mu figures (园内规上工业企业, land-weighted) against the 2025 targets
    agg = res.aggregates[res.aggregates["rule"] == "agg.park_per_mu"]
    per_park = agg.pivot_table(index="key", columns="code", values="value", aggfunc="first", observed=True)
    names = pd.read_csv(folder / "parks.csv", dtype=str).set_index("park_id")["name"]
    lines += ["", "| 园区 park | 亩均营收 万元/亩（目标 650） | 亩均税收 万元/亩（目标 30） |", "|---|---|---|"]
    for key, row in per_park.iterrows():
        name = f"{names[key]} `{key}`" if key in names.index else key
        lines.append(f"| {name} | {row['revenue']:.0f} | {row['tax']:.1f} |")
    return "\n".join(lines)


def update_readme(readme: Path, folder: Path) -> None:
    """Refresh the generated blocks of the README from the files in `folder`."""
    from rules.ruleset import load_ruleset
    from rules.vocabulary import STATUS_LABELS

    titles = {r.id: r.title for r in load_ruleset(RULESET).rules}
    text = readme.read_text(encoding="utf-8")
    examples = pd.read_csv(folder / "examples.csv", dtype=str)
    text = _block(text, "examples", examples_markdown(examples, titles, dict(STATUS_LABELS)))
    text = _block(text, "parks", parks_markdown(folder))
    text = _block(text, "counts", counts_markdown(folder))
    readme.write_text(text, encoding="utf-8")


def main() -> None:
    """Write the sample set next to this script, refresh the README, list the files."""
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_SEED
    written = write_sample(HERE, seed=seed)
    update_readme(HERE / "README.md", HERE)
    for path in written:
        print(f"{path.name:24s} {path.stat().st_size:>10,d} bytes")


if __name__ == "__main__":
    main()
