/** Ultralytics `Bottleneck(c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5)`. */
import type { Builder } from "../builder.ts";
import type { Value } from "../ir.ts";
import { conv } from "./conv.ts";

/** Arguments of `Bottleneck`; `k` holds the kernel sizes of cv1 and cv2. */
export interface BottleneckArgs {
  c2: number;
  shortcut?: boolean;
  g?: number;
  k?: [number, number];
  e?: number;
}

/** `cv2(cv1(x))`, plus `x` when `shortcut` and the channels agree. */
export function bottleneck(b: Builder, path: string, x: Value, a: BottleneckArgs): Value {
  const { c2, shortcut = true, g = 1, k = [3, 3], e = 0.5 } = a;
  const c_ = Math.trunc(c2 * e);
  return b.module("Bottleneck", path, () => {
    const h = conv(b, `${path}.cv1`, x, { c2: c_, k: k[0], s: 1 });
    const y = conv(b, `${path}.cv2`, h, { c2, k: k[1], s: 1, g });
    if (!(shortcut && x.c === c2)) return y;
    const sum = b.value(c2, y.stride);
    b.emit({ op: "add", a: y.id, b: x.id, y: sum.id });
    return sum;
  });
}
