// The browser-floor check (`make test`, tests/test_browser_floor.py): every style sheet and script the
// platform serves works in the browsers package.json's "browserslist" names (README: Chrome/Chromium
// 108 — Chrome 109 on Windows 7, the 360 极速/安全 browsers' 108 kernel).
//
// CSS: doiuse (caniuse data) for the features it knows, plus the newer features it does not know yet
// (FEATURES below, first Chrome version from caniuse/MDN). A use is allowed only with a fallback the
// floor understands: an earlier declaration of the same property in the rule, a redeclaration in the
// `@supports not (color: light-dark(red, red))` block that follows the rule (fallbacks.mjs), or inside
// an `@supports (…)` branch the floor skips. Partial support (prefixes lightningcss adds) passes.
// JS: no syntax newer than the floor — esbuild must not need to rewrite anything for the floor.
//
//   node scripts/browser-floor/check.mjs file.css|file.js …     exit 1 and a list when something fails
import fs from "node:fs";
import path from "node:path";
import postcss from "postcss";
import doiuse from "doiuse";
import browserslist from "browserslist";
import { transformSync } from "esbuild";
import { CONDITION } from "./fallbacks.mjs";

const here = path.dirname(new URL(import.meta.url).pathname);
const pkg = JSON.parse(fs.readFileSync(path.join(here, "../../package.json"), "utf8"));
const browsers = browserslist(pkg.browserslist);
const floor = Math.min(...browsers.filter((b) => b.startsWith("chrome ")).map((b) => Number(b.split(" ")[1])));

// Newer than doiuse's data: [name, first Chrome version, test on a declaration/selector/at-rule].
const FEATURES = [
  ["color-mix()", 111, (d) => /\bcolor-mix\(/i.test(d.value ?? "")],
  ["light-dark()", 123, (d) => /\blight-dark\(/i.test(d.value ?? "")],
  ["relative colour syntax (from …)", 119, (d) => /\b(rgb|hsl|hwb|lab|lch|oklab|oklch|color)\(\s*from\s/i.test(d.value ?? "")],
  ["oklch()/oklab()/lab()/lch()", 111, (d) => /\b(oklch|oklab|lab|lch)\(/i.test(d.value ?? "")],
  ["oklch()/color-mix() in an SVG data URI", 111, (d) => /(oklch|oklab|color-mix)%28/i.test(d.value ?? "")],
  [":has()", 105, (_d, rule) => /:has\(/.test(rule?.selector ?? "")],
  ["CSS nesting", 112, (_d, rule) => /&/.test(rule?.selector ?? "")],
  ["@container", 105, (_d, _r, at) => at.includes("container")],
  ["@scope", 118, (_d, _r, at) => at.includes("scope")],
  ["@starting-style", 117, (_d, _r, at) => at.includes("starting-style")],
  ["@property", 85, (_d, _r, at) => at.includes("property")],
  ["@layer", 99, (_d, _r, at) => at.includes("layer")],
  ["field-sizing", 123, (d) => d.prop === "field-sizing"],
  ["anchor positioning", 125, (d) => /^(anchor-name|position-anchor|position-try)/.test(d.prop ?? "")],
].filter(([, version]) => version > floor);

// Declarations the floor may ignore without harm (progressive enhancement), with why.
const PROGRESSIVE = new Set(["text-wrap", "text-wrap-style"]); // balanced headings; plain wrapping otherwise

function inSkippedBranch(node) { // inside @supports (…) that the floor does not pass
  for (let p = node.parent; p; p = p.parent) {
    if (p.type === "atrule" && p.name === "supports" && !/^not\b/.test(p.params.trim())) return true;
  }
  return false;
}

const squash = (s) => s.replace(/\s+/g, "");
function isFallbackBlock(at) { return at.type === "atrule" && at.name === "supports" && squash(at.params) === squash(CONDITION); }

function covered(decl) {
  if (!decl || decl.type !== "decl") return false;
  if (PROGRESSIVE.has(decl.prop) || inSkippedBranch(decl)) return true;
  const rule = decl.parent;
  if (rule.parent?.type === "atrule" && rule.parent.name === "supports" && isFallbackBlock(rule.parent)) return false;
  if (!decl.prop.startsWith("--")) {  // an earlier declaration of the property, understood by the floor
    for (let n = decl.prev(); n; n = n.prev()) if (n.type === "decl" && n.prop === decl.prop && !modern(n)) return true;
  }
  for (let n = rule.next(); n && n.type === "atrule" && n.name === "supports"; n = n.next()) {
    if (!isFallbackBlock(n)) continue;
    let found = false;
    n.walkRules((r) => { if (r.selector === rule.selector) r.walkDecls(decl.prop, (d) => { if (!modern(d)) found = true; }); });
    if (found) return true;
  }
  return false;
}

function modern(decl) { return FEATURES.some(([, , test]) => test(decl, decl.parent, "")); }

async function checkCss(file) {
  const css = fs.readFileSync(file, "utf8");
  const problems = [];
  const partial = (u) => !String(u.featureData.missing).includes("Chrome");
  const result = await postcss([doiuse({ browsers, onFeatureUsage(u) {
    if (partial(u) || covered(u.usage)) return;
    problems.push(`${u.featureData.title} (${u.featureData.missing}): ${String(u.usage).slice(0, 120)}`);
  } })]).process(css, { from: file });
  result.root.walk((node) => {
    const rule = node.type === "decl" ? node.parent : node.type === "rule" ? node : null;
    const at = node.type === "atrule" ? node.name : "";
    for (const [name, version, test] of FEATURES) {
      if (node.type === "decl" && test(node, null, "") && !covered(node)) {
        problems.push(`${name} (Chrome ${version}): ${rule.selector?.slice(0, 60)} { ${node.prop}: ${node.value.slice(0, 80)} }`);
      } else if (node.type === "rule" && test({}, rule, "") && !inSkippedBranch(node)) {
        problems.push(`${name} (Chrome ${version}): selector ${node.selector.slice(0, 100)}`);
      } else if (at && test({}, null, at)) {
        problems.push(`${name} (Chrome ${version}): @${at} ${node.params.slice(0, 60)}`);
      }
    }
  });
  return problems;
}

function checkJs(file) {
  const code = fs.readFileSync(file, "utf8");
  const options = { loader: "js", minifyWhitespace: true, legalComments: "none", logLevel: "silent" };
  try {
    const floorOut = transformSync(code, { ...options, target: `chrome${floor}` }).code;
    const newest = transformSync(code, { ...options, target: "esnext" }).code;
    if (floorOut === newest) return [];
    const at = [...floorOut].findIndex((ch, i) => ch !== newest[i]);
    return [`syntax newer than Chrome ${floor} near: ${newest.slice(Math.max(0, at - 60), at + 60)}`];
  } catch (error) {
    return [`not valid for Chrome ${floor}: ${String(error.message).split("\n")[0]}`];
  }
}

let failed = 0, checked = 0;
for (const file of process.argv.slice(2)) {
  const problems = file.endsWith(".css") ? await checkCss(file) : file.endsWith(".js") ? checkJs(file) : [];
  checked++;
  if (problems.length) {
    failed++;
    console.log(`${file}: ${problems.length} use(s) above the floor without a fallback`);
    for (const p of problems.slice(0, 15)) console.log("  " + p);
  }
}
console.log(`browser floor Chrome ${floor} (${pkg.browserslist.join(", ")}): ${checked} files checked, ${failed} failing`);
process.exit(failed ? 1 : 0);
