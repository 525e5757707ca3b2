// A vendor style sheet made fit for the browser floor (package.json "browserslist"): static fallbacks
// for colour syntax newer than the floor (fallbacks.mjs), then lightningcss for the floor's targets
// (light-dark() lowered to custom properties, oklch() literals given rgb() fallbacks, vendor
// prefixes) and minified. The result is what scripts/vendor-assets.sh serves and check.mjs checks.
//
//   node scripts/browser-floor/build-css.mjs in.css out.css
import fs from "node:fs";
import path from "node:path";
import browserslist from "browserslist";
import { browserslistToTargets, transform } from "lightningcss";
import { addFallbacks } from "./fallbacks.mjs";

const [input, output] = process.argv.slice(2);
const here = path.dirname(new URL(import.meta.url).pathname);
const pkg = JSON.parse(fs.readFileSync(path.join(here, "../../package.json"), "utf8"));
const { css, replaced, unresolved } = addFallbacks(fs.readFileSync(input, "utf8"), input);
if (unresolved.length) {
  console.error(unresolved.join("\n"));
  throw new Error(`${input}: ${unresolved.length} declarations above the floor have no static fallback`);
}
const { code } = transform({
  filename: path.basename(input), code: Buffer.from(css), minify: true,
  targets: browserslistToTargets(browserslist(pkg.browserslist)),
});
fs.writeFileSync(output, code);
console.error(`${path.basename(input)}: ${replaced} fallbacks, ${fs.statSync(input).size} → ${code.length} bytes`);
