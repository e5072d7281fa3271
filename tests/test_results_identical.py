"""Engine speed work must not change a single verdict: pin a digest of the full result at 20k and 100k parcels.

The data goes through the same files path as ``benchmarks/evaluate.py``: ``make_synthetic(n, seed=1)`` written
as GeoParquet parcels, a zones GeoPackage and CSV tables, read back by ``load_inputs`` and evaluated with the
``chengdu-2023`` rule set as of 2025-06-30. The digest covers the sorted verdict table (every column; floats
rounded to 1e-9; thresholds as sorted-key JSON), the parcel table (every column, geometry as WKB), the
enterprise table, the aggregates and the loader's warnings (file and rows named; not their wording). The
expected digests live in ``tests/data/results_digest.json``; they were recorded with the engine of commit
ce04d83 (before the speed work) by

    .venv/bin/python -m tests.test_results_identical 20000 100000

and must only be re-recorded with an unchanged engine (a ``git worktree`` of that commit) when the synthetic
data itself changes (``data/sample_parcels/synthetic.py``, formerly ``gis/sample_data.py``); the file records the
digest of the input files too, so a change of the data is told apart from a change of the engine.

The 20k case always runs (≈ 5 s). The 100k case takes ≈ 20 s on the 2-core machine (writing the files and
hashing 1.7M verdict rows included), well under a minute, so it runs in the suite too unless
``MUJUN_SKIP_SLOW=1``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks.evaluate import write_files  # the very files the benchmark reads

DIGESTS = Path(__file__).parent / "data" / "results_digest.json"
AS_OF = "2025-06-30"


def input_digest(folder: Path) -> str:
    """SHA-256 over the logical content of the inputs (the GPKG/Parquet bytes carry timestamps)."""
    import geopandas as gpd
    import pyogrio

    h = hashlib.sha256()
    parcels = gpd.read_parquet(folder / "parcels.parquet")
    h.update(_frame_digest(parcels).encode())
    for layer, _ in pyogrio.list_layers(folder / "zones.gpkg"):
        h.update(_frame_digest(pyogrio.read_dataframe(folder / "zones.gpkg", layer=layer)).encode())
    for name in ("enterprises", "occupancy", "land_supply"):
        h.update((folder / f"{name}.csv").read_bytes())
    return h.hexdigest()


def _cell(value: Any, memo: dict[int, str]) -> str:
    """A stable text form of one object cell: floats rounded to 1e-9, NaN/None/NA as null, dicts as sorted JSON."""
    if isinstance(value, str):
        return value
    key = id(value)
    if isinstance(value, (dict, list)) and key in memo:  # thresholds: one dict object shared by many rows
        return memo[key]
    text = json.dumps(_plain(value), sort_keys=True, ensure_ascii=False)
    if isinstance(value, (dict, list)):
        memo[key] = text
    return text


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "wkb"):  # a shapely geometry
        return value.wkb.hex()
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return round(v, 9) + 0.0  # + 0.0 folds -0.0 into 0.0
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return value if isinstance(value, (str, int, bool)) else str(value)


def _column_digest(series: pd.Series) -> bytes:
    """SHA-256 of one column's values, whatever its storage (object, categorical, Arrow string)."""
    import shapely

    h = hashlib.sha256()
    dtype = series.dtype
    if getattr(dtype, "name", "") == "geometry":
        wkb = shapely.to_wkb(series.to_numpy(), hex=True)
        h.update("\n".join(wkb.tolist()).encode())
    elif pd.api.types.is_bool_dtype(dtype) and not series.isna().any():
        h.update(b"bool")
        h.update(series.to_numpy(dtype=bool).tobytes())
    elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        h.update(b"num")
        v = np.round(series.to_numpy(dtype=float, na_value=np.nan), 9) + 0.0
        v[np.isnan(v)] = np.nan  # one NaN bit pattern
        h.update(v.tobytes())
    else:
        memo: dict[int, str] = {}
        h.update(b"obj")
        h.update("\x1f".join(_cell(v, memo) for v in series.astype(object).tolist()).encode())
    return h.digest()


def _frame_digest(frame: pd.DataFrame, sort_by: list[str] | None = None) -> str:
    """SHA-256 of a frame: column names, then each column's values, rows in ``sort_by`` order."""
    frame = pd.DataFrame(frame).reset_index(drop=True)
    if sort_by:
        keys = [np.array([str(v) for v in frame[c].astype(object).tolist()]) for c in reversed(sort_by)]
        order = np.lexsort(keys)
        frame = frame.iloc[order].reset_index(drop=True)
    h = hashlib.sha256()
    h.update(json.dumps(list(map(str, frame.columns))).encode())
    h.update(str(len(frame)).encode())
    for c in frame.columns:
        h.update(_column_digest(frame[c]))
    return h.hexdigest()


def result_digests(folder: Path) -> dict[str, str]:
    """Load and evaluate the files in ``folder``; digest of each result table."""
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset

    inputs = load_inputs(
        folder / "parcels.parquet",
        folder / "enterprises.csv",
        folder / "occupancy.csv",
        folder / "zones.gpkg",
        folder / "land_supply.csv",
    )
    r = evaluate(inputs, load_ruleset("chengdu-2023"), AS_OF)
    return {
        "inputs": input_digest(folder),
        "verdicts": _frame_digest(r.verdicts, ["level", "subject_id", "rule"]),
        "parcels": _frame_digest(r.parcels, ["parcel_id"]),
        "enterprises": _frame_digest(r.enterprises, ["enterprise_id"]),
        "aggregates": _frame_digest(r.aggregates, list(r.aggregates.columns)),  # (rule, scope, key) repeats
        "verdict_rows": str(len(r.verdicts)),
        # the loader's warnings: which file, which rows (their wording is free to change)
        "warnings": _frame_digest(
            pd.DataFrame(
                {"file": [w.file for w in r.load_warnings], "ids": [json.dumps(w.ids) for w in r.load_warnings]}
            )
        ),
    }


@pytest.mark.parametrize(
    "n",
    [
        20_000,
        pytest.param(
            100_000,
            marks=pytest.mark.skipif(os.environ.get("MUJUN_SKIP_SLOW") == "1", reason="MUJUN_SKIP_SLOW=1"),
        ),
    ],
)
def test_results_identical_to_recorded(n: int, tmp_path: Path) -> None:
    expected = json.loads(DIGESTS.read_text(encoding="utf-8"))[str(n)]
    write_files(n, tmp_path)
    got = result_digests(tmp_path)
    assert got["inputs"] == expected["inputs"], (
        "make_synthetic output changed: re-record the digests with the unchanged engine (see the module docstring)"
    )
    assert got == expected


if __name__ == "__main__":
    import tempfile

    out = json.loads(DIGESTS.read_text(encoding="utf-8")) if DIGESTS.exists() else {}
    for arg in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp:
            write_files(int(arg), Path(tmp))
            out[arg] = result_digests(Path(tmp))
        print(arg, out[arg], flush=True)
    DIGESTS.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
