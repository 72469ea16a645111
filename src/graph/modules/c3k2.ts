/**
 * Ultralytics `C3k2(c1, c2, n=1, c3k=False, e=0.5, g=1, shortcut=True)` — YOLO11's CSP block — with its
 * inner `C3k(c1, c2, n=1, shortcut=True, g=1, e=0.5, k=3)`, a `C3` whose bottlenecks use k x k kernels.
 */
import type { Builder } from "../builder.ts";
import type { Value } from "../ir.ts";
import { bottleneck } from "./bottleneck.ts";
import { c2fFlow } from "./c2f.ts";
import { conv } from "./conv.ts";

/** Arguments of `C3k2`. */
export interface C3k2Args {
  c2: number;
  n?: number;
  c3k?: boolean;
  e?: number;
  g?: number;
  shortcut?: boolean;
}

/** `C3k2`: the C2f flow whose inner blocks are `C3k(c, c, 2)` when `c3k`, else `Bottleneck(c, c)`. */
export function c3k2(b: Builder, path: string, x: Value, a: C3k2Args): Value {
  const { c2, n = 1, c3k: useC3k = false, e = 0.5, g = 1, shortcut = true } = a;
  const c = Math.trunc(c2 * e);
  return b.module(
    "C3k2",
    path,
    () =>
      c2fFlow(
        b,
        path,
        x,
        c2,
        c,
        n,
        (b, p, v) =>
          useC3k ? c3k(b, p, v, { c2: c, n: 2, shortcut, g }) : bottleneck(b, p, v, { c2: c, shortcut, g }),
      ),
  );
}

/** Arguments of `C3k` (and of `C3`, which has no `k`). */
export interface C3kArgs {
  c2: number;
  n?: number;
  shortcut?: boolean;
  g?: number;
  e?: number;
  k?: number;
}

/** `C3k`: `cv3(cat(m(cv1(x)), cv2(x)))` with `n` bottlenecks of kernels (k, k) and e=1. */
export function c3k(b: Builder, path: string, x: Value, a: C3kArgs): Value {
  return c3Flow(b, "C3k", path, x, a, a.k ?? 3, a.k ?? 3);
}

/** `C3`: like C3k with bottleneck kernels (1, 3). */
export function c3(b: Builder, path: string, x: Value, a: Omit<C3kArgs, "k">): Value {
  return c3Flow(b, "C3", path, x, a, 1, 3);
}

function c3Flow(b: Builder, cls: string, path: string, x: Value, a: C3kArgs, k1: number, k2: number): Value {
  const { c2, n = 1, shortcut = true, g = 1, e = 0.5 } = a;
  const c_ = Math.trunc(c2 * e);
  return b.module(cls, path, () => {
    const h1 = conv(b, `${path}.cv1`, x, { c2: c_, k: 1, s: 1 });
    const h2 = conv(b, `${path}.cv2`, x, { c2: c_, k: 1, s: 1 });
    let m = h1;
    b.module("Sequential", `${path}.m`, () => {
      for (let i = 0; i < n; i++) {
        m = bottleneck(b, `${path}.m.${i}`, m, { c2: c_, shortcut, g, k: [k1, k2], e: 1 });
      }
    });
    const cat = b.value(2 * c_, x.stride);
    b.emit({ op: "concat", xs: [m.id, h2.id], y: cat.id });
    return conv(b, `${path}.cv3`, cat, { c2, k: 1 });
  });
}
