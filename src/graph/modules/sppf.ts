/** Ultralytics `SPPF(c1, c2, k=5)`: cv1, three chained k x k max pools, concat of all four, cv2. */
import type { Builder } from "../builder.ts";
import type { Value } from "../ir.ts";
import { conv } from "./conv.ts";

/** Arguments of `SPPF`. */
export interface SppfArgs {
  c2: number;
  k?: number;
}

/** `cv2(cat(y, m(y), m(m(y)), m(m(m(y)))))` with `y = cv1(x)`. */
export function sppf(b: Builder, path: string, x: Value, a: SppfArgs): Value {
  const { c2, k = 5 } = a;
  const c_ = Math.trunc(x.c / 2);
  return b.module("SPPF", path, () => {
    const ys = [conv(b, `${path}.cv1`, x, { c2: c_, k: 1, s: 1 })];
    b.leaf("MaxPool2d", `${path}.m`, {});
    for (let i = 0; i < 3; i++) {
      const y = b.value(c_, x.stride);
      b.emit({ op: "maxpool", x: ys[ys.length - 1].id, y: y.id, k, s: 1, p: Math.floor(k / 2) });
      ys.push(y);
    }
    const cat = b.value(4 * c_, x.stride);
    b.emit({ op: "concat", xs: ys.map((v) => v.id), y: cat.id });
    return conv(b, `${path}.cv2`, cat, { c2, k: 1, s: 1 });
  });
}
