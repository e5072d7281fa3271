"""Importing the library has no side effects, so pytest can collect every module's doctests (pyproject.toml).

Each module of ``gis``, ``rules`` and ``api`` (Alembic's migration scripts aside) is imported in a fresh
interpreter, in an empty working directory with ``MUJUN_DATA_DIR`` pointing at a folder that does not exist yet.
Afterwards there must be no FastAPI app, no SQLAlchemy engine, no thread besides the main one, and no file
written anywhere under the working directory (the default SpatiaLite store would be ``<data dir>/mujun.sqlite``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_PROBE = """
import gc, importlib, json, pkgutil, threading
from fastapi import FastAPI
from sqlalchemy.engine import Engine
import api, gis, rules

names = []
for pkg in (gis, rules, api):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if info.name.startswith("api.migrations"):
            continue  # Alembic's env.py runs only inside Alembic (conftest.py leaves it out of the doctests too)
        importlib.import_module(info.name)
        names.append(info.name)
objects = gc.get_objects()
print(json.dumps({
    "modules": names,
    "apps": sum(isinstance(o, FastAPI) for o in objects),
    "engines": sum(isinstance(o, Engine) for o in objects),
    "threads": [t.name for t in threading.enumerate()],
}))
"""


def test_importing_every_module_builds_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "MUJUN_DATA_DIR": str(tmp_path / "store"), "PYTHONPATH": str(REPO)}
    env.pop("MUJUN_DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    # the walk reached the modules that build things when called: the app factory, the store, the CLI, the pages
    built_on_call = {"api.app", "api.store.engine", "api.cli", "api.web.pages", "gis.maps", "rules.engine"}
    assert built_on_call <= set(got["modules"])
    assert (got["apps"], got["engines"], got["threads"]) == (0, 0, ["MainThread"])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == []
