#!/usr/bin/env bash
# Build the front-end assets from the npm packages into var/vendor, where Django's static files finder
# serves them (collectstatic then hashes and pre-compresses them). Government intranets are offline: no
# page loads from a CDN. The page budget and the browser floor are in docs/front-end-budget.md.
#   tabler/tabler.min.css   Tabler with static fallbacks for the browser floor (scripts/browser-floor/)
#   htmx/htmx.min.js        as published (loaded only by pages that use htmx)
#   echarts/echarts.min.js  our own build: bar, line, map and scatter charts, SVG renderer (scripts/echarts-build.mjs)
#   maps/440000000000.json  the 21 cities' outlines, simplified (mapshaper)
#   maps/<city code>.json   each city's counties (data/reference/gd_counties.geojson), for the drill-down
# Tabler's own JavaScript is not served: the one behaviour the pages used (the menu toggle on narrow
# screens) is in web/platform.js.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@tabler/core ] || npm ci --no-audit --no-fund --loglevel=error
bin=node_modules/.bin
out=var/vendor
rm -rf "$out/tabler" "$out/htmx" "$out/echarts" "$out/maps"
mkdir -p "$out/tabler" "$out/htmx" "$out/echarts" "$out/maps"
node scripts/browser-floor/build-css.mjs node_modules/@tabler/core/dist/css/tabler.min.css "$out/tabler/tabler.min.css"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx/"
"$bin/esbuild" scripts/echarts-build.mjs --bundle --minify --format=iife --global-name=echarts \
  --target=chrome108 --legal-comments=none --log-level=warning \
  --define:process.env.NODE_ENV='"production"' --define:__DEV__=false --outfile="$out/echarts/echarts.min.js"
# Simplified outlines: Visvalingam with shapes kept, 4 decimals (about 10 m).
"$bin/mapshaper" data/reference/gd_cities.geojson -simplify 6% keep-shapes \
  -o "$out/maps/440000000000.json" precision=0.0001 format=geojson 2>/dev/null
"$bin/mapshaper" data/reference/gd_counties.geojson -simplify 60% keep-shapes -split city \
  -o "$out/maps/" precision=0.0001 format=geojson 2>/dev/null
