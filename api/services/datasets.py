"""Datasets, the one way in: stage uploaded files safely, validate them, import all-or-nothing, clean up.

``POST /datasets``, the web import pages and ``mujun import`` all come here; none repeats a step. Uploads are
staged under ``<data_dir>/staging/<token>/<kind>/`` with safe names; a shapefile may arrive as its parts; every
zip (a zipped shapefile, an XLSX workbook) is checked by ``gis.archive.check_zip`` with the configured limits
before anything reads it. Validation is ``gis.io.load_inputs``; de-duplication happens after validation, so a
file that fails is never "already imported". Staging folders are removed after the import and by :func:`sweep`
(on server start, and for folders older than a day).
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from api.store.errors import ImportRejected
from gis.archive import ArchiveLimits, check_zip, is_zip_format
from gis.vocabulary import INPUT_KIND_LABELS as KIND_LABELS
from gis.vocabulary import INPUT_KINDS

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
STAGING_MAX_AGE_S = 24 * 3600
_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w.\-\u4e00-\u9fff]")
_TOKEN = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Incoming:
    """One uploaded file: the input kind it is for, the name the user gave it, and a readable binary stream."""

    kind: str
    filename: str
    stream: IO[bytes]


@dataclass
class Staging:
    """Files staged for one import: a token, its folder, and per input kind the path to read and its name."""

    token: str
    folder: Path
    paths: dict[str, Path] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


def limits_of(settings: Any) -> ArchiveLimits:
    """The archive limits configured in the API settings (``MUJUN_MAX_UNZIPPED_MB`` …)."""
    return ArchiveLimits(
        max_entries=int(settings.max_zip_entries),
        max_unzipped_bytes=int(settings.max_unzipped_mb * 1024 * 1024),
        max_ratio=float(settings.max_zip_ratio),
    )


def safe_name(filename: str | None, kind: str) -> str:
    """The base name of an uploaded file with anything odd replaced: never a path, never hidden, never empty.

    Examples
    --------
    >>> safe_name("../../etc/passwd", "parcels"), safe_name("C:\\\\x\\\\宗地 2024.gpkg", "parcels")
    ('passwd', '宗地_2024.gpkg')
    >>> safe_name("", "zones"), safe_name("...", "zones")
    ('zones.bin', 'zones.bin')
    """
    base = Path((filename or "").replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).lstrip(".")
    return base[-120:] or f"{kind}.bin"


def staging_root(data_dir: str | Path) -> Path:
    """Where staged uploads live."""
    return Path(data_dir) / "staging"


def stage(data_dir: str | Path, files: Iterable[Incoming], limits: ArchiveLimits) -> Staging:
    """Save uploads into a new staging folder and check them; on any problem nothing is left behind.

    Raises :class:`ImportRejected` for an unknown kind, a missing parcels file or several files for one kind
    that are not the parts of one shapefile; ``gis`` errors for unsafe archives.
    """
    sweep(data_dir)  # what a closed browser or a killed server left behind
    token = uuid.uuid4().hex
    folder = staging_root(data_dir) / token
    folder.mkdir(parents=True)
    try:
        by_kind: dict[str, list[Path]] = {}
        for item in files:
            if item.kind not in INPUT_KINDS:
                raise ImportRejected(f"未知的文件类别 {item.kind} (unknown input kind)",
                                     details=[{"field": item.kind, "allowed": list(INPUT_KINDS)}],
                                     code="invalid_upload")
            sub = folder / item.kind
            sub.mkdir(exist_ok=True)
            target = sub / safe_name(item.filename, item.kind)
            with target.open("wb") as fh:
                shutil.copyfileobj(item.stream, fh, _CHUNK)
            by_kind.setdefault(item.kind, []).append(target)
        if "parcels" not in by_kind:
            raise ImportRejected("必须上传宗地图层 (the parcels file is required)",
                                 details=[{"field": "parcels"}], code="missing_file")
        staging = Staging(token, folder)
        for kind, saved in by_kind.items():
            staging.paths[kind] = _one_layer(kind, saved)
            staging.names[kind] = staging.paths[kind].name
            for path in saved:
                if is_zip_format(path):
                    check_zip(path, limits, name=path.name)
        return staging
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _one_layer(kind: str, saved: list[Path]) -> Path:
    """The file to read for one kind: the only file, or the .shp of one shapefile's parts."""
    if len(saved) == 1:
        return saved[0]
    shp = [p for p in saved if p.suffix.lower() == ".shp"]
    odd = [p.name for p in saved if p.suffix.lower() not in SHAPEFILE_PARTS]
    if len(shp) != 1 or odd:
        raise ImportRejected(
            f"{KIND_LABELS[kind]}上传了多个文件：仅允许同一 Shapefile 的组成文件 (.shp/.shx/.dbf/.prj/.cpg) "
            f"(several files for {kind}: only the parts of one shapefile are allowed)",
            details=[{"field": kind, "files": [p.name for p in saved]}], code="invalid_upload")
    return shp[0]


