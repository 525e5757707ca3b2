#!/usr/bin/env bash
# Copy the front-end assets installed from the npm registry into var/vendor, where Django's
# static files finder serves them. Government intranets are offline: no page loads from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@tabler/core ] || npm ci --no-audit --no-fund --loglevel=error
out=var/vendor
mkdir -p "$out/tabler" "$out/htmx" "$out/echarts"
cp node_modules/@tabler/core/dist/css/tabler.min.css "$out/tabler/"
cp node_modules/@tabler/core/dist/js/tabler.min.js "$out/tabler/"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx/"
cp node_modules/echarts/dist/echarts.min.js "$out/echarts/"
cp data/reference/gd_cities.geojson "$out/echarts/gd_cities.json"
