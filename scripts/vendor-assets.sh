#!/usr/bin/env bash
# Copy the front-end assets installed from the npm registry into var/vendor, where Django's
# static files finder serves them. Government intranets are offline: no page loads from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
# Re-install when a package named in package.json is missing (a checkout older than the lock file).
{ [ -d node_modules/@tabler/core ] && [ -d node_modules/tom-select ] && [ -d node_modules/axe-core ]; } \
  || npm ci --no-audit --no-fund --loglevel=error
out=var/vendor
mkdir -p "$out/tabler" "$out/htmx" "$out/echarts" "$out/tom-select"
cp node_modules/@tabler/core/dist/css/tabler.min.css "$out/tabler/"
cp node_modules/@tabler/core/dist/js/tabler.min.js "$out/tabler/"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx/"
cp node_modules/echarts/dist/echarts.min.js "$out/echarts/"
# Searchable pickers (schools, units, regions, people): loaded by platform.js only on pages that have one.
cp node_modules/tom-select/dist/js/tom-select.base.min.js "$out/tom-select/"
cp node_modules/tom-select/dist/css/tom-select.bootstrap5.min.css "$out/tom-select/"
# axe-core is NOT copied: it is a test tool, injected by the browser tests from node_modules.
cp data/reference/gd_cities.geojson "$out/echarts/gd_cities.json"
