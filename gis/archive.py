"""Zip archives checked before anything is unpacked: zipped shapefiles and XLSX workbooks are both zips.

A hostile or broken archive — an absolute or ``..`` path, a symbolic link, tens of thousands of entries, or a
bomb that inflates a few kilobytes into gigabytes — is refused with one error listing every problem, before
GDAL or openpyxl reads a byte of it. Every channel that reads files (``mujun evaluate``, ``mujun import``, the
API's uploads, the web pages' import) goes through :func:`check_zip`.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gis.errors import InputFileError


@dataclass(frozen=True)
class ArchiveLimits:
    """How large an archive may unpack: entries, total uncompressed bytes, and the inflation ratio per entry."""

    max_entries: int = 10_000
    max_unzipped_bytes: int = 2000 * 1024 * 1024
    max_ratio: float = 200.0


DEFAULT_LIMITS = ArchiveLimits()
_BIG_ENTRY = 1 << 20  # entries under 1 MiB are never a bomb, whatever their ratio (tiny XML compresses well)


class UnsafeArchiveError(InputFileError):
    """A zip archive refused before unpacking: unsafe paths or links, or bomb-like sizes."""


class NotAnArchiveError(InputFileError):
    """A file named as a zip archive that is not one (broken, truncated, or another format renamed)."""


def check_zip(
    path: str | Path | IO[bytes], limits: ArchiveLimits = DEFAULT_LIMITS, *, name: str | None = None
) -> None:
    """Refuse ``path`` unless it is a zip archive that is safe to unpack within ``limits``.

    Raises :class:`NotAnArchiveError` for a file that is not a zip, :class:`UnsafeArchiveError` naming every unsafe
    entry otherwise. Reads only the central directory, never the contents.

    Examples
    --------
    >>> import io, zipfile, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "bomb.zip")
    >>> with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
    ...     z.writestr("zeros.dbf", b"\\0" * (8 << 20))
    >>> try:
    ...     check_zip(p)
    ... except UnsafeArchiveError as exc:
    ...     print(exc.ids)
    ['zeros.dbf 压缩比 1,028:1，超过 200:1 (compression ratio too high)']
    """
    in_memory = hasattr(path, "read")
    label = name or ("upload.zip" if in_memory else Path(path).name)  # type: ignore[arg-type]
    try:
        with zipfile.ZipFile(path) as zf:  # a path or an open binary stream (an upload held in memory)
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        if Path(label).suffix.lower() in (".xlsx", ".xlsm"):
            raise NotAnArchiveError(
                "不是 Excel 工作簿（.xlsx 实为其他格式，可能是改了扩展名的 CSV）(not an xlsx workbook: a renamed CSV?)",
                path=label, hint="请用 Excel 另存为 .xlsx，或把 CSV 文件改回 .csv (re-save as .xlsx or rename to .csv)",
            ) from exc
        raise NotAnArchiveError(
            f"不是有效的 zip 文件 (not a valid zip archive: {exc})", path=label,
            hint="请确认文件完整、未被改名 (check that the file is complete and not renamed)",
        ) from exc
    problems: list[str] = []
    if len(infos) > limits.max_entries:
        problems.append(f"共 {len(infos)} 个文件，超过 {limits.max_entries} 个上限 (too many entries)")
    total = 0
    for info in infos:
        entry = info.filename.replace("\\", "/")
        if entry.startswith("/") or re.match(r"^[A-Za-z]:", entry) or ".." in entry.split("/"):
            problems.append(f"{info.filename} 路径不安全 (unsafe path)")
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(f"{info.filename} 是符号链接 (symbolic link)")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _BIG_ENTRY and ratio > limits.max_ratio:
            problems.append(
                f"{info.filename} 压缩比 {ratio:,.0f}:1，超过 {limits.max_ratio:g}:1 (compression ratio too high)"
            )
    if total > limits.max_unzipped_bytes:
        problems.append(
            f"解压后 {total / 1e6:,.0f} MB，超过 {limits.max_unzipped_bytes / 1e6:,.0f} MB 上限 (too large unpacked)"
        )
    if problems:
        raise UnsafeArchiveError(
            "压缩包不安全或过大，已拒绝 (unsafe or oversized zip archive refused)",
            path=label,
            ids=problems[:50],
            hint="请检查文件来源；确需上传时解压后分别上传 "
            "(check where the file came from; if it is genuine, upload it unpacked)",
        )


def is_zip_format(path: str | Path) -> bool:
    """True for the formats that are zip archives underneath (``.zip``, ``.xlsx``, ``.xlsm``)."""
    return Path(path).suffix.lower() in (".zip", ".xlsx", ".xlsm")
