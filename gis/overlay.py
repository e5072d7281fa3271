"""Vectorised overlays of parcels with zone layers: area shares, best-matching zone, contiguous blocks.

One STRtree per call, queried with whole arrays; no per-parcel Python loops. Geometries must be in the
same projected CRS (the working CRS, EPSG:4544) so that areas are in square metres.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "overlay_pairs",
    "area_share",
    "best_zone",
    "best_of_pairs",
    "within_distance",
    "contiguous_blocks",
    "block_sums",
    "group_any",
]


def _geoms(values) -> np.ndarray:
    return np.asarray(getattr(values, "values", values), dtype=object)


_SUBDIVIDED: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}
_SUBDIVIDED_LOCK = threading.Lock()


def subdivide(zones, max_vertices: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_subdivide`, remembered for the last few zone layers (one evaluation asks for a layer's pieces
    in several rules; the key is the layer's WKB, so equal layers share pieces and changed ones never do)."""
    zg = _geoms(zones)
    digest = hashlib.sha1()
    for wkb in shapely.to_wkb(zg).tolist():  # one per zone (a layer has few), position by position
        digest.update(b"-" if wkb is None else len(wkb).to_bytes(8, "little") + wkb)
    key = (max_vertices, digest.hexdigest())
    with _SUBDIVIDED_LOCK:
        known = _SUBDIVIDED.get(key)
    if known is None:
        known = _subdivide(zg, max_vertices)
        with _SUBDIVIDED_LOCK:
            if len(_SUBDIVIDED) >= 16:
                _SUBDIVIDED.pop(next(iter(_SUBDIVIDED)))
            _SUBDIVIDED[key] = known
    pieces, owner = known
    return pieces.copy(), owner.copy()


def _subdivide(zones, max_vertices: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Cut zones into small pieces: ``(pieces, owner)`` with ``owner[i]`` the index of piece i's zone.

    Multi-part zones are exploded and any part with more than ``max_vertices`` vertices is halved along
    its longer side until it is small (as PostGIS's ST_Subdivide does). Pieces of one zone do not overlap,
    so areas add up; intersecting a parcel with a small piece is cheap where intersecting it with a park
    outline of thousands of vertices is not. The loop runs over zone pieces (a few hundred), never parcels.

    Examples
    --------
    >>> import shapely
    >>> ring = shapely.Point(0, 0).buffer(100, quad_segs=256)
    >>> pieces, owner = subdivide([ring], max_vertices=64)
    >>> len(pieces) > 4, round(float(shapely.area(pieces).sum() / ring.area), 6), set(owner.tolist())
    (True, 1.0, {0})
    """
    parts, owner = shapely.get_parts(_geoms(zones), return_index=True)
    done_parts, done_owner = [], []
    while len(parts):
        big = shapely.get_num_coordinates(parts) > max_vertices
        done_parts.append(parts[~big])
        done_owner.append(owner[~big])
        parts, owner = parts[big], owner[big]
        if not len(parts):
            break
        x0, y0, x1, y1 = shapely.bounds(parts).T
        wide = (x1 - x0) >= (y1 - y0)
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        first = shapely.box(x0, y0, np.where(wide, xm, x1), np.where(wide, y1, ym))
        second = shapely.box(np.where(wide, xm, x0), np.where(wide, y0, ym), x1, y1)
        halves = np.concatenate([shapely.intersection(parts, first), shapely.intersection(parts, second)])
        halves_owner = np.concatenate([owner, owner])
        parts, idx = shapely.get_parts(halves, return_index=True)
        owner = halves_owner[idx]
        keep = shapely.get_type_id(parts) == 3  # polygons only: cuts may leave lines and points on the seam
        parts, owner = parts[keep], owner[keep]
    return np.concatenate(done_parts), np.concatenate(done_owner)


def _boundary_boxes(pieces: np.ndarray, step: float) -> np.ndarray:
    """Small boxes that together cover every ring of ``pieces``, each about ``step`` across.

    Long edges are cut into lengths of about ``step``; runs of short edges are gathered until they span
    about ``step`` of the ring. A parcel whose bounding box meets none of the boxes lies wholly inside or
    wholly outside each piece. The boxes are widened by a hair (far above floating-point error, far below a
    millimetre) so that the cut points, computed in floating point, can never leave a sliver of an edge out.
    """
    rings = shapely.get_rings(pieces)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b = coords[:-1][same], coords[1:][same]
    if len(a) == 0:
        return np.empty(0, dtype=object)
    length = np.hypot(*(b - a).T)
    cuts = np.maximum(np.ceil(length / step), 1).astype(np.intp)
    edge = np.repeat(np.arange(len(a)), cuts)
    k = np.arange(len(edge)) - np.repeat(np.cumsum(cuts) - cuts, cuts)
    t0, t1 = (k / cuts[edge])[:, None], ((k + 1) / cuts[edge])[:, None]
    p0 = a[edge] + (b[edge] - a[edge]) * t0
    p1 = a[edge] + (b[edge] - a[edge]) * t1
    lo, hi = np.minimum(p0, p1), np.maximum(p0, p1)
    # Gather consecutive pieces of one ring into runs of about ``step`` of its length: one box per run.
    seg_ring = ring[:-1][same][edge]
    run_length = np.cumsum(length[edge] / cuts[edge])
    ring_start = np.r_[True, seg_ring[1:] != seg_ring[:-1]]
    start_length = np.maximum.accumulate(np.where(ring_start, run_length - length[edge] / cuts[edge], 0.0))
    run = np.floor((run_length - length[edge] / cuts[edge] - start_length) / step).astype(np.int64)
    first = np.flatnonzero(ring_start | np.r_[True, run[1:] != run[:-1]])
    lo, hi = np.minimum.reduceat(lo, first, axis=0), np.maximum.reduceat(hi, first, axis=0)
    eps = 1e-9 * (1.0 + np.abs(np.concatenate([lo, hi], axis=1)).max(axis=1))[:, None]
    return shapely.box(*(lo - eps).T, *(hi + eps).T)


def overlay_pairs(
    parcels, zones, tree: shapely.STRtree | None = None, bounds: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(parcel_idx, zone_idx, share)`` for every parcel/zone pair that overlap.

    ``share`` is the fraction of the parcel's area inside that zone. Zones are first cut into small
    pieces (:func:`subdivide`). A parcel whose bounding box meets no piece's outline lies wholly inside or
    wholly outside each piece, so one point decides (share 1 or no pair); only the parcels near an outline
    are tested exactly: pieces that cover them cost no intersection (a prepared-geometry predicate), the
    parcels that cross an outline are intersected. Pass ``tree`` (an STRtree of ``parcels``) and ``bounds``
    (``shapely.bounds`` of them) to share them across layers.

    Examples
    --------
    >>> import shapely
    >>> p = [shapely.box(0, 0, 10, 10)]
    >>> z = [shapely.box(5, 0, 20, 10)]
    >>> overlay_pairs(p, z)[2].tolist()
    [0.5]
    """
    pg = _geoms(parcels)
    zg = _geoms(zones)
    empty = (np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp), np.empty(0, dtype=float))
    if len(pg) == 0 or len(zg) == 0:
        return empty
    pieces, owner = subdivide(zg)
    shapely.prepare(pieces)
    # One bounding-box query of every piece against the parcels' index; then split the candidate pairs.
    tree = tree or shapely.STRtree(pg)
    z_c, p_c = tree.query(pieces)
    bounds = shapely.bounds(pg) if bounds is None else bounds
    extent = np.fmax(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    step = float(np.nanmedian(extent)) if np.isfinite(extent).any() else 1.0
    outline = _boundary_boxes(pieces, max(2.0 * step, 1e-6))
    near = np.zeros(len(pg), dtype=bool)
    if len(outline):
        near[tree.query(outline)[1]] = True  # the few outline boxes against the parcels' index
    # Away from every outline the parcel's bounding box is all inside a piece or all outside it: its centre
    # tells which (it cannot lie on an outline).
    far = ~near[p_c]
    zf, pf = z_c[far], p_c[far]
    inside = shapely.contains_xy(
        pieces[zf], (bounds[pf, 0] + bounds[pf, 2]) / 2, (bounds[pf, 1] + bounds[pf, 3]) / 2
    )
    z_c, p_c = z_c[~far], p_c[~far]
    covered = shapely.covers(pieces[z_c], pg[p_c])
    edge = ~covered
    edge[edge] = shapely.intersects(pieces[z_c[edge]], pg[p_c[edge]])
    pe, ze = p_c[edge], z_c[edge]
    parcel_area = shapely.area(pg[pe])
    inter = shapely.area(shapely.intersection(pg[pe], pieces[ze]))
    with np.errstate(divide="ignore", invalid="ignore"):
        share_edge = np.where(parcel_area > 0, inter / parcel_area, 0.0)
    keep = share_edge > 0
    p_all = np.concatenate([pf[inside], p_c[covered], pe[keep]]).astype(np.int64)
    z_all = owner[np.concatenate([zf[inside], z_c[covered], ze[keep]])].astype(np.int64)
    s_all = np.concatenate([np.ones(int(inside.sum()) + int(covered.sum())), share_edge[keep]])
    # Sum the pieces of each zone back into one (parcel, zone) pair.
    keys, inverse = np.unique(p_all * len(zg) + z_all, return_inverse=True)
    shares = np.bincount(inverse, weights=s_all, minlength=len(keys))
    return (keys // len(zg)).astype(np.intp), (keys % len(zg)).astype(np.intp), np.minimum(shares, 1.0)


def area_share(
    parcels, zones, tree: shapely.STRtree | None = None, bounds: np.ndarray | None = None
) -> np.ndarray:
    """Share (0–1) of each parcel's area that lies inside any of ``zones``.

    Zones of one layer are assumed not to overlap each other; where they do, the share is capped at 1.

    Examples
    --------
    >>> import shapely
    >>> area_share([shapely.box(0, 0, 10, 10)], [shapely.box(0, 0, 10, 2.5)]).tolist()
    [0.25]
    """
    n = len(parcels)
    p, _, s = overlay_pairs(parcels, zones, tree=tree, bounds=bounds)
    total = np.bincount(p, weights=s, minlength=n) if len(p) else np.zeros(n)
    return np.minimum(total, 1.0)


def best_zone(parcels, zones, zone_ids) -> tuple[np.ndarray, np.ndarray]:
    """For each parcel, the id of the zone holding the largest share of it, and that share.

    Parcels touching no zone get ``None`` and share 0.

    Examples
    --------
    >>> import shapely
    >>> ids, shares = best_zone([shapely.box(0, 0, 10, 10)],
    ...                         [shapely.box(0, 0, 3, 10), shapely.box(3, 0, 10, 10)], ["a", "b"])
    >>> ids.tolist(), shares.round(2).tolist()
    (['b'], [0.7])
    """
    return best_of_pairs(*overlay_pairs(parcels, zones), zone_ids, len(parcels))


def best_of_pairs(p: np.ndarray, z: np.ndarray, s: np.ndarray, zone_ids, n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`best_zone` from pairs already computed by :func:`overlay_pairs`."""
    ids = np.full(n, None, dtype=object)
    best = np.zeros(n)
    if len(p):
        order = np.lexsort((-s, p))  # by parcel, largest share first
        p, z, s = p[order], z[order], s[order]
        first = np.r_[True, p[1:] != p[:-1]]
        zone_ids = np.asarray(zone_ids, dtype=object)
        ids[p[first]] = zone_ids[z[first]]
        best[p[first]] = s[first]
    return ids, best


def within_distance(parcels, zones, distance: float, tree: shapely.STRtree | None = None) -> np.ndarray:
    """Boolean array: is each parcel within ``distance`` metres of any of ``zones``.

    The zones (few) are buffered once and intersected with the parcels through the index, which is an
    order of magnitude faster than a distance query per parcel; round joins make it exact up to the
    buffer's arc approximation (well under a metre at 50 m).
    """
    pg = _geoms(parcels)
    out = np.zeros(len(pg), dtype=bool)
    zg = _geoms(zones)
    if len(pg) == 0 or len(zg) == 0:
        return out
    grown = shapely.get_parts(shapely.buffer(subdivide(zg)[0], distance, quad_segs=16))
    tree = tree or shapely.STRtree(pg)
    z_c, p_c = tree.query(grown)
    # As in overlay_pairs: a parcel whose bounding box meets no grown outline is wholly inside or wholly
    # outside each grown piece, so its centre decides; only parcels near an outline are tested exactly.
    bounds = shapely.bounds(pg)
    extent = np.fmax(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    step = float(np.nanmedian(extent)) if np.isfinite(extent).any() else 1.0
    outline = _boundary_boxes(grown, max(2.0 * step, 1e-6))
    near = np.zeros(len(pg), dtype=bool)
    if len(outline):
        near[tree.query(outline)[1]] = True
    shapely.prepare(grown)
    far = ~near[p_c]
    zf, pf = z_c[far], p_c[far]
    inside = shapely.contains_xy(grown[zf], (bounds[pf, 0] + bounds[pf, 2]) / 2, (bounds[pf, 1] + bounds[pf, 3]) / 2)
    out[pf[inside]] = True
    zn, pn = z_c[~far], p_c[~far]
    todo = ~out[pn]  # parcels already found near a park need no further test
    hit = shapely.intersects(grown[zn[todo]], pg[pn[todo]])
    out[pn[todo][hit]] = True
    return out


def contiguous_blocks(parcels, gap: float) -> np.ndarray:
    """Label parcels chained by gaps of at most ``gap`` metres with the same block number (0, 1, …).

    Examples
    --------
    >>> import shapely
    >>> boxes = [shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10), shapely.box(100, 0, 110, 10)]
    >>> contiguous_blocks(boxes, gap=10).tolist()
    [0, 0, 1]
    """
    pg = _geoms(parcels)
    n = len(pg)
    if n == 0:
        return np.empty(0, dtype=np.intp)
    # Candidate pairs by bounding boxes grown by the gap, each unordered pair once; then the exact distance.
    b = shapely.bounds(pg)
    grown = shapely.box(b[:, 0] - gap, b[:, 1] - gap, b[:, 2] + gap, b[:, 3] + gap)
    a, c = shapely.STRtree(pg).query(grown)
    once = a < c
    a, c = a[once], c[once]
    near = shapely.dwithin(pg[a], pg[c], gap)
    graph = coo_matrix((np.ones(int(near.sum()), dtype=np.int8), (a[near], c[near])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def block_sums(labels: np.ndarray, values) -> np.ndarray:
    """Per-parcel total of ``values`` over the parcel's block (as labelled by :func:`contiguous_blocks`)."""
    vals = np.asarray(values, dtype=float)
    if len(labels) == 0:
        return np.empty(0)
    sums = np.bincount(labels, weights=vals)
    return sums[labels]


def group_any(labels: np.ndarray, flags) -> np.ndarray:
    """Per-parcel: is ``flags`` true for any parcel of the same block."""
    f = np.asarray(flags, dtype=bool)
    if len(labels) == 0:
        return np.empty(0, dtype=bool)
    return np.bincount(labels, weights=f.astype(float))[labels] > 0
