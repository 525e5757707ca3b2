#!/usr/bin/env bash
# Build the front-end assets from the npm packages into var/vendor, where Django's static files finder
# serves them (collectstatic then hashes and pre-compresses them). Government intranets are offline: no
# page loads from a CDN. The page budget and the browser floor are in docs/front-end-budget.md.
#   tabler/tabler.min.css   Tabler with static fallbacks for the browser floor (scripts/browser-floor/)
#   htmx/htmx.min.js        as published (loaded only by pages that use htmx)
#   tom-select/…            as published: the searchable pickers (loaded only by pages that have one)
#   echarts/echarts.min.js  our own build: bar, line, map and scatter charts, SVG renderer (scripts/echarts-build.mjs)
#   maps/440000000000.json  the 21 cities' outlines, simplified (mapshaper)
#   maps/<city code>.json   each city's counties (data/reference/gd_counties.geojson), for the drill-down
# Tabler's own JavaScript is not served: the one behaviour the pages used (the menu toggle on narrow
# screens) is in web/platform.js.
set -euo pipefail
cd "$(dirname "$0")/.."
# Re-install when a package named in package.json is missing (a checkout older than the lock file).
{ [ -d node_modules/@tabler/core ] && [ -d node_modules/tom-select ] && [ -d node_modules/axe-core ]; } \
  || npm ci --no-audit --no-fund --loglevel=error
bin=node_modules/.bin
out=var/vendor
rm -rf "$out/tabler" "$out/htmx" "$out/echarts" "$out/maps" "$out/tom-select"
mkdir -p "$out/tabler" "$out/htmx" "$out/echarts" "$out/maps" "$out/tom-select"
node scripts/browser-floor/build-css.mjs node_modules/@tabler/core/dist/css/tabler.min.css "$out/tabler/tabler.min.css"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx/"
# Searchable pickers (schools, units, places, people): loaded by platform.js only on pages that have one.
cp node_modules/tom-select/dist/js/tom-select.base.min.js "$out/tom-select/"
# Its one color-mix() (Chrome 111, above the floor; the optgroup header, which our pickers do not use)
# becomes the colour it mixes on a white page.
sed 's/color-mix(var(--bs-body-bg),#d0d0d0,85%)/#f2f2f2/g' node_modules/tom-select/dist/css/tom-select.bootstrap5.min.css \
  > "$out/tom-select/tom-select.bootstrap5.min.css"
# axe-core is NOT copied: it is a test tool, injected by the browser tests from node_modules.
"$bin/esbuild" scripts/echarts-build.mjs --bundle --minify --format=iife --global-name=echarts \
  --target=chrome108 --legal-comments=none --log-level=warning \
  --define:process.env.NODE_ENV='"production"' --define:__DEV__=false --outfile="$out/echarts/echarts.min.js"
# Simplified outlines: Visvalingam with shapes kept, 4 decimals (about 10 m).
"$bin/mapshaper" data/reference/gd_cities.geojson -simplify 6% keep-shapes \
  -o "$out/maps/440000000000.json" precision=0.0001 format=geojson 2>/dev/null
"$bin/mapshaper" data/reference/gd_counties.geojson -simplify 60% keep-shapes -split city \
  -o "$out/maps/" precision=0.0001 format=geojson 2>/dev/null
