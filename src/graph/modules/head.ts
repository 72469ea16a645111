/**
 * Ultralytics heads: `Detect(nc=80, ch=())` with its `DFL(c1=16)`, and `Segment(nc=80, nm=32, npr=256, ch=())`
 * which adds `Proto(c1, c_=256, c2=32)` and the mask-coefficient branches `cv4`.
 */
import type { Builder } from "../builder.ts";
import type { Value } from "../ir.ts";
import { conv, conv2d, dwconv } from "./conv.ts";

/** Arguments of `Detect` / `Segment` after parse_model appended the input channels. */
export interface HeadArgs {
  nc: number;
  /** Mask coefficients (Segment only). */
  nm?: number;
  /** Prototype channels (Segment only, already width-scaled). */
  npr?: number;
  /** YOLOv8-style class branch (plain 3x3 convs) instead of YOLO11's depthwise one. */
  legacy: boolean;
  strides: number[];
}

/** What a head produces: `output0` and, for Segment, `output1` (prototypes). */
export interface HeadOutputs {
  output0: Value;
  output1?: Value;
}

const REG_MAX = 16;

/** `Detect` (and `Segment` when `nm` is given) over the feature maps `xs`. */
export function head(b: Builder, path: string, xs: Value[], a: HeadArgs): HeadOutputs {
  const segment = a.nm !== undefined;
  return b.module(segment ? "Segment" : "Detect", path, () => {
    const c2 = Math.max(16, Math.trunc(xs[0].c / 4), REG_MAX * 4);
    const c3 = Math.max(xs[0].c, Math.min(a.nc, 100));
    const boxes = b.module(
      "ModuleList",
      `${path}.cv2`,
      () =>
        xs.map((x, i) =>
          b.module("Sequential", `${path}.cv2.${i}`, () => {
            const p = `${path}.cv2.${i}`;
            const h = conv(b, `${p}.1`, conv(b, `${p}.0`, x, { c2, k: 3 }), { c2, k: 3 });
            return conv2d(b, `${p}.2`, h, 4 * REG_MAX, 1);
          })
        ),
    );
    const scores = b.module(
      "ModuleList",
      `${path}.cv3`,
      () =>
        xs.map((x, i) =>
          b.module("Sequential", `${path}.cv3.${i}`, () => {
            const p = `${path}.cv3.${i}`;
            const h = a.legacy
              ? conv(b, `${p}.1`, conv(b, `${p}.0`, x, { c2: c3, k: 3 }), { c2: c3, k: 3 })
              : dwPair(b, `${p}.1`, dwPair(b, `${p}.0`, x, c3), c3);
            return conv2d(b, `${p}.2`, h, a.nc, 1);
          })
        ),
    );
    b.module(
      "DFL",
      `${path}.dfl`,
      () => b.leaf("Conv2d", `${path}.dfl.conv`, { weight: [1, REG_MAX, 1, 1] }),
    );
    let output1: Value | undefined;
    let coeffs: Value[] = [];
    if (segment) {
      output1 = proto(b, `${path}.proto`, xs[0], a.npr ?? 256, a.nm ?? 32);
      const c4 = Math.max(Math.trunc(xs[0].c / 4), a.nm ?? 32);
      coeffs = b.module(
        "ModuleList",
        `${path}.cv4`,
        () =>
          xs.map((x, i) =>
            b.module("Sequential", `${path}.cv4.${i}`, () => {
              const p = `${path}.cv4.${i}`;
              const h = conv(b, `${p}.1`, conv(b, `${p}.0`, x, { c2: c4, k: 3 }), { c2: c4, k: 3 });
              return conv2d(b, `${p}.2`, h, a.nm ?? 32, 1);
            })
          ),
      );
    }
    const nm = segment ? a.nm ?? 32 : 0;
    const output0 = b.value(4 + a.nc + nm, 0);
    b.emit({
      op: "detect",
      name: path,
      boxes: boxes.map((v) => v.id),
      scores: scores.map((v) => v.id),
      coeffs: coeffs.map((v) => v.id),
      strides: a.strides,
      nc: a.nc,
      nm,
      regMax: REG_MAX,
      dfl: `${path}.dfl.conv.weight`,
      y: output0.id,
    });
    return { output0, output1 };
  });
}

/** YOLO11's class-branch stage: `Sequential(DWConv(c1, c1, 3), Conv(c1, c2, 1))`. */
function dwPair(b: Builder, path: string, x: Value, c2: number): Value {
  return b.module("Sequential", path, () => {
    const d = dwconv(b, `${path}.0`, x, { c2: x.c, k: 3 });
    return conv(b, `${path}.1`, d, { c2, k: 1 });
  });
}

/** `Proto`: cv1 (3x3) → ConvTranspose2d(c_, c_, 2, 2) → cv2 (3x3) → cv3 (1x1 to `c2` prototypes). */
export function proto(b: Builder, path: string, x: Value, c_: number, c2: number): Value {
  return b.module("Proto", path, () => {
    const h = conv(b, `${path}.cv1`, x, { c2: c_, k: 3 });
    b.leaf("ConvTranspose2d", `${path}.upsample`, { weight: [c_, c_, 2, 2], bias: [c_] });
    const u = b.value(c_, h.stride / 2);
    b.emit({
      op: "conv_transpose",
      name: `${path}.upsample`,
      x: h.id,
      y: u.id,
      cin: c_,
      cout: c_,
      k: 2,
      s: 2,
      weight: `${path}.upsample.weight`,
      bias: `${path}.upsample.bias`,
    });
    const h2 = conv(b, `${path}.cv2`, u, { c2: c_, k: 3 });
    return conv(b, `${path}.cv3`, h2, { c2, k: 1 });
  });
}
