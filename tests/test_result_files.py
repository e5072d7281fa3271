"""Result files written and read back: the compact GeoPackage (verdict texts stored once, a ``verdicts`` view for
QGIS) and the GeoParquet pair, through ``rules.export.read_result`` (the one reader, shared with the map)."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from gis.errors import InputFileError
from rules.export import read_result, verdicts_path, write_result
from rules.result import _clean
from tests.conftest import DATA_DIR, SAMPLE_AS_OF


@pytest.fixture(scope="module")
def result():
    from gis.io import load_inputs
    from rules.engine import evaluate
    from rules.ruleset import load_ruleset

    inputs = load_inputs(DATA_DIR / "parcels.gpkg", DATA_DIR / "enterprises.csv", DATA_DIR / "occupancy.csv",
                         DATA_DIR / "zones.gpkg", DATA_DIR / "land_supply.csv")
    return evaluate(inputs, load_ruleset("chengdu-2023"), SAMPLE_AS_OF)


def _same_verdicts(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got.drop(columns="threshold"), want.drop(columns="threshold"))
    # an unknown bound is NaN in memory and null in a file's JSON: thresholds compared in JSON-safe form
    assert [_clean(t) for t in got["threshold"]] == [_clean(t) for t in want["threshold"]]


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet"])
def test_result_file_reads_back_the_same_result(result, tmp_path, suffix):
    path = write_result(result, tmp_path / f"result{suffix}")
    back = read_result(path)
    _same_verdicts(back.verdicts, result.verdicts)
    assert back.summary == result.summary  # recomputed from the parcels, verdicts and aggregates read back
    assert back.ruleset == result.ruleset and back.as_of == result.as_of
    st = [c for c in result.parcels.columns if c.startswith("st_")]
    assert len(st) > 10
    for col in ["parcel_id", "status", *st]:
        assert back.parcels[col].astype(str).tolist() == result.parcels[col].astype(str).tolist(), col
    assert back.parcels.crs.to_epsg() == 4544
    assert back.parcels.geometry.geom_equals_exact(result.parcels.geometry, tolerance=1e-6).all()
    assert back.enterprises["enterprise_id"].tolist() == result.enterprises["enterprise_id"].tolist()


def test_gpkg_stores_each_text_once_and_shows_it_in_a_view(result, tmp_path):
    path = write_result(result, tmp_path / "result.gpkg")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT count(*) FROM verdict_rows").fetchone()[0]
        texts = db.execute("SELECT count(*) FROM verdict_texts").fetchone()[0]
        columns = {r[1] for r in db.execute("PRAGMA table_info(verdict_rows)")}
    db.close()
    v = result.verdicts
    thresholds = {str(_clean(t)) for t in v["threshold"] if isinstance(t, dict) and t}
    # the distinct texts of the in-memory table: messages, citations, thresholds
    assert texts == len(set(v["message"].dropna()) | set(v["citation"].dropna())) + len(thresholds)
    assert rows == len(v) and texts < rows / 5
    assert not columns & {"message", "citation", "threshold"}
    # what QGIS and GDAL list as the verdicts table: the text of every row, joined by the view
    view = pyogrio.read_dataframe(path, layer="verdicts", read_geometry=False)
    assert view["message"].tolist() == v["message"].tolist()
    assert view["citation"].tolist() == v["citation"].astype(str).tolist()


def test_parquet_is_geoparquet_with_verdicts_beside_it(result, tmp_path):
    path = write_result(result, tmp_path / "result.parquet")
    parcels = gpd.read_parquet(path)  # any GeoParquet reader
    assert len(parcels) == len(result.parcels) and "st_far_bounds" in parcels.columns
    assert parcels["status"].astype(str).tolist() == result.parcels["status"].astype(str).tolist()
    verdicts = pd.read_parquet(verdicts_path(path))
    assert verdicts_path(path).name == "result.verdicts.parquet" and len(verdicts) == len(result.verdicts)
    assert verdicts["message"].astype(str).tolist() == result.verdicts["message"].astype(str).tolist()


def test_read_result_names_a_file_that_is_not_a_result(tmp_path):
    plain = tmp_path / "plain.parquet"
    gpd.GeoDataFrame({"a": [1]}, geometry=gpd.points_from_xy([400000], [3390000]), crs=4544).to_parquet(plain)
    with pytest.raises(InputFileError, match="not a mujun result") as err:
        read_result(plain)
    assert err.value.path == str(plain)


def test_gpkg_verdicts_written_in_parts_read_back_whole(result, tmp_path, monkeypatch):
    import rules.export as export

    monkeypatch.setattr(export, "_GPKG_PART", 7000)  # the sample's 30k verdict rows in five appends
    _same_verdicts(read_result(write_result(result, tmp_path / "parts.gpkg")).verdicts, result.verdicts)
