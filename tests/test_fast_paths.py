"""The loader's fast paths give exactly what the general paths give.

Arrow parses CSV files and numbers, and valid Polygons skip the part-by-part flattening; each is checked here
against what pandas / the flattening path produce for the same input, including the awkward cases where the
fast path must step aside (quoted or repeated headers, signs, words such as "inf", 3-D and invalid shapes).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import shapely

from gis import _validate as v
from gis.io import _read_csv_arrow


def _pandas(text: str, sep: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,\n2,x\n",
        "a,b\r\n1,\"x\ny\"\r\n\r\n3,4\r\n",  # CRLF, a quoted newline, a blank line
        'a,b\n"1,5",x\n',  # a quoted separator
        "宗地编号,营业收入（万元）\nP1, 12.5 \n",  # Chinese header; spaces kept (cleaned later)
        "a,b\n",  # header only
        "a;b\n1;2\n",
    ],
)
def test_arrow_csv_equals_pandas(text: str) -> None:
    sep = ";" if ";" in text.split("\n")[0] else ","
    got = _read_csv_arrow(text, sep)
    assert got is not None
    pd.testing.assert_frame_equal(got, _pandas(text, sep))


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1\n",  # a short row: pandas pads it, Arrow refuses
        "a,a\n1,2\n",  # a repeated header: pandas renames it a.1
        "a,b,\n1,2,3\n",  # an empty header name: pandas calls it "Unnamed: 2"
        '"a",b\n1,2\n',  # a quoted header
        "",
    ],
)
def test_arrow_csv_steps_aside(text: str) -> None:
    assert _read_csv_arrow(text, ",") is None


def test_to_float_equals_pandas() -> None:
    cells = ["1", "1.", ".5", "+5", "1e5", "1E+05", "00012", "0", "0.0", "-0", "-3", "inf", "-inf", "Infinity",
             "NAN", "1e400", "12345678901234567890", "0.1", "53397.3", "1_000", "0x10", "5e", ".", "-", "٣", "x"]
    s = pd.Series(cells + [None], dtype="str")
    expected = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
    got = v.to_float(s).to_numpy()
    np.testing.assert_array_equal(got, expected)  # NaN where NaN, same value elsewhere
    # the sign of zero too ("-0" is the integer 0 to pandas; a message would print "-0.0" otherwise)
    assert np.array_equal(np.signbit(got), np.signbit(expected))


def test_to_float_many_digits_equals_pandas() -> None:
    rng = np.random.default_rng(0)
    digits = ["".join(map(str, rng.integers(0, 10, rng.integers(1, 20)))) for _ in range(5000)]
    cells = [d[: len(d) // 2] + "." + d[len(d) // 2:] if i % 3 else d for i, d in enumerate(digits)]
    s = pd.Series([c if c != "." else "0" for c in cells], dtype="str")
    np.testing.assert_array_equal(v.to_float(s).to_numpy(), pd.to_numeric(s).astype("float64").to_numpy())


def test_check_polygons_fast_path_equals_flattening() -> None:
    square = shapely.box(0, 0, 10, 10)
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])  # invalid: repaired into two triangles
    geoms = np.array([
        square,
        shapely.MultiPolygon([square, shapely.box(20, 0, 30, 10)]),
        shapely.force_3d(shapely.box(0, 0, 5, 5), 7.0),  # Z dropped
        bowtie,
        None,
        shapely.Point(0, 0),
    ], dtype=object)
    chk = v.check_polygons(geoms)
    assert chk.null.tolist() == [False, False, False, False, True, False]
    assert chk.wrong_type.tolist() == [False, False, False, False, False, True]
    assert chk.repaired.tolist() == [False, False, False, True, False, False]
    assert shapely.get_type_id(chk.geoms[:4]).tolist() == [6, 6, 6, 6]
    assert not shapely.has_z(chk.geoms[2])
    # the fast path (row 0) gives the very geometry the flattening gives: same WKB
    flattened = shapely.multipolygons(shapely.get_parts(shapely.get_parts(np.array([square]))))
    assert shapely.to_wkb(chk.geoms[0]) == shapely.to_wkb(flattened)
    assert shapely.area(chk.geoms[3]) == pytest.approx(50.0)  # two 10×5/2 triangles


def test_overlay_pairs_equal_brute_force() -> None:
    # 3000 random boxes against circles and a triangle: every parcel/zone share equals the plain
    # intersection area ÷ parcel area, whether the parcel is decided by one point (far from any outline)
    # or exactly (near one); no pair is missing or extra.
    from gis import overlay

    rng = np.random.default_rng(1)
    parcels = np.array([shapely.box(x, y, x + w, y + h) for (x, y), (w, h) in
                        zip(rng.uniform(0, 1000, (3000, 2)), rng.uniform(1, 30, (3000, 2)), strict=True)])
    zones = [shapely.Point(x, y).buffer(r, quad_segs=64) for x, y, r in
             zip(*rng.uniform(0, 1000, (2, 8)), rng.uniform(50, 300, 8), strict=True)]
    zones.append(shapely.Polygon([(0, 0), (1000, 1000), (1000, 0)]))
    p, z, s = overlay.overlay_pairs(parcels, zones)
    got = {(int(a), int(b)): float(c) for a, b, c in zip(p, z, s, strict=True)}
    expected = {}
    for j, zone in enumerate(zones):
        share = shapely.area(shapely.intersection(parcels, zone)) / shapely.area(parcels)
        expected.update({(int(i), j): float(share[i]) for i in np.flatnonzero(share > 0)})
    assert got.keys() == expected.keys()
    assert max(abs(got[k] - expected[k]) for k in got) < 1e-9
    assert 0 < sum(v == 1.0 for v in got.values()) < len(got)  # both whole and partial pairs occur


def test_contiguous_blocks_equal_brute_force() -> None:
    # Blocks are the connected components of "within 10 m": compare with all pairwise distances.
    from scipy.sparse.csgraph import connected_components

    from gis import overlay

    rng = np.random.default_rng(2)
    boxes = np.array([shapely.box(x, y, x + 20, y + 20) for x, y in rng.uniform(0, 600, (400, 2))])
    near = shapely.distance(boxes[:, None], boxes[None, :]) <= 10
    _, expected = connected_components(near, directed=False)
    got = overlay.contiguous_blocks(boxes, 10.0)
    assert 1 < len(set(got.tolist())) < len(boxes)
    # same partition (labels may be numbered differently)
    assert len({(a, b) for a, b in zip(got, expected, strict=True)}) == len(set(expected.tolist()))


def test_within_distance_equals_buffer_query() -> None:
    # The centre-point shortcut gives exactly what intersecting every parcel with the buffered zones gives.
    from gis import overlay

    rng = np.random.default_rng(3)
    parcels = np.array([shapely.box(x, y, x + w, y + h) for (x, y), (w, h) in
                        zip(rng.uniform(0, 2000, (5000, 2)), rng.uniform(1, 30, (5000, 2)), strict=True)])
    zones = [shapely.Point(x, y).buffer(r, quad_segs=64) for x, y, r in
             zip(*rng.uniform(0, 2000, (2, 12)), rng.uniform(20, 200, 12), strict=True)]
    grown = shapely.buffer(overlay.subdivide(zones)[0], 50.0, quad_segs=16)
    expected = np.zeros(len(parcels), dtype=bool)
    expected[shapely.STRtree(parcels).query(grown, predicate="intersects")[1]] = True
    got = overlay.within_distance(parcels, zones, 50.0)
    assert 0 < expected.sum() < len(parcels)
    np.testing.assert_array_equal(got, expected)


def test_boundary_boxes_cover_every_outline() -> None:
    # Points sampled densely along every ring (circles of many short edges, a long thin box with a hole)
    # all fall in some box, and no box is much larger than the step asked for.
    from gis.overlay import _boundary_boxes

    rng = np.random.default_rng(0)
    pieces = np.array([shapely.Point(x, y).buffer(r, quad_segs=32) for x, y, r in
                       zip(*rng.uniform(0, 1000, (2, 20)), rng.uniform(5, 300, 20), strict=True)]
                      + [shapely.box(0, 0, 1000, 3).difference(shapely.box(10, 1, 20, 2))])
    boxes = _boundary_boxes(pieces, 25.0)
    rings = shapely.get_rings(pieces)
    points = shapely.line_interpolate_point(np.repeat(rings, 400), np.tile(np.linspace(0, 1, 400), len(rings)),
                                            normalized=True)
    hit = np.zeros(len(points), dtype=bool)
    hit[shapely.STRtree(boxes).query(points, predicate="intersects")[0]] = True
    assert hit.all()
    b = shapely.bounds(boxes)
    assert np.fmax(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]).max() < 2 * 25.0
    assert len(boxes) < shapely.get_num_coordinates(rings).sum() / 2  # runs of short edges share a box


def test_subdivide_remembers_layers_by_content() -> None:
    from gis.overlay import subdivide

    a, b = shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)
    _, owner1 = subdivide(np.array([a, None, b], dtype=object))
    _, owner2 = subdivide(np.array([a, b, None], dtype=object))
    assert sorted(owner1.tolist()) == [0, 2] and sorted(owner2.tolist()) == [0, 1]
