"""Text files of unknown encoding, as planners' PCs save them: UTF-8 (with or without BOM), UTF-16, GBK."""

from __future__ import annotations

import codecs
from pathlib import Path

from gis.errors import InputFileError


def decode_text_file(p: Path) -> tuple[str, str]:
    """Text of a CSV or a 界址点 file and the encoding used: UTF-8 (with or without BOM), UTF-16 with BOM, or
    GB18030/GBK."""
    return decode_text(p.read_bytes(), p.name)


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """:func:`decode_text_file` for bytes in memory (an upload); ``name`` names the file in the error."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as e:
        raise InputFileError(
            f"无法识别文件编码（不是 UTF-8 也不是 GBK）(unknown text encoding at byte {e.start})",
            path=name,
            hint="请另存为 UTF-8 编码的 CSV (save as CSV UTF-8)") from e
