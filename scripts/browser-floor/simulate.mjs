// What a browser at the floor makes of a style sheet, for tests/test_browser_floor.py to render with
// today's chromium: declarations whose values use colour syntax newer than the floor are dropped (an
// old engine drops them at parse time; custom properties it keeps as text, and our fallback blocks
// redefine them later in the cascade), branches `@supports (color: lab(…))` are removed (the floor
// fails them), and the `@supports not (color: light-dark(…))` fallback blocks apply unconditionally.
//
//   node scripts/browser-floor/simulate.mjs in.css out.css
import fs from "node:fs";
import postcss from "postcss";

const MODERN = /\b(color-mix|light-dark|oklch|oklab|lch|lab)\(|\(\s*from\s/i;
const [input, output] = process.argv.slice(2);
const root = postcss.parse(fs.readFileSync(input, "utf8"), { from: input });
root.walkAtRules("supports", (at) => {
  if (/light-dark/.test(at.params)) at.params = "(display: block)";
  else if (/\b(lab|lch|oklch|oklab|color-mix)\(/.test(at.params) && !/^\s*not\b/.test(at.params)) at.remove();
});
root.walkDecls((d) => { if (!d.prop.startsWith("--") && MODERN.test(d.value)) d.remove(); });
fs.writeFileSync(output, root.toString());
