"""Independent OGC API – Features clients against a live server: GDAL's OAPIF driver and OWSLib."""

from __future__ import annotations

import re
import shutil
import subprocess

import geopandas as gpd
import pytest
import shapely

from tests.conftest import DATA_DIR

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="needs GDAL's ogrinfo")


def _ogrinfo(*args: str) -> str:
    proc = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120,
                          env={"GDAL_HTTP_TIMEOUT": "60", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _sample_parcels_84() -> gpd.GeoDataFrame:
    from gis.io import read_parcels

    return read_parcels(DATA_DIR / "parcels.gpkg")[0].to_crs("OGC:CRS84")


def _box_around_median(parcels: gpd.GeoDataFrame, half: float) -> tuple[float, float, float, float]:
    b = parcels.geometry.bounds  # middle of each parcel's bounds (no centroid in degrees)
    x, y = float(((b.minx + b.maxx) / 2).median()), float(((b.miny + b.maxy) / 2).median())
    return (x - half, y - half, x + half, y + half)


@pytest.fixture
def root(live_server, sample) -> str:
    """The sample dataset's own OGC API root (other tests may import newer datasets)."""
    return f"{live_server}/datasets/{sample['dataset']}/ogc"


def test_gdal_oapif_lists_layers_and_counts(root):
    listing = _ogrinfo("-so", f"OAPIF:{root}")
    assert "parcels" in listing and "zone_parks" in listing and "enterprises" in listing
    info = _ogrinfo("-so", f"OAPIF:{root}", "parcels")
    assert int(re.search(r"Feature Count: (\d+)", info).group(1)) == 1800
    assert "parcel_id: String" in info and "status: String" in info


def test_gdal_oapif_reads_all_features_with_paging_and_bbox(root):
    # GDAL pages through the whole collection following "next" links: every parcel id comes back once.
    out = _ogrinfo("-al", "-q", "-geom=NO", "-fields=YES", f"OAPIF:{root}", "parcels")
    ids = re.findall(r"^\s+parcel_id \(String\) = (\S+)$", out, flags=re.M)
    assert len(ids) == len(set(ids)) == 1800
    # A spatial filter: GDAL sends bbox and refines on the client; compare with geopandas on the same box.
    parcels = _sample_parcels_84()
    box = _box_around_median(parcels, 0.05)
    expected = int(parcels.intersects(shapely.box(*box)).sum())
    info = _ogrinfo("-so", "-spat", *map(str, box), f"OAPIF:{root}", "parcels")
    assert int(re.search(r"Feature Count: (\d+)", info).group(1)) == expected > 0


def test_owslib_features(root):
    from owslib.ogcapi.features import Features

    api = Features(root)
    ids = [c["id"] for c in api.collections()["collections"]]
    assert ids[0] == "parcels" and "zone_red_line" in ids
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    page = api.collection_items("parcels", limit=25)
    assert page["numberReturned"] == 25 and page["numberMatched"] == 1800
    parcels = _sample_parcels_84()
    box = list(_box_around_median(parcels, 0.08))
    got = api.collection_items("parcels", bbox=box, limit=2000)
    expected = set(parcels.loc[parcels.intersects(shapely.box(*box)), "parcel_id"])
    # The server tests the box reprojected to EPSG:4544 (edges densified): the same parcels as geopandas.
    assert {f["id"] for f in got["features"]} == expected and len(expected) > 20
    assert got["numberReturned"] == got["numberMatched"] == len(expected)
    one = api.collection_item("parcels", got["features"][0]["id"])
    assert one["id"] == got["features"][0]["id"]
    red = api.collection_items("parcels", status="fail", limit=5)
    assert all(f["properties"]["status"] == "fail" for f in red["features"])
