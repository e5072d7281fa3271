"""The notebooks run top to bottom with the .venv kernel (cwd = repo root) and write their outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
NOTEBOOKS = ROOT / "notebooks"

EXPECTED = {
    "01_quick_start": ["01_result.gpkg", "01_result.xlsx", "01_result.geojson", "01_result.csv", "01_map.html",
                       "01_map.png"],
    "02_per_mu_grading": ["02_per_mu_hist.png", "02_grades.png", "02_enterprise_grades.csv"],
    "03_zone_proposals": ["03_zone_proposal.gpkg", "03_zone_map.html"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_is_stored_without_outputs(name: str) -> None:
    doc = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in doc["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_and_writes_its_outputs(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MUJUN_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    # the kernel inherits this process's environment (MUJUN_NOTEBOOK_OUT) and runs in the repository root
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # raises CellExecutionError naming the cell on any error
    for out in EXPECTED[name]:
        path = tmp_path / out
        assert path.is_file() and path.stat().st_size > 0, f"{name} did not write {out}"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    _check_outputs(name, tmp_path)


def _check_outputs(name: str, out: Path) -> None:
    """The files open with the tools planners use (openpyxl for Excel, GDAL/pyogrio for QGIS)."""
    import openpyxl
    import pyogrio

    if name == "01_quick_start":
        assert "parcels" in {n for n, _ in pyogrio.list_layers(out / "01_result.gpkg")}
        wb = openpyxl.load_workbook(out / "01_result.xlsx", read_only=True)
        assert len(wb.sheetnames) >= 4
        assert (out / "01_map.png").read_bytes()[:4] == b"\x89PNG"
        assert "<script" in (out / "01_map.html").read_text(encoding="utf-8")
    elif name == "02_per_mu_grading":
        header = (out / "02_enterprise_grades.csv").read_bytes()[:40]
        assert header.startswith(b"\xef\xbb\xbf") and "企业编号".encode() in header
    else:
        layers = {n for n, _ in pyogrio.list_layers(out / "03_zone_proposal.gpkg")}
        assert {"red_line", "blue_line", "proposal_parcels"} <= layers
