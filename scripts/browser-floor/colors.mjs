// A small evaluator of the CSS colour syntax newer than the browser floor (color-mix(), oklch() and
// its relative form `oklch(from …)`, light-dark()), resolving custom properties from the style
// sheet's own definitions, to a static rgb()/rgba() an older engine understands. Used only at vendor
// time (fallbacks.mjs), so its output is checked by the browser-floor check like any CSS.

const NAMED = { transparent: [0, 0, 0, 0], white: [1, 1, 1, 1], black: [0, 0, 0, 1] };

/** Index of the parenthesis closing the one at `open`. */
export function closing(s, open) {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")" && --depth === 0) return i;
  }
  return -1;
}

/** Split at top-level occurrences of `sep` (a comma, or whitespace when sep is " "). */
export function splitTop(s, sep) {
  const parts = [];
  let depth = 0, start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (depth === 0 && (sep === " " ? /\s/.test(ch) : ch === sep)) {
      parts.push(s.slice(start, i)); start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

function call(s) {
  const m = /^([a-z-]+)\(/i.exec(s);
  if (!m || closing(s, m[1].length) !== s.length - 1) return null;
  return { name: m[1].toLowerCase(), inner: s.slice(m[1].length + 1, -1).trim() };
}

const lin = (c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const gam = (c) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);

function srgbToOklab([r, g, b]) {
  [r, g, b] = [lin(r), lin(g), lin(b)];
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s];
}

function oklabToSrgb([L, a, b]) {
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
    -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
    -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s].map((c) => Math.min(1, Math.max(0, gam(c))));
}

const oklchToOklab = ([L, C, H]) => [L, C * Math.cos((H * Math.PI) / 180), C * Math.sin((H * Math.PI) / 180)];
function oklabToOklch([L, a, b]) {
  const h = (Math.atan2(b, a) * 180) / Math.PI;
  return [L, Math.hypot(a, b), h < 0 ? h + 360 : h];
}

export class Resolver {
  /** scopes: custom property maps looked up in order (the rule's own, :root's, anywhere's); the
   * last is a last resort, after a var()'s own fallback. */
  constructor(scopes) { this.scopes = scopes; this.depth = 0; }

  lookup(name, scopes = this.scopes) {
    for (const scope of scopes) if (scope.has(name)) return scope.get(name);
    return undefined;
  }

  /** A value with var() references replaced (one level at a time, guarded against cycles). */
  expand(value) {
    if (++this.depth > 40) { this.depth--; return null; }
    try {
      let out = "", i = 0;
      while (i < value.length) {
        const at = value.indexOf("var(", i);
        if (at < 0) { out += value.slice(i); break; }
        out += value.slice(i, at);
        const end = closing(value, at + 3);
        if (end < 0) return null;
        const [name, ...fallback] = splitTop(value.slice(at + 4, end), ",");
        // The rule's own and :root's definitions, then the var()'s own fallback, and only then a
        // definition anywhere (a component's default): a utility class's value (.link-opacity-10)
        // must not stand in for what the page has by default.
        let found = this.lookup(name.trim(), this.scopes.slice(0, -1));
        if (found === undefined && fallback.length) found = fallback.join(",");
        if (found === undefined) found = this.lookup(name.trim(), this.scopes.slice(-1));
        if (found === undefined) found = null;
        if (found === null) return null;
        const expanded = this.expand(found);
        if (expanded === null) return null;
        out += expanded;
        i = end + 1;
      }
      return out;
    } finally { this.depth--; }
  }

  number(s) {
    s = s.trim();
    const c = call(s);
    if (c && c.name === "calc") return this.calc(c.inner);
    const m = /^([-+]?[\d.]+(?:e[-+]?\d+)?)(%?)$/i.exec(s);
    if (!m) return null;
    return m[2] ? Number(m[1]) / 100 : Number(m[1]);
  }

  calc(expr) { // a product or a sum of two terms: what Tabler writes (x * 100%, l - 0.06)
    const sum = /^(.+?)\s+([+-])\s+(.+)$/.exec(expr);
    if (sum) {
      const [a, b] = [this.number(sum[1]), this.number(sum[3])];
      return a === null || b === null ? null : sum[2] === "+" ? a + b : a - b;
    }
    const product = splitTop(expr, "*");
    if (product.length === 2) {
      const [a, b] = product.map((p) => this.number(p));
      return a === null || b === null ? null : a * b;
    }
    return this.number(expr);
  }

  /** [r, g, b, alpha] in sRGB 0..1, or null when the value is not a colour known statically. */
  color(raw) {
    const s = this.expand(raw.trim());
    if (s === null) return null;
    const v = s.trim().toLowerCase();
    if (NAMED[v]) return NAMED[v];
    if (/^#[0-9a-f]{3,8}$/.test(v)) {
      let h = v.slice(1);
      if (h.length <= 4) h = [...h].map((x) => x + x).join("");
      const n = h.match(/../g).map((x) => parseInt(x, 16) / 255);
      return n.length === 3 ? [...n, 1] : n;
    }
    const c = call(v);
    if (!c) return null;
    if (c.name === "light-dark") return this.color(splitTop(c.inner, ",")[0]);
    if (c.name === "rgb" || c.name === "rgba") {
      const parts = c.inner.includes(",") ? splitTop(c.inner, ",") : c.inner.replace("/", " ").split(/\s+/);
      const rgb = parts.slice(0, 3).map((p) => (p.endsWith("%") ? Number(p.slice(0, -1)) / 100 : Number(p) / 255));
      const alpha = parts[3] === undefined ? 1 : this.number(parts[3]);
      return rgb.some(Number.isNaN) || alpha === null ? null : [...rgb, alpha];
    }
    if (c.name === "oklch") {
      const parts = c.inner.replace("/", " / ").split(/\s+/).filter(Boolean);
      let base = null;
      if (parts[0] === "from") { // relative colour: oklch(from <color> <l> <c> <h>)
        const rest = splitTop(c.inner.slice(4), " ");
        const origin = this.color(rest[0]);
        if (!origin) return null;
        base = oklabToOklch(srgbToOklab(origin));
        const channel = (expr, i) => {
          const r = new Resolver([new Map([["l", String(base[0])], ["c", String(base[1])], ["h", String(base[2])]]), ...this.scopes]);
          const t = expr.replace(/\b([lch])\b/g, (_m, ch) => String(base["lch".indexOf(ch)]));
          const n = r.number(t);
          return n === null ? null : n;
        };
        const lch = rest.slice(1, 4).map(channel);
        if (lch.some((x) => x === null)) return null;
        return [...oklabToSrgb(oklchToOklab(lch)), origin[3]];
      }
      const [l, ch, h] = parts;
      const L = l.endsWith("%") ? Number(l.slice(0, -1)) / 100 : Number(l);
      const C = ch.endsWith("%") ? (Number(ch.slice(0, -1)) / 100) * 0.4 : Number(ch);
      const H = Number(h.replace("deg", ""));
      const alpha = parts[3] === "/" ? this.number(parts[4]) : 1;
      if ([L, C, H].some(Number.isNaN) || alpha === null) return null;
      return [...oklabToSrgb(oklchToOklab([L, C, H])), alpha];
    }
    if (c.name === "color-mix") {
      const [space, ...colors] = splitTop(c.inner, ",");
      const inSpace = space.replace(/^in\s+/, "").trim();
      if (colors.length !== 2 || !["oklab", "srgb"].includes(inSpace)) return null;
      const items = colors.map((item) => {
        const parts = splitTop(item, " ");
        const pct = parts.length > 1 && /%|calc\(/.test(parts[parts.length - 1]) ? parts.pop() : null;
        return { color: this.color(parts.join(" ")), p: pct === null ? null : this.number(pct) };
      });
      if (items.some((x) => !x.color) || items.some((x, i) => x.p === null && /%|calc/.test(colors[i].split(" ").pop()))) return null;
      let [p1, p2] = items.map((x) => x.p);
      if (p1 === null && p2 === null) { p1 = 0.5; p2 = 0.5; }
      else if (p1 === null) p1 = 1 - p2;
      else if (p2 === null) p2 = 1 - p1;
      const total = p1 + p2;
      if (total <= 0) return null;
      const alphaScale = Math.min(total, 1);
      [p1, p2] = [p1 / total, p2 / total];
      const to = (rgb) => (inSpace === "oklab" ? srgbToOklab(rgb) : rgb);
      const [a, b] = items.map((x) => x.color);
      const alpha = a[3] * p1 + b[3] * p2;
      if (alpha === 0) return [0, 0, 0, 0];
      const [ca, cb] = [to(a), to(b)];
      const mixed = [0, 1, 2].map((i) => (ca[i] * a[3] * p1 + cb[i] * b[3] * p2) / alpha);
      const rgb = inSpace === "oklab" ? oklabToSrgb(mixed) : mixed.map((x) => Math.min(1, Math.max(0, x)));
      return [...rgb, alpha * alphaScale];
    }
    return null;
  }
}

export function format([r, g, b, a]) {
  const n = [r, g, b].map((x) => Math.round(x * 255));
  if (a >= 0.9995) return "#" + n.map((x) => x.toString(16).padStart(2, "0")).join("");
  return `rgba(${n.join(",")},${Math.round(a * 1000) / 1000})`;
}

/** The functions above the floor that this evaluator replaces. */
export const MODERN = /\b(color-mix|light-dark|oklch|oklab|lch|lab)\(/i;

/** `value` with every colour function above the floor replaced by its static equivalent, or null. */
export function staticValue(value, resolver) {
  let out = value, guard = 0;
  for (let m = MODERN.exec(out); m; m = MODERN.exec(out)) {
    if (++guard > 50) return null;
    const end = closing(out, m.index + m[1].length);
    if (end < 0) return null;
    const color = resolver.color(out.slice(m.index, end + 1));
    if (!color) return null;
    out = out.slice(0, m.index) + format(color) + out.slice(end + 1);
  }
  return out;
}
