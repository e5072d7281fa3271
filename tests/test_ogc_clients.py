"""Independent OGC API – Features clients against a live server: GDAL's OAPIF driver and OWSLib."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from tests.conftest import DATA_DIR, serving

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="needs GDAL's ogrinfo")


def _run_ogrinfo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120,
                          env={"GDAL_HTTP_TIMEOUT": "60", "PATH": "/usr/bin:/bin", **(env or {})})


def _ogrinfo(*args: str, env: dict[str, str] | None = None) -> str:
    proc = _run_ogrinfo(*args, env=env)
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


def test_gdal_reads_typed_fields(root):
    """The collection's JSON Schema (rel describedBy) types GDAL's fields: numbers, dates and booleans, even
    those empty on the first page (the sample's committed_* figures are set on 171 of 1800 parcels)."""
    info = _ogrinfo("-so", f"OAPIF:{root}", "parcels")
    fields = dict(re.findall(r"^(\w+): (\S+)", info, flags=re.M))
    assert fields["committed_revenue_per_mu_10k"] == "Real" and fields["floor_area_m2"] == "Real"
    assert fields["retainable"] == "Integer(Boolean)" and fields["inside_ring"] == "Integer(Boolean)"
    assert fields["production_due_date"] == "Date" and fields["transfer_date"] == "Date"
    assert fields["run_id"] == "Integer" and fields["parcel_id"] == "String"
    # and the values arrive: GDAL's count of parcels with the figure set equals the file's.
    parcels = _sample_parcels_84()
    out = _ogrinfo("-al", "-q", "-geom=NO", "-where", "committed_revenue_per_mu_10k > 0", f"OAPIF:{root}", "parcels")
    values = [float(v) for v in re.findall(r"committed_revenue_per_mu_10k \(Real\) = (\S+)", out)]
    assert len(values) == int((parcels.committed_revenue_per_mu_10k > 0).sum()) > 0


class _Recorder:
    """The real app, with every request's path and query string noted (what the server saw)."""

    def __init__(self, app) -> None:
        self.app, self.seen = app, []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.seen.append((scope["path"], scope["query_string"].decode()))
        await self.app(scope, receive, send)

    def __getattr__(self, name):
        return getattr(self.app, name)


@pytest.fixture(scope="module")
def recorded(store, sample):
    from api.app import create_app

    app = _Recorder(create_app(store.settings.model_copy(update={"allow_anonymous_read": True})))
    with serving(app) as url:
        yield app, f"{url}/datasets/{sample['dataset']}/ogc"


def test_gdal_pushes_where_to_the_server_as_cql2(recorded):
    from urllib.parse import parse_qs

    app, root = recorded
    app.seen.clear()
    where = "floor_area_m2 > 20000 AND land_use = '1001'"
    out = _ogrinfo("-al", "-q", "-geom=NO", "-where", where, f"OAPIF:{root}", "parcels")
    ids = set(re.findall(r"^\s+parcel_id \(String\) = (\S+)$", out, flags=re.M))
    parcels = _sample_parcels_84()
    expected = set(parcels.loc[(parcels.floor_area_m2 > 20000) & (parcels.land_use == "1001"), "parcel_id"])
    assert ids == expected and expected
    filters = [parse_qs(q).get("filter", [""])[0] for p, q in app.seen if p.endswith("/parcels/items")]
    assert any("floor_area_m2 > 20000" in f and "land_use = '1001'" in f for f in filters), app.seen


@pytest.fixture(scope="module")
def protected(store, sample, tokens):
    """The app with reads needing a token (the session's settings), served by uvicorn."""
    from api.app import create_app
    from api.store.repository import token_owner

    with store.engine.connect() as conn:
        name = token_owner(conn, tokens["viewer"])["name"]
    with serving(create_app(store.settings)) as url:
        yield f"{url}/datasets/{sample['dataset']}/ogc", name, tokens["viewer"]


def test_gdal_basic_auth_reads_a_protected_collection(protected):
    root, name, token = protected
    basic = {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"{name}:{token}"}
    info = _ogrinfo("-so", f"OAPIF:{root}", "parcels", env=basic)
    assert int(re.search(r"Feature Count: (\d+)", info).group(1)) == 1800
    out = _ogrinfo("-al", "-q", "-geom=NO", f"OAPIF:{root}", "zone_parks", env=basic)
    assert len(re.findall(r"^OGRFeature", out, flags=re.M)) > 0
    # No credentials, or someone else's name with the token: the server refuses and GDAL cannot open it.
    assert _run_ogrinfo("-so", f"OAPIF:{root}", "parcels").returncode != 0
    wrong = _run_ogrinfo("-so", f"OAPIF:{root}", "parcels",
                         env={**basic, "GDAL_HTTP_USERPWD": f"someone-else:{token}"})
    assert wrong.returncode != 0 and "401" in wrong.stderr + wrong.stdout


QGIS_OAPIF = r"""
import json, os, sys
from qgis.core import (QgsApplication, QgsAuthMethodConfig, QgsMapRendererParallelJob, QgsMapSettings,
                       QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
root, user, token, png = sys.argv[1:5]
app = QgsApplication([], False)
app.initQgis()
bare = QgsVectorLayer(f"url='{root}' typename='parcels'", "p", "OAPIF")  # first: nothing cached yet
out = {"no_auth": [bare.isValid(), bare.featureCount() if bare.isValid() else -1]}
auth = QgsApplication.authManager()
auth.setMasterPassword("mujun-test", True)
config = QgsAuthMethodConfig("Basic")  # QGIS: 设置 → 选项 → 认证 → 添加 → Basic（用户名 + 令牌）
config.setName("mujun")
config.setConfig("username", user)
config.setConfig("password", token)
auth.storeAuthenticationConfig(config)
layers = []
for name in ("zone_parks", "parcels"):
    layer = QgsVectorLayer(f"url='{root}' typename='{name}' authcfg={config.id()}", name, "OAPIF")
    out[name] = {"valid": layer.isValid(), "count": layer.featureCount() if layer.isValid() else -1}
    layers.append(layer)
if all(l.isValid() for l in layers):
    settings = QgsMapSettings()
    settings.setLayers(list(reversed(layers)))
    settings.setDestinationCrs(layers[1].crs())
    settings.setExtent(layers[1].extent())
    settings.setOutputSize(QSize(900, 700))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    out["png"] = job.renderedImage().save(png, "png")
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 may crash tearing down Qt after its work is done
"""


def _system_pyqgis() -> bool:
    if shutil.which("python3", path="/usr/bin") is None:
        return False
    return subprocess.run(["/usr/bin/python3", "-c", "import qgis.core"], capture_output=True,
                          timeout=60).returncode == 0


@pytest.mark.skipif(not _system_pyqgis(), reason="Debian's QGIS (python3-qgis qgis-providers) not installed")
def test_qgis_reads_a_protected_collection_with_basic_auth(protected, tmp_path):
    """QGIS 3.22's own OAPIF provider, signed in as its auth manager does (a Basic config: user name + token),
    draws the protected parcels; without the config the layer does not open."""
    root, name, token = protected
    png = Path(__file__).parent / "artifacts" / "qgis_oapif_basic.png"
    png.parent.mkdir(exist_ok=True)
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path),
           "QGIS_AUTH_DB_DIR_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(["/usr/bin/python3", "-c", QGIS_OAPIF, root, name, token, str(png)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["parcels"] == {"valid": True, "count": 1800}
    assert got["zone_parks"]["valid"] and got["zone_parks"]["count"] > 0
    assert got["no_auth"] == [False, -1] and got["png"] is True and png.stat().st_size > 10_000
