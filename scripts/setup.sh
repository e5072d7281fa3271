#!/usr/bin/env bash
# Set up a fresh machine for mujun: Debian packages (SpatiaLite, PostGIS, GDAL tools, Chromium, CJK fonts, QGIS)
# and a Python virtual environment in .venv with mujun installed (editable) and its test tools.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# apt_install [apt-get options…] -- PACKAGE…: install the packages not installed yet
apt_install() {
  local opts=() missing=() p
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[setup] apt-get install ${opts[*]} ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${opts[@]}" "${missing[@]}"
}
apt_install -- libsqlite3-mod-spatialite postgresql-15-postgis-3 gdal-bin chromium fonts-noto-cjk
# Debian's QGIS 3.22 for the headless check that result.gpkg opens styled (tests/test_gpkg_style.py; the system
# python3 runs it, not .venv). Without recommends: about 100 MB to download, a minute to install.
apt_install --no-install-recommends -- python3-qgis qgis-providers

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.mujun-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] pip install mujun[dev]"
  .venv/bin/pip install -q -U pip setuptools wheel
  # xstatic-bootstrap is a source package whose setup.py needs pkg_resources (setuptools < 81) and its own
  # xstatic.pkg namespace: build its wheel in a throw-away venv, then install the wheel.
  if ! .venv/bin/python -c "import xstatic.pkg.bootstrap" 2>/dev/null; then
    tmp=$(mktemp -d)
    "$PY" -m venv "$tmp/venv"
    "$tmp/venv/bin/pip" install -q "setuptools<81" wheel
    "$tmp/venv/bin/pip" wheel -q --no-deps --no-build-isolation "xstatic-bootstrap>=5" -w "$tmp/wheels"
    .venv/bin/pip install -q "$tmp"/wheels/*.whl
    rm -rf "$tmp"
  fi
  .venv/bin/pip install -q -e ".[dev]"
  # the notebooks (and tests/test_notebooks.py) run on the kernel "python3" of this .venv
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mujun .venv)" >/dev/null
  touch "$stamp"
fi
echo "[setup] ready: $(.venv/bin/python --version)"
