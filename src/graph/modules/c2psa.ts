/**
 * Ultralytics `C2PSA(c1, c2, n=1, e=0.5)` with its `PSABlock(c, attn_ratio=0.5, num_heads=4, shortcut=True)`
 * and `Attention(dim, num_heads=8, attn_ratio=0.5)` — YOLO11's position-sensitive attention.
 */
import type { Builder } from "../builder.ts";
import type { Value } from "../ir.ts";
import { conv } from "./conv.ts";

/** Arguments of `C2PSA`. */
export interface C2psaArgs {
  c2: number;
  n?: number;
  e?: number;
}

/** `cv2(cat(a, m(b)))` with `a, b = cv1(x).split((c, c))`. */
export function c2psa(b: Builder, path: string, x: Value, a: C2psaArgs): Value {
  const { c2, n = 1, e = 0.5 } = a;
  if (x.c !== c2) throw new RangeError(`Cannot build "${path}": C2PSA needs c1 == c2, got ${x.c} and ${c2}`);
  const c = Math.trunc(x.c * e);
  return b.module("C2PSA", path, () => {
    const h = conv(b, `${path}.cv1`, x, { c2: 2 * c, k: 1, s: 1 });
    const first = b.value(c, h.stride);
    let rest = b.value(c, h.stride);
    b.emit({ op: "split", x: h.id, ys: [first.id, rest.id], sizes: [c, c] });
    b.module("Sequential", `${path}.m`, () => {
      for (let i = 0; i < n; i++) {
        rest = psaBlock(b, `${path}.m.${i}`, rest, { attnRatio: 0.5, numHeads: Math.trunc(c / 64) });
      }
    });
    const cat = b.value(2 * c, h.stride);
    b.emit({ op: "concat", xs: [first.id, rest.id], y: cat.id });
    return conv(b, `${path}.cv2`, cat, { c2: x.c, k: 1 });
  });
}

/** Arguments of `PSABlock` / `Attention`. */
export interface PsaArgs {
  attnRatio?: number;
  numHeads?: number;
  shortcut?: boolean;
}

/** `x = x + attn(x); x = x + ffn(x)`, with `ffn = Conv(c, 2c, 1), Conv(2c, c, 1, act=False)`. */
export function psaBlock(b: Builder, path: string, x: Value, a: PsaArgs): Value {
  const { attnRatio = 0.5, numHeads = 4, shortcut = true } = a;
  return b.module("PSABlock", path, () => {
    const at = attention(b, `${path}.attn`, x, { attnRatio, numHeads });
    const x1 = shortcut ? add(b, at, x) : at;
    const f = b.module("Sequential", `${path}.ffn`, () => {
      const h = conv(b, `${path}.ffn.0`, x1, { c2: 2 * x1.c, k: 1 });
      return conv(b, `${path}.ffn.1`, h, { c2: x1.c, k: 1, act: false });
    });
    return shortcut ? add(b, f, x1) : f;
  });
}

/**
 * `Attention`: qkv = Conv(dim, dim + 2 * nh_kd, 1, act=False); per head softmax(q^T k * scale) applied to v;
 * plus pe = Conv(dim, dim, 3, g=dim, act=False) of v; then proj = Conv(dim, dim, 1, act=False).
 */
export function attention(b: Builder, path: string, x: Value, a: PsaArgs): Value {
  const { attnRatio = 0.5, numHeads = 8 } = a;
  const dim = x.c;
  const headDim = Math.trunc(dim / numHeads);
  const keyDim = Math.trunc(headDim * attnRatio);
  const nhKd = keyDim * numHeads;
  return b.module("Attention", path, () => {
    const qkv = conv(b, `${path}.qkv`, x, { c2: dim + 2 * nhKd, k: 1, act: false });
    const o = b.value(dim, x.stride);
    const v = b.value(dim, x.stride);
    b.emit({
      op: "attention",
      name: path,
      qkv: qkv.id,
      o: o.id,
      v: v.id,
      numHeads,
      keyDim,
      headDim,
      scale: keyDim ** -0.5,
    });
    const pe = conv(b, `${path}.pe`, v, { c2: dim, k: 3, s: 1, g: dim, act: false });
    const sum = add(b, pe, o);
    return conv(b, `${path}.proj`, sum, { c2: dim, k: 1, act: false });
  });
}

function add(b: Builder, a: Value, c: Value): Value {
  const y = b.value(a.c, a.stride);
  b.emit({ op: "add", a: a.id, b: c.id, y: y.id });
  return y;
}
