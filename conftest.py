"""Doctest settings for ``pytest`` (the tests' fixtures are in ``tests/conftest.py``).

The doctests of ``gis``, ``rules``, ``api`` and ``data/sample_parcels`` run from the repository root, so that an
example reads the committed sample as ``data/sample_parcels/…``, as a planner at the repository root would.
Alembic's migration scripts only run inside Alembic: they are not collected.
"""

from __future__ import annotations

import pytest
from _pytest.doctest import DoctestItem

collect_ignore = ["api/migrations"]


@pytest.fixture(autouse=True)
def _doctests_at_repository_root(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if isinstance(request.node, DoctestItem):
        monkeypatch.chdir(request.config.rootpath)
