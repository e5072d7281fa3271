#!/usr/bin/env bash
# Set up this machine (scripts/setup.sh) and run the main job on the embedded default:
# the sample parcels in data/sample_parcels/ → compliance results, an Excel report, a compliance map and an A3
# print map in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
D=data/sample_parcels
OUT=${MUJUN_OUT:-out}
AS_OF=${MUJUN_AS_OF:-2025-06-30}
mkdir -p "$OUT"
.venv/bin/mujun evaluate --parcels $D/parcels.gpkg --enterprises $D/enterprises.csv --occupancy $D/occupancy.csv \
  --zones $D/zones.gpkg --land-supply $D/land_supply.csv --as-of "$AS_OF" \
  --out "$OUT/result.gpkg" --out "$OUT/result.xlsx" --out "$OUT/result.json" --out "$OUT/result.geojson" \
  --out "$OUT/result.csv"
.venv/bin/mujun map "$OUT/result.gpkg" --out "$OUT/map.html"
.venv/bin/mujun map "$OUT/result.gpkg" --out "$OUT/map.pdf" --paper A3 --landscape --title "成都市工业用地合规评估图（示例数据）"
echo
echo "结果 (results) in $OUT/: result.gpkg (QGIS), result.xlsx (Excel/WPS), result.json, result.geojson, result.csv, map.html, map.pdf (A3 打印地图)"
