// Fallbacks for the browser floor (README: Chrome/Chromium 108), written at vendor time into a copy of
// a style sheet: after every rule that uses colour syntax newer than the floor (Tabler 1.6: color-mix(),
// oklch() and `oklch(from …)`, light-dark()), the same selector again inside
//   @supports not (color: light-dark(red, red)) { … }
// with each such declaration's value computed statically (colors.mjs; custom properties resolved from
// the rule itself, then :root, then their first definition). Browsers that have light-dark() (the
// newest of these, Chrome 123) ignore the block and keep Tabler's own values; older ones get the
// static colours, in the same cascade position as the rule they replace. Dark mode is not carried
// over: the platform uses the light theme only.
//
//   node scripts/browser-floor/fallbacks.mjs in.css out.css
import fs from "node:fs";
import postcss from "postcss";
import { MODERN, Resolver, format, staticValue } from "./colors.mjs";

export const CONDITION = "not (color: light-dark(red, red))";
// Tabler components the platform does not use, whose colours depend on currentColor (no static value):
// the floor gets "transparent" for them rather than an invalid value.
const UNUSED_COMPONENTS = /^\.sparkline\b/;

// Colours inside SVG data URIs (Tabler's select chevron, check marks): an SVG image parses its own
// colours, so oklch() there draws nothing below Chrome 111. Replaced in place by the static colour.
const ENCODED_OKLCH = /oklch%28([^%]*%25[^%]*)%29/g;

export function addFallbacks(css, from) {
  css = css.replace(ENCODED_OKLCH, (_m, inner) => {
    const color = new Resolver([]).color(`oklch(${decodeURIComponent(inner)})`);
    if (!color) throw new Error(`${from}: oklch(${decodeURIComponent(inner)}) in a data URI`);
    return encodeURIComponent(format(color));
  });
  const root = postcss.parse(css, { from });
  const rootVars = new Map(), anyVars = new Map();
  root.walkRules((rule) => {
    const inKeyframes = rule.parent?.type === "atrule" && /keyframes$/i.test(rule.parent.name);
    if (inKeyframes) return;
    const isRoot = rule.parent?.type === "root" && rule.selectors.some((s) => s.trim() === ":root");
    rule.each((node) => {
      if (node.type !== "decl" || !node.prop.startsWith("--")) return;
      if (isRoot) rootVars.set(node.prop, node.value);
      if (!anyVars.has(node.prop)) anyVars.set(node.prop, node.value);
    });
  });
  // Custom properties whose value depends on another one a variant sets (.alert's --tblr-alert-bg
  // mixes --tblr-alert-color, which .alert-danger sets): the variant's block recomputes them too,
  // or every alert would keep .alert's default colours at the floor.
  const modernDefs = [];
  const definitions = new Map();
  root.walkRules((rule) => {
    if (rule.parent?.type === "atrule" && /keyframes$/i.test(rule.parent.name)) return;
    rule.each((node) => {
      if (node.type !== "decl" || !node.prop.startsWith("--")) return;
      if (!definitions.has(node.prop)) definitions.set(node.prop, []);
      definitions.get(node.prop).push(node.value);
      if (MODERN.test(node.value) && !modernDefs.some((d) => d.prop === node.prop)) modernDefs.push({ prop: node.prop, value: node.value, rule });
    });
    // A component's own colours (.alert's background-color mixes --tblr-alert-bg) are recomputed
    // for its variants (.alert-danger), named by Bootstrap's convention <component>-<variant>.
    rule.each((node) => {
      if (node.type === "decl" && !node.prop.startsWith("--") && MODERN.test(node.value) && /^\.[\w-]+$/.test(rule.selector)) {
        modernDefs.push({ prop: node.prop, value: node.value, rule, component: rule.selector + "-", important: node.important });
      }
    });
  });
  const refsCache = new Map();
  const refs = (value, seen = new Set()) => {
    for (const m of value.matchAll(/var\(\s*(--[\w-]+)/g)) {
      if (seen.has(m[1])) continue;
      seen.add(m[1]);
      for (const v of definitions.get(m[1]) ?? []) if (MODERN.test(v) || v.includes("var(")) refs(v, seen);
    }
    return seen;
  };
  for (const d of modernDefs) if (!d.component) refsCache.set(d.prop, refs(d.value));
  let replaced = 0;
  const unresolved = [];
  root.walkRules((rule) => {
    if (rule.parent?.type === "atrule" && /keyframes$/i.test(rule.parent.name)) return;
    if (rule.parent?.type === "atrule" && rule.parent.name === "supports" && rule.parent.params === CONDITION) return;
    const local = new Map();
    rule.each((node) => { if (node.type === "decl" && node.prop.startsWith("--")) local.set(node.prop, node.value); });
    const fallbacks = [];
    rule.each((node) => {
      if (node.type !== "decl" || !MODERN.test(node.value)) return;
      let value = staticValue(node.value, new Resolver([local, rootVars, anyVars]));
      if (value === null && UNUSED_COMPONENTS.test(rule.selector)) value = "transparent";
      if (value === null) { unresolved.push(`${rule.selector} { ${node.prop}: ${node.value} }`); return; }
      fallbacks.push(postcss.decl({ prop: node.prop, value, important: node.important }));
      replaced++;
    });
    if (local.size) {
      const own = new Set(fallbacks.map((d) => d.prop));
      for (const d of modernDefs) {
        if (d.rule === rule || local.has(d.prop) || own.has(d.prop)) continue;
        if (d.component && !rule.selector.startsWith(d.component)) continue;
        if (d.component && !refsCache.has(d.prop + d.component)) refsCache.set(d.prop + d.component, refs(d.value));
        if (![...local.keys()].some((name) => refsCache.get(d.component ? d.prop + d.component : d.prop).has(name))) continue;
        const dLocal = new Map();
        d.rule.each((n) => { if (n.type === "decl" && n.prop.startsWith("--")) dLocal.set(n.prop, n.value); });
        const value = staticValue(d.value, new Resolver([local, dLocal, rootVars, anyVars]));
        if (value !== null) { fallbacks.push(postcss.decl({ prop: d.prop, value, important: d.important })); own.add(d.prop); replaced++; }
      }
    }
    if (fallbacks.length) {
      const block = postcss.atRule({ name: "supports", params: CONDITION });
      block.append(postcss.rule({ selector: rule.selector, nodes: fallbacks }));
      rule.after(block);
    }
  });
  return { css: root.toString(), replaced, unresolved };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [input, output] = process.argv.slice(2);
  const { css, replaced, unresolved } = addFallbacks(fs.readFileSync(input, "utf8"), input);
  fs.writeFileSync(output, css);
  console.error(`${input}: ${replaced} declarations given a static fallback, ${unresolved.length} left without`);
  for (const line of unresolved.slice(0, 20)) console.error("  " + line.slice(0, 200));
}
