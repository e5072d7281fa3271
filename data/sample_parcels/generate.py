"""Regenerate the committed sample files in this folder: ``python data/sample_parcels/generate.py``."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run from anywhere, even without `pip install -e .`

import pandas as pd  # noqa: E402

from gis.sample_data import SAMPLE_SEED, write_sample  # noqa: E402

START, END = "<!-- examples:start -->", "<!-- examples:end -->"


def examples_markdown(examples: pd.DataFrame) -> str:
    """The example table as Markdown for the README."""
    lines = ["| 规则 rule | 预期 expected | 宗地 parcel | 情形 case | 说明 |", "|---|---|---|---|---|"]
    for r in examples.itertuples():
        lines.append(f"| `{r.rule}` | {r.expected} | `{r.parcel_id}` | `{r.case}` | {r.note} |")
    return "\n".join(lines)


def update_readme(readme: Path, examples: pd.DataFrame) -> None:
    """Replace the block between the example markers in the README with the current table."""
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{examples_markdown(examples)}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    """Write the sample set next to this script, refresh the README table, list the files."""
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_SEED
    written = write_sample(HERE, seed=seed)
    update_readme(HERE / "README.md", pd.read_csv(HERE / "examples.csv", dtype=str))
    for path in written:
        print(f"{path.name:24s} {path.stat().st_size:>10,d} bytes")


if __name__ == "__main__":
    main()
