/** Ultralytics `C2f(c1, c2, n=1, shortcut=False, g=1, e=0.5)` — the CSP block of YOLOv8. */
import type { Builder } from "../builder.ts";
import type { Value } from "../ir.ts";
import { bottleneck } from "./bottleneck.ts";
import { conv } from "./conv.ts";

/** Arguments of `C2f`. */
export interface C2fArgs {
  c2: number;
  n?: number;
  shortcut?: boolean;
  g?: number;
  e?: number;
}

/** One inner block of a C2f-style module: maps the last chunk to a new chunk of `c` channels. */
export type InnerBlock = (b: Builder, path: string, x: Value) => Value;

/**
 * The C2f data flow shared by `C2f` and `C3k2`: cv1 → chunk(2) → each inner block extends the list →
 * concat → cv2.
 */
export function c2fFlow(
  b: Builder,
  path: string,
  x: Value,
  c2: number,
  c: number,
  n: number,
  inner: InnerBlock,
): Value {
  const h = conv(b, `${path}.cv1`, x, { c2: 2 * c, k: 1, s: 1 });
  const a = b.value(c, h.stride);
  const last = b.value(c, h.stride);
  b.emit({ op: "split", x: h.id, ys: [a.id, last.id], sizes: [c, c] });
  const ys = [a, last];
  b.module("ModuleList", `${path}.m`, () => {
    for (let i = 0; i < n; i++) ys.push(inner(b, `${path}.m.${i}`, ys[ys.length - 1]));
  });
  const cat = b.value((2 + n) * c, h.stride);
  b.emit({ op: "concat", xs: ys.map((v) => v.id), y: cat.id });
  return conv(b, `${path}.cv2`, cat, { c2, k: 1 });
}

/** `C2f`: inner blocks are `Bottleneck(c, c, shortcut, g, k=(3, 3), e=1.0)`. */
export function c2f(b: Builder, path: string, x: Value, a: C2fArgs): Value {
  const { c2, n = 1, shortcut = false, g = 1, e = 0.5 } = a;
  const c = Math.trunc(c2 * e);
  return b.module("C2f", path, () => {
    return c2fFlow(
      b,
      path,
      x,
      c2,
      c,
      n,
      (b, p, v) => bottleneck(b, p, v, { c2: c, shortcut, g, k: [3, 3], e: 1 }),
    );
  });
}
