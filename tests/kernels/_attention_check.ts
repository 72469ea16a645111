/**
 * The check both attention kernels (`attention`, `attention_rows`) are tested with: seeded random qkv, o and v
 * buffers over the case's views, the kernel against the CPU reference. Tolerance: atol 1e-4 + rtol 1e-4 (outputs
 * are convex combinations of v in [-range, range]; `atol` per case for large scores), 2e-3 in f16; `v` exact
 * (untouched with the positional conv, `pe`).
 */
import type { KernelSpec } from "../../kernels/_spec.ts";
import type { AttentionParams } from "../../kernels/attention.ts";
import { attention as attentionCpu } from "../../src/cpu/attention.ts";
import { assertClose } from "../_close.ts";
import { roundF16, runKernel } from "../_gpu.ts";
import { randomArray } from "../_rand.ts";

/** The attention shape of a case. */
export interface AttentionCase {
  batch?: number;
  pixels: number;
  heads: number;
  kd?: number;
  hd?: number;
  /** Values of x are uniform in [-range, range]. @default {1} */
  range?: number;
  scale?: number;
  /** [base, extra channels, channel offset] of each view. */
  xView?: [number, number, number];
  oView?: [number, number, number];
  vView?: [number, number, number];
  atol?: number;
  /** Map width (`pixels` a multiple of it). @default {pixels} (one row) */
  width?: number;
  /** The positional depthwise conv's window (`PE_K`): added to o, v not written. */
  pe?: number;
}

/** The positional-conv cases (`PE_K`, C2PSA's pe folded in) both attention kernels run. */
export const POSITIONAL_CASES: [string, AttentionCase][] = [
  ["positional 3x3 conv of v added to o (C2PSA's pe), 20x20 map, YOLO11 heads, batch 2", {
    batch: 2,
    pixels: 400,
    width: 20,
    heads: 2,
    pe: 3,
  }],
  ["positional 5x5 conv, odd 9x5 map, views", {
    pixels: 45,
    width: 9,
    heads: 2,
    kd: 8,
    hd: 16,
    pe: 5,
    xView: [7, 5, 3],
    oView: [3, 6, 2],
  }],
];

/** Runs `spec` (its f32 or f16 variant, as given) with `overrides` on the case and compares with the CPU. */
export async function checkAttention(
  spec: KernelSpec,
  c: AttentionCase,
  overrides: Record<string, number>,
  seed: number,
  half = false,
): Promise<void> {
  const h = (a: Float32Array) => (half ? roundF16(a) : a);
  const batch = c.batch ?? 1;
  const kd = c.kd ?? 32;
  const hd = c.hd ?? 64;
  const range = c.range ?? 1;
  const [xBase, xExtra, xOff] = c.xView ?? [0, 0, 0];
  const [oBase, oExtra, oOff] = c.oView ?? [0, 0, 0];
  const [vBase, vExtra, vOff] = c.vView ?? [0, 0, 0];
  const p: AttentionParams = {
    batch,
    pixels: c.pixels,
    numHeads: c.heads,
    // An f32 on the GPU: give the reference the same rounded value.
    scale: Math.fround(c.scale ?? kd ** -0.5),
    xBase,
    xStride: c.heads * (2 * kd + hd) + xExtra,
    xOff,
    oBase,
    oStride: c.heads * hd + oExtra,
    oOff,
    vBase,
    vStride: c.heads * hd + vExtra,
    vOff,
    width: c.width ?? c.pixels,
  };
  const x = h(randomArray(xBase + batch * c.pixels * p.xStride + 3, seed + 1, -range, range));
  const o0 = h(randomArray(oBase + batch * c.pixels * p.oStride + 5, seed + 2, 10, 11));
  const v0 = h(randomArray(vBase + batch * c.pixels * p.vStride + 2, seed + 3, 10, 11));
  const pe = c.pe ?? 0;
  const dim = c.heads * hd;
  const pw = h(randomArray(dim * pe * pe, seed + 4, -0.5, 0.5));
  const pb = h(randomArray(dim, seed + 5));
  const expected = { x, o: o0.slice(), v: v0.slice(), pw, pb };
  attentionCpu(expected, p, { KEY_DIM: kd, HEAD_DIM: hd, PE_K: pe });
  if (half) expected.o.set(roundF16(expected.o));
  const got = await runKernel(spec, {
    inputs: { x, ...(pe ? { pw, pb } : {}) },
    outputs: { o: o0, v: v0 },
    params: p,
    overrides: { KEY_DIM: kd, HEAD_DIM: hd, PE_K: pe, ...overrides },
  });
  const tol = half ? { atol: 2e-3, rtol: 2e-3 } : { atol: c.atol ?? 1e-4, rtol: 1e-4 };
  const what = `${spec.name} ${JSON.stringify(c)} ${JSON.stringify(overrides)}`;
  assertClose(got.o, expected.o, tol, `${what} o`);
  assertClose(got.v, expected.v, { atol: 0, rtol: 0 }, `${what} v`);
}
