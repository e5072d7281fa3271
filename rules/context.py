"""The evaluation context: everything the rule kinds share, computed once per run and only when needed.

Areas, industrial flags, zone memberships (one overlay per zone layer), the apportioning of land to
occupants and the enterprise per-mu figures are cached properties; a rule set that does not use a figure
never pays for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from gis import overlay
from gis.crs import M2_PER_MU

if TYPE_CHECKING:
    from rules.ruleset import RuleSet

_MODES = ["equal_split", "by_floor_area", "single"]  # how an occupant's land was apportioned


def _num(series: pd.Series | None, n: int) -> np.ndarray:
    if series is None:
        return np.full(n, np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _dates(series: pd.Series | None, n: int) -> np.ndarray:
    if series is None:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return pd.to_datetime(series, errors="coerce").to_numpy(dtype="datetime64[ns]")


_TRUE = {"true", "1", "yes", "y", "t", "是"}
_FALSE = {"false", "0", "no", "n", "f", "否"}


def _by_distinct(series: pd.Series, func, default):
    """Apply ``func`` to each distinct value once and spread the results (a column has few distinct codes)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques.tolist()] + [default], dtype=object)
    return mapped[codes]  # code -1 (empty cell) picks the default


def _bools(series: pd.Series | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(value, known) arrays; unknown where the cell is empty."""
    if series is None:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if pd.api.types.is_bool_dtype(series.dtype):
        known = series.notna().to_numpy()
        return series.fillna(False).to_numpy(dtype=bool), known
    word = _by_distinct(series, lambda v: str(v).strip().lower(), "")
    true = np.isin(word, list(_TRUE))
    return true, true | np.isin(word, list(_FALSE))


def _strip(value: object) -> str | None:
    text = str(value).strip()
    return text or None


def _arrow_text(series: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """The Arrow array behind an Arrow-backed text column, else None."""
    if not (isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow"):
        return None
    return pa.array(series.array)


_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())  # what str.strip() removes


def _shared_objects(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow text array as an object array (None = NA) holding one string object per distinct value."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    encoded = pc.dictionary_encode(arr)
    words = np.empty(len(encoded.dictionary) + 1, dtype=object)
    words[:-1] = encoded.dictionary.to_numpy(zero_copy_only=False)
    words[-1] = None
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return words[codes]


def _is_clean(arr: pa.Array | pa.ChunkedArray) -> bool:
    """No value has white space at either end (as Python's str.strip() sees it) and none is empty."""
    length = pc.binary_length(arr)
    shortest = pc.min(length).as_py()
    if shortest is None:  # every value is NA
        return True
    trimmed = pc.binary_length(pc.utf8_trim(arr, characters=_WHITESPACE))
    return shortest > 0 and bool(pc.all(pc.equal(trimmed, length)).as_py())


def _text(series: pd.Series | None, n: int) -> np.ndarray:
    if series is None:
        return np.full(n, None, dtype=object)
    arr = _arrow_text(series)
    if arr is not None and _is_clean(arr):
        # Text as the loader gives it (trimmed, empty cells as NA) needs no per-value stripping. One Python
        # string per distinct value, shared by its rows (a million rows of "built" are one object, not a million).
        return _shared_objects(arr)
    if series.nunique(dropna=True) <= 100_000:
        return _by_distinct(series, _strip, None)
    s = series.astype("string").str.strip()
    s = s.mask(s == "")
    return s.astype(object).where(s.notna(), None).to_numpy(dtype=object)


def _positions(values: pd.Series, keys: pd.Series, *, unique: bool = False) -> np.ndarray | None:
    """Row of each value among ``keys`` (-1 where absent), hashed in Arrow; None when keys repeat or a side is
    not Arrow-backed text (the caller then takes pandas' way). ``unique``: the keys are known to be unique."""
    v, k = _arrow_text(values), _arrow_text(keys)
    if v is None or k is None or (not unique and pc.count_distinct(k, mode="all").as_py() != len(k)):
        return None
    idx = pc.index_in(v, value_set=k.combine_chunks() if isinstance(k, pa.ChunkedArray) else k)
    return np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.intp)


@dataclass
class Context:
    """Inputs of one evaluation plus the figures derived from them."""

    parcels: gpd.GeoDataFrame
    ruleset: RuleSet
    as_of: pd.Timestamp
    zones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    enterprises: pd.DataFrame | None = None
    occupancy: pd.DataFrame | None = None
    land_supply: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.parcels = self.parcels.reset_index(drop=True)
        self.params = self.ruleset.parameters
        self.n = len(self.parcels)
        # What kinds already evaluated in this run provide to later ones, by name (KindSpec.provides/needs).
        self.provided: dict[str, Any] = {}

    def release(self) -> None:
        """Let go of the working state the rules shared (overlay pairs, the parcel index, text arrays, what the
        kinds provided each other) once every rule has run: at a million parcels that is several hundred MB that
        the result tables no longer need. Figures already computed (areas, zones, firms, occupants) stay."""
        for name in ("_pairs", "tree", "bounds", "_texts", "_occupant_firm_pos", "_firm_pos"):
            self.__dict__.pop(name, None)
        self.provided = {}

    def occupant_pairs(self) -> pd.DataFrame:
        """``(parcel_id, enterprise_id)`` per occupant, as :attr:`occupants` apportions them (for reports)."""
        occ = self.occupants
        return pd.DataFrame(
            {
                "parcel_id": self.ids[occ["parcel_idx"].to_numpy(dtype=np.intp)],
                "enterprise_id": occ["enterprise_id"].to_numpy(dtype=object),
            }
        )

    # ---- parcel columns -------------------------------------------------------------------------
    def column(self, name: str) -> pd.Series | None:
        """A parcel column, or ``None`` when the input does not have it (or has it all empty)."""
        if name not in self.parcels.columns:
            return None
        return self.parcels[name]

    def num(self, name: str) -> np.ndarray:
        """A numeric parcel column as float (NaN = unknown)."""
        return _num(self.column(name), self.n)

    def dates(self, name: str) -> np.ndarray:
        """A date parcel column as datetime64 (NaT = unknown)."""
        return _dates(self.column(name), self.n)

    def flag(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A boolean parcel column as ``(value, known)``."""
        return _bools(self.column(name), self.n)

    def text(self, name: str) -> np.ndarray:
        """A text parcel column as an object array (None = unknown), read once per run."""
        if name not in self._texts:
            self._texts[name] = _text(self.column(name), self.n)
        return self._texts[name]

    def text_series(self, name: str) -> pd.Series:
        """:meth:`text` as a pandas ``str`` column: the input column itself when it is already clean text."""
        series = self.column(name)
        values = self.text(name)
        if series is not None and _arrow_text(series) is not None and _is_clean(pa.array(series.array)):
            return series
        return pd.Series(values, dtype="str", index=self.parcels.index)

    @cached_property
    def _texts(self) -> dict[str, np.ndarray]:
        return {}

    @cached_property
    def ids(self) -> np.ndarray:
        """Parcel ids as strings."""
        return self.parcels["parcel_id"].astype(str).to_numpy(dtype=object)

    @cached_property
    def area_m2(self) -> np.ndarray:
        """Parcel areas in m² (working CRS is projected)."""
        return self.parcels.geometry.area.to_numpy()

    @cached_property
    def area_mu(self) -> np.ndarray:
        """Parcel areas in 亩."""
        return self.area_m2 / M2_PER_MU

    # ---- land use -------------------------------------------------------------------------------
    def is_industrial_code(self, codes: np.ndarray) -> np.ndarray:
        """True where a 用地分类 code is industrial under the rule set (False for empty codes)."""
        spec = self.params.industrial_land_use
        exact = {c.upper() for c in spec.exact}
        prefixes = tuple(p.upper() for p in spec.prefixes)

        def industrial(code: object) -> bool:
            text = str(code).strip().upper()
            return text in exact or (bool(prefixes) and text.startswith(prefixes))

        return _by_distinct(pd.Series(codes, dtype=object), industrial, False).astype(bool)

    @cached_property
    def land_use_known(self) -> np.ndarray:
        """Parcels whose land_use is given."""
        return pd.notna(self.text("land_use"))

    @cached_property
    def industrial(self) -> np.ndarray:
        """Parcels whose current land use is industrial."""
        return self.is_industrial_code(self.text("land_use"))

    @cached_property
    def planned_use(self) -> np.ndarray:
        """Proposed new land-use codes (None = no change proposed)."""
        return self.text("planned_use")

    @cached_property
    def planned_non_industrial(self) -> np.ndarray:
        """A change to a non-industrial use is proposed."""
        planned = self.planned_use
        given = pd.notna(planned)
        return given & ~self.is_industrial_code(planned)

    @cached_property
    def status(self) -> np.ndarray:
        """现状 as text (built / under_construction / vacant / None)."""
        return self.text("status")

    @cached_property
    def far(self) -> np.ndarray:
        """Floor-area ratio: counted floor area ÷ parcel area."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.area_m2 > 0, self.num("floor_area_m2") / self.area_m2, np.nan)

    # ---- zones ----------------------------------------------------------------------------------
    def layer(self, name: str) -> gpd.GeoDataFrame | None:
        """A zone layer, or None when not supplied."""
        gdf = self.zones.get(name)
        if gdf is None or len(gdf) == 0:
            return None
        return gdf

    @cached_property
    def tree(self) -> shapely.STRtree:
        """Spatial index of the parcels, built once per run and shared by every overlay."""
        return shapely.STRtree(self.parcels.geometry.to_numpy())

    @cached_property
    def bounds(self) -> np.ndarray:
        """Bounding boxes of the parcels (``shapely.bounds``), shared by every overlay."""
        return shapely.bounds(self.parcels.geometry.to_numpy())

    @cached_property
    def _pairs(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        return {}

    def pairs(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(parcel_idx, zone_idx, share)`` of layer ``name``, computed once per run (None: no layer)."""
        if name not in self._pairs:
            gdf = self.layer(name)
            self._pairs[name] = (
                None
                if gdf is None
                else overlay.overlay_pairs(self.parcels.geometry, gdf.geometry, tree=self.tree, bounds=self.bounds)
            )
        return self._pairs[name]

    def prefetch(self, names: Iterable[str]) -> None:
        """Overlay the layers ``names`` (those present and not yet done) side by side on the machine's cores.

        GEOS works outside the GIL and the layers are independent, so the overlays a run needs anyway are
        done at once: the same pairs, sooner. The parcel index and bounding boxes are built first, here.
        """
        todo = [n for n in dict.fromkeys(names) if n not in self._pairs and self.layer(n) is not None]
        workers = min(len(todo), os.cpu_count() or 1, 4)
        if workers < 2:
            return
        geoms, tree, bounds = self.parcels.geometry, self.tree, self.bounds
        tree.query(geoms.to_numpy()[:1])  # the index is complete before threads read it

        def pairs(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            layer = self.layer(name)
            assert layer is not None
            return overlay.overlay_pairs(geoms, layer.geometry, tree=tree, bounds=bounds)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for name, result in zip(todo, pool.map(pairs, todo), strict=True):
                self._pairs[name] = result

    def share(self, name: str) -> np.ndarray | None:
        """Share of each parcel's area inside zone layer ``name`` (None when the layer is missing)."""
        pairs = self.pairs(name)
        if pairs is None:
            return None
        p, _, s = pairs
        return np.minimum(np.bincount(p, weights=s, minlength=self.n), 1.0) if len(p) else np.zeros(self.n)

    def member(self, name: str) -> np.ndarray | None:
        """Parcels belonging to layer ``name`` (≥ membership share inside), None when the layer is missing."""
        s = self.share(name)
        return None if s is None else s >= self.params.membership_share

    def _best(self, name: str, id_col: str) -> tuple[np.ndarray, np.ndarray] | None:
        gdf = self.layer(name)
        pairs = self.pairs(name)
        if gdf is None or pairs is None:
            return None
        ids = (
            gdf[id_col].astype(str).to_numpy(dtype=object) if id_col in gdf.columns else np.arange(len(gdf)).astype(str)
        )
        best, share = overlay.best_of_pairs(*pairs, ids, self.n)
        best[share < self.params.membership_share] = None
        return best, share

    @cached_property
    def park_id(self) -> np.ndarray | None:
        """The park each parcel belongs to (None outside parks); None when there is no parks layer."""
        best = self._best("parks", "park_id")
        return None if best is None else best[0]

    @cached_property
    def park_names(self) -> dict[str, str]:
        """park_id → name."""
        gdf = self.layer("parks")
        if gdf is None or "park_id" not in gdf.columns:
            return {}
        names = gdf["name"] if "name" in gdf.columns else gdf["park_id"]
        return dict(zip(gdf["park_id"].astype(str), names.astype(str), strict=False))

    @cached_property
    def in_park(self) -> np.ndarray | None:
        """Parcels inside a park (None when there is no parks layer)."""
        return None if self.park_id is None else pd.notna(self.park_id)

    @cached_property
    def district(self) -> np.ndarray:
        """The district each parcel belongs to (None when unknown)."""
        best = self._best("districts", "name")
        return np.full(self.n, None, dtype=object) if best is None else best[0]

    @cached_property
    def inside_ring(self) -> np.ndarray | None:
        """Parcels inside 绕城高速 (None when there is no ring layer)."""
        return self.member("ring")

    def _zone_name(self, layer: str) -> np.ndarray:
        best = self._best(layer, "name")
        return np.full(self.n, None, dtype=object) if best is None else best[0]

    @cached_property
    def red_name(self) -> np.ndarray:
        """Name of the red-line zone each parcel is in."""
        return self._zone_name("red_line")

    @cached_property
    def blue_name(self) -> np.ndarray:
        """Name of the blue-line zone each parcel is in."""
        return self._zone_name("blue_line")

    @cached_property
    def in_red(self) -> np.ndarray | None:
        """Parcels in a red-line zone."""
        return self.member("red_line")

    @cached_property
    def in_blue(self) -> np.ndarray | None:
        """Parcels in a blue-line zone and not in a red one (red wins)."""
        blue = self.member("blue_line")
        if blue is None:
            return None
        red = self.in_red
        return blue & ~red if red is not None else blue

    @cached_property
    def zone_label(self) -> np.ndarray:
        """``red_line`` / ``blue_line`` / None for each parcel."""
        out = np.full(self.n, None, dtype=object)
        if self.in_blue is not None:
            out[self.in_blue] = "blue_line"
        if self.in_red is not None:
            out[self.in_red] = "red_line"
        return out

    # ---- occupants and enterprises -------------------------------------------------------------
    @cached_property
    def has_enterprises(self) -> bool:
        """Whether an enterprise table was supplied."""
        return self.enterprises is not None

    @cached_property
    def occupants(self) -> pd.DataFrame:
        """One row per (enterprise, parcel): ``enterprise_id, parcel_idx, land_m2, mode``.

        Land apportioned = parcel area × occupied floor area ÷ the parcel's floor area (vacant floor space
        goes to nobody); without the parcel's floor area the occupants' sum is the divisor; where no occupant
        gives a floor area the parcel is split equally (``mode = equal_split``).
        """
        frames = []
        covered = np.zeros(self.n, dtype=bool)
        if self.occupancy is not None and len(self.occupancy):
            occ = self.occupancy
            pos = _positions(occ["parcel_id"].astype(str), self.parcels["parcel_id"].astype(str))
            if pos is None:
                index = pd.Series(np.arange(self.n), index=pd.Index(self.ids))
                mapped = pd.Series(occ["parcel_id"].astype(str).to_numpy()).map(index)
                pos = mapped.fillna(-1).to_numpy(dtype=np.intp)
            keep = pos >= 0
            pidx = pos[keep]
            eid = occ["enterprise_id"].astype(str).iloc[np.flatnonzero(keep)].reset_index(drop=True)
            floor = _num(occ["floor_area_m2"] if "floor_area_m2" in occ.columns else None, len(occ))[keep]
            given = ~np.isnan(floor)
            any_given = np.bincount(pidx, weights=given.astype(float), minlength=self.n) > 0
            floor_sum = np.bincount(pidx, weights=np.nan_to_num(floor), minlength=self.n)
            count = np.bincount(pidx, minlength=self.n)
            parcel_floor = self.num("floor_area_m2")
            divisor = np.where(parcel_floor > 0, parcel_floor, floor_sum)[pidx]
            area = self.area_m2[pidx]
            with np.errstate(divide="ignore", invalid="ignore"):
                by_floor = area * np.nan_to_num(floor) / divisor
            equal = ~any_given[pidx]
            land = np.where(equal, area / count[pidx], np.nan_to_num(by_floor))
            mode = pd.Categorical.from_codes(
                np.where(equal, 0, np.where(count[pidx] > 1, 1, 2)).astype(np.int8), categories=_MODES
            )
            frames.append(pd.DataFrame({"enterprise_id": eid, "parcel_idx": pidx, "land_m2": land, "mode": mode}))
            covered[pidx] = True
        shortcut = self.text("enterprise_id")
        use = pd.notna(shortcut) & ~covered
        if use.any():
            idx = np.flatnonzero(use)
            frames.append(
                pd.DataFrame(
                    {
                        "enterprise_id": shortcut[idx],
                        "parcel_idx": idx,
                        "land_m2": self.area_m2[idx],
                        "mode": pd.Categorical.from_codes(np.full(len(idx), 2, dtype=np.int8), categories=_MODES),
                    }
                )
            )
        if not frames:
            return pd.DataFrame(
                {
                    "enterprise_id": pd.Series(dtype=object),
                    "parcel_idx": pd.Series(dtype=np.intp),
                    "land_m2": pd.Series(dtype=float),
                    "mode": pd.Series(dtype=object),
                }
            )
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def occupant_count(self) -> np.ndarray:
        """Number of occupants per parcel."""
        return np.bincount(self.occupants["parcel_idx"].to_numpy(dtype=np.intp), minlength=self.n)

    @cached_property
    def equal_split(self) -> np.ndarray:
        """Parcels whose land was split equally among occupants."""
        occ = self.occupants
        out = np.zeros(self.n, dtype=bool)
        out[occ["parcel_idx"].to_numpy(dtype=np.intp)[occ["mode"].to_numpy() == "equal_split"]] = True
        return out

    @cached_property
    def firms(self) -> pd.DataFrame:
        """Enterprises with their apportioned land, park membership and per-mu figures (index enterprise_id)."""
        if self.enterprises is None:
            return pd.DataFrame()
        ent = self.enterprises.copy()
        ent["enterprise_id"] = ent["enterprise_id"].astype(str)
        ent = ent.drop_duplicates("enterprise_id").set_index("enterprise_id")
        occ = self.occupants
        # Each occupant's row in the enterprise table (-1: unknown enterprise), found once; land sums are then
        # grouped by that integer (the same sums, in the same order, as grouping by the id text).
        pos = self._positions_in(ent.index)
        self._firm_pos = pos
        known = pos >= 0
        occ_land = occ["land_m2"].to_numpy(dtype=float)
        park_flag = (
            self.in_park[occ["parcel_idx"].to_numpy(dtype=np.intp)]
            if self.in_park is not None
            else np.zeros(len(occ), bool)
        )
        rows = np.arange(len(ent))
        land = pd.Series(occ_land[known]).groupby(pos[known]).sum()
        park_land = pd.Series((occ_land * park_flag)[known]).groupby(pos[known]).sum()
        ent["land_m2"] = land.reindex(rows).fillna(0.0).to_numpy()
        ent["park_land_m2"] = park_land.reindex(rows).fillna(0.0).to_numpy()
        ent["land_mu"] = ent["land_m2"] / M2_PER_MU
        for col in (
            "revenue_10k",
            "tax_10k",
            "value_added_10k",
            "energy_tce",
            "rd_expense_10k",
            "employees",
            "emission_eq",
        ):
            ent[col] = _num(ent[col] if col in ent.columns else None, len(ent))
        revenue = ent["revenue_10k"].to_numpy()
        if "above_scale" in ent.columns:
            above, known = _bools(ent["above_scale"], len(ent))
            derived = revenue >= self.params.above_scale_revenue_10k
            above = np.where(known, above, derived)
        else:
            above = revenue >= self.params.above_scale_revenue_10k
        ent["above_scale"] = above
        with np.errstate(divide="ignore", invalid="ignore"):
            ent["in_park"] = (ent["land_m2"] > 0) & (
                ent["park_land_m2"] / ent["land_m2"] >= self.params.membership_share
            )
            ent["revenue_per_mu_10k"] = np.where(ent["land_mu"] > 0, revenue / ent["land_mu"], np.nan)
            ent["tax_per_mu_10k"] = np.where(ent["land_mu"] > 0, ent["tax_10k"] / ent["land_mu"], np.nan)
        ent["in_scope"] = ent["above_scale"] & ent["in_park"]
        return ent

    def occupant_firm_column(self, name: str) -> np.ndarray:
        """A firms column aligned with :attr:`occupants` rows (NaN/None for unknown enterprises)."""
        firms = self.firms
        if firms.empty or name not in firms.columns:
            return np.full(len(self.occupants), np.nan)
        pos = self._occupant_firm_pos
        values = firms[name].to_numpy()
        if values.dtype.kind in "fc":
            out = np.full(len(pos), np.nan, dtype=values.dtype)
        else:
            values = values.astype(object)
            out = np.full(len(pos), None, dtype=object)
        ok = pos >= 0
        out[ok] = values[pos[ok]]
        return out

    def occupant_firm_flag(self, name: str) -> np.ndarray:
        """A yes/no firms column aligned with :attr:`occupants` rows (False for unknown enterprises or values)."""
        out = np.zeros(len(self.occupants), dtype=bool)
        firms = self.firms
        if firms.empty or name not in firms.columns:
            return out
        values = np.asarray(pd.Series(firms[name].to_numpy()).fillna(False), dtype=bool)
        pos = self._occupant_firm_pos
        ok = pos >= 0
        out[ok] = values[pos[ok]]
        return out

    def _positions_in(self, index: pd.Index) -> np.ndarray:
        """Row of each occupant's enterprise in ``index`` (enterprise ids, unique: duplicates were dropped)."""
        occ_ids = self.occupants["enterprise_id"]
        pos = _positions(occ_ids, pd.Series(index, copy=False), unique=True)
        return pos if pos is not None else index.get_indexer(occ_ids.to_numpy(dtype=object))

    @cached_property
    def _occupant_firm_pos(self) -> np.ndarray:
        """Row of each occupant's enterprise in :attr:`firms` (-1 for unknown enterprises)."""
        firms = self.firms
        pos = getattr(self, "_firm_pos", None)
        return pos if pos is not None else self._positions_in(firms.index)

    def parcel_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum occupant-row ``values`` per parcel (NaN if any contributing value is NaN)."""
        pidx = self.occupants["parcel_idx"].to_numpy(dtype=np.intp)
        vals = np.asarray(values, dtype=float)
        # float even when no parcel has an occupant (bincount of nothing gives integers)
        total = np.bincount(pidx, weights=np.nan_to_num(vals), minlength=self.n).astype(float)
        bad = np.bincount(pidx, weights=np.isnan(vals).astype(float), minlength=self.n) > 0
        total[bad] = np.nan
        return total

    def apportioned_per_mu(self, metric: str) -> np.ndarray:
        """Per-mu ``metric`` of each parcel, from all occupants: Σ metric × land share ÷ parcel 亩.

        Each enterprise's metric is split over its parcels in proportion to the land apportioned there.
        A parcel with no occupant has 0 when an enterprise table was given (its floor space earns nothing).
        """
        if not self.has_enterprises:
            return np.full(self.n, np.nan)
        occ_land = self.occupants["land_m2"].to_numpy(dtype=float)
        firm_land = self.occupant_firm_column("land_m2").astype(float)
        metric_v = self.occupant_firm_column(metric).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            part = np.where(firm_land > 0, metric_v * occ_land / firm_land, np.nan)
            return self.parcel_sum(part) / self.area_mu

    def in_scope_weighted(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Land-weighted mean of an enterprise per-mu ``column`` over each parcel's in-scope occupants.

        Returns ``(value, in_scope_land_m2)``; value is NaN where the parcel has no in-scope occupant or an
        in-scope occupant's figure is unknown.
        """
        land = self.occupants["land_m2"].to_numpy(dtype=float)
        scope = self.occupant_firm_flag("in_scope")
        vals = self.occupant_firm_column(column).astype(float)
        w = np.where(scope, land, 0.0)
        w_sum = self.parcel_sum(w)
        num = self.parcel_sum(np.where(scope, vals * land, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(w_sum > 0, num / w_sum, np.nan), w_sum

    def occupant_flags(self, values: Any) -> np.ndarray:
        """Per parcel: is ``values`` (one per occupant row) true for any occupant."""
        pidx = self.occupants["parcel_idx"].to_numpy(dtype=np.intp)
        v = np.asarray(values, dtype=bool)
        return np.bincount(pidx, weights=v.astype(float), minlength=self.n) > 0
