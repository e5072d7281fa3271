"""Regenerate the committed sample files in this folder: ``python data/sample_parcels/generate.py``."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run from anywhere, even without `pip install -e .`

from gis.sample_data import SAMPLE_SEED, write_sample  # noqa: E402


def main() -> None:
    """Write the sample set next to this script and list the files with their sizes."""
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_SEED
    for path in write_sample(HERE, seed=seed):
        print(f"{path.name:24s} {path.stat().st_size:>10,d} bytes")


if __name__ == "__main__":
    main()