def staged(data_dir: str | Path, token: str) -> Staging:
    """The staging folder of ``token`` (``KeyError`` when unknown, malformed or already used)."""
    if not _TOKEN.fullmatch(token or ""):
        raise KeyError(token)
    folder = staging_root(data_dir) / token
    if not folder.is_dir():
        raise KeyError(token)
    staging = Staging(token, folder)
    for kind in INPUT_KINDS:
        found = sorted((folder / kind).glob("*")) if (folder / kind).is_dir() else []
        if found:
            staging.paths[kind] = _one_layer(kind, found)
            staging.names[kind] = staging.paths[kind].name
    return staging


def validate(paths: Mapping[str, Path | str], crs: str | None = None, name: str | None = None) -> Any:
    """Read and check the files with ``gis.io.load_inputs`` (raises ``GisError`` listing every problem), then
    what the store can hold (``ImportRejected`` for a value or dataset name longer than its column)."""
    from api.store.limits import check_text_lengths
    from gis.io import load_inputs

    inputs = load_inputs(crs=crs or None, **{k: str(v) for k, v in paths.items()})
    check_text_lengths(inputs, name or "")
    return inputs


def import_staged(
    engine: Engine, staging: Staging, *, name: str | None, crs: str | None, actor: str | None,
    display_names: Mapping[str, str] | None = None,
) -> Any:
    """Validate and store the staged files as one dataset (or find the same one), then drop the folder."""
    try:
        return import_paths(engine, staging.paths, name=name, crs=crs, actor=actor,
                            display_names=display_names or staging.names)
    finally:
        discard(staging)


def import_paths(
    engine: Engine, paths: Mapping[str, Path | str], *, name: str | None = None, crs: str | None = None,
    actor: str | None = None, display_names: Mapping[str, str] | None = None,
    limits: ArchiveLimits | None = None,
) -> Any:
    """Validate files on disk and store them as one dataset (``mujun import`` and the staged imports)."""
    from api.store.importer import import_files

    clean = {k: Path(v) for k, v in paths.items() if v is not None}
    if limits is not None:
        for path in clean.values():
            if is_zip_format(path):
                check_zip(path, limits)
    return import_files(engine, crs=crs or None, name=name or None, actor=actor,
                        display_names=dict(display_names or {}) or None, **clean)


def discard(staging: Staging) -> None:
    """Remove a staging folder (after the import, or when the user gives up)."""
    shutil.rmtree(staging.folder, ignore_errors=True)


def sweep(data_dir: str | Path, max_age_s: float = STAGING_MAX_AGE_S, *, now: float | None = None) -> int:
    """Remove staging folders older than ``max_age_s`` (left by a closed browser or a killed server)."""
    root = staging_root(data_dir)
    if not root.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - max_age_s
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and _TOKEN.fullmatch(folder.name) and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
